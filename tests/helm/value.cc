#include "helm/value.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <regex>
#include <stdexcept>

namespace slogate::helmtest {
namespace {

const Value kNullValue;

Value scalar(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  const std::string& tag = n.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str" || tag == "!!str") return Value::of(s);
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return Value::null();
  if (s == "true" || s == "True" || s == "TRUE") return Value::of(true);
  if (s == "false" || s == "False" || s == "FALSE") return Value::of(false);
  if (std::regex_match(s, kInt)) {
    try {
      return Value::of(static_cast<std::int64_t>(std::stoll(s)));
    } catch (const std::out_of_range&) {
      return Value::ofFloat(std::stod(s));
    }
  }
  if (std::regex_match(s, kFloat)) return Value::ofFloat(std::stod(s));
  return Value::of(s);
}

Value convert(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return Value::null();
    case YAML::NodeType::Scalar:
      return scalar(n);
    case YAML::NodeType::Sequence: {
      std::vector<Value> items;
      for (const auto& item : n) items.push_back(convert(item));
      return Value::ofList(std::move(items));
    }
    case YAML::NodeType::Map: {
      std::map<std::string, Value> entries;
      for (const auto& kv : n) entries[kv.first.Scalar()] = convert(kv.second);
      return Value::ofMap(std::move(entries));
    }
  }
  return Value::null();
}

std::string shortestFloat(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, d);
    if (std::stod(buf) == d) break;
  }
  return buf;
}

bool plainSafe(const std::string& s) {
  static const std::regex kPlain("[A-Za-z_/][A-Za-z0-9_./-]*");
  static const std::regex kReserved("(?:true|false|yes|no|on|off|null|y|n)", std::regex::icase);
  return std::regex_match(s, kPlain) && !std::regex_match(s, kReserved);
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string scalarYaml(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      return "null";
    case Value::Kind::kBool:
      return v.boolean ? "true" : "false";
    case Value::Kind::kInt:
      return std::to_string(v.integer);
    case Value::Kind::kFloat:
      return shortestFloat(v.number);
    case Value::Kind::kString:
      return plainSafe(v.string) ? v.string : quoted(v.string);
    case Value::Kind::kList:
      return "[]";
    case Value::Kind::kMap:
      return "{}";
  }
  return "null";
}

bool isBlock(const Value& v) {
  return (v.isList() && !v.list.empty()) || (v.isMap() && !v.map.empty());
}

void emit(const Value& v, const std::string& pad, std::string& out);

void emitMap(const Value& v, const std::string& pad, std::string& out) {
  bool first = true;
  for (const auto& [key, item] : v.map) {
    if (!first) out += "\n" + pad;
    first = false;
    out += scalarYaml(Value::of(key)) + ":";
    if (isBlock(item)) {
      out += "\n" + pad + "  ";
      emit(item, pad + "  ", out);
    } else {
      out += " " + scalarYaml(item);
    }
  }
}

void emitList(const Value& v, const std::string& pad, std::string& out) {
  bool first = true;
  for (const auto& item : v.list) {
    if (!first) out += "\n" + pad;
    first = false;
    out += "- ";
    if (isBlock(item)) {
      emit(item, pad + "  ", out);
    } else {
      out += scalarYaml(item);
    }
  }
}

void emit(const Value& v, const std::string& pad, std::string& out) {
  if (v.isMap() && !v.map.empty()) {
    emitMap(v, pad, out);
  } else if (v.isList() && !v.list.empty()) {
    emitList(v, pad, out);
  } else {
    out += scalarYaml(v);
  }
}

}  // namespace

Value Value::of(bool b) {
  Value v;
  v.kind = Kind::kBool;
  v.boolean = b;
  return v;
}

Value Value::of(std::int64_t i) {
  Value v;
  v.kind = Kind::kInt;
  v.integer = i;
  return v;
}

Value Value::ofFloat(double d) {
  Value v;
  v.kind = Kind::kFloat;
  v.number = d;
  return v;
}

Value Value::of(std::string s) {
  Value v;
  v.kind = Kind::kString;
  v.string = std::move(s);
  return v;
}

Value Value::ofList(std::vector<Value> items) {
  Value v;
  v.kind = Kind::kList;
  v.list = std::move(items);
  return v;
}

Value Value::ofMap(std::map<std::string, Value> entries) {
  Value v;
  v.kind = Kind::kMap;
  v.map = std::move(entries);
  return v;
}

const Value& Value::at(const std::string& key) const {
  if (!isMap()) return kNullValue;
  const auto it = map.find(key);
  return it == map.end() ? kNullValue : it->second;
}

bool Value::operator==(const Value& other) const {
  const bool numeric = (kind == Kind::kInt || kind == Kind::kFloat) &&
                       (other.kind == Kind::kInt || other.kind == Kind::kFloat);
  if (numeric) {
    const double a = kind == Kind::kInt ? static_cast<double>(integer) : number;
    const double b = other.kind == Kind::kInt ? static_cast<double>(other.integer) : other.number;
    return a == b;
  }
  if (kind != other.kind) return false;
  switch (kind) {
    case Kind::kNull:
      return true;
    case Kind::kBool:
      return boolean == other.boolean;
    case Kind::kString:
      return string == other.string;
    case Kind::kList:
      return list == other.list;
    case Kind::kMap:
      return map == other.map;
    default:
      return false;
  }
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      return false;
    case Value::Kind::kBool:
      return v.boolean;
    case Value::Kind::kInt:
      return v.integer != 0;
    case Value::Kind::kFloat:
      return v.number != 0;
    case Value::Kind::kString:
      return !v.string.empty();
    case Value::Kind::kList:
      return !v.list.empty();
    case Value::Kind::kMap:
      return !v.map.empty();
  }
  return false;
}

std::string display(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      return "";
    case Value::Kind::kBool:
      return v.boolean ? "true" : "false";
    case Value::Kind::kInt:
      return std::to_string(v.integer);
    case Value::Kind::kFloat:
      return shortestFloat(v.number);
    case Value::Kind::kString:
      return v.string;
    case Value::Kind::kList: {
      std::string out = "[";
      for (std::size_t i = 0; i < v.list.size(); ++i) {
        out += (i == 0 ? "" : " ") + display(v.list[i]);
      }
      return out + "]";
    }
    case Value::Kind::kMap: {
      std::string out = "map[";
      bool first = true;
      for (const auto& [k, item] : v.map) {
        out += (first ? "" : " ") + k + ":" + display(item);
        first = false;
      }
      return out + "]";
    }
  }
  return "";
}

Value parseYaml(const std::string& text) {
  try {
    return convert(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    throw std::runtime_error("line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

std::vector<Value> parseYamlAll(const std::string& text) {
  std::vector<Value> out;
  try {
    for (const auto& doc : YAML::LoadAll(text)) {
      Value v = convert(doc);
      if (!v.isNull()) out.push_back(std::move(v));
    }
  } catch (const YAML::Exception& e) {
    throw std::runtime_error("line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return out;
}

std::string toYaml(const Value& v) {
  std::string out;
  emit(v, "", out);
  return out;
}

Value mergeValues(const Value& base, const Value& override) {
  if (override.isNull()) return base;
  if (!base.isMap() || !override.isMap()) return override;
  Value out = base;
  for (const auto& [key, item] : override.map) {
    if (item.isNull()) {
      out.map.erase(key);
    } else if (out.has(key)) {
      out.map[key] = mergeValues(out.map[key], item);
    } else {
      out.map[key] = item;
    }
  }
  return out;
}

}  // namespace slogate::helmtest
