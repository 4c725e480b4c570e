#include "fakes/json_patch.h"

#include <gtest/gtest.h>

#include <string>

namespace slogate::fakes {
namespace {

Json parse(const std::string& text) {
  Result<Json> r = Json::parse(text);
  EXPECT_TRUE(r.ok()) << r.status().message() << " in " << text;
  return r.ok() ? *r : Json();
}

TEST(JsonPatchTest, EqualityIgnoresMemberOrderButNotArrayOrder) {
  EXPECT_TRUE(jsonEqual(parse(R"({"a":1,"b":[1,2]})"), parse(R"({"b":[1,2],"a":1.0})")));
  EXPECT_FALSE(jsonEqual(parse(R"({"b":[1,2]})"), parse(R"({"b":[2,1]})")));
  EXPECT_FALSE(jsonEqual(parse(R"({"a":1})"), parse(R"({"a":1,"b":null})")));
  EXPECT_FALSE(jsonEqual(parse(R"("1")"), parse("1")));
}

// The examples of RFC 7386 appendix A.
TEST(JsonPatchTest, MergePatchRfc7386Examples) {
  const struct {
    const char* target;
    const char* patch;
    const char* result;
  } cases[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", "null", "null"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(jsonEqual(mergePatch(parse(c.target), parse(c.patch)), parse(c.result)))
        << c.target << " + " << c.patch << " gave "
        << mergePatch(parse(c.target), parse(c.patch)).dump();
  }
}

TEST(JsonPatchTest, JsonPatchOperations) {
  const Json doc = parse(R"({"spec":{"replicas":3,"steps":[{"w":1},{"w":2}]},"a~b":{"c/d":1}})");
  Result<Json> r = jsonPatch(doc, parse(R"([
      {"op":"test","path":"/spec/replicas","value":3},
      {"op":"replace","path":"/spec/replicas","value":5},
      {"op":"add","path":"/spec/steps/1","value":{"w":9}},
      {"op":"add","path":"/spec/steps/-","value":{"w":3}},
      {"op":"remove","path":"/spec/steps/0"},
      {"op":"copy","from":"/spec/replicas","path":"/spec/copied"},
      {"op":"move","from":"/a~0b/c~1d","path":"/moved"},
      {"op":"add","path":"/spec/paused","value":true}])"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(
      jsonEqual(*r, parse(R"({"spec":{"replicas":5,"steps":[{"w":9},{"w":2},{"w":3}],"copied":5,
                   "paused":true},"a~b":{},"moved":1})")))
      << r->dump();
}

TEST(JsonPatchTest, JsonPatchFailuresNameTheOperation) {
  const Json doc = parse(R"({"spec":{"replicas":3,"steps":[1]}})");
  const struct {
    const char* ops;
    const char* fragment;
  } cases[] = {
      {R"([{"op":"test","path":"/spec/replicas","value":4}])", "operation 0 (test /spec/replicas)"},
      {R"([{"op":"replace","path":"/spec/missing","value":1}])", "not found"},
      {R"([{"op":"remove","path":"/spec/steps/1"}])", "out of range"},
      {R"([{"op":"add","path":"/nope/x","value":1}])", "not found"},
      {R"([{"op":"move","from":"/spec","path":"/spec/inner"}])", "into itself"},
      {R"([{"op":"frobnicate","path":"/spec"}])", "unknown op"},
      {R"([{"op":"add","path":"spec","value":1}])", "bad JSON pointer"},
      {R"({"op":"add"})", "array of operations"},
  };
  for (const auto& c : cases) {
    Result<Json> r = jsonPatch(doc, parse(c.ops));
    ASSERT_FALSE(r.ok()) << c.ops;
    EXPECT_NE(r.status().message().find(c.fragment), std::string::npos)
        << c.ops << ": " << r.status().message();
  }
}

TEST(JsonPatchTest, JsonPointers) {
  EXPECT_EQ(parseJsonPointer(""), std::vector<std::string>{});
  EXPECT_EQ(parseJsonPointer("/a~1b/~0c/"), (std::vector<std::string>{"a/b", "~c", ""}));
  EXPECT_FALSE(parseJsonPointer("a").has_value());
  EXPECT_FALSE(parseJsonPointer("/a~2").has_value());
  const Json doc = parse(R"({"a":[{"b":7}]})");
  ASSERT_NE(findAt(doc, {"a", "0", "b"}), nullptr);
  EXPECT_EQ(findAt(doc, {"a", "0", "b"})->text(), "7");
  EXPECT_EQ(findAt(doc, {"a", "01"}), nullptr);
  EXPECT_EQ(findAt(doc, {"a", "1"}), nullptr);
}

}  // namespace
}  // namespace slogate::fakes
