#include "rational_reference.h"

#include <algorithm>

#include "base/time.h"

namespace slogate::engine::reference {
namespace {

using boost::multiprecision::cpp_int;

Q fixedToQ(Fixed f) {
  return Q(cpp_int(f.raw()), cpp_int(Fixed::kScale));
}

// Nearest billionth, ties away from zero.
std::int64_t roundToRaw(const Q& x) {
  const Q scaled = x * Fixed::kScale;
  cpp_int num = boost::multiprecision::numerator(scaled);
  const cpp_int den = boost::multiprecision::denominator(scaled);  // > 0
  const bool negative = num < 0;
  if (negative) num = -num;
  cpp_int q = num / den;
  const cpp_int r = num % den;
  if (2 * r >= den) ++q;
  if (negative) q = -q;
  return q.convert_to<std::int64_t>();
}

Minutes floorDiv(Minutes t, Minutes step) {
  Minutes q = t / step;
  if (t % step != 0 && t < 0) --q;
  return q * step;
}

Slice sumWindow(const std::map<Minutes, Slice>& slices, Minutes from, Minutes to) {
  Slice s;
  for (auto it = slices.upper_bound(from); it != slices.end() && it->first <= to; ++it) {
    s.total += it->second.total;
    s.bad += it->second.bad;
  }
  return s;
}

// The calendar period holding minute t, for the fixed-offset zones the test
// draws: the local date's first day (month) or Monday (week), at local
// midnight, back in UTC.
Minutes periodStart(const CalendarWindow& calendar, Minutes t) {
  const Minutes offset = calendar.zone->offsetAt(0) / 60;
  const Minutes localDay = floorDiv(t + offset, kDay) / kDay;
  Minutes firstDay = localDay;
  if (calendar.period == CalendarPeriod::kMonth) {
    std::int64_t y = 0;
    unsigned m = 0, d = 0;
    civilFromDays(localDay, y, m, d);
    firstDay = daysFromCivil(y, m, 1);
  } else {
    while (((firstDay % 7) + 7 + 3) % 7 != 0) --firstDay;  // back to a Monday
  }
  return firstDay * kDay - offset;
}

Slice windowAt(const SloSpec& spec, const std::map<Minutes, Slice>& slices, Minutes t,
               Minutes length) {
  if (length == kCalendarWindow) {
    return sumWindow(slices, floorDiv(periodStart(*spec.calendar, t), kHour), t);
  }
  return sumWindow(slices, floorDiv(t - length, resolutionOf(length)), t);
}

std::optional<Q> burn(const Slice& s, const Q& budget) {
  if (s.total == 0) return std::nullopt;
  return Q(cpp_int(s.bad), cpp_int(s.total)) / budget;
}

}  // namespace

Minutes resolutionOf(Minutes length) {
  if (length <= 6 * kHour) return 1;
  if (length <= 3 * kDay) return 15;
  return 60;
}

std::vector<Rule> defaultRules(Minutes window) {
  const struct {
    Minutes longWindow, shortWindow;
    int percent;
    RuleAction action;
  } table[] = {{kHour, 5, 2, RuleAction::kRollback},
               {6 * kHour, 30, 5, RuleAction::kRollback},
               {kDay, 2 * kHour, 10, RuleAction::kHalt},
               {3 * kDay, 6 * kHour, 10, RuleAction::kHalt}};
  std::vector<Rule> rules;
  for (const auto& row : table) {
    rules.push_back({row.longWindow, row.shortWindow,
                     Q(cpp_int(row.percent) * window, cpp_int(100) * row.longWindow), row.action});
  }
  return rules;
}

Result evaluate(const SloSpec& spec, const std::vector<Rule>& rules, const History& history,
                Minutes t, const std::vector<Minutes>& windows, std::optional<bool> wasFrozen) {
  Result out;
  const Q freezeBelow = fixedToQ(spec.policy.freezeBelow);
  const Q unfreezeAbove = fixedToQ(spec.policy.unfreezeAbove);
  const std::uint64_t minEvents = std::max<std::uint64_t>(spec.traffic.minEvents, 1);
  bool anyJudged = false, rollback = false, halt = false;
  bool anyAtFreeze = false, allAboveUnfreeze = true;

  for (std::size_t k = 0; k < spec.indicators.size(); ++k) {
    const IndicatorSpec& ind = spec.indicators[k];
    const auto& slices = history[k];
    const Q budget = 1 - fixedToQ(ind.objective);
    Reading reading;
    for (const Minutes w : windows) {
      const auto b = burn(windowAt(spec, slices, t, w), budget);
      reading.burnRaw.push_back(b ? std::optional<std::int64_t>(roundToRaw(*b)) : std::nullopt);
    }
    reading.events = windowAt(spec, slices, t, spec.calendar ? kCalendarWindow : spec.window);
    Q remaining = 1;
    if (reading.events.total != 0) {
      remaining = 1 - Q(cpp_int(reading.events.bad), cpp_int(reading.events.total)) / budget;
    }
    reading.budgetRaw = roundToRaw(remaining);
    anyAtFreeze = anyAtFreeze || remaining <= freezeBelow;
    allAboveUnfreeze = allAboveUnfreeze && remaining > unfreezeAbove;

    const bool timeslices = ind.kind == IndicatorKind::kSaturation;
    for (const Rule& rule : rules) {
      const Slice longSlice = windowAt(spec, slices, t, rule.longWindow);
      if (longSlice.total < (timeslices ? 1 : minEvents)) continue;
      anyJudged = true;
      const auto lb = burn(longSlice, budget);
      const auto sb = burn(windowAt(spec, slices, t, rule.shortWindow), budget);
      if (lb && sb && *lb > rule.factor && *sb > rule.factor) {
        (rule.action == RuleAction::kRollback ? rollback : halt) = true;
      }
    }
    out.readings.push_back(std::move(reading));
  }

  out.frozen = wasFrozen.value_or(false) ? !allAboveUnfreeze : anyAtFreeze;

  bool guardTrips = false;
  if (spec.traffic.maxDrop) {
    // The guard watches errors, else latency: the first occurrences indicator.
    const auto& slices = history[0];
    const Slice now = sumWindow(slices, t - 5, t);
    const Minutes weekAgoEnd = floorDiv(t - kWeek, 5);
    const Slice before = sumWindow(slices, weekAgoEnd - 5, weekAgoEnd);
    if (before.total > 0) {
      guardTrips = Q(cpp_int(now.total)) < (1 - fixedToQ(*spec.traffic.maxDrop)) * before.total;
    }
  }

  if (rollback) {
    out.decision = Decision::kRollback;
  } else if (out.frozen) {
    out.decision = Decision::kFreeze;
  } else if (halt || guardTrips) {
    out.decision = Decision::kHalt;
  } else if (!anyJudged) {
    out.decision = Decision::kInconclusive;
  } else {
    out.decision = Decision::kApprove;
  }
  return out;
}

}  // namespace slogate::engine::reference
