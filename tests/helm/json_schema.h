// json_schema.h — the JSON Schema subset values.schema.json may use, to
// check values the way `helm install` / `helm lint` check them against it.
//
// Keywords: type (one or a list: object, array, string, integer, number,
// boolean, null), properties, required, additionalProperties (false or a
// schema), items (a schema), enum, minimum, maximum, minLength, pattern
// (ECMAScript, unanchored like JSON Schema's); annotations $schema, title,
// description, default, examples. Any other keyword is reported as an
// error, so the schema cannot rely on a check this validator skips.
//
//   std::vector<std::string> errors = validateSchema(schema, values);
//   // "config.workers: 0 is below the minimum 1"
//
// Thread safety: a pure function.
#pragma once

#include <string>
#include <vector>

#include "helm/value.h"

namespace slogate::helmtest {

// Every violation, one line each, naming the value's path; empty when valid.
std::vector<std::string> validateSchema(const Value& schema, const Value& instance);

}  // namespace slogate::helmtest
