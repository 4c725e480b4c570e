// json_patch.h — JSON value helpers for the fake API server: deep equality,
// member removal, RFC 7386 merge patches, RFC 6902 JSON patches and RFC 6901
// JSON pointers, all over slogate::Json (which has no in-place mutation of
// nested values, so every function here returns a rebuilt document).
//
//   Json merged = mergePatch(object, *Json::parse(R"({"spec":{"paused":true}})"));
//   Result<Json> patched = jsonPatch(object, *Json::parse(
//       R"([{"op":"test","path":"/spec/replicas","value":3},
//           {"op":"replace","path":"/spec/replicas","value":5}])"));
//   if (!patched) ... patched.status().message() names the failing operation
//   bool same = jsonEqual(a, b);  // object member order does not matter
//
// Thread safety: pure functions over values; call from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/result.h"

namespace slogate::fakes {

// Deep equality. Object members compare as unordered sets; numbers compare by
// literal text, or by value when both parse as doubles ("1.0" == "1").
bool jsonEqual(const Json& a, const Json& b);

// A copy of object `object` without member `key` (unchanged if absent).
Json withoutMember(const Json& object, std::string_view key);

// RFC 7386: members of `patch` replace those of `target`, null deletes,
// nested objects merge recursively, anything that is not an object replaces.
Json mergePatch(const Json& target, const Json& patch);

// RFC 6902: applies the operations (add, remove, replace, move, copy, test) in
// order; the first failing operation fails the whole patch and its message
// names the operation's index and path.
Result<Json> jsonPatch(const Json& document, const Json& operations);

// RFC 6901: "/a/b~1c" -> {"a", "b/c"}; nullopt when `pointer` is neither empty
// nor starting with '/', or has a bad '~' escape.
std::optional<std::vector<std::string>> parseJsonPointer(std::string_view pointer);

// The value at `tokens` (see parseJsonPointer), or nullptr when absent.
const Json* findAt(const Json& document, const std::vector<std::string>& tokens);

}  // namespace slogate::fakes
