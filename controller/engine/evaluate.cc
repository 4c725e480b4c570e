#include "engine/evaluate.h"

#include <algorithm>
#include <cassert>
#include <limits>

namespace slogate::engine {
namespace {

constexpr Fixed kMinThreshold = Fixed::fromRaw(-1'000'000 * Fixed::kScale);
// Shown when an exact value is beyond Fixed's range (cannot happen while
// every window holds bad <= total; a guard, not a path).
constexpr std::int64_t kMaxShownBurn = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMinShownBudget = std::numeric_limits<std::int64_t>::min() + 1;

// Error budget as a ratio, in billionths: 1 − objective.
Int128 budgetRaw(const IndicatorSpec& indicator) {
  return Fixed::kScale - indicator.objective.raw();
}

// Burn rate = (bad / total) / (1 − objective), exact.
Ratio burnRatio(const Events& e, Int128 budget) {
  return {static_cast<Int128>(e.bad) * Fixed::kScale, static_cast<Int128>(e.total) * budget};
}

// Budget remaining = 1 − bad / (total × (1 − objective)), exact; 1 when empty.
Ratio budgetRatio(const Events& e, Int128 budget) {
  if (e.total == 0) return {1, 1};
  const Int128 den = static_cast<Int128>(e.total) * budget;
  return {den - static_cast<Int128>(e.bad) * Fixed::kScale, den};
}

std::string show(Fixed f) {
  return f.toString(4);
}
std::string show(const Ratio& r) {
  const auto f = toFixed(r);
  return f ? show(*f) : std::string("(out of range)");
}
std::string showWindowBurn(const IndicatorReading& reading, std::size_t i) {
  const auto b = reading.burnRate(i);
  return b ? show(*b) : std::string("none");
}

bool isTimeslice(IndicatorKind kind) {
  return kind == IndicatorKind::kSaturation;
}

}  // namespace

const char* decisionName(Decision decision) {
  switch (decision) {
    case Decision::kApprove:
      return "approve";
    case Decision::kInconclusive:
      return "inconclusive";
    case Decision::kHalt:
      return "halt";
    case Decision::kFreeze:
      return "freeze";
    case Decision::kRollback:
      return "rollback";
  }
  return "unknown";
}

Result<std::shared_ptr<const CompiledSlo>> CompiledSlo::compile(SloSpec spec) {
  if (spec.indicators.empty()) {
    return invalidArgument("spec.indicators: at least one of errors or latency is required");
  }
  std::sort(spec.indicators.begin(), spec.indicators.end(),
            [](const IndicatorSpec& a, const IndicatorSpec& b) { return a.kind < b.kind; });
  bool hasOccurrences = false;
  for (std::size_t i = 0; i < spec.indicators.size(); ++i) {
    const IndicatorSpec& ind = spec.indicators[i];
    const std::string field = std::string("spec.indicators.") + indicatorName(ind.kind);
    if (i > 0 && spec.indicators[i - 1].kind == ind.kind) {
      return invalidArgument(field + ": given more than once");
    }
    if (ind.objective <= kZero || ind.objective >= kOne) {
      return invalidArgument(field + ".objective: must be above 0 and below 100 percent");
    }
    hasOccurrences = hasOccurrences || !isTimeslice(ind.kind);
  }
  if (!hasOccurrences) {
    return invalidArgument("spec.indicators: errors or latency is required");
  }
  if (spec.policy.rules.empty()) {
    return invalidArgument("spec.policy.burnRateRules: at least one rule is required");
  }
  for (std::size_t i = 0; i < spec.policy.rules.size(); ++i) {
    const Ratio& f = spec.policy.rules[i].factor;
    if (f.den <= 0 || f.num <= 0) {
      return invalidArgument("spec.policy.burnRateRules[" + std::to_string(i) +
                             "].factor: must be above 0");
    }
  }
  const Policy& policy = spec.policy;
  if (policy.freezeBelow < kMinThreshold || policy.freezeBelow > kOne) {
    return invalidArgument("spec.policy.freezeBelow: " + policy.freezeBelow.toString() +
                           " is outside -1000000..1");
  }
  if (policy.unfreezeAbove < policy.freezeBelow || policy.unfreezeAbove > kOne) {
    return invalidArgument("spec.policy.unfreezeAbove: " + policy.unfreezeAbove.toString() +
                           " must be at least freezeBelow (" + policy.freezeBelow.toString() +
                           ") and at most 1");
  }
  if (spec.traffic.maxDrop && (*spec.traffic.maxDrop <= kZero || *spec.traffic.maxDrop >= kOne)) {
    return invalidArgument("spec.indicators.traffic.maxDrop: " + spec.traffic.maxDrop->toString() +
                           " must be above 0 and below 1");
  }

  std::shared_ptr<CompiledSlo> slo(new CompiledSlo());
  const bool guard = spec.traffic.maxDrop.has_value();
  auto layout = WindowLayout::build(spec.window, spec.policy.rules, guard, spec.calendar);
  if (!layout) return layout.status().withContext(spec.calendar ? "spec.calendar" : "spec.window");
  slo->layout_ = *layout;
  for (const BurnRateRule& rule : spec.policy.rules) {
    slo->rules_.push_back({rule, static_cast<std::uint8_t>(slo->layout_->indexOf(rule.longWindow)),
                           static_cast<std::uint8_t>(slo->layout_->indexOf(rule.shortWindow))});
  }
  if (guard) {
    slo->guardIndex_ = 0;  // indicators are sorted: errors, else latency, comes first
  }
  slo->spec_ = std::move(spec);
  return std::shared_ptr<const CompiledSlo>(std::move(slo));
}

SloState SloState::start(std::shared_ptr<const CompiledSlo> slo, Minutes head) {
  SloState state;
  state.series.reserve(slo->spec().indicators.size());
  for (std::size_t i = 0; i < slo->spec().indicators.size(); ++i) {
    state.series.emplace_back(slo->layout(), static_cast<int>(i) == slo->guardIndex(), head);
  }
  state.slo = std::move(slo);
  return state;
}

void SloState::advanceTo(Minutes t) {
  for (IndicatorSeries& s : series) s.advanceTo(t);
}

void evaluate(const SloState& state, Verdict& out) {
  const CompiledSlo& slo = *state.slo;
  const SloSpec& spec = slo.spec();
  const WindowLayout& layout = *slo.layout();
  const std::size_t windowCount = layout.windows().size();
  const auto sloIndex = static_cast<std::size_t>(layout.sloWindowIndex());

  out.slo = state.slo;
  out.evaluatedAt = state.head();
  out.reasons.clear();
  out.indicatorCount = spec.indicators.size();

  bool anyJudged = false;
  bool rollbackFires = false;
  bool haltFires = false;
  bool anyAtFreeze = false;      // some budget at or below freezeBelow
  bool allAboveUnfreeze = true;  // every budget above unfreezeAbove
  const Ratio freezeBelow = toRatio(spec.policy.freezeBelow);
  const Ratio unfreezeAbove = toRatio(spec.policy.unfreezeAbove);
  const std::uint64_t minEvents = std::max<std::uint64_t>(spec.traffic.minEvents, 1);

  // Pass 1: numbers and the facts the decision needs, no strings.
  std::array<Ratio, kIndicatorKinds> budgets{};
  for (std::size_t k = 0; k < spec.indicators.size(); ++k) {
    const IndicatorSpec& ind = spec.indicators[k];
    const IndicatorSeries& series = state.series[k];
    IndicatorReading& reading = out.indicators[k];
    const Int128 budget = budgetRaw(ind);
    reading.kind = ind.kind;
    reading.objective = ind.objective;
    for (std::size_t i = 0; i < windowCount; ++i) {
      const Events& e = series.window(i);
      if (e.total == 0) {
        reading.burn[i] = IndicatorReading::kNoBurn;
      } else {
        // burn ≤ 1 / (1 − objective) ≤ 10^9, so it always fits.
        // Always fits while bad <= total; saturate rather than trust it blindly.
        reading.burn[i] =
            toFixed(burnRatio(e, budget)).value_or(Fixed::fromRaw(kMaxShownBurn)).raw();
      }
    }
    reading.events = series.window(sloIndex);
    budgets[k] = budgetRatio(reading.events, budget);
    reading.budgetRemaining = toFixed(budgets[k]).value_or(Fixed::fromRaw(kMinShownBudget));
    anyAtFreeze = anyAtFreeze || compare(budgets[k], freezeBelow) <= 0;
    allAboveUnfreeze = allAboveUnfreeze && compare(budgets[k], unfreezeAbove) > 0;

    const std::uint64_t needed = isTimeslice(ind.kind) ? 1 : minEvents;
    for (const CompiledSlo::Rule& rule : slo.rules()) {
      const Events& longEvents = series.window(static_cast<std::size_t>(rule.longIndex));
      if (longEvents.total < needed) continue;
      anyJudged = true;
      const Events& shortEvents = series.window(static_cast<std::size_t>(rule.shortIndex));
      const bool fires = shortEvents.total != 0 &&
                         compare(burnRatio(longEvents, budget), rule.rule.factor) > 0 &&
                         compare(burnRatio(shortEvents, budget), rule.rule.factor) > 0;
      if (fires) {
        (rule.rule.action == RuleAction::kRollback ? rollbackFires : haltFires) = true;
      }
    }
  }

  // Freeze with hysteresis; without carried state, frozen iff at freezeBelow.
  const bool wasFrozen = state.frozen.value_or(false);
  out.frozen = wasFrozen ? !allAboveUnfreeze : anyAtFreeze;

  // Traffic guard: last 5m against the same 5m one week earlier.
  bool guardTrips = false;
  std::uint64_t guardNow = 0;
  std::uint64_t guardBefore = 0;
  if (slo.guardIndex() >= 0) {
    const IndicatorSeries& series = state.series[static_cast<std::size_t>(slo.guardIndex())];
    guardNow = series.window(static_cast<std::size_t>(layout.fiveMinuteIndex())).total;
    guardBefore = series.weekAgoTraffic().value_or(0);
    if (guardBefore > 0) {
      const Int128 keep =
          Fixed::kScale - spec.traffic.maxDrop->raw();  // (1 − maxDrop) in billionths
      guardTrips = static_cast<Int128>(guardNow) * Fixed::kScale < keep * guardBefore;
    }
  }

  if (rollbackFires) {
    out.decision = Decision::kRollback;
  } else if (out.frozen) {
    out.decision = Decision::kFreeze;
  } else if (haltFires || guardTrips) {
    out.decision = Decision::kHalt;
  } else if (!anyJudged) {
    out.decision = Decision::kInconclusive;
  } else {
    out.decision = Decision::kApprove;
    return;
  }

  // Pass 2 (only when not approving): reasons with the numbers, worst first.
  const auto windowName = [&](std::size_t i) { return layout.windows()[i].name; };
  for (const RuleAction action : {RuleAction::kRollback, RuleAction::kHalt}) {
    for (std::size_t k = 0; k < spec.indicators.size(); ++k) {
      const IndicatorSpec& ind = spec.indicators[k];
      const IndicatorSeries& series = state.series[k];
      const IndicatorReading& reading = out.indicators[k];
      const Int128 budget = budgetRaw(ind);
      const std::uint64_t needed = isTimeslice(ind.kind) ? 1 : minEvents;
      for (const CompiledSlo::Rule& rule : slo.rules()) {
        if (rule.rule.action != action) continue;
        const auto li = static_cast<std::size_t>(rule.longIndex);
        const auto si = static_cast<std::size_t>(rule.shortIndex);
        const Events& le = series.window(li);
        const Events& se = series.window(si);
        if (le.total < needed || se.total == 0) continue;
        if (compare(burnRatio(le, budget), rule.rule.factor) > 0 &&
            compare(burnRatio(se, budget), rule.rule.factor) > 0) {
          out.reasons.push_back(std::string(indicatorName(ind.kind)) + ": " + windowName(li) +
                                " burn " + showWindowBurn(reading, li) + " and " + windowName(si) +
                                " burn " + showWindowBurn(reading, si) + " above " +
                                show(rule.rule.factor) + " (rule " + windowName(li) + "/" +
                                windowName(si) + " \u2192 " + ruleActionName(action) + ")");
        }
      }
    }
    if (action == RuleAction::kRollback && out.frozen) {
      for (std::size_t k = 0; k < spec.indicators.size(); ++k) {
        const IndicatorReading& reading = out.indicators[k];
        const std::string name = indicatorName(reading.kind);
        if (!wasFrozen && compare(budgets[k], freezeBelow) <= 0) {
          out.reasons.push_back(name + ": budget remaining " + show(budgets[k]) +
                                " at or below freezeBelow " + spec.policy.freezeBelow.toString() +
                                " (freeze)");
        } else if (wasFrozen && compare(budgets[k], unfreezeAbove) <= 0) {
          out.reasons.push_back(name + ": budget remaining " + show(budgets[k]) +
                                " not above unfreezeAbove " + spec.policy.unfreezeAbove.toString() +
                                " (stays frozen)");
        }
      }
    }
  }
  if (guardTrips) {
    const Fixed keep = Fixed::fromRaw(Fixed::kScale - spec.traffic.maxDrop->raw());
    out.reasons.push_back(
        std::string("traffic: ") +
        indicatorName(spec.indicators[static_cast<std::size_t>(slo.guardIndex())].kind) +
        " last 5m had " + std::to_string(guardNow) + " events, fewer than " +
        show(Fixed::fromRaw(keep.raw() * 100)) + "% of the " + std::to_string(guardBefore) +
        " in the same 5m one week earlier (maxDrop " + spec.traffic.maxDrop->toString() + ")");
  }
  if (out.decision == Decision::kInconclusive) {
    for (std::size_t k = 0; k < spec.indicators.size(); ++k) {
      const IndicatorSpec& ind = spec.indicators[k];
      // The longest long window holds the most events: if it is not judged,
      // no rule of this indicator is.
      std::size_t longest = 0;
      for (const CompiledSlo::Rule& rule : slo.rules()) {
        longest = std::max(longest, static_cast<std::size_t>(rule.longIndex));
      }
      const Events& e = state.series[k].window(longest);
      if (isTimeslice(ind.kind)) {
        out.reasons.push_back(std::string(indicatorName(ind.kind)) +
                              ": no burn-rate rule judged: no slice with data in the last " +
                              windowName(longest));
      } else {
        out.reasons.push_back(std::string(indicatorName(ind.kind)) +
                              ": no burn-rate rule judged: " + std::to_string(e.total) +
                              " events in the last " + windowName(longest) + ", fewer than the " +
                              std::to_string(minEvents) + " needed (traffic.minEvents)");
      }
    }
  }
  assert(!out.reasons.empty());
}

Verdict evaluate(const SloState& state) {
  Verdict v;
  evaluate(state, v);
  return v;
}

}  // namespace slogate::engine
