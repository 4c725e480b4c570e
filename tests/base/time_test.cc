#include "base/time.h"

#include <gtest/gtest.h>

namespace slogate {
namespace {

TEST(Time, FormatsUtc) {
  EXPECT_EQ(formatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(formatRfc3339(1795838400), "2026-11-28T04:00:00Z");
  EXPECT_EQ(formatRfc3339(951782400), "2000-02-29T00:00:00Z");  // leap day
  EXPECT_EQ(formatRfc3339(-1), "1969-12-31T23:59:59Z");
}

TEST(Time, ParsesRfc3339AndUnixSeconds) {
  EXPECT_EQ(*parseTime("2026-11-28T04:00:00Z"), 1795838400);
  EXPECT_EQ(*parseTime("2026-11-28T05:30:00+01:30"), 1795838400);
  EXPECT_EQ(*parseTime("2026-11-27T23:00:00-05:00"), 1795838400);
  EXPECT_EQ(*parseTime("2026-11-28T04:00:00.999Z"), 1795838400);  // fraction dropped
  EXPECT_EQ(*parseTime("1795838400"), 1795838400);
}

TEST(Time, RoundTripsEveryDayForYears) {
  for (std::int64_t day = -800; day < 40000; day += 7) {
    const std::int64_t t = day * 86400 + 3723;
    const auto parsed = parseTime(formatRfc3339(t));
    ASSERT_TRUE(parsed.ok()) << formatRfc3339(t);
    EXPECT_EQ(*parsed, t);
  }
}

TEST(Time, RejectsWithReason) {
  for (const char* bad : {"", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-11-27T04:00:00",
                          "2026-11-27 04:00", "yesterday", "-5", "2026-11-27T24:00:00Z",
                          "2026-11-27T04:00:00+1:00", "99999999999999"}) {
    const auto r = parseTime(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().message();
    }
  }
}

}  // namespace
}  // namespace slogate
