// rational_reference.h — SPEC §1–§2 computed the slow, obviously exact way.
//
// The property test drives the same random history through the engine and
// through this reference and requires identical results to the last
// fixed-point digit. The reference keeps every 1-minute slice in a map and
// does all arithmetic in boost::multiprecision::cpp_rational: no Fixed, no
// Ratio, no rings, no running sums. It shares nothing with the engine but
// the spec types and the documented rules:
//
//   window W at minute t, resolution R (1m up to 6h, 15m up to 3d, else 1h):
//     the slices ending in (floor_R(t − W), t]
//   calendar window at t: the slices ending in (floor_1h(period start), t]
//   burn rate  = (bad / total) / (1 − objective), none when total = 0
//   budget     = 1 − bad / (total × (1 − objective)), 1 when total = 0
//   shown      = rounded to the nearest billionth, ties away from zero
//   decision   = SPEC §1 "Decision", freeze with carried hysteresis
//   guard      = last 5m against the 5m bucket ending at floor_5(t − 1w)
#pragma once

#include <boost/multiprecision/cpp_int.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "engine/duration.h"
#include "engine/slo_spec.h"
#include "engine/verdict.h"

namespace slogate::engine::reference {

struct Slice {
  std::uint64_t total = 0;
  std::uint64_t bad = 0;
};

// Per indicator (spec order), the slices by the minute they end at.
using History = std::vector<std::map<Minutes, Slice>>;

using Q = boost::multiprecision::cpp_rational;

// A burn-rate rule with its factor as an exact rational, built by the test
// from the same draw as the engine's rule (defaults computed here, not by
// engine::defaultRules).
struct Rule {
  Minutes longWindow = 0;
  Minutes shortWindow = 0;
  Q factor;
  RuleAction action = RuleAction::kHalt;
};

// SPEC §1's default table for a window: share × window / long window.
std::vector<Rule> defaultRules(Minutes window);

struct Reading {
  std::vector<std::optional<std::int64_t>> burnRaw;  // per window length asked for
  std::int64_t budgetRaw = 0;
  Slice events;  // over the SLO window
};

struct Result {
  Decision decision = Decision::kInconclusive;
  bool frozen = false;
  std::vector<Reading> readings;  // spec order
};

// Evaluates `spec` over `history` at minute `t`, reporting burn rates for
// `windows` (lengths, in the order the caller wants them). `wasFrozen` is the
// carried freeze state (nullopt on the first evaluation).
// `spec.policy.rules` is ignored: `rules` are used instead.
Result evaluate(const SloSpec& spec, const std::vector<Rule>& rules, const History& history,
                Minutes t, const std::vector<Minutes>& windows, std::optional<bool> wasFrozen);

// In `windows`: the SLO's calendar window, (floor_1h(period start), t].
inline constexpr Minutes kCalendarWindow = -1;

// The resolution the documented layout gives a window of this length.
Minutes resolutionOf(Minutes length);

}  // namespace slogate::engine::reference
