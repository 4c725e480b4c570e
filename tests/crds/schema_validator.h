// schema_validator.h — what the API server does with a custom resource on
// create, for the subset of structural OpenAPI v3 the CRD uses.
//
// In the API server's order: unknown fields are errors (field validation
// Strict, as `kubectl apply --validate=strict` asks), null values of
// non-nullable fields are dropped, defaults are applied, then the value is
// checked against type, properties, required, additionalProperties, items,
// enum, pattern (std::regex ECMAScript; the CRD's patterns mean the same in
// RE2), minLength/maxLength (in characters), minimum/maximum,
// minItems/maxItems, format (int64, date-time), x-kubernetes-list-type map
// and the x-kubernetes-validations rules of cel_rules.h. metadata at the root
// is left to the API server's ObjectMeta checks, as the CRD does. A status is
// checked as a write to the /status subresource would be (on create the API
// server drops it; the controller writes it through /status).
//
// kSupportedKeywords lists what is implemented; the test fails when the CRD
// uses any other keyword, so nothing is silently skipped.
//
//   SchemaValidator v(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]);
//   std::vector<std::string> errors = v.admit(doc);   // empty: admitted; doc now has defaults
#pragma once

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <vector>

#include "crds/json_value.h"

namespace slogate::crdtest {

inline const std::set<std::string> kSupportedKeywords = {
    "type",
    "description",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "format",
    "default",
    "nullable",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
};

class SchemaValidator {
 public:
  // `schema` is an openAPIV3Schema (the root of a custom resource).
  explicit SchemaValidator(YAML::Node schema) : schema_(std::move(schema)) {}

  // Admits a whole custom resource; returns one "path: what" line per error.
  std::vector<std::string> admit(JsonValue& resource) const;

  // Admits one value against any schema node (e.g. spec.window's); `path`
  // prefixes the errors.
  static std::vector<std::string> admitValue(const YAML::Node& schema, JsonValue& value,
                                             const std::string& path);

 private:
  YAML::Node schema_;
};

}  // namespace slogate::crdtest
