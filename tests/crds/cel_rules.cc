#include "crds/cel_rules.h"

#include <cstdlib>
#include <limits>
#include <regex>
#include <utility>

namespace slogate::crdtest {
namespace {

using Outcome = std::optional<bool>;

// CEL's logical operators are commutative over errors: false wins.
Outcome celAnd(Outcome a, Outcome b) {
  if ((a && !*a) || (b && !*b)) return false;
  if (!a || !b) return std::nullopt;
  return true;
}

Outcome celOr(Outcome a, Outcome b) {
  if ((a && *a) || (b && *b)) return true;
  if (!a || !b) return std::nullopt;
  return false;
}

// self.field, where a missing field is an evaluation error ("no such key").
const JsonValue* field(const JsonValue& self, const char* name) {
  return self.isObject() ? self.get(name) : nullptr;
}

Outcome has(const JsonValue& self, const char* name) {
  if (!self.isObject()) return std::nullopt;
  const JsonValue* v = self.get(name);
  return v != nullptr && !v->isNull();  // null fields are absent in CEL
}

// double(string): Go's strconv.ParseFloat for the decimal forms (the schema
// patterns let nothing else through; anything else is an error here).
std::optional<double> celDouble(const JsonValue* v) {
  if (v == nullptr || !v->isString()) return std::nullopt;
  static const std::regex kDecimal(R"(^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$)");
  if (!std::regex_match(v->asString(), kDecimal)) return std::nullopt;
  return std::strtod(v->asString().c_str(), nullptr);
}

// Compares double(v) with a bound; errors propagate.
template <typename Cmp>
Outcome compareDouble(const JsonValue* v, double bound, Cmp cmp) {
  auto d = celDouble(v);
  if (!d) return std::nullopt;
  return cmp(*d, bound);
}

// string.find(regex): the leftmost match, or '' (Kubernetes regex library).
std::string celFind(const std::string& s, const std::regex& re) {
  std::smatch m;
  if (!std::regex_search(s, m, re)) return "";
  return m.str(0);
}

// The value of celMinutesExpr(x) for the string `v`, with CEL's errors:
// int('') or an int64 overflow (in int(), * or +) fails the evaluation.
std::optional<std::int64_t> celMinutes(const JsonValue* v) {
  if (v == nullptr || !v->isString()) return std::nullopt;
  static const std::regex kDigits("[0-9]+");
  static const std::pair<std::regex, std::int64_t> kUnits[] = {
      {std::regex("[0-9]+w"), 10080},
      {std::regex("[0-9]+d"), 1440},
      {std::regex("[0-9]+h"), 60},
      {std::regex("[0-9]+m"), 1},
  };
  std::int64_t total = 0;
  for (const auto& [unit, length] : kUnits) {
    const std::string part = celFind(v->asString(), unit);
    if (part.empty()) continue;  // the `== '' ? 0` branch
    auto n = parseGoInt(celFind(part, kDigits));
    if (!n) return std::nullopt;
    std::int64_t minutes = 0;
    if (__builtin_mul_overflow(*n, length, &minutes)) return std::nullopt;
    if (__builtin_add_overflow(total, minutes, &total)) return std::nullopt;
  }
  return total;
}

std::map<std::string, CelPredicate> buildRules() {
  std::map<std::string, CelPredicate> rules;
  // spec
  rules["!(has(self.window) && has(self.calendar))"] = [](const JsonValue& self) -> Outcome {
    auto both = celAnd(has(self, "window"), has(self, "calendar"));
    if (!both) return std::nullopt;
    return !*both;
  };
  // durations: spec.window, burnRateRules[].long and .short
  rules["self.matches('[1-9]')"] = [](const JsonValue& self) -> Outcome {
    if (!self.isString()) return std::nullopt;
    return self.asString().find_first_of("123456789") != std::string::npos;
  };
  rules[celMinutesExpr("self") + " <= 129600"] = [](const JsonValue& self) -> Outcome {
    auto m = celMinutes(&self);
    if (!m) return std::nullopt;
    return *m <= 129600;
  };
  rules[celMinutesExpr("self.short") + " < " + celMinutesExpr("self.long")] =
      [](const JsonValue& self) -> Outcome {
    auto s = celMinutes(field(self, "short"));
    auto l = celMinutes(field(self, "long"));
    if (!s || !l) return std::nullopt;
    return *s < *l;
  };
  // indicators
  rules["has(self.errors) || has(self.latency)"] = [](const JsonValue& self) {
    return celOr(has(self, "errors"), has(self, "latency"));
  };
  rules["has(self.good) != has(self.bad)"] = [](const JsonValue& self) -> Outcome {
    auto good = has(self, "good");
    auto bad = has(self, "bad");
    if (!good || !bad) return std::nullopt;
    return *good != *bad;
  };
  // decimals
  const auto greater = [](double a, double b) { return a > b; };
  const auto greaterEq = [](double a, double b) { return a >= b; };
  const auto less = [](double a, double b) { return a < b; };
  const auto lessEq = [](double a, double b) { return a <= b; };
  constexpr double kFixedMax = 9223372036.854775807;  // CEL parses the literal the same way
  rules["double(self) > 0.0 && double(self) < 100.0"] = [=](const JsonValue& self) {
    return celAnd(compareDouble(&self, 0.0, greater), compareDouble(&self, 100.0, less));
  };
  rules["double(self) > 0.0 && double(self) < 1.0"] = [=](const JsonValue& self) {
    return celAnd(compareDouble(&self, 0.0, greater), compareDouble(&self, 1.0, less));
  };
  rules["double(self) > 0.0 && double(self) <= 9223372036.854775807"] = [=](const JsonValue& self) {
    return celAnd(compareDouble(&self, 0.0, greater), compareDouble(&self, kFixedMax, lessEq));
  };
  rules["double(self) >= -9223372036.854775807 && double(self) <= 9223372036.854775807"] =
      [=](const JsonValue& self) {
        return celAnd(compareDouble(&self, -kFixedMax, greaterEq),
                      compareDouble(&self, kFixedMax, lessEq));
      };
  rules["double(self) >= -1000000.0 && double(self) <= 1.0"] = [=](const JsonValue& self) {
    return celAnd(compareDouble(&self, -1000000.0, greaterEq), compareDouble(&self, 1.0, lessEq));
  };
  rules["double(self) <= 1.0"] = [=](const JsonValue& self) {
    return compareDouble(&self, 1.0, lessEq);
  };
  rules["double(self.unfreezeAbove) >= double(self.freezeBelow)"] =
      [](const JsonValue& self) -> Outcome {
    auto unfreeze = celDouble(field(self, "unfreezeAbove"));
    auto freeze = celDouble(field(self, "freezeBelow"));
    if (!unfreeze || !freeze) return std::nullopt;
    return *unfreeze >= *freeze;
  };
  // traffic
  rules["self <= 999999999999999999"] = [](const JsonValue& self) -> Outcome {
    if (self.type() != JsonValue::Type::kInt) return std::nullopt;
    return self.asInt() <= 999'999'999'999'999'999;
  };
  return rules;
}

void collect(const YAML::Node& schema, const std::string& path, std::vector<CelRuleSite>& out) {
  if (!isMap(schema)) return;
  if (const YAML::Node rules = schema["x-kubernetes-validations"]; isSequence(rules)) {
    for (const YAML::Node& r : rules) {
      out.push_back({path.empty() ? "<root>" : path, r["rule"].as<std::string>(""),
                     r["message"].as<std::string>("")});
    }
  }
  if (const YAML::Node props = schema["properties"]; isMap(props)) {
    for (const auto& kv : props) {
      const std::string name = kv.first.as<std::string>();
      collect(kv.second, path.empty() ? name : std::string(path).append(".").append(name), out);
    }
  }
  if (isMap(schema["items"])) collect(schema["items"], path + "[]", out);
  if (isMap(schema["additionalProperties"])) {
    collect(schema["additionalProperties"], path + ".*", out);
  }
}

}  // namespace

const std::map<std::string, CelPredicate>& knownCelRules() {
  static const auto* rules = new std::map<std::string, CelPredicate>(buildRules());
  return *rules;
}

const CelPredicate* findCelRule(const std::string& rule) {
  const auto& rules = knownCelRules();
  auto it = rules.find(rule);
  return it == rules.end() ? nullptr : &it->second;
}

std::string celMinutesExpr(const std::string& x) {
  static const std::pair<char, const char*> kUnits[] = {
      {'w', " * 10080"}, {'d', " * 1440"}, {'h', " * 60"}, {'m', ""}};
  std::string expr;
  for (const auto& [unit, times] : kUnits) {
    const std::string find = x + ".find('[0-9]+" + unit + "')";
    if (!expr.empty()) expr += " + ";
    expr.append("(").append(find).append(" == '' ? 0 : int(").append(find);
    expr.append(".find('[0-9]+'))").append(times).append(")");
  }
  return expr;
}

std::vector<CelRuleSite> collectCelRules(const YAML::Node& schema, const std::string& path) {
  std::vector<CelRuleSite> out;
  collect(schema, path, out);
  return out;
}

}  // namespace slogate::crdtest
