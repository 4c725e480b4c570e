// Calendar windows: the SLO window is the current month or ISO week in a time
// zone. Zones come from POSIX rules here (the engine is pure; the TZif loader
// is tested in tests/base and tests/config).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/time.h"
#include "engine/evaluate.h"
#include "engine/series.h"
#include "engine/verdict_json.h"

namespace slogate::engine {
namespace {

using ::testing::HasSubstr;

Minutes minute(const char* rfc3339) {
  return *parseTime(rfc3339) / 60;
}

CalendarWindow calendar(CalendarPeriod period, const char* rule) {
  auto zone = TimeZone::fromPosix(rule, rule);
  EXPECT_TRUE(zone) << zone.status().toString();
  return {period, std::make_shared<const TimeZone>(std::move(*zone))};
}

const char* kBerlin = "CET-1CEST,M3.5.0,M10.5.0/3";
const char* kKolkata = "IST-5:30";

TEST(Calendar, PeriodStartsAtTheFirstLocalMidnight) {
  const CalendarWindow month = calendar(CalendarPeriod::kMonth, kBerlin);
  // Winter: 00:00 CET is 23:00Z the day before.
  EXPECT_EQ(calendarPeriodStart(month, minute("2026-12-15T12:00:00Z")),
            minute("2026-11-30T23:00:00Z"));
  // The first minute of a period starts it (the window is empty there)...
  EXPECT_EQ(calendarPeriodStart(month, minute("2026-11-30T23:00:00Z")),
            minute("2026-11-30T23:00:00Z"));
  // ...and the minute before still belongs to the month before.
  EXPECT_EQ(calendarPeriodStart(month, minute("2026-11-30T22:59:00Z")),
            minute("2026-10-31T23:00:00Z"));
  // Summer: 00:00 CEST is 22:00Z.
  EXPECT_EQ(calendarPeriodStart(month, minute("2026-07-04T00:00:00Z")),
            minute("2026-06-30T22:00:00Z"));

  // ISO weeks start on Monday: 2026-12-02 is a Wednesday.
  const CalendarWindow week = calendar(CalendarPeriod::kIsoWeek, kBerlin);
  EXPECT_EQ(calendarPeriodStart(week, minute("2026-12-02T10:00:00Z")),
            minute("2026-11-29T23:00:00Z"));
  const CalendarWindow utcWeek = calendar(CalendarPeriod::kIsoWeek, "UTC0");
  EXPECT_EQ(calendarPeriodStart(utcWeek, minute("2026-12-06T23:59:00Z")),
            minute("2026-11-30T00:00:00Z"));
  EXPECT_EQ(calendarPeriodStart(utcWeek, minute("2026-12-07T00:00:00Z")),
            minute("2026-12-07T00:00:00Z"));
  // Before the epoch too (1969-12-31 was a Wednesday).
  EXPECT_EQ(calendarPeriodStart(utcWeek, minute("1969-12-31T12:00:00Z")),
            minute("1969-12-29T00:00:00Z"));
}

TEST(Calendar, LayoutKeepsTheCalendarWindowApartFromRuleWindows) {
  const CalendarWindow month = calendar(CalendarPeriod::kMonth, kBerlin);
  // A rule whose long window is as long as the longest month must not be
  // merged with the calendar window.
  std::vector<BurnRateRule> rules = defaultRules(30 * kDay);
  rules.push_back({maxPeriodLength(CalendarPeriod::kMonth), kDay, Ratio{1, 1}, RuleAction::kHalt});
  auto layout = WindowLayout::build(0, rules, false, month);
  ASSERT_TRUE(layout) << layout.status().toString();
  const auto windows = (*layout)->windows();
  const auto slo = static_cast<std::size_t>((*layout)->sloWindowIndex());
  EXPECT_TRUE(windows[slo].calendar);
  EXPECT_EQ(windows[slo].name, "month");
  const int rule = (*layout)->indexOf(maxPeriodLength(CalendarPeriod::kMonth));
  ASSERT_GE(rule, 0);
  EXPECT_NE(static_cast<std::size_t>(rule), slo);
  EXPECT_FALSE(windows[static_cast<std::size_t>(rule)].calendar);
  // Memory: the hour ring grows to the longest period, still within 32 KiB.
  EXPECT_LE((*layout)->bytesPerSeries(true), 32U * 1024U);
}

TEST(Calendar, SeriesCountsFromThePeriodStartAndResetsAtTheNext) {
  const CalendarWindow month = calendar(CalendarPeriod::kMonth, kBerlin);
  auto layout = WindowLayout::build(0, defaultRules(30 * kDay), false, month);
  ASSERT_TRUE(layout);
  const auto slo = static_cast<std::size_t>((*layout)->sloWindowIndex());
  const Minutes from = minute("2026-10-20T00:00:00Z");
  IndicatorSeries s(*layout, false, from);
  // One event a minute, one bad in every 100th, through the end of November
  // (across the DST switch of 2026-10-25) and into December.
  const auto expected = [&](Minutes t) {  // minutes in (start, t]
    return static_cast<std::uint64_t>(t - std::max(from, calendarPeriodStart(month, t)));
  };
  for (Minutes t = from + 1; t <= minute("2026-12-01T02:00:00Z"); ++t) {
    ASSERT_EQ(s.record(1, t, 1, t % 100 == 0 ? 1 : 0), RecordOutcome::kRecorded);
    if (t % 97 == 0 || t == minute("2026-11-30T22:59:00Z") || t == minute("2026-11-30T23:00:00Z")) {
      ASSERT_EQ(s.window(slo).total, expected(t)) << formatRfc3339(t * 60);
    }
  }
  EXPECT_EQ(s.window(slo).total, 180U);  // 23:00Z .. 02:00Z: three hours of December
}

TEST(Calendar, HalfHourZonesWidenTheStartToTheBucket) {
  // Kolkata's months start at 18:30Z; the window's hour buckets start at
  // 18:00Z, so the first 30 minutes of a period also count the last 30 of the
  // period before (README: "Window resolution").
  const CalendarWindow month = calendar(CalendarPeriod::kMonth, kKolkata);
  auto layout = WindowLayout::build(0, defaultRules(30 * kDay), false, month);
  ASSERT_TRUE(layout);
  const auto slo = static_cast<std::size_t>((*layout)->sloWindowIndex());
  const Minutes start = minute("2026-11-30T18:30:00Z");
  ASSERT_EQ(calendarPeriodStart(month, start + 10), start);
  IndicatorSeries s(*layout, false, start - 120);
  for (Minutes t = start - 119; t <= start + 10; ++t) {
    ASSERT_EQ(s.record(1, t, 1, 0), RecordOutcome::kRecorded);
  }
  EXPECT_EQ(s.window(slo).total, 40U);
}

TEST(Calendar, EvaluationResetsTheBudgetAtThePeriodStartAndShowsThePeriod) {
  SloSpec spec;
  spec.ns = "shop";
  spec.name = "checkout";
  spec.calendar = calendar(CalendarPeriod::kMonth, kBerlin);
  spec.window = nominalPeriodLength(CalendarPeriod::kMonth);
  IndicatorSpec errors;
  errors.kind = IndicatorKind::kErrors;
  errors.objective = *Fixed::parsePercent("99");
  errors.total = "t";
  errors.bad = "b";
  spec.indicators.push_back(errors);
  spec.policy.rules = defaultRules(spec.window);
  auto compiled = CompiledSlo::compile(spec);
  ASSERT_TRUE(compiled) << compiled.status().toString();

  // November spends its budget on its last day (5% bad, objective 99%).
  const Minutes monthEnd = minute("2026-11-30T23:00:00Z");
  SloState state = SloState::start(*compiled, monthEnd - 3 * kDay);
  for (Minutes t = state.head() + 1; t < monthEnd; ++t) {
    state.advanceTo(t);
    ASSERT_EQ(state.series[0].record(1, t, 100, t >= monthEnd - kDay ? 5 : 0),
              RecordOutcome::kRecorded);
  }
  Verdict before;
  state.advanceTo(monthEnd - 1);
  evaluate(state, before);
  EXPECT_EQ(before.decision, Decision::kFreeze);
  // Over (31 Oct 23:00Z, 30 Nov 22:59Z]: all of the 3-day history.
  EXPECT_EQ(before.indicators[0].events.total, (3 * kDay - 1) * 100U);
  EXPECT_EQ(before.indicators[0].events.bad, kDay * 5U);
  EXPECT_LT(before.indicators[0].budgetRemaining, kZero);

  // The first minute of December: an empty window, the whole budget, no
  // freeze; the rolling 1d and 2h windows still burn at 5 > 3: halt.
  Verdict after;
  after.frozen = before.frozen;
  state.advanceTo(monthEnd);
  evaluate(state, after);
  EXPECT_EQ(after.indicators[0].events.total, 0U);
  EXPECT_EQ(after.indicators[0].budgetRemaining, kOne);
  EXPECT_FALSE(after.frozen);
  EXPECT_EQ(after.decision, Decision::kHalt);
  const auto oneDay =
      after.indicators[0].burnRate(static_cast<std::size_t>(after.slo->layout()->indexOf(kDay)));
  ASSERT_TRUE(oneDay.has_value());
  EXPECT_GT(*oneDay, kOne);

  const std::string json = verdictJson(after);
  EXPECT_THAT(json, HasSubstr(R"("period":{"calendar":"month","timeZone":")"));
  EXPECT_THAT(json, HasSubstr(R"("start":"2026-11-30T23:00:00Z")"));
  EXPECT_THAT(json, HasSubstr(R"("window":null)"));
}

TEST(Calendar, ARefusedBucketLeavesTheHeadAlone) {
  const CalendarWindow week = calendar(CalendarPeriod::kIsoWeek, "UTC0");
  auto layout = WindowLayout::build(0, defaultRules(kWeek), false, week);
  ASSERT_TRUE(layout);
  const Minutes t0 = minute("2026-12-02T00:00:00Z");
  IndicatorSeries s(*layout, false, t0);
  ASSERT_EQ(s.record(1, t0 + 1, kMaxEvents, 0), RecordOutcome::kRecorded);
  // A newer minute would push the week's sum past kMaxEvents: refused, and
  // the head did not move.
  EXPECT_EQ(s.record(1, t0 + 5, 1, 0), RecordOutcome::kOverflow);
  EXPECT_EQ(s.head(), t0 + 1);
  // Once the full minute leaves every window (next week), it fits again.
  const Minutes nextWeek = minute("2026-12-14T00:00:00Z");
  EXPECT_EQ(s.record(1, nextWeek + 1, 1, 0), RecordOutcome::kRecorded);
  EXPECT_EQ(s.head(), nextWeek + 1);
  EXPECT_EQ(s.window(static_cast<std::size_t>((*layout)->sloWindowIndex())).total, 1U);
}

}  // namespace
}  // namespace slogate::engine
