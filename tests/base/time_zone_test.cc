// TimeZone against glibc: glibc's localtime_r reads the same TZif files and
// POSIX rules with its own, independent implementation, so it is the oracle
// for offsets; gap and fold handling is checked on known switches.
#include "base/time_zone.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>

#include "base/time.h"

namespace slogate {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// glibc's offset at `t` under the TZ value `tz` (":Europe/Berlin" or a rule).
std::int64_t glibcOffset(const std::string& tz, std::int64_t t) {
  const char* current = std::getenv("TZ");
  if (current == nullptr || tz != current) {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): base_test runs no threads; TZ is what glibc reads
    setenv("TZ", tz.c_str(), 1);
    tzset();
  }
  const auto tt = static_cast<std::time_t>(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  return tm.tm_gmtoff;
}

std::int64_t at(const char* rfc3339) {
  return *parseTime(rfc3339);
}

class RestoreTz : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = std::getenv("TZ");
    if (tz != nullptr) saved_ = tz;
  }
  void TearDown() override {
    // base_test runs no threads, so setting TZ back is safe here.
    if (saved_) {
      setenv("TZ", saved_->c_str(), 1);  // NOLINT(concurrency-mt-unsafe): single-threaded
    } else {
      unsetenv("TZ");  // NOLINT(concurrency-mt-unsafe): single-threaded
    }
    tzset();
  }
  std::optional<std::string> saved_;
};

using TimeZoneVsGlibc = RestoreTz;

TEST_F(TimeZoneVsGlibc, OffsetsOfRealZonesAgreeAtRandomInstantsAndAroundEveryTransition) {
  // Zones with DST both ways, half- and quarter-hour offsets, 30-minute DST,
  // negative DST (Dublin), negative switch times (Nuuk), a skipped day
  // (Apia), and footers that differ from the table (Casablanca).
  const char* zones[] = {"Europe/Berlin",       "America/New_York", "Australia/Sydney",
                         "Australia/Lord_Howe", "Asia/Kolkata",     "Asia/Kathmandu",
                         "America/Sao_Paulo",   "Pacific/Apia",     "Africa/Casablanca",
                         "America/Nuuk",        "Pacific/Chatham",  "America/St_Johns",
                         "Europe/Dublin",       "Antarctica/Troll", "America/Santiago"};
  std::mt19937_64 rng(20261202);
  int checked = 0;
  for (const char* name : zones) {
    const std::string path = std::string("/usr/share/zoneinfo/") + name;
    const std::string bytes = readFile(path);
    ASSERT_FALSE(bytes.empty()) << path;
    auto zone = TimeZone::fromTzif(name, bytes);
    ASSERT_TRUE(zone) << zone.status().toString();
    const std::string tz = std::string(":") + name;
    std::uniform_int_distribution<std::int64_t> when(at("1970-01-01T00:00:00Z"),
                                                     at("2199-12-31T00:00:00Z"));
    for (int i = 0; i < 3000; ++i) {
      const std::int64_t t = when(rng);
      ASSERT_EQ(zone->offsetAt(t), glibcOffset(tz, t)) << name << " at " << formatRfc3339(t);
      ++checked;
    }
    // Every minute of each hour of 2020..2040 in which glibc changes offset.
    for (std::int64_t t = at("2020-01-01T00:00:00Z"); t < at("2041-01-01T00:00:00Z"); t += 3600) {
      if (glibcOffset(tz, t) != glibcOffset(tz, t + 3600)) {
        for (std::int64_t s = t; s <= t + 3600; s += 60) {
          ASSERT_EQ(zone->offsetAt(s), glibcOffset(tz, s)) << name << " at " << formatRfc3339(s);
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 60000);
}

TEST_F(TimeZoneVsGlibc, PosixRulesAloneAgreeFarIntoTheFuture) {
  // As zic's "slim" files have them: no table, the footer decides everything.
  const char* rules[] = {"CET-1CEST,M3.5.0,M10.5.0/3",
                         "EST5EDT,M3.2.0,M11.1.0",
                         "AEST-10AEDT,M10.1.0,M4.1.0/3",
                         "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
                         "IST-1GMT0,M10.5.0,M3.5.0/1",
                         "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
                         "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
                         "NZST-12NZDT,J270,J95",
                         "XXX3YYY,100/1,300/4",
                         "<+0545>-5:45"};
  std::mt19937_64 rng(7);
  for (const char* rule : rules) {
    auto zone = TimeZone::fromPosix(rule, rule);
    ASSERT_TRUE(zone) << zone.status().toString();
    std::uniform_int_distribution<std::int64_t> when(at("1971-01-01T00:00:00Z"),
                                                     at("2299-12-31T00:00:00Z"));
    for (int i = 0; i < 5000; ++i) {
      const std::int64_t t = when(rng);
      ASSERT_EQ(zone->offsetAt(t), glibcOffset(rule, t)) << rule << " at " << formatRfc3339(t);
    }
  }
}

TEST(TimeZone, FirstInstantOfALocalTimeHandlesGapsAndFolds) {
  auto berlin = TimeZone::fromTzif("Europe/Berlin", readFile("/usr/share/zoneinfo/Europe/Berlin"));
  ASSERT_TRUE(berlin);
  const auto local = [](const char* text) { return at(text); };  // local time read as if UTC
  // An ordinary local midnight: 2026-12-01 00:00 CET = 2026-11-30T23:00Z.
  EXPECT_EQ(berlin->firstInstantAtOrAfter(local("2026-12-01T00:00:00Z")),
            at("2026-11-30T23:00:00Z"));
  // 02:30 does not exist on 2026-03-29 (02:00 CET → 03:00 CEST): the gap's end.
  EXPECT_EQ(berlin->firstInstantAtOrAfter(local("2026-03-29T02:30:00Z")),
            at("2026-03-29T01:00:00Z"));
  // 02:30 happens twice on 2026-10-25: the first (CEST) one.
  EXPECT_EQ(berlin->firstInstantAtOrAfter(local("2026-10-25T02:30:00Z")),
            at("2026-10-25T00:30:00Z"));

  // Chile-style rule: clocks jump from 24:00 to 01:00, so midnight does not
  // exist and the day starts at 01:00 local = 04:00Z.
  auto santiago = TimeZone::fromPosix("chile", "<-04>4<-03>,M9.1.6/24,M4.1.6/24");
  ASSERT_TRUE(santiago);
  EXPECT_EQ(santiago->firstInstantAtOrAfter(local("2026-09-06T00:00:00Z")),
            at("2026-09-06T04:00:00Z"));
  EXPECT_EQ(santiago->offsetAt(at("2026-09-06T04:00:00Z")), -3 * 3600);

  // Samoa skipped 2011-12-30 entirely: its start is the start of the 31st.
  auto apia = TimeZone::fromTzif("Pacific/Apia", readFile("/usr/share/zoneinfo/Pacific/Apia"));
  ASSERT_TRUE(apia);
  EXPECT_EQ(apia->firstInstantAtOrAfter(local("2011-12-30T00:00:00Z")),
            apia->firstInstantAtOrAfter(local("2011-12-31T00:00:00Z")));

  const TimeZone utc = TimeZone::utc();
  EXPECT_EQ(utc.offsetAt(at("2026-06-01T00:00:00Z")), 0);
  EXPECT_EQ(utc.firstInstantAtOrAfter(12345), 12345);
}

TEST(TimeZone, MalformedDataIsAnErrorNamingTheZoneNeverACrash) {
  const std::string berlin = readFile("/usr/share/zoneinfo/Europe/Berlin");
  ASSERT_GT(berlin.size(), 100U);
  // Every truncation of a real file.
  for (std::size_t n = 0; n < berlin.size(); ++n) {
    auto zone = TimeZone::fromTzif("Europe/Berlin", berlin.substr(0, n));
    ASSERT_FALSE(zone) << "accepted a file cut at " << n;
    EXPECT_NE(zone.status().message().find("Europe/Berlin"), std::string::npos);
  }
  // Corrupted bytes anywhere: an error or a zone, never undefined behaviour.
  std::mt19937 rng(1);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes = berlin;
    bytes[rng() % bytes.size()] = static_cast<char>(rng());
    auto zone = TimeZone::fromTzif("x", bytes);
    if (zone) (void)zone->offsetAt(static_cast<std::int64_t>(rng()));
  }
  EXPECT_FALSE(TimeZone::fromTzif("x", "not a zone file at all, but long enough to hold a header"));

  // A header claiming leap seconds is refused with the reason.
  std::string leap = berlin.substr(0, 44);
  leap[4] = 0;       // version 1: one data block
  leap[28 + 3] = 1;  // leapcnt = 1
  auto leapZone = TimeZone::fromTzif("right/Europe/Berlin", leap + std::string(4096, '\0'));
  ASSERT_FALSE(leapZone);
  EXPECT_NE(leapZone.status().message().find("leap-second"), std::string::npos);

  for (const char* rule : {"", "CET", "CET-1CEST,M13.1.0,M10.5.0", "CET-1CEST,M3.6.0,M10.5.0",
                           "CET-1CEST,M3.5.7,M10.5.0", "CET-1CEST,J0,J10", "CET-25", "<AB>1",
                           "CET-1CEST,M3.5.0", "CET-1CEST,M3.5.0/168,M10.5.0", "CET-1 "}) {
    EXPECT_FALSE(PosixTzRule::parse(rule)) << rule;
  }
}

}  // namespace
}  // namespace slogate
