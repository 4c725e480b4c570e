#include "engine/slo_spec.h"

#include <algorithm>

#include "base/time.h"

namespace slogate::engine {

const char* indicatorName(IndicatorKind kind) {
  switch (kind) {
    case IndicatorKind::kErrors:
      return "errors";
    case IndicatorKind::kLatency:
      return "latency";
    case IndicatorKind::kSaturation:
      return "saturation";
  }
  return "unknown";
}

const char* ruleActionName(RuleAction action) {
  return action == RuleAction::kRollback ? "rollback" : "halt";
}

const char* calendarPeriodName(CalendarPeriod period) {
  return period == CalendarPeriod::kMonth ? "month" : "week";
}

Minutes maxPeriodLength(CalendarPeriod period) {
  return period == CalendarPeriod::kMonth ? 33 * kDay : 9 * kDay;
}

Minutes nominalPeriodLength(CalendarPeriod period) {
  return period == CalendarPeriod::kMonth ? 30 * kDay : kWeek;
}

Minutes calendarPeriodStart(const CalendarWindow& calendar, Minutes t) {
  constexpr std::int64_t kSecondsPerDay = 86400;
  // Far outside any real clock, stay exact about the arithmetic, not the date.
  constexpr Minutes kLimit = Minutes{1} << 50;
  t = std::clamp(t, -kLimit, kLimit);
  const TimeZone& zone = *calendar.zone;
  const std::int64_t utc = t * 60;
  const std::int64_t local = utc + zone.offsetAt(utc);
  const std::int64_t day = floorTo(local, kSecondsPerDay) / kSecondsPerDay;
  const std::int64_t firstDay = [&] {
    if (calendar.period == CalendarPeriod::kMonth) {
      std::int64_t year = 0;
      unsigned month = 0;
      unsigned dayOfMonth = 0;
      civilFromDays(day, year, month, dayOfMonth);
      return daysFromCivil(year, month, 1);
    }
    // ISO weeks start on Monday; 1970-01-01 was a Thursday.
    return day - ((day + 3) % 7 + 7) % 7;
  }();
  const std::int64_t start = zone.firstInstantAtOrAfter(firstDay * kSecondsPerDay);
  // A zone that repeats a day could put the period's first midnight after t
  // or more than a period back; keep the window within what the rings hold.
  const Minutes startMinute = floorTo(std::min(start, utc), 60) / 60;
  return std::max(startMinute, t - maxPeriodLength(calendar.period));
}

std::vector<BurnRateRule> defaultRules(Minutes window) {
  struct Row {
    Minutes longWindow;
    Minutes shortWindow;
    int sharePercent;
    RuleAction action;
  };
  static constexpr Row kRows[] = {
      {kHour, 5, 2, RuleAction::kRollback},
      {6 * kHour, 30, 5, RuleAction::kRollback},
      {kDay, 2 * kHour, 10, RuleAction::kHalt},
      {3 * kDay, 6 * kHour, 10, RuleAction::kHalt},
  };
  std::vector<BurnRateRule> rules;
  rules.reserve(std::size(kRows));
  for (const Row& row : kRows) {
    // share/100 × window/long
    rules.push_back({row.longWindow, row.shortWindow,
                     Ratio{static_cast<Int128>(row.sharePercent) * window,
                           static_cast<Int128>(100) * row.longWindow},
                     row.action});
  }
  return rules;
}

}  // namespace slogate::engine
