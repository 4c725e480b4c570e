// json.h — Json: a small JSON document model and a strict parser.
//
// slogate reads JSON from Prometheus, the Kubernetes API and AdmissionReview
// requests with this one parser (writing goes through json_writer.h). It is
// strict RFC 8259 (no comments, no trailing commas, no NaN literals), bounds
// nesting depth, and keeps every number's text as written so decimals reach
// Fixed::parse without passing through a double.
//
//   auto doc = Json::parse(body);
//   if (!doc) return doc.status();
//   const Json& result = (*doc)["data"]["result"];   // missing keys give null
//   for (const Json& s : result.items()) ...
//
// Thread safety: immutable after parse; share freely.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace slogate {

class Json {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  // Parses a whole document (surrounding whitespace allowed). Errors name the
  // byte offset. `maxDepth` bounds nesting of arrays and objects.
  static Result<Json> parse(std::string_view text, int maxDepth = 64);

  Json() = default;
  static Json string(std::string s);
  static Json number(std::string literal);
  static Json boolean(bool b);

  Type type() const { return type_; }
  bool isNull() const { return type_ == Type::kNull; }
  bool isBool() const { return type_ == Type::kBool; }
  bool isNumber() const { return type_ == Type::kNumber; }
  bool isString() const { return type_ == Type::kString; }
  bool isArray() const { return type_ == Type::kArray; }
  bool isObject() const { return type_ == Type::kObject; }

  // The string's value, or a number's literal text; empty otherwise.
  const std::string& text() const { return text_; }
  bool boolValue() const { return bool_; }
  // An integral number that fits int64, else nullopt.
  std::optional<std::int64_t> asInt() const;
  // A number as double (for values that are not exact by nature).
  std::optional<double> asDouble() const;

  // Array elements (empty for non-arrays).
  const std::vector<Json>& items() const { return items_; }
  // Object members in document order (empty for non-objects).
  const std::vector<std::pair<std::string, Json>>& members() const { return members_; }
  // The member named `key` (first one), or a shared null when absent or not an object.
  const Json& operator[](std::string_view key) const;
  // Array element i, or a shared null when out of range.
  const Json& operator[](std::size_t i) const;
  bool has(std::string_view key) const;

  // Builders for tests and small documents.
  void push(Json value);
  void set(std::string key, Json value);
  static Json array();
  static Json object();

  // Compact serialization (numbers as their literal text).
  std::string dump() const;

  // Whether both hold the same JSON value: object members compared by key
  // whatever their order (a key given twice counts once, its first value, as
  // operator[] reads it), arrays in order, numbers by their literal text.
  // O(n log n) in the number of members, whatever their order.
  bool sameValue(const Json& other) const;

 private:
  friend class JsonParser;
  Type type_ = Type::kNull;
  bool bool_ = false;
  std::string text_;                                   // string value or number literal
  std::vector<Json> items_;                            // array elements
  std::vector<std::pair<std::string, Json>> members_;  // object members
};

}  // namespace slogate
