#include "engine/series.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <utility>
#include <vector>

#include "engine/slo_spec.h"

namespace slogate::engine {
namespace {

constexpr Minutes kT0 = 29'000'040;  // a minute in 2025, a multiple of 60

std::shared_ptr<const WindowLayout> layoutFor(Minutes window, bool traffic = false) {
  auto layout = WindowLayout::build(window, defaultRules(window), traffic);
  EXPECT_TRUE(layout.ok()) << layout.status().toString();
  return *layout;
}

std::size_t indexOf(const WindowLayout& layout, Minutes length) {
  const int i = layout.indexOf(length);
  EXPECT_GE(i, 0) << length;
  return static_cast<std::size_t>(i);
}

TEST(WindowLayout, StandardWindowsTiersAndMemory) {
  const auto layout = layoutFor(30 * kDay);
  std::vector<std::string> names;
  for (const WindowDef& w : layout->windows()) names.push_back(w.name);
  EXPECT_EQ(names, (std::vector<std::string>{"5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"}));
  ASSERT_EQ(layout->tiers().size(), 3u);
  EXPECT_EQ(layout->tiers()[0].resolution, 1);
  EXPECT_EQ(layout->tiers()[0].slots, 360 + kLateHorizon + 2);
  EXPECT_EQ(layout->tiers()[1].resolution, 15);
  EXPECT_EQ(layout->tiers()[2].resolution, 60);
  EXPECT_FALSE(layout->windows()[static_cast<std::size_t>(layout->sloWindowIndex())].listed);
  EXPECT_LE(layout->bytesPerSeries(false), 32u * 1024u);
  // With the guard's week ring on one of two indicators: still ≤ 32 KiB each.
  EXPECT_LE((layout->bytesPerSeries(false) + layout->bytesPerSeries(true)) / 2, 32u * 1024u);
}

TEST(WindowLayout, SloWindowEqualToStandardIsShared) {
  const auto layout = layoutFor(kDay);
  EXPECT_EQ(layout->windows().size(), 7u);
  EXPECT_EQ(layout->sloWindowIndex(), layout->indexOf(kDay));
  EXPECT_EQ(layout->tiers().size(), 2u);  // no hour tier without a window over 3d
}

TEST(WindowLayout, RejectsTooManyWindowsAndHugeWindows) {
  std::vector<BurnRateRule> rules;
  for (Minutes m = 7; m < 7 + 20; ++m) rules.push_back({m * 10, m, Ratio{1, 1}, RuleAction::kHalt});
  EXPECT_FALSE(WindowLayout::build(30 * kDay, rules, false).ok());
  EXPECT_FALSE(WindowLayout::build(91 * kDay, {}, false).ok());
  EXPECT_FALSE(WindowLayout::build(0, {}, false).ok());
}

TEST(Series, MinuteWindowsSlideExactly) {
  const auto layout = layoutFor(30 * kDay);
  IndicatorSeries s(layout, false, kT0);
  for (Minutes m = 1; m <= 10; ++m) {
    ASSERT_EQ(s.record(1, kT0 + m, 100, m), RecordOutcome::kRecorded);
  }
  const std::size_t w5 = indexOf(*layout, 5);
  EXPECT_EQ(s.head(), kT0 + 10);
  EXPECT_EQ(s.window(w5).total, 500u);
  EXPECT_EQ(s.window(w5).bad, 6u + 7 + 8 + 9 + 10);  // slices ending in (t−5, t]
  EXPECT_EQ(s.window(indexOf(*layout, 30)).bad, 55u);
  s.advanceTo(kT0 + 14);
  EXPECT_EQ(s.window(w5).bad, 10u);
  s.advanceTo(kT0 + 15);
  EXPECT_EQ(s.window(w5).total, 0u);
  EXPECT_EQ(s.window(indexOf(*layout, 30)).total, 1000u);
}

// A jump that empties the short windows (all their buckets leave at once)
// and only slides the long ones; data after the jump counts from zero.
TEST(Series, JumpEmptiesShortWindowsAndSlidesLongOnes) {
  const auto layout = layoutFor(30 * kDay);
  IndicatorSeries s(layout, false, kT0);
  for (Minutes m = 1; m <= 10; ++m) {
    ASSERT_EQ(s.record(1, kT0 + m, 100, m), RecordOutcome::kRecorded);
  }
  const std::size_t w5 = indexOf(*layout, 5);
  const std::size_t w30 = indexOf(*layout, 30);
  ASSERT_EQ(s.record(1, kT0 + 16, 7, 2), RecordOutcome::kRecorded);  // head 10 → 16
  EXPECT_EQ(s.window(w5).total, 7u);                                 // (11, 16]: only the new slice
  EXPECT_EQ(s.window(w5).bad, 2u);
  EXPECT_EQ(s.window(w30).total, 1007u);
  EXPECT_EQ(s.window(w30).bad, 57u);
  s.advanceTo(kT0 + 40);  // (10, 40]: slices 1–10 left, 16 stays
  EXPECT_EQ(s.window(w5).total, 0u);
  EXPECT_EQ(s.window(w30).total, 7u);
  EXPECT_EQ(s.window(w30).bad, 2u);
}

TEST(Series, LateSliceOverwritesInsteadOfDoubleCounting) {
  const auto layout = layoutFor(30 * kDay);
  IndicatorSeries s(layout, false, kT0);
  ASSERT_EQ(s.record(1, kT0 + 1, 10, 1), RecordOutcome::kRecorded);
  ASSERT_EQ(s.record(1, kT0 + 2, 10, 1), RecordOutcome::kRecorded);
  ASSERT_EQ(s.record(1, kT0 + 1, 40, 4), RecordOutcome::kRecorded);  // re-read, more scraped
  ASSERT_EQ(s.record(1, kT0 + 1, 40, 4), RecordOutcome::kRecorded);  // duplicate
  for (const std::size_t i :
       {indexOf(*layout, 5), indexOf(*layout, kDay), indexOf(*layout, 30 * kDay)}) {
    EXPECT_EQ(s.window(i).total, 50u) << i;
    EXPECT_EQ(s.window(i).bad, 5u) << i;
  }
  ASSERT_EQ(s.record(1, kT0 + 1, 0, 0), RecordOutcome::kRecorded);  // corrected down
  EXPECT_EQ(s.window(indexOf(*layout, kDay)).total, 10u);
}

TEST(Series, RefusesTooOldInvalidAndOverflow) {
  const auto layout = layoutFor(30 * kDay);
  IndicatorSeries s(layout, false, kT0);
  s.advanceTo(kT0 + 1000);
  const Minutes ringSlots = layout->tiers()[0].slots;
  EXPECT_EQ(s.record(1, kT0 + 1000 - ringSlots, 1, 0), RecordOutcome::kTooOld);
  EXPECT_EQ(s.record(1, kT0 + 1000 - ringSlots + 1, 1, 0), RecordOutcome::kRecorded);
  EXPECT_EQ(s.record(1, kT0 + 999, 1, 2), RecordOutcome::kInvalid);    // bad > total
  EXPECT_EQ(s.record(15, kT0 + 1001, 1, 0), RecordOutcome::kInvalid);  // misaligned
  EXPECT_EQ(s.record(7, kT0 + Minutes{7} * 5'000'000, 1, 0),
            RecordOutcome::kInvalid);                                          // no such tier
  EXPECT_EQ(s.record(1, kT0 + 998, kMaxEvents, 0), RecordOutcome::kOverflow);  // 1 + max
  EXPECT_EQ(s.window(indexOf(*layout, 30 * kDay)).total, 1u);  // nothing half-applied
  EXPECT_EQ(s.record(1, kT0 + 998, kMaxEvents - 1, kMaxEvents - 1), RecordOutcome::kRecorded);
  EXPECT_EQ(s.window(indexOf(*layout, 30 * kDay)).total, kMaxEvents);
  EXPECT_EQ(s.record(1, kT0 + 1000, kMaxEvents + 1, 0), RecordOutcome::kOverflow);
}

TEST(Series, CoarseWindowsCoverWholeBucketAtTheOldEdge) {
  const auto layout = layoutFor(30 * kDay);
  IndicatorSeries s(layout, false, kT0);
  // One event per minute for two days.
  for (Minutes m = 1; m <= 2 * kDay; ++m)
    ASSERT_EQ(s.record(1, kT0 + m, 1, 0), RecordOutcome::kRecorded);
  const Minutes t = kT0 + 2 * kDay;  // aligned to 60: exactly 1d
  EXPECT_EQ(s.window(indexOf(*layout, kDay)).total, static_cast<std::uint64_t>(kDay));
  s.advanceTo(t + 7);  // 1d window covers (floor15(t+7−1d), t+7] = 1d + 7 minutes
  EXPECT_EQ(s.window(indexOf(*layout, kDay)).total, static_cast<std::uint64_t>(kDay));
  // the 7 new minutes are empty; the old edge has not moved past the bucket yet
  s.advanceTo(t + 15);
  EXPECT_EQ(s.window(indexOf(*layout, kDay)).total, static_cast<std::uint64_t>(kDay - 15));
  EXPECT_EQ(s.window(indexOf(*layout, 30 * kDay)).total, static_cast<std::uint64_t>(2 * kDay));
}

TEST(Series, JumpLongerThanEveryWindowEmptiesThem) {
  const auto layout = layoutFor(7 * kDay, true);
  IndicatorSeries s(layout, true, kT0);
  for (Minutes m = 1; m <= 100; ++m)
    ASSERT_EQ(s.record(1, kT0 + m, 3, 1), RecordOutcome::kRecorded);
  s.advanceTo(kT0 + 100 + 8 * kDay);
  for (std::size_t i = 0; i < layout->windows().size(); ++i) {
    EXPECT_EQ(s.window(i).total, 0u) << layout->windows()[i].name;
    EXPECT_EQ(s.window(i).bad, 0u);
  }
  EXPECT_EQ(*s.weekAgoTraffic(), 0u);
}

TEST(Series, TrafficRingGivesTheSame5mOneWeekEarlier) {
  const auto layout = layoutFor(7 * kDay, true);
  IndicatorSeries s(layout, true, kT0);
  // Week-ago bucket (kT0+5, kT0+10]: 2 events per minute.
  for (Minutes m = 1; m <= 10; ++m)
    ASSERT_EQ(s.record(1, kT0 + m, m > 5 ? 2 : 1, 0), RecordOutcome::kRecorded);
  s.advanceTo(kT0 + 10 + kWeek);
  EXPECT_EQ(*s.weekAgoTraffic(), 10u);
  s.advanceTo(kT0 + 14 + kWeek);  // floor_5(t − 1w) is still kT0+10
  EXPECT_EQ(*s.weekAgoTraffic(), 10u);
  s.advanceTo(kT0 + 15 + kWeek);
  EXPECT_EQ(*s.weekAgoTraffic(), 0u);
  // Backfilled 5-minute totals are set, not added.
  ASSERT_EQ(s.recordTraffic(kT0 + 20, 77), RecordOutcome::kRecorded);
  ASSERT_EQ(s.recordTraffic(kT0 + 20, 70), RecordOutcome::kRecorded);
  s.advanceTo(kT0 + 20 + kWeek);
  EXPECT_EQ(*s.weekAgoTraffic(), 70u);
  EXPECT_EQ(s.recordTraffic(kT0 + 21, 1), RecordOutcome::kInvalid);
  IndicatorSeries plain(layout, false, kT0);
  EXPECT_FALSE(plain.weekAgoTraffic().has_value());
  EXPECT_EQ(plain.recordTraffic(kT0, 1), RecordOutcome::kInvalid);
}

// Backfilling by the plan (coarse buckets for old data) must leave every
// window exactly as recording every minute would.
TEST(Series, BackfillPlanMatchesMinuteByMinute) {
  for (const Minutes window : {30 * kDay, 7 * kDay, kDay, Minutes{100}}) {
    const auto layout = layoutFor(window, true);
    const Minutes head = kT0 + 40 * kDay + 37;
    std::mt19937_64 rng(window);
    std::map<Minutes, Events> truth;
    const Minutes start = head - 40 * kDay;
    for (Minutes m = start + 1; m <= head; ++m) {
      const std::uint64_t total = rng() % 50;
      truth[m] = {total, total == 0 ? 0 : rng() % (total + 1)};
    }
    IndicatorSeries exact(layout, true, start);
    for (const auto& [m, e] : truth)
      ASSERT_EQ(exact.record(1, m, e.total, e.bad), RecordOutcome::kRecorded);

    const BackfillPlan plan = backfillPlan(*layout, head);
    ASSERT_FALSE(plan.spans.empty());
    EXPECT_EQ(plan.spans.back().to, head);
    IndicatorSeries filled(layout, true, plan.spans.front().from);
    for (std::size_t k = 0; k < plan.spans.size(); ++k) {
      const BackfillSpan& span = plan.spans[k];
      if (k > 0) {
        EXPECT_EQ(span.from, plan.spans[k - 1].to);
      }
      for (Minutes end = span.from + span.resolution; end <= span.to; end += span.resolution) {
        Events sum;
        for (Minutes m = end - span.resolution + 1; m <= end; ++m) {
          sum.total += truth[m].total;
          sum.bad += truth[m].bad;
        }
        ASSERT_EQ(filled.record(span.resolution, end, sum.total, sum.bad), RecordOutcome::kRecorded)
            << "resolution " << span.resolution << " end " << end;
      }
    }
    for (Minutes end = plan.traffic.from + 5; end <= plan.traffic.to; end += 5) {
      std::uint64_t total = 0;
      for (Minutes m = end - 4; m <= end; ++m) total += truth[m].total;
      ASSERT_EQ(filled.recordTraffic(end, total), RecordOutcome::kRecorded) << end;
    }
    ASSERT_EQ(filled.head(), head);
    for (std::size_t i = 0; i < layout->windows().size(); ++i) {
      EXPECT_EQ(filled.window(i).total, exact.window(i).total)
          << window << " " << layout->windows()[i].name;
      EXPECT_EQ(filled.window(i).bad, exact.window(i).bad)
          << window << " " << layout->windows()[i].name;
    }
    EXPECT_EQ(*filled.weekAgoTraffic(), *exact.weekAgoTraffic());
    // And they stay equal as minutes keep coming, late corrections included.
    for (Minutes m = head + 1; m <= head + 3 * kHour; ++m) {
      ASSERT_EQ(exact.record(1, m, 5, 1), RecordOutcome::kRecorded);
      ASSERT_EQ(filled.record(1, m, 5, 1), RecordOutcome::kRecorded);
      ASSERT_EQ(exact.record(1, m - 30, 6, 2), RecordOutcome::kRecorded);
      ASSERT_EQ(filled.record(1, m - 30, 6, 2), RecordOutcome::kRecorded);
    }
    for (std::size_t i = 0; i < layout->windows().size(); ++i) {
      EXPECT_EQ(filled.window(i).total, exact.window(i).total) << layout->windows()[i].name;
      EXPECT_EQ(filled.window(i).bad, exact.window(i).bad) << layout->windows()[i].name;
    }
  }
}

}  // namespace
}  // namespace slogate::engine

namespace slogate::engine {
namespace {

// Found by fuzz_engine: a minute correcting time that a coarse bucket
// recorded on its own must not wrap any sum below zero.
TEST(IndicatorSeries, FinerAfterCoarserNeverWraps) {
  auto layout = WindowLayout::build(kDay, defaultRules(kDay), false);
  ASSERT_TRUE(layout.ok());
  IndicatorSeries s(*layout, false, 29'000'000 - 300);
  const Minutes m = 29'000'000 - 30;
  ASSERT_EQ(s.record(1, m, 10, 5), RecordOutcome::kRecorded);
  ASSERT_EQ(s.record(15, ceilTo(m, 15), 10, 0), RecordOutcome::kRecorded);
  // Correcting the minute would take 5 bad events out of sums that hold none.
  EXPECT_EQ(s.record(1, m, 10, 0), RecordOutcome::kOverflow);
  for (std::size_t i = 0; i < s.layout().windows().size(); ++i) {
    EXPECT_LE(s.window(i).bad, s.window(i).total) << s.layout().windows()[i].name;
    EXPECT_LE(s.window(i).total, kMaxEvents);
  }
}

// Found by fuzz_engine (a 7d SLO, 2026-12-02): a minute correcting time
// that a coarse bucket was recorded for on its own must not leave the coarse
// bucket, or a window, holding more bad than total events. The coarse bucket
// says (8, 4); taking the minute's 5 good events out would leave (3, 4).
TEST(IndicatorSeries, FinerAfterCoarserKeepsBadWithinTotal) {
  auto layout = WindowLayout::build(kDay, defaultRules(kDay), false);
  ASSERT_TRUE(layout.ok());
  IndicatorSeries s(*layout, false, 29'000'000 - 300);
  const Minutes m = 29'000'000 - 35;  // a 15-minute boundary
  ASSERT_EQ(m % 15, 0);
  ASSERT_EQ(s.record(1, m, 5, 0), RecordOutcome::kRecorded);
  ASSERT_EQ(s.record(15, m, 8, 4), RecordOutcome::kRecorded);
  const auto before = [&] {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    for (std::size_t i = 0; i < s.layout().windows().size(); ++i)
      out.emplace_back(s.window(i).total, s.window(i).bad);
    return out;
  }();
  EXPECT_EQ(s.record(1, m, 0, 0), RecordOutcome::kOverflow);
  for (std::size_t i = 0; i < s.layout().windows().size(); ++i) {
    EXPECT_EQ(s.window(i).total, before[i].first) << s.layout().windows()[i].name;
    EXPECT_EQ(s.window(i).bad, before[i].second) << s.layout().windows()[i].name;
  }
  // A correction that keeps the coarse bucket consistent still applies, up to
  // bad == total: (8, 4) + (1 − 5, 0) = (4, 4).
  EXPECT_EQ(s.record(1, m, 1, 0), RecordOutcome::kRecorded);
  bool sawCoarse = false;
  for (std::size_t i = 0; i < s.layout().windows().size(); ++i) {
    EXPECT_LE(s.window(i).bad, s.window(i).total) << s.layout().windows()[i].name;
    if (s.window(i).bad == 4) {
      EXPECT_EQ(s.window(i).total, 4U) << s.layout().windows()[i].name;
      sawCoarse = true;
    }
  }
  EXPECT_TRUE(sawCoarse) << "no window of 15-minute resolution or coarser holds the bucket";
}

}  // namespace
}  // namespace slogate::engine
