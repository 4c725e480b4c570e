// value.h — Value: the dynamic data a Helm chart works with (values.yaml,
// .Release, .Chart, the results of template functions), for the chart tests.
//
// YAML is read as Helm reads it (YAML → JSON-like data): plain scalars
// become null, booleans, integers or floats by the YAML core schema; quoted
// and block scalars stay strings. toYaml() writes what Helm's toYaml would
// mean (keys sorted, strings quoted when YAML would read them otherwise),
// not byte for byte what it prints.
//
//   Value v = parseYaml("a: {b: [1, x]}");
//   v.at("a").at("b").list[0].integer == 1
//
// Thread safety: a plain value type.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace slogate::helmtest {

struct Value {
  enum class Kind { kNull, kBool, kInt, kFloat, kString, kList, kMap };

  Kind kind = Kind::kNull;
  bool boolean = false;
  std::int64_t integer = 0;
  double number = 0;
  std::string string;
  std::vector<Value> list;
  std::map<std::string, Value> map;

  static Value null() { return Value{}; }
  static Value of(bool b);
  static Value of(std::int64_t i);
  static Value ofFloat(double d);
  static Value of(std::string s);
  static Value of(const char* s) { return of(std::string(s)); }
  static Value ofList(std::vector<Value> items);
  static Value ofMap(std::map<std::string, Value> entries);

  bool isNull() const { return kind == Kind::kNull; }
  bool isMap() const { return kind == Kind::kMap; }
  bool isList() const { return kind == Kind::kList; }
  bool isString() const { return kind == Kind::kString; }
  // Map member, or null when absent or when this is not a map.
  const Value& at(const std::string& key) const;
  bool has(const std::string& key) const { return isMap() && map.count(key) > 0; }

  bool operator==(const Value& other) const;
};

// Go template truth: false, 0, nil, "" and empty lists and maps are false.
bool truthy(const Value& v);
// How {{ v }} prints it (Helm prints a missing value as "").
std::string display(const Value& v);
// A YAML document as Helm reads values; throws std::runtime_error on bad YAML.
Value parseYaml(const std::string& text);
// Every document of a multi-document YAML stream, empty ones dropped.
std::vector<Value> parseYamlAll(const std::string& text);
// Block-style YAML of v (no trailing newline), as Helm's toYaml.
std::string toYaml(const Value& v);
// Helm's merge of user values over chart defaults: maps merge key by key,
// anything else replaces.
Value mergeValues(const Value& base, const Value& override);

}  // namespace slogate::helmtest
