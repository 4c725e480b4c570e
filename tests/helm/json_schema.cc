#include "helm/json_schema.h"

#include <regex>
#include <set>

namespace slogate::helmtest {
namespace {

bool hasType(const Value& v, const std::string& type) {
  switch (v.kind) {
    case Value::Kind::kNull:
      return type == "null";
    case Value::Kind::kBool:
      return type == "boolean";
    case Value::Kind::kInt:
      return type == "integer" || type == "number";
    case Value::Kind::kFloat:
      return type == "number" ||
             (type == "integer" &&
              v.number == static_cast<double>(static_cast<long long>(v.number)));
    case Value::Kind::kString:
      return type == "string";
    case Value::Kind::kList:
      return type == "array";
    case Value::Kind::kMap:
      return type == "object";
  }
  return false;
}

double asNumber(const Value& v) {
  return v.kind == Value::Kind::kInt ? static_cast<double>(v.integer) : v.number;
}

std::string show(const Value& v) {
  return v.isString() ? "\"" + v.string + "\"" : display(v);
}

void check(const Value& schema, const Value& v, const std::string& path,
           std::vector<std::string>& errors) {
  static const std::set<std::string> kKnown = {
      "type",        "properties", "required", "additionalProperties",
      "items",       "enum",       "minimum",  "maximum",
      "minLength",   "pattern",    "$schema",  "title",
      "description", "default",    "examples"};
  const std::string where = path.empty() ? "(values)" : path;
  if (!schema.isMap()) {
    errors.push_back(where + ": schema is not an object");
    return;
  }
  for (const auto& [k, unused] : schema.map) {
    if (kKnown.count(k) == 0) errors.push_back(where + ": unsupported schema keyword " + k);
  }
  if (const Value& t = schema.at("type"); !t.isNull()) {
    bool ok = false;
    std::string names;
    for (const Value& one : t.isList() ? t.list : std::vector<Value>{t}) {
      ok = ok || hasType(v, one.string);
      names += (names.empty() ? "" : " or ") + one.string;
    }
    if (!ok) {
      errors.push_back(where + ": " + show(v) + " is not of type " + names);
      return;
    }
  }
  if (const Value& e = schema.at("enum"); e.isList()) {
    bool found = false;
    for (const Value& option : e.list) found = found || option == v;
    if (!found) errors.push_back(where + ": " + show(v) + " is not one of the allowed values");
  }
  if (v.kind == Value::Kind::kInt || v.kind == Value::Kind::kFloat) {
    if (const Value& m = schema.at("minimum"); !m.isNull() && asNumber(v) < asNumber(m)) {
      errors.push_back(where + ": " + show(v) + " is below the minimum " + display(m));
    }
    if (const Value& m = schema.at("maximum"); !m.isNull() && asNumber(v) > asNumber(m)) {
      errors.push_back(where + ": " + show(v) + " is above the maximum " + display(m));
    }
  }
  if (v.isString()) {
    if (const Value& m = schema.at("minLength");
        !m.isNull() && static_cast<double>(v.string.size()) < asNumber(m)) {
      errors.push_back(where + ": " + show(v) + " is shorter than " + display(m));
    }
    if (const Value& p = schema.at("pattern"); p.isString()) {
      if (!std::regex_search(v.string, std::regex(p.string))) {
        errors.push_back(where + ": " + show(v) + " does not match " + p.string);
      }
    }
  }
  if (v.isMap()) {
    const Value& props = schema.at("properties");
    for (const Value& r : schema.at("required").list) {
      if (!v.has(r.string)) errors.push_back(where + ": " + r.string + " is required");
    }
    const Value& extra = schema.at("additionalProperties");
    for (const auto& [k, item] : v.map) {
      const std::string sub = path.empty() ? k : path + "." + k;
      if (props.has(k)) {
        check(props.at(k), item, sub, errors);
      } else if (extra.kind == Value::Kind::kBool && !extra.boolean) {
        errors.push_back(sub + ": unknown key (additionalProperties is false)");
      } else if (extra.isMap()) {
        check(extra, item, sub, errors);
      }
    }
  }
  if (v.isList()) {
    if (const Value& items = schema.at("items"); items.isMap()) {
      for (std::size_t i = 0; i < v.list.size(); ++i) {
        check(items, v.list[i], where + "[" + std::to_string(i) + "]", errors);
      }
    }
  }
}

}  // namespace

std::vector<std::string> validateSchema(const Value& schema, const Value& instance) {
  std::vector<std::string> errors;
  check(schema, instance, "", errors);
  return errors;
}

}  // namespace slogate::helmtest
