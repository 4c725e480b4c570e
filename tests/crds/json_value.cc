#include "crds/json_value.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <regex>
#include <set>

namespace slogate::crdtest {
namespace {

// Go's strconv.ParseUint(s, 0, 64) digits after the sign: base prefixes 0x,
// 0o, 0b, a leading 0 for octal, no underscores (go-yaml removed them).
std::optional<std::uint64_t> parseGoUnsignedBase0(std::string_view s) {
  int base = 10;
  if (s.size() >= 2 && s[0] == '0') {
    const char p = static_cast<char>(s[1] | 0x20);
    if (p == 'x' || p == 'o' || p == 'b') {
      base = p == 'x' ? 16 : (p == 'o' ? 8 : 2);
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  if (s.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : s) {
    int digit = 0;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
      digit = (c | 0x20) - 'a' + 10;
    } else {
      return std::nullopt;
    }
    if (digit >= base) return std::nullopt;
    if (value > (std::numeric_limits<std::uint64_t>::max() - static_cast<unsigned>(digit)) /
                    static_cast<unsigned>(base)) {
      return std::nullopt;
    }
    value = value * static_cast<unsigned>(base) + static_cast<unsigned>(digit);
  }
  return value;
}

// A float that Go's encoding/json prints without a fraction (|x| < 1e21 and
// whole) comes back from the API server's decoder as an int64 when it fits.
JsonValue jsonNumber(double d) {
  if (std::isfinite(d) && d == std::floor(d) && d >= -9223372036854775808.0 &&
      d < 9223372036854775808.0) {
    return JsonValue::integer(static_cast<std::int64_t>(d));
  }
  return JsonValue::number(d);
}

// go-yaml v2's resolve() for a plain scalar.
Result<JsonValue> resolvePlain(const std::string& in) {
  static const std::set<std::string> kTrue = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                              "True", "TRUE", "on",  "On",  "ON"};
  static const std::set<std::string> kFalse = {"n",     "N",     "no",  "No",  "NO", "false",
                                               "False", "FALSE", "off", "Off", "OFF"};
  static const std::set<std::string> kNull = {"", "~", "null", "Null", "NULL"};
  static const std::set<std::string> kNonFinite = {".nan",  ".NaN",  ".NAN",  ".inf",
                                                   ".Inf",  ".INF",  "+.inf", "+.Inf",
                                                   "+.INF", "-.inf", "-.Inf", "-.INF"};
  if (kTrue.count(in) != 0) return JsonValue::boolean(true);
  if (kFalse.count(in) != 0) return JsonValue::boolean(false);
  if (kNull.count(in) != 0) return JsonValue::null();
  if (kNonFinite.count(in) != 0) {
    return invalidArgument("\"" + in + "\": JSON has no infinity or NaN (kubectl refuses it)");
  }
  const char first = in.front();
  if (!((first >= '0' && first <= '9') || first == '+' || first == '-' || first == '.')) {
    return JsonValue::string(in);
  }
  std::string plain = in;
  plain.erase(std::remove(plain.begin(), plain.end(), '_'), plain.end());
  std::string_view digits = plain;
  const bool negative = !digits.empty() && digits.front() == '-';
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) digits.remove_prefix(1);
  if (auto u = parseGoUnsignedBase0(digits)) {
    constexpr std::uint64_t kMaxInt = std::numeric_limits<std::int64_t>::max();
    if (!negative && *u <= kMaxInt) return JsonValue::integer(static_cast<std::int64_t>(*u));
    if (negative && *u <= kMaxInt + 1) {
      return JsonValue::integer(*u == kMaxInt + 1 ? std::numeric_limits<std::int64_t>::min()
                                                  : -static_cast<std::int64_t>(*u));
    }
    if (!negative && plain.front() != '+') return JsonValue::number(static_cast<double>(*u));
  }
  static const std::regex kFloat(R"(^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$)");
  if (std::regex_match(plain, kFloat)) return jsonNumber(std::strtod(plain.c_str(), nullptr));
  return JsonValue::string(in);
}

Result<JsonValue> resolveScalar(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return JsonValue::string(node.Scalar());
  if (tag == "?" || tag.rfind("tag:yaml.org,2002:", 0) == 0) return resolvePlain(node.Scalar());
  return JsonValue::string(node.Scalar());  // a local tag: go-yaml keeps the text
}

// sigs.k8s.io/yaml turns non-string keys into strings.
std::string keyString(const YAML::Node& key, const JsonValue& resolved) {
  switch (resolved.type()) {
    case JsonValue::Type::kBool:
      return resolved.asBool() ? "true" : "false";
    case JsonValue::Type::kInt:
      return std::to_string(resolved.asInt());
    case JsonValue::Type::kNull:
      return "null";
    default:
      return key.Scalar();
  }
}

void appendJsonString(std::string& out, const std::string& s) {
  out += '"';
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

JsonValue JsonValue::boolean(bool b) {
  JsonValue v;
  v.type_ = Type::kBool;
  v.bool_ = b;
  return v;
}

JsonValue JsonValue::integer(std::int64_t i) {
  JsonValue v;
  v.type_ = Type::kInt;
  v.int_ = i;
  return v;
}

JsonValue JsonValue::number(double d) {
  JsonValue v;
  v.type_ = Type::kDouble;
  v.double_ = d;
  return v;
}

JsonValue JsonValue::string(std::string s) {
  JsonValue v;
  v.type_ = Type::kString;
  v.string_ = std::move(s);
  return v;
}

JsonValue JsonValue::array() {
  JsonValue v;
  v.type_ = Type::kArray;
  return v;
}

JsonValue JsonValue::object() {
  JsonValue v;
  v.type_ = Type::kObject;
  return v;
}

const JsonValue* JsonValue::get(std::string_view key) const {
  for (const auto& [k, v] : fields_) {
    if (k == key) return &v;
  }
  return nullptr;
}

JsonValue* JsonValue::get(std::string_view key) {
  for (auto& [k, v] : fields_) {
    if (k == key) return &v;
  }
  return nullptr;
}

void JsonValue::set(std::string key, JsonValue value) {
  if (JsonValue* existing = get(key)) {
    *existing = std::move(value);
  } else {
    fields_.emplace_back(std::move(key), std::move(value));
  }
}

void JsonValue::erase(std::string_view key) {
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                               [&](const auto& kv) { return kv.first == key; }),
                fields_.end());
}

bool JsonValue::operator==(const JsonValue& other) const {
  if (isNumber() && other.isNumber()) return asDouble() == other.asDouble();
  if (type_ != other.type_) return false;
  switch (type_) {
    case Type::kNull:
      return true;
    case Type::kBool:
      return bool_ == other.bool_;
    case Type::kString:
      return string_ == other.string_;
    case Type::kArray:
      return items_ == other.items_;
    case Type::kObject:
      if (fields_.size() != other.fields_.size()) return false;
      for (const auto& [k, v] : fields_) {
        const JsonValue* o = other.get(k);
        if (o == nullptr || !(*o == v)) return false;
      }
      return true;
    case Type::kInt:
    case Type::kDouble:
      break;
  }
  return false;
}

std::string JsonValue::toString() const {
  std::string out;
  switch (type_) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return bool_ ? "true" : "false";
    case Type::kInt:
      return std::to_string(int_);
    case Type::kDouble: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", double_);
      return buf;
    }
    case Type::kString:
      appendJsonString(out, string_);
      return out;
    case Type::kArray:
      out = "[";
      for (std::size_t i = 0; i < items_.size(); ++i) {
        if (i > 0) out += ",";
        out += items_[i].toString();
      }
      return out + "]";
    case Type::kObject:
      out = "{";
      for (std::size_t i = 0; i < fields_.size(); ++i) {
        if (i > 0) out += ",";
        appendJsonString(out, fields_[i].first);
        out += ":" + fields_[i].second.toString();
      }
      return out + "}";
  }
  return out;
}

Result<JsonValue> fromYaml(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return JsonValue::null();
    case YAML::NodeType::Scalar:
      return resolveScalar(node);
    case YAML::NodeType::Sequence: {
      JsonValue out = JsonValue::array();
      for (const YAML::Node& item : node) {
        auto v = fromYaml(item);
        if (!v) return v.status();
        out.items().push_back(std::move(*v));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      JsonValue out = JsonValue::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar() && !kv.first.IsNull()) {
          return invalidArgument("a mapping key is not a scalar");
        }
        auto key =
            kv.first.IsNull() ? Result<JsonValue>(JsonValue::null()) : resolveScalar(kv.first);
        if (!key) return key.status();
        const std::string name = keyString(kv.first, *key);
        if (out.has(name)) return invalidArgument("key \"" + name + "\" is given twice");
        auto v = fromYaml(kv.second);
        if (!v) return v.status();
        out.fields().emplace_back(name, std::move(*v));
      }
      return out;
    }
  }
  return JsonValue::null();
}

std::optional<std::int64_t> parseGoInt(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  std::uint64_t value = 0;
  constexpr std::uint64_t kLimit = std::numeric_limits<std::uint64_t>::max() / 10;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    if (value > kLimit) return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1) {
      return std::nullopt;
    }
  }
  constexpr std::uint64_t kMaxInt = std::numeric_limits<std::int64_t>::max();
  if (!negative) {
    if (value > kMaxInt) return std::nullopt;
    return static_cast<std::int64_t>(value);
  }
  if (value == kMaxInt + 1) return std::numeric_limits<std::int64_t>::min();
  return -static_cast<std::int64_t>(value);
}

}  // namespace slogate::crdtest
