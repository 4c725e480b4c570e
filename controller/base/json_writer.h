// json_writer.h — a small streaming JSON writer for slogate's own outputs.
//
// Verdicts, status patches and API errors are written with this one writer so
// they all escape strings the same way and print numbers the same way (the
// caller passes numbers already formatted, e.g. Fixed::toString(), so nothing
// here goes through floating point). It checks nothing about structure beyond
// commas; callers write well-formed documents.
//
//   JsonWriter w;
//   w.beginObject().key("decision").string("approve").key("n").raw("1").endObject();
//   std::string out = w.take();
//
// Thread safety: none; one writer per document.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace slogate {

class JsonWriter {
 public:
  JsonWriter& beginObject();
  JsonWriter& endObject();
  JsonWriter& beginArray();
  JsonWriter& endArray();
  JsonWriter& key(std::string_view name);
  JsonWriter& string(std::string_view value);
  // A number or literal written as is: "0.999", "null", "true".
  JsonWriter& raw(std::string_view token);
  JsonWriter& boolean(bool value) { return raw(value ? "true" : "false"); }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

  // Appends `value` as a quoted, escaped JSON string.
  static void appendQuoted(std::string& out, std::string_view value);

 private:
  void separate();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool afterKey_ = false;
};

}  // namespace slogate
