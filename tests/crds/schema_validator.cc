#include "crds/schema_validator.h"

#include <algorithm>
#include <map>
#include <regex>

#include "crds/cel_rules.h"

namespace slogate::crdtest {
namespace {

using Errors = std::vector<std::string>;

std::string child(const std::string& path, const std::string& name) {
  return path.empty() ? name : path + "." + name;
}

// Compiled patterns, by text (tests run on one thread).
const std::regex& compiled(const std::string& pattern) {
  static auto* cache = new std::map<std::string, std::regex>();
  auto it = cache->find(pattern);
  if (it == cache->end()) it = cache->emplace(pattern, std::regex(pattern)).first;
  return it->second;
}

// The schema of `key` in an object schema: properties, else an
// additionalProperties schema; an undefined node when the field is unknown.
YAML::Node fieldSchema(const YAML::Node& schema, const std::string& key) {
  if (const YAML::Node props = schema["properties"]; isMap(props)) {
    for (const auto& kv : props) {
      if (kv.first.as<std::string>() == key) return kv.second;
    }
  }
  if (isMap(schema["additionalProperties"])) return schema["additionalProperties"];
  return YAML::Node(YAML::NodeType::Undefined);
}

bool nullable(const YAML::Node& schema) {
  return schema["nullable"].IsDefined() && schema["nullable"].as<bool>();
}

// Unknown fields are errors (Strict) and dropped; nulls of non-nullable
// fields are dropped, as the API server prunes them before defaulting.
void prune(JsonValue& value, const YAML::Node& schema, const std::string& path, bool root,
           Errors& errors) {
  if (value.isObject() && schema["type"].as<std::string>("") == "object") {
    std::vector<std::string> drop;
    for (auto& [key, v] : value.fields()) {
      if (root && key == "metadata") continue;  // ObjectMeta: the API server's own checks
      const YAML::Node s = fieldSchema(schema, key);
      if (!s.IsDefined()) {
        errors.push_back(child(path, key) + ": unknown field");
        drop.push_back(key);
      } else if (v.isNull() && !nullable(s)) {
        drop.push_back(key);
      } else {
        prune(v, s, child(path, key), false, errors);
      }
    }
    for (const std::string& key : drop) value.erase(key);
  } else if (value.isArray() && isMap(schema["items"])) {
    for (std::size_t i = 0; i < value.items().size(); ++i) {
      prune(value.items()[i], schema["items"], path + "[" + std::to_string(i) + "]", false, errors);
    }
  }
}

void applyDefaults(JsonValue& value, const YAML::Node& schema, bool root) {
  if (value.isObject()) {
    if (const YAML::Node props = schema["properties"]; isMap(props)) {
      for (const auto& kv : props) {
        const std::string key = kv.first.as<std::string>();
        if (!value.has(key) && kv.second["default"].IsDefined()) {
          auto d = fromYaml(kv.second["default"]);
          if (d) value.set(key, std::move(*d));
        }
      }
    }
    for (auto& [key, v] : value.fields()) {
      if (root && key == "metadata") continue;
      const YAML::Node s = fieldSchema(schema, key);
      if (s.IsDefined()) applyDefaults(v, s, false);
    }
  } else if (value.isArray() && isMap(schema["items"])) {
    for (JsonValue& item : value.items()) applyDefaults(item, schema["items"], false);
  }
}

const char* typeName(const JsonValue& v) {
  switch (v.type()) {
    case JsonValue::Type::kNull:
      return "null";
    case JsonValue::Type::kBool:
      return "boolean";
    case JsonValue::Type::kInt:
      return "integer";
    case JsonValue::Type::kDouble:
      return "number";
    case JsonValue::Type::kString:
      return "string";
    case JsonValue::Type::kArray:
      return "array";
    case JsonValue::Type::kObject:
      return "object";
  }
  return "?";
}

bool hasType(const JsonValue& v, const std::string& type) {
  if (type == "object") return v.isObject();
  if (type == "array") return v.isArray();
  if (type == "string") return v.isString();
  if (type == "integer") return v.type() == JsonValue::Type::kInt;
  if (type == "number") return v.isNumber();
  if (type == "boolean") return v.type() == JsonValue::Type::kBool;
  return false;
}

std::size_t runeCount(const std::string& s) {
  std::size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

bool isDateTime(const std::string& s) {
  static const std::regex kRfc3339(
      R"(^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$)");
  return std::regex_match(s, kRfc3339);
}

void validate(const JsonValue& value, const YAML::Node& schema, const std::string& path, bool root,
              Errors& errors) {
  const std::string where = path.empty() ? "<root>" : path;
  const std::string type = schema["type"].as<std::string>("");
  if (value.isNull()) {
    if (!nullable(schema)) errors.push_back(where + ": must be " + type + ", is null");
    return;
  }
  if (!type.empty() && !hasType(value, type)) {
    errors.push_back(where + ": must be " + type + ", is " + typeName(value) + " " +
                     value.toString());
    return;
  }
  if (const YAML::Node e = schema["enum"]; isSequence(e)) {
    bool found = false;
    for (const YAML::Node& option : e) {
      auto o = fromYaml(option);
      found = found || (o && *o == value);
    }
    if (!found) errors.push_back(where + ": " + value.toString() + " is not one of the enum");
  }
  if (value.isString()) {
    const std::string& s = value.asString();
    if (schema["pattern"].IsDefined() &&
        !std::regex_search(s, compiled(schema["pattern"].as<std::string>()))) {
      errors.push_back(where + ": " + value.toString() + " does not match the pattern");
    }
    if (schema["minLength"].IsDefined() && runeCount(s) < schema["minLength"].as<std::size_t>()) {
      errors.push_back(where + ": shorter than minLength");
    }
    if (schema["maxLength"].IsDefined() && runeCount(s) > schema["maxLength"].as<std::size_t>()) {
      errors.push_back(where + ": longer than maxLength");
    }
    if (schema["format"].as<std::string>("") == "date-time" && !isDateTime(s)) {
      errors.push_back(where + ": " + value.toString() + " is not an RFC 3339 date-time");
    }
  }
  if (value.isNumber()) {
    if (schema["minimum"].IsDefined() && value.asDouble() < schema["minimum"].as<double>()) {
      errors.push_back(where + ": below minimum");
    }
    if (schema["maximum"].IsDefined() && value.asDouble() > schema["maximum"].as<double>()) {
      errors.push_back(where + ": above maximum");
    }
  }
  if (value.isArray()) {
    const std::size_t n = value.items().size();
    if (schema["minItems"].IsDefined() && n < schema["minItems"].as<std::size_t>()) {
      errors.push_back(where + ": fewer than minItems items");
    }
    if (schema["maxItems"].IsDefined() && n > schema["maxItems"].as<std::size_t>()) {
      errors.push_back(where + ": more than maxItems items");
    }
    if (isMap(schema["items"])) {
      for (std::size_t i = 0; i < n; ++i) {
        validate(value.items()[i], schema["items"], path + "[" + std::to_string(i) + "]", false,
                 errors);
      }
    }
    if (schema["x-kubernetes-list-type"].as<std::string>("") == "map") {
      std::vector<std::string> seen;
      for (const JsonValue& item : value.items()) {
        std::string key;
        for (const YAML::Node& k : schema["x-kubernetes-list-map-keys"]) {
          const JsonValue* part = item.isObject() ? item.get(k.as<std::string>()) : nullptr;
          key += (part != nullptr ? part->toString() : "null") + "/";
        }
        if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
          errors.push_back(
              std::string(where).append(": duplicate entry for map keys ").append(key));
        }
        seen.push_back(key);
      }
    }
  }
  if (value.isObject()) {
    for (const YAML::Node& r : schema["required"]) {
      if (!value.has(r.as<std::string>())) {
        errors.push_back(child(path, r.as<std::string>()) + ": required");
      }
    }
    for (const auto& [key, v] : value.fields()) {
      if (root && key == "metadata") {
        if (!v.isObject()) errors.push_back("metadata: must be object");
        continue;
      }
      const YAML::Node s = fieldSchema(schema, key);
      if (s.IsDefined()) validate(v, s, child(path, key), false, errors);
    }
  }
  if (const YAML::Node rules = schema["x-kubernetes-validations"]; isSequence(rules)) {
    for (const YAML::Node& r : rules) {
      const std::string rule = r["rule"].as<std::string>("");
      const CelPredicate* predicate = findCelRule(rule);
      if (predicate == nullptr) {
        errors.push_back(
            std::string(where).append(": CEL rule unknown to the test: ").append(rule));
        continue;
      }
      const std::optional<bool> outcome = (*predicate)(value);
      if (!outcome) {
        errors.push_back(where + ": CEL evaluation error (" + r["message"].as<std::string>("") +
                         ")");
      } else if (!*outcome) {
        errors.push_back(where + ": " + r["message"].as<std::string>(""));
      }
    }
  }
}

Errors admitAt(const YAML::Node& schema, JsonValue& value, const std::string& path, bool root) {
  Errors errors;
  prune(value, schema, path, root, errors);
  applyDefaults(value, schema, root);
  validate(value, schema, path, root, errors);
  return errors;
}

}  // namespace

std::vector<std::string> SchemaValidator::admit(JsonValue& resource) const {
  return admitAt(schema_, resource, "", true);
}

std::vector<std::string> SchemaValidator::admitValue(const YAML::Node& schema, JsonValue& value,
                                                     const std::string& path) {
  return admitAt(schema, value, path, false);
}

}  // namespace slogate::crdtest
