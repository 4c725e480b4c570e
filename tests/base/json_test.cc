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

}  // namespace
}  // namespace slogate
