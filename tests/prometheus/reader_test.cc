// Unit tests of the reader's number handling; its queries against a real
// Prometheus are in reader_integration_test.cc.
#include "prometheus/reader.h"

#include <gtest/gtest.h>

namespace slogate::prometheus {
namespace {

engine::Fixed fx(const char* s) {
  return *engine::Fixed::parse(s);
}

TEST(Reader, BucketQuery) {
  EXPECT_EQ(bucketQuery("a_total{x=\"y\"}", 1), "sum(increase(a_total{x=\"y\"}[1m]))");
  EXPECT_EQ(bucketQuery("a_total", 60), "sum(increase(a_total[60m]))");
}

TEST(Reader, EventCountRoundsAndRejects) {
  EXPECT_EQ(eventCount("12"), 12u);
  EXPECT_EQ(eventCount("12.000000000000002"), 12u);
  EXPECT_EQ(eventCount("11.5"), 12u);
  EXPECT_EQ(eventCount("0"), 0u);
  EXPECT_EQ(eventCount("-0.2"), 0u);  // float noise around zero
  EXPECT_EQ(eventCount("1e3"), 1000u);
  EXPECT_EQ(eventCount("-3"), std::nullopt);
  EXPECT_EQ(eventCount("NaN"), std::nullopt);
  EXPECT_EQ(eventCount("+Inf"), std::nullopt);
  EXPECT_EQ(eventCount("1e30"), std::nullopt);
  EXPECT_EQ(eventCount(""), std::nullopt);
  EXPECT_EQ(eventCount("12abc"), std::nullopt);
}

TEST(Reader, CompareValueIsExactDecimal) {
  EXPECT_EQ(compareValue("0.9", fx("0.9")), 0);
  EXPECT_EQ(compareValue("0.90000", fx("0.9")), 0);
  // The double nearest 0.9 printed in full is above 0.9: exact comparison says so.
  EXPECT_EQ(compareValue("0.90000000000000002220446", fx("0.9")), 1);
  EXPECT_EQ(compareValue("0.8999999999999999", fx("0.9")), -1);
  EXPECT_EQ(compareValue("1", fx("0.9")), 1);
  EXPECT_EQ(compareValue("10", fx("9.5")), 1);
  EXPECT_EQ(compareValue("9e-1", fx("0.9")), 0);
  EXPECT_EQ(compareValue("0.0009e3", fx("0.9")), 0);
  EXPECT_EQ(compareValue("-1", fx("0.9")), -1);
  EXPECT_EQ(compareValue("-1", fx("-2")), 1);
  EXPECT_EQ(compareValue("-0", fx("0")), 0);
  EXPECT_EQ(compareValue("+Inf", fx("1000")), 1);
  EXPECT_EQ(compareValue("-Inf", fx("-1000")), -1);
  EXPECT_EQ(compareValue("1e400", fx("1000")), 1);
  EXPECT_EQ(compareValue("1e-400", fx("0")), 1);
  EXPECT_EQ(compareValue("NaN", fx("0.9")), std::nullopt);
  EXPECT_EQ(compareValue("abc", fx("0.9")), std::nullopt);
  EXPECT_EQ(compareValue("", fx("0.9")), std::nullopt);
}

}  // namespace
}  // namespace slogate::prometheus
