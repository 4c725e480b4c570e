// slo_spec.h — the validated model of a ServiceLevelObjective.
//
// config/ turns YAML into this; the engine evaluates it; readers use the
// selector strings to build queries. Everything here is already validated:
// objectives in (0, 1), durations positive, rules non-empty. Plain data.
//
// Thread safety: value types; share as `const` freely.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/time_zone.h"
#include "engine/duration.h"
#include "engine/fixed.h"

namespace slogate::engine {

// The SLO's indicators, in the fixed order verdicts list them.
enum class IndicatorKind { kErrors, kLatency, kSaturation };
inline constexpr int kIndicatorKinds = 3;

// "errors", "latency", "saturation".
const char* indicatorName(IndicatorKind kind);

enum class RuleAction { kRollback, kHalt };
const char* ruleActionName(RuleAction action);  // "rollback", "halt"

enum class Mode { kEnforce, kWarn, kDryRun };
enum class OnNoData { kHalt, kApprove };

// A multi-window burn-rate rule: fires when both windows burn faster than
// `factor`.
struct BurnRateRule {
  Minutes longWindow = 0;   // e.g. 60 for 1h
  Minutes shortWindow = 0;  // e.g. 5 for 5m
  Ratio factor;             // exact: written factors as decimals, defaults as fractions
  RuleAction action = RuleAction::kHalt;
};

struct IndicatorSpec {
  IndicatorKind kind = IndicatorKind::kErrors;
  Fixed objective;  // as a ratio in (0, 1): "99.9" → 0.999
  // Occurrences (errors, latency): counter selectors; exactly one of good/bad.
  std::string total;
  std::string good;
  std::string bad;
  // Timeslices (saturation): a query and the highest good value.
  std::string query;
  Fixed max;
};

struct TrafficGuard {
  std::uint64_t minEvents = 0;   // a rule is judged only with this many events (at least 1)
  std::optional<Fixed> maxDrop;  // halt when 5m traffic fell by more than this fraction
};

struct Policy {
  Mode mode = Mode::kEnforce;
  OnNoData onNoData = OnNoData::kHalt;
  Fixed freezeBelow = kZero;                         // freeze at or below this budget fraction
  Fixed unfreezeAbove = Fixed::fromRaw(50'000'000);  // lift only above this (0.05)
  std::vector<BurnRateRule> rules;                   // never empty once validated
};

struct TargetRef {
  std::string apiVersion;  // "argoproj.io/v1alpha1"
  std::string kind;        // "Rollout"
  std::string name;
};

// A calendar window: the current month or ISO week (from Monday) in a time
// zone, instead of a rolling window. Evaluated at minute t, it covers the
// slices that end in (start, t], where start is the first instant of the
// period holding t — so at the very start of a period the window is empty
// and the budget whole again.
enum class CalendarPeriod { kMonth, kIsoWeek };
const char* calendarPeriodName(CalendarPeriod period);  // "month", "week"

struct CalendarWindow {
  CalendarPeriod period = CalendarPeriod::kMonth;
  std::shared_ptr<const TimeZone> zone;  // never null once validated
};

// The longest a period can last in any zone (31 days plus a repeated day or
// DST hour, with room), and the length default burn-rate factors scale with
// (30d for a month, 7d for a week: the SRE Workbook's table).
Minutes maxPeriodLength(CalendarPeriod period);
Minutes nominalPeriodLength(CalendarPeriod period);

// The first minute of the period holding minute t: the first instant at
// which the zone's clock reads the period's first local midnight, floored to
// a whole minute.
Minutes calendarPeriodStart(const CalendarWindow& calendar, Minutes t);

struct SloSpec {
  std::string ns;                          // metadata.namespace
  std::string name;                        // metadata.name
  std::string service;                     // free text
  Minutes window = 30 * kDay;              // rolling; with a calendar, its nominal length
  std::optional<CalendarWindow> calendar;  // set: the window is this calendar period
  std::optional<TargetRef> target;
  std::vector<IndicatorSpec> indicators;  // in IndicatorKind order, each kind at most once
  TrafficGuard traffic;
  Policy policy;
};

// The SRE Workbook's default rules for a window, scaled as SPEC §1 says:
// factor = share × window / long window, exact.
std::vector<BurnRateRule> defaultRules(Minutes window);

}  // namespace slogate::engine
