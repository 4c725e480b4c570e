// cel_rules.h — the CEL rules of the CRD, each as a C++ predicate.
//
// This is not a CEL interpreter: it knows exactly the rule texts the CRD
// uses, and for each one a predicate with CEL's semantics for that rule
// (double(string) and int(string) parse as Go's strconv does, find() returns
// the leftmost match or '', integer overflow is an evaluation error, && is
// false when either side is false). A rule text in the CRD that is not listed
// here fails the test, so the CRD and the predicates cannot drift apart.
//
//   const CelPredicate* p = findCelRule("has(self.good) != has(self.bad)");
//   std::optional<bool> ok = (*p)(indicatorValue);   // nullopt: evaluation error
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "crds/json_value.h"

namespace slogate::crdtest {

// true: the rule holds; false: it fails; nullopt: evaluating it failed (the
// API server reports that as an invalid value too).
using CelPredicate = std::function<std::optional<bool>(const JsonValue& self)>;

// Every rule text the CRD may use, with its predicate.
const std::map<std::string, CelPredicate>& knownCelRules();

// The predicate for `rule`, or nullptr when the text is unknown.
const CelPredicate* findCelRule(const std::string& rule);

// The CEL expression counting the minutes of the duration string at `x`
// (such as "self" or "self.long"), as the CRD spells it.
std::string celMinutesExpr(const std::string& x);

// One x-kubernetes-validations entry of a schema.
struct CelRuleSite {
  std::string path;  // e.g. spec.policy.burnRateRules[]
  std::string rule;
  std::string message;
};

// Every x-kubernetes-validations entry under `schema`, depth first.
std::vector<CelRuleSite> collectCelRules(const YAML::Node& schema, const std::string& path = "");

}  // namespace slogate::crdtest
