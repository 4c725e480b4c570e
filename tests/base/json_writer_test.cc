#include "base/json_writer.h"

#include <gtest/gtest.h>

namespace slogate {
namespace {

TEST(JsonWriter, WritesNestedDocumentsWithCommas) {
  JsonWriter w;
  w.beginObject().key("a").raw("1").key("b").beginArray().string("x").string("y").endArray();
  w.key("c").beginObject().endObject().key("d").boolean(false).endObject();
  EXPECT_EQ(w.str(), R"({"a":1,"b":["x","y"],"c":{},"d":false})");
}

TEST(JsonWriter, EscapesControlQuotesAndBackslashes) {
  JsonWriter w;
  w.string(std::string("q\"b\\n\n\t\x01 \xe2\x86\x92", 12));
  EXPECT_EQ(w.str(), "\"q\\\"b\\\\n\\n\\t\\u0001 \xe2\x86\x92\"");
}

}  // namespace
}  // namespace slogate
