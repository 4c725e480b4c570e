// go_template.h — TemplateSet: the subset of Go text/template and Helm's
// functions that helm/slogate's templates use, so the chart test can render
// the chart without a helm binary (none is reachable here; `helm lint` and
// `helm template` run in the release pipeline).
//
// Supported: text with {{ }} actions and {{- -}} whitespace trimming;
// comments {{/* */}}; pipelines with `|`; variables ($, $x := …, $x = …);
// field chains (.Values.a.b, $x.a); string, raw-string, number, bool and nil
// literals; parentheses; if / else if / else, with / else, range (one or two
// variables) / else, define, template; include; the functions of
// go_template_functions.h; and `.Files.Get`, `.Files.Glob` and `lookup`,
// which call host functions the caller registers. Anything else is an
// error, never silently skipped: a template this accepts may still fail
// `helm lint`, not the other way round.
//
//   TemplateSet set;
//   set.add("x", "{{ .a | quote }}");
//   set.execute("x", parseYaml("a: b"));  // "\"b\""
//
// Errors throw TemplateError naming the template. Thread safety: add() and
// setHostFunction() before execute(); execute() is const and reentrant.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "helm/value.h"

namespace slogate::helmtest {

class TemplateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class TemplateSet {
 public:
  using HostFunction = std::function<Value(const std::vector<Value>& args)>;

  TemplateSet();
  ~TemplateSet();
  TemplateSet(const TemplateSet&) = delete;
  TemplateSet& operator=(const TemplateSet&) = delete;

  // Parses `text`; registers it as `name` and each {{ define }} in it.
  void add(const std::string& name, const std::string& text);
  // Host functions: "Files.Get", "Files.Glob", "lookup".
  void setHostFunction(const std::string& name, HostFunction fn);
  bool has(const std::string& name) const;
  // Runs template `name` with dot (and $) = `dot`.
  std::string execute(const std::string& name, const Value& dot) const;

  struct Node;

 private:
  class Executor;
  std::map<std::string, std::shared_ptr<const std::vector<Node>>> templates_;
  std::map<std::string, HostFunction> host_;
};

}  // namespace slogate::helmtest
