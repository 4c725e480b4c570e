// fuzz_json — slogate::Json::parse (base/json.h) on arbitrary bytes.
//
// Properties checked (abort on violation):
//   * parse never crashes, and a failed parse has a non-empty message naming
//     the byte offset ("invalid JSON at byte N: ...");
//   * round trip: when the input parses, dump() re-parses, and the re-parsed
//     document dumps to exactly the same text (dump is a fixed point);
//   * the re-parsed document has the same shape (types, sizes, keys, texts);
//   * parsing with a smaller maxDepth never accepts what the default refuses.
// Accessors (asInt, asDouble, operator[], has) run on every node so their
// edge cases (huge literals, "-0", duplicate keys) are exercised too.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/json.h"

namespace {

using slogate::Json;

[[noreturn]] void fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr, "fuzz_json: INVARIANT VIOLATED: %s\n  input: %.*s\n  detail: %s\n", what,
               static_cast<int>(input.size()), input.data(), detail.c_str());
  std::abort();
}

// Structural equality (document order, duplicate keys and number literals kept).
bool sameShape(const Json& a, const Json& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Json::Type::kNull:
      return true;
    case Json::Type::kBool:
      return a.boolValue() == b.boolValue();
    case Json::Type::kNumber:
    case Json::Type::kString:
      return a.text() == b.text();
    case Json::Type::kArray:
      if (a.items().size() != b.items().size()) return false;
      for (std::size_t i = 0; i < a.items().size(); ++i) {
        if (!sameShape(a.items()[i], b.items()[i])) return false;
      }
      return true;
    case Json::Type::kObject:
      if (a.members().size() != b.members().size()) return false;
      for (std::size_t i = 0; i < a.members().size(); ++i) {
        if (a.members()[i].first != b.members()[i].first) return false;
        if (!sameShape(a.members()[i].second, b.members()[i].second)) return false;
      }
      return true;
  }
  return false;
}

// Touches every accessor; returns a value so the calls are not optimized out.
std::size_t walk(const Json& j, int depth) {
  std::size_t n = 1;
  if (j.isNumber()) {
    if (j.text().empty()) fail("number with an empty literal", {}, "");
    const auto i = j.asInt();
    const auto d = j.asDouble();
    if (!d) fail("a parsed number has no double value", j.text(), "");
    if (i) n += static_cast<std::size_t>(*i & 1);
  }
  if (j.isObject()) {
    for (const auto& [k, v] : j.members()) {
      if (!j.has(k)) fail("has() misses a member key", k, "");
      (void)j[k];  // first member with that key
      n += walk(v, depth + 1);
    }
    (void)j["\x01no such key"];
  }
  if (j.isArray()) {
    for (std::size_t i = 0; i < j.items().size(); ++i) n += walk(j[i], depth + 1);
    if (!j[j.items().size()].isNull()) fail("out-of-range index is not null", {}, "");
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto doc = Json::parse(input);
  if (!doc) {
    const std::string& msg = doc.status().message();
    if (msg.rfind("invalid JSON at byte ", 0) != 0) fail("error message shape", input, msg);
    return 0;
  }
  walk(*doc, 0);

  const std::string first = doc->dump();
  auto again = Json::parse(first);
  if (!again)
    fail("dump() does not re-parse", input, first + "\n  error: " + again.status().message());
  const std::string second = again->dump();
  if (first != second) fail("dump() is not a fixed point", input, first + "\n  vs: " + second);
  if (!sameShape(*doc, *again)) fail("re-parsed document differs", input, first);

  // A shallower limit may refuse the document but must not change it.
  if (auto shallow = Json::parse(input, 2)) {
    if (shallow->dump() != first) fail("maxDepth changes the document", input, first);
  }
  return 0;
}
