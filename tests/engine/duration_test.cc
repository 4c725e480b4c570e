#include "engine/duration.h"

#include <gtest/gtest.h>

namespace slogate::engine {
namespace {

TEST(Duration, ParsesUnitsAndCompounds) {
  EXPECT_EQ(*parseDuration("5m"), 5);
  EXPECT_EQ(*parseDuration("6h"), 360);
  EXPECT_EQ(*parseDuration("30d"), 43200);
  EXPECT_EQ(*parseDuration("1w"), 10080);
  EXPECT_EQ(*parseDuration("1h30m"), 90);
  EXPECT_EQ(*parseDuration("1w2d"), 12960);
}

TEST(Duration, RejectsWithReason) {
  EXPECT_EQ(parseDuration("0m").status().message(),
            "\"0m\" is not a duration: must be longer than zero");
  EXPECT_EQ(parseDuration("30s").status().message(),
            "\"30s\" is not a duration: unknown unit 's' (use m, h, d or w)");
  EXPECT_EQ(parseDuration("30").status().message(),
            "\"30\" is not a duration: missing unit (m, h, d or w)");
  for (const char* bad : {"", "m", "-5m", "1m1h", "1h1h", " 5m", "5m ", "1.5h", "99999999999d"}) {
    EXPECT_FALSE(parseDuration(bad).ok()) << bad;
  }
}

TEST(Duration, FormatsShortest) {
  EXPECT_EQ(formatDuration(5), "5m");
  EXPECT_EQ(formatDuration(90), "1h30m");
  EXPECT_EQ(formatDuration(kDay), "1d");
  EXPECT_EQ(formatDuration(3 * kDay), "3d");
  EXPECT_EQ(formatDuration(30 * kDay), "30d");
  EXPECT_EQ(formatDuration(kWeek), "1w");
  EXPECT_EQ(formatDuration(kDay + 1), "1d1m");
  for (Minutes m = 1; m < 20000; m += 37) EXPECT_EQ(*parseDuration(formatDuration(m)), m);
}

TEST(Duration, FloorAndCeilHandleNegatives) {
  EXPECT_EQ(floorTo(59, 15), 45);
  EXPECT_EQ(floorTo(60, 15), 60);
  EXPECT_EQ(floorTo(-1, 15), -15);
  EXPECT_EQ(ceilTo(46, 15), 60);
  EXPECT_EQ(ceilTo(-14, 15), 0);
  EXPECT_EQ(ceilTo(-15, 15), -15);
}

}  // namespace
}  // namespace slogate::engine
