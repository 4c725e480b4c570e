#include "base/result.h"

#include <gtest/gtest.h>

namespace slogate {
namespace {

TEST(Result, CarriesValueOrStatus) {
  Result<int> ok = 7;
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 7);
  Result<int> bad = invalidArgument("spec.window: \"0m\" is not a duration");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().toString(), "invalid argument: spec.window: \"0m\" is not a duration");
}

TEST(Result, ContextPrefixesMessage) {
  const Status s = unavailable("connection refused").withContext("prometheus");
  EXPECT_EQ(s.message(), "prometheus: connection refused");
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_TRUE(Status::ok().withContext("x").isOk());
}

TEST(Result, OneMappingToHttp) {
  EXPECT_EQ(httpStatus(Code::kOk), 200);
  EXPECT_EQ(httpStatus(Code::kInvalidArgument), 400);
  EXPECT_EQ(httpStatus(Code::kNotFound), 404);
  EXPECT_EQ(httpStatus(Code::kConflict), 409);
  EXPECT_EQ(httpStatus(Code::kUnavailable), 503);
  EXPECT_EQ(httpStatus(Code::kDeadline), 504);
  EXPECT_EQ(httpStatus(Code::kInternal), 500);
}

}  // namespace
}  // namespace slogate
