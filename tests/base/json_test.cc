#include "base/json.h"

#include <gtest/gtest.h>

namespace slogate {
namespace {

TEST(Json, ParsesAPrometheusResponseKeepingNumberText) {
  auto doc = Json::parse(R"({"status":"success","data":{"resultType":"vector","result":[
    {"metric":{"__name__":"up","job":"a\"b"},"value":[1700000000.123,"0.1000000000000000055"]}]}})");
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  const Json& r = (*doc)["data"]["result"][0];
  EXPECT_EQ(r["metric"]["job"].text(), "a\"b");
  EXPECT_EQ(r["value"][0].text(), "1700000000.123");
  EXPECT_EQ(r["value"][1].text(), "0.1000000000000000055");
  EXPECT_TRUE((*doc)["missing"]["deeper"].isNull());
  EXPECT_TRUE(r["value"][7].isNull());
}

TEST(Json, ScalarsAndEscapes) {
  auto doc = Json::parse(R"([true,false,null,-0.5e3,"\u00e9\ud83d\ude00\n\/", 12345678901234])");
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  EXPECT_TRUE((*doc)[0].boolValue());
  EXPECT_FALSE((*doc)[1].boolValue());
  EXPECT_TRUE((*doc)[2].isNull());
  EXPECT_EQ((*doc)[3].asDouble(), -500.0);
  EXPECT_EQ((*doc)[3].asInt(), std::nullopt);
  EXPECT_EQ((*doc)[4].text(), "\xc3\xa9\xf0\x9f\x98\x80\n/");
  EXPECT_EQ((*doc)[5].asInt(), 12345678901234);
}

TEST(Json, RoundTripsThroughDump) {
  const std::string text = R"({"a":[1,2.50,{"b":null}],"c":"x\ty","d":true})";
  auto doc = Json::parse(text);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->dump(), text);
}

TEST(Json, RejectsWhatRfc8259Rejects) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\":1,}", "{'a':1}", "[01]", "[1.]", "[.5]", "[NaN]",
                          "[Infinity]", "\"\\x\"", "\"a", "[1] 2", "{\"a\" 1}", "\"\\ud800\"",
                          "\"tab\there\"", "tru", "[-]", "[1e]"}) {
    auto doc = Json::parse(bad);
    EXPECT_FALSE(doc.ok()) << bad;
    if (!doc.ok()) {
      EXPECT_NE(doc.status().message().find("invalid JSON at byte"), std::string::npos);
    }
  }
}

TEST(Json, BoundsDepth) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  auto doc = Json::parse(deep, 64);
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.status().message().find("nested deeper than 64"), std::string::npos);
  EXPECT_TRUE(Json::parse(deep, 128).ok());
}

TEST(Json, Builders) {
  Json o = Json::object();
  o.set("k", Json::string("v"));
  o.set("k", Json::number("2"));
  Json a = Json::array();
  a.push(Json::boolean(true));
  o.set("a", a);
  EXPECT_EQ(o.dump(), R"({"k":2,"a":[true]})");
  EXPECT_TRUE(o.has("a"));
  EXPECT_FALSE(o.has("b"));
}

TEST(Json, StringsMixRunsAndEscapesAndNameTheByteOfAControlCharacter) {
  auto doc = Json::parse(R"(["plain run \"quoted\" then \\ and \u0041BC end", "", "\n"])");
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  EXPECT_EQ((*doc)[0].text(), "plain run \"quoted\" then \\ and ABC end");
  EXPECT_EQ((*doc)[1].text(), "");
  EXPECT_EQ((*doc)[2].text(), "\n");
  auto bad = Json::parse(
      "[\"abc\x01"
      "def\"]");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("at byte 6: control character in string"),
            std::string::npos)
      << bad.status().message();
  auto open = Json::parse("\"abc");
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("unterminated string"), std::string::npos);
}

Json parsed(const char* text) {
  auto doc = Json::parse(text);
  EXPECT_TRUE(doc.ok()) << text;
  return doc.ok() ? *doc : Json();
}

TEST(Json, SameValueIgnoresMemberOrderButNotArrayOrderOrNumberText) {
  const Json a = parsed(R"({"b":1,"a":{"y":[1,2],"x":"s"},"c":null})");
  EXPECT_TRUE(a.sameValue(parsed(R"({"a":{"x":"s","y":[1,2]},"c":null,"b":1})")));
  EXPECT_TRUE(a.sameValue(a));
  EXPECT_FALSE(a.sameValue(parsed(R"({"b":1,"a":{"y":[2,1],"x":"s"},"c":null})")));
  EXPECT_FALSE(a.sameValue(parsed(R"({"b":1.0,"a":{"y":[1,2],"x":"s"},"c":null})")));
  EXPECT_FALSE(a.sameValue(parsed(R"({"b":1,"a":{"y":[1,2],"x":"s"}})")));
  EXPECT_FALSE(a.sameValue(parsed(R"({"b":1,"a":{"y":[1,2],"x":"s"},"c":false})")));
  EXPECT_FALSE(a.sameValue(parsed(R"({"b":1,"a":{"y":[1,2],"x":"s"},"d":null})")));
  EXPECT_FALSE(parsed("[]").sameValue(parsed("{}")));
  EXPECT_FALSE(parsed(R"("1")").sameValue(parsed("1")));
  EXPECT_TRUE(parsed("true").sameValue(parsed("true")));
  EXPECT_FALSE(parsed("true").sameValue(parsed("false")));
  // Sorted keys pair up in place; the same keys unsorted and reordered too.
  EXPECT_TRUE(parsed(R"({"a":1,"b":2})").sameValue(parsed(R"({"a":1,"b":2})")));
  EXPECT_FALSE(parsed(R"({"a":1,"b":2})").sameValue(parsed(R"({"a":1,"b":3})")));
  EXPECT_FALSE(parsed(R"({"b":2,"a":1})").sameValue(parsed(R"({"a":1,"b":3})")));
}

TEST(Json, SameValueReadsARepeatedKeyAsItsFirstValueLikeTheIndexOperator) {
  const Json twice = parsed(R"({"k":1,"k":2})");
  EXPECT_EQ(twice["k"].text(), "1");
  EXPECT_TRUE(twice.sameValue(parsed(R"({"k":1})")));
  EXPECT_TRUE(parsed(R"({"k":1})").sameValue(twice));
  EXPECT_FALSE(twice.sameValue(parsed(R"({"k":2})")));
  EXPECT_TRUE(twice.sameValue(parsed(R"({"k":1,"k":3})")));
}

TEST(Json, SameValueOnDeepUnsortedDocumentsComparesEachNodeOnce) {
  // 60 levels of objects whose keys are out of order and whose last member
  // differs at the bottom: a compare that retried a path per level would
  // take 2^60 steps; this one finishes.
  std::string left;
  std::string right;
  for (int i = 0; i < 60; ++i) {
    left += R"({"z":1,"a":)";
    right += R"({"z":1,"a":)";
  }
  left += "1";
  right += "2";
  for (int i = 0; i < 60; ++i) {
    left += "}";
    right += "}";
  }
  EXPECT_FALSE(parsed(left.c_str()).sameValue(parsed(right.c_str())));
  EXPECT_TRUE(parsed(left.c_str()).sameValue(parsed(left.c_str())));
}

}  // namespace
}  // namespace slogate
