// chart.h — Chart: a Helm chart directory read and rendered offline with
// go_template.h, as `helm template` would (minus Helm's own checks, which
// `helm lint` runs in the release pipeline).
//
//   Chart chart = Chart::load(SLOGATE_SOURCE_DIR "/helm/slogate");
//   Rendered r = chart.render(parseYaml("replicaCount: 3"), {"slogate", "ops"});
//   for (const Manifest& m : r.manifests) ... m.object.at("kind") ...
//
// render() merges the given values over values.yaml, renders every template
// not starting with "_" (and NOTES.txt), and parses each output as YAML
// documents; errors throw std::runtime_error naming the template.
//
// Thread safety: load() and render() touch no shared state.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "helm/value.h"

namespace slogate::helmtest {

struct Release {
  std::string name = "slogate";
  std::string ns = "slogate";
};

struct Manifest {
  std::string source;  // "templates/deployment.yaml"
  Value object;
};

struct Rendered {
  std::map<std::string, std::string> outputs;  // template path → rendered text
  std::vector<Manifest> manifests;             // every non-empty document
  std::string notes;                           // templates/NOTES.txt
  Value values;                                // the merged values
};

class Chart {
 public:
  static Chart load(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const Value& metadata() const { return metadata_; }  // Chart.yaml
  const Value& defaults() const { return defaults_; }  // values.yaml
  // Every file but templates/, by path relative to the chart (what .Files sees).
  const std::map<std::string, std::string>& files() const { return files_; }
  // Adds or replaces a file .Files sees (tests: a dashboard that is not there).
  void putFile(const std::string& path, const std::string& content) { files_[path] = content; }

  Rendered render(const Value& values, const Release& release = {}) const;

 private:
  std::string dir_;
  Value metadata_;
  Value defaults_;
  std::map<std::string, std::string> templates_;  // "templates/x.yaml" → text
  std::map<std::string, std::string> files_;
};

// The whole file; throws std::runtime_error when it cannot be read.
std::string readFile(const std::string& path);

}  // namespace slogate::helmtest
