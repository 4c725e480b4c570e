// json_value.h — a JSON value, read from YAML the way kubectl reads it.
//
// kubectl turns YAML into JSON with sigs.k8s.io/yaml (go-yaml v2, YAML 1.1)
// before the API server sees it, so the types the CRD schema checks are the
// ones YAML 1.1 gives plain scalars: `yes`, `on`, `y` are booleans, `0x10`
// and `0755` integers, `1.0` a float that JSON prints as the integer 1, and
// quoted scalars are strings. yaml-cpp keeps scalars as text and marks quoted
// ones with the tag "!", which is all fromYaml() needs to resolve the same
// types. Keys are resolved too (`on:` becomes the key "true").
//
//   auto doc = crdtest::fromYaml(YAML::Load("objective: 99.9"));
//   doc->get("objective")->type == JsonValue::Type::kDouble
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace slogate::crdtest {

class JsonValue {
 public:
  enum class Type { kNull, kBool, kInt, kDouble, kString, kArray, kObject };

  static JsonValue null() { return JsonValue(); }
  static JsonValue boolean(bool b);
  static JsonValue integer(std::int64_t i);
  static JsonValue number(double d);
  static JsonValue string(std::string s);
  static JsonValue array();
  static JsonValue object();

  Type type() const { return type_; }
  bool isNull() const { return type_ == Type::kNull; }
  bool isObject() const { return type_ == Type::kObject; }
  bool isArray() const { return type_ == Type::kArray; }
  bool isString() const { return type_ == Type::kString; }
  bool isNumber() const { return type_ == Type::kInt || type_ == Type::kDouble; }

  bool asBool() const { return bool_; }
  std::int64_t asInt() const { return int_; }
  double asDouble() const { return type_ == Type::kInt ? static_cast<double>(int_) : double_; }
  const std::string& asString() const { return string_; }

  // Arrays.
  std::vector<JsonValue>& items() { return items_; }
  const std::vector<JsonValue>& items() const { return items_; }

  // Objects, in document order.
  std::vector<std::pair<std::string, JsonValue>>& fields() { return fields_; }
  const std::vector<std::pair<std::string, JsonValue>>& fields() const { return fields_; }
  const JsonValue* get(std::string_view key) const;
  JsonValue* get(std::string_view key);
  bool has(std::string_view key) const { return get(key) != nullptr; }
  void set(std::string key, JsonValue value);  // replaces or appends
  void erase(std::string_view key);

  // Structural equality (1 == 1.0, as in JSON; object field order ignored).
  bool operator==(const JsonValue& other) const;

  // Compact JSON, for messages.
  std::string toString() const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  std::int64_t int_ = 0;
  double double_ = 0;
  std::string string_;
  std::vector<JsonValue> items_;
  std::vector<std::pair<std::string, JsonValue>> fields_;
};

// The JSON kubectl would send for `node`. Fails on what kubectl refuses:
// duplicate keys, .inf and .nan.
Result<JsonValue> fromYaml(const YAML::Node& node);

// Shape tests that are false, not throwing, for a missing key: yaml-cpp's
// const operator[] returns an invalid node that throws on IsMap().
inline bool isMap(const YAML::Node& n) {
  return n.IsDefined() && n.IsMap();
}
inline bool isSequence(const YAML::Node& n) {
  return n.IsDefined() && n.IsSequence();
}

// Parses a decimal integer as Go's strconv.ParseInt(s, 10, 64) (CEL's
// int(string)): optional sign, digits, no overflow.
std::optional<std::int64_t> parseGoInt(std::string_view s);

}  // namespace slogate::crdtest
