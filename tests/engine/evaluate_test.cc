#include "engine/evaluate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace slogate::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr Minutes kT0 = 29'000'040;  // a multiple of 60

IndicatorSpec occurrences(IndicatorKind kind, const char* objectivePercent) {
  IndicatorSpec ind;
  ind.kind = kind;
  ind.objective = *Fixed::parsePercent(objectivePercent);
  ind.total = "t";
  ind.bad = "b";
  return ind;
}

SloSpec baseSpec(Minutes window = 30 * kDay) {
  SloSpec spec;
  spec.ns = "shop";
  spec.name = "checkout";
  spec.window = window;
  spec.indicators.push_back(occurrences(IndicatorKind::kErrors, "99.9"));
  spec.policy.rules = defaultRules(window);
  return spec;
}

// Keeps freeze out of tests about rules: a short history spends a 30d budget fast.
SloSpec noFreeze(SloSpec spec) {
  spec.policy.freezeBelow = *Fixed::parse("-1000000");
  spec.policy.unfreezeAbove = spec.policy.freezeBelow;
  return spec;
}

std::shared_ptr<const CompiledSlo> compile(SloSpec spec) {
  auto slo = CompiledSlo::compile(std::move(spec));
  EXPECT_TRUE(slo.ok()) << slo.status().toString();
  return *slo;
}

// Records `minutes` slices ending after `state.head()` with the same counts.
void feed(SloState& state, std::size_t indicator, Minutes minutes, std::uint64_t total,
          std::uint64_t bad) {
  const Minutes from = state.head();
  for (Minutes m = 1; m <= minutes; ++m) {
    for (auto& s : state.series) s.advanceTo(from + m);
    ASSERT_EQ(state.series[indicator].record(1, from + m, total, bad), RecordOutcome::kRecorded);
  }
}

std::optional<Fixed> burn(const Verdict& v, std::size_t indicator, Minutes window) {
  return v.indicators[indicator].burnRate(
      static_cast<std::size_t>(v.slo->layout()->indexOf(window)));
}

TEST(Evaluate, SteadyStateApprovesWithExactNumbers) {
  SloState state = SloState::start(compile(baseSpec()), kT0);
  feed(state, 0, 3 * kDay, 1000, 0);
  feed(state, 0, 10, 1000, 1);  // 1 bad in 1000 = exactly the budget rate
  const Verdict v = evaluate(state);
  EXPECT_EQ(v.decision, Decision::kApprove);
  EXPECT_TRUE(v.reasons.empty());
  EXPECT_FALSE(v.frozen);
  EXPECT_EQ(v.evaluatedAt, kT0 + 3 * kDay + 10);
  EXPECT_EQ(burn(v, 0, 5)->toString(), "1");
  EXPECT_EQ(burn(v, 0, 30)->toString(), "0.333333333");  // 10 bad in 30,000 → 1/3
  // 30d budget: 10 bad of 4,330,000 events at 0.1% budget.
  EXPECT_EQ(v.indicators[0].events.total, 4'330'000u);
  EXPECT_EQ(v.indicators[0].events.bad, 10u);
  EXPECT_EQ(v.indicators[0].budgetRemaining.toString(), "0.997690531");  // 1 − 10/4330
}

TEST(Evaluate, FastBurnRollsBackWithReason) {
  SloState state = SloState::start(compile(baseSpec()), kT0);
  feed(state, 0, 2 * kHour, 1000, 0);
  feed(state, 0, 60, 1000, 20);  // 2% errors for an hour: burn 20 in 1h and 5m
  const Verdict v = evaluate(state);
  EXPECT_EQ(v.decision, Decision::kRollback);
  ASSERT_FALSE(v.reasons.empty());
  EXPECT_EQ(v.reasons.front(),
            "errors: 1h burn 20 and 5m burn 20 above 14.4 (rule 1h/5m \u2192 rollback)");
}

TEST(Evaluate, SlowBurnHalts) {
  SloState state = SloState::start(compile(noFreeze(baseSpec())), kT0);
  feed(state, 0, 3 * kDay, 1000, 4);  // burn 4: above 3 (1d/2h), below 6 and 14.4
  const Verdict v = evaluate(state);
  EXPECT_EQ(v.decision, Decision::kHalt);
  EXPECT_THAT(v.reasons,
              ElementsAre("errors: 1d burn 4 and 2h burn 4 above 3 (rule 1d/2h \u2192 halt)",
                          "errors: 3d burn 4 and 6h burn 4 above 1 (rule 3d/6h \u2192 halt)"));
}

TEST(Evaluate, ExactlyAtTheFactorDoesNotFire) {
  SloSpec spec = baseSpec();
  spec.policy.rules = {{kHour, 5, toRatio(*Fixed::parse("3")), RuleAction::kHalt}};
  SloState state = SloState::start(compile(noFreeze(spec)), kT0);
  feed(state, 0, kHour, 1000, 3);  // burn exactly 3
  EXPECT_EQ(evaluate(state).decision, Decision::kApprove);
  feed(state, 0, 5, 1001, 4);  // a hair above in 5m, but 1h still ≈ 3.0x? check both
  const Verdict v = evaluate(state);
  // 1h: (55·3 + 5·4) / (55·1000 + 5·1001) = 185/60005 → burn 3.083… > 3; 5m: 4/1001 → 3.996 > 3
  EXPECT_EQ(v.decision, Decision::kHalt);
}

TEST(Evaluate, DefaultFactorForSevenDaysIsExactNotRounded) {
  // 7d window: 3d/6h factor = 10% × 7d / 3d = 7/30 = 0.2333…
  SloSpec spec = baseSpec(7 * kDay);
  spec.indicators[0].objective = *Fixed::parsePercent("90");  // budget 0.1: burn = ratio × 10
  SloState state = SloState::start(compile(spec), kT0);
  // error ratio 7/300 → burn exactly 7/30: must not fire.
  feed(state, 0, 3 * kDay, 300, 7);
  Verdict v = evaluate(state);
  EXPECT_EQ(v.decision, Decision::kApprove) << (v.reasons.empty() ? "" : v.reasons[0]);
  EXPECT_EQ(burn(v, 0, 3 * kDay)->toString(), "0.233333333");  // shown rounded, compared exact
  // A burn of 0.233333333 (the rounded factor, 70/300 − tiny) would be above a
  // rounded factor of 0.233333333, but is below 7/30, so it still must not fire;
  // one more bad event per 300k tips it over.
  feed(state, 0, 6 * kHour, 300'000, 7001);
  v = evaluate(state);
  EXPECT_EQ(v.decision, Decision::kHalt);
  EXPECT_THAT(v.reasons.back(), HasSubstr("above 0.2333 (rule 3d/6h \u2192 halt)"));
}

TEST(Evaluate, EmptyWindowsHaveNoBurnAndFullBudget) {
  SloState state = SloState::start(compile(baseSpec()), kT0);
  state.advanceTo(kT0 + 100);
  const Verdict v = evaluate(state);
  EXPECT_EQ(v.decision, Decision::kInconclusive);
  EXPECT_FALSE(burn(v, 0, 5).has_value());
  EXPECT_EQ(v.indicators[0].budgetRemaining, kOne);
  EXPECT_THAT(v.reasons, ElementsAre("errors: no burn-rate rule judged: 0 events in the last 3d, "
                                     "fewer than the 1 needed (traffic.minEvents)"));
}

TEST(Evaluate, SingleEventIsJudgedWithMinEventsZero) {
  SloState state = SloState::start(compile(baseSpec()), kT0);
  feed(state, 0, 1, 1, 1);  // one event, bad: burn 1000 in every window
  const Verdict v = evaluate(state);
  EXPECT_EQ(v.decision, Decision::kRollback);
  EXPECT_EQ(burn(v, 0, 5)->toString(), "1000");
  EXPECT_EQ(v.indicators[0].budgetRemaining.toString(), "-999");
}

TEST(Evaluate, MinEventsGuardsLowTraffic) {
  SloSpec spec = baseSpec();
  spec.traffic.minEvents = 100;
  spec.policy.freezeBelow = *Fixed::parse("-100000");  // keep freeze out of this test
  spec.policy.unfreezeAbove = *Fixed::parse("-100000");
  SloState state = SloState::start(compile(spec), kT0);
  feed(state, 0, 60, 1, 1);  // 60 events, all bad: 1h has 60 < 100 → 1h/5m not judged
  Verdict v = evaluate(state);
  // 6h, 1d and 3d also hold only 60 events: nothing judged.
  EXPECT_EQ(v.decision, Decision::kInconclusive);
  EXPECT_THAT(v.reasons[0], HasSubstr("60 events in the last 3d, fewer than the 100 needed"));
  feed(state, 0, 40, 1, 1);  // 100 events in 3d, 1d, 6h and 1h
  v = evaluate(state);
  EXPECT_EQ(v.decision, Decision::kRollback);
}

TEST(Evaluate, FreezeHysteresisIsCarried) {
  SloSpec spec = baseSpec(kDay);
  spec.policy.rules = {{kHour, 5, toRatio(*Fixed::parse("1000")), RuleAction::kHalt}};
  spec.policy.freezeBelow = kZero;
  spec.policy.unfreezeAbove = *Fixed::parse("0.5");
  SloState state = SloState::start(compile(spec), kT0);
  feed(state, 0, 100, 1000, 1);  // spend 100 of the budget's 100 events → budget 0
  Verdict v = evaluate(state);
  EXPECT_EQ(v.indicators[0].budgetRemaining, kZero);
  EXPECT_EQ(v.decision, Decision::kFreeze);
  EXPECT_TRUE(v.frozen);
  EXPECT_THAT(v.reasons,
              ElementsAre("errors: budget remaining 0 at or below freezeBelow 0 (freeze)"));
  state.frozen = v.frozen;
  // Good traffic lifts the budget to 0.5 exactly: still frozen (must be above).
  feed(state, 0, 100, 1000, 0);
  v = evaluate(state);
  EXPECT_EQ(v.indicators[0].budgetRemaining.toString(), "0.5");
  EXPECT_EQ(v.decision, Decision::kFreeze);
  EXPECT_THAT(
      v.reasons,
      ElementsAre("errors: budget remaining 0.5 not above unfreezeAbove 0.5 (stays frozen)"));
  state.frozen = v.frozen;
  feed(state, 0, 1, 1000, 0);
  v = evaluate(state);
  EXPECT_EQ(v.decision, Decision::kApprove);
  EXPECT_FALSE(v.frozen);
  state.frozen = v.frozen;
  // Without carried state (evaluate --at), 0.3 is not frozen: only ≤ freezeBelow is.
  state.frozen.reset();
  EXPECT_EQ(evaluate(state).decision, Decision::kApprove);
}

TEST(Evaluate, PrecedenceRollbackOverFreezeOverHalt) {
  SloSpec spec = baseSpec(kDay);
  spec.indicators.push_back(occurrences(IndicatorKind::kLatency, "99"));
  spec.policy.unfreezeAbove = kOne;  // once frozen, stays frozen in this test
  SloState state = SloState::start(compile(spec), kT0);
  // latency: burn 0.15 for 3h. 1d window factors: 0.48 and 0.2 roll back, 0.1
  // and 0.0333 halt — so only the halt rules fire.
  feed(state, 1, 3 * kHour, 10'000, 15);
  Verdict v = evaluate(state);
  EXPECT_EQ(v.decision, Decision::kHalt);
  state.frozen = true;  // and the SLO is frozen: freeze wins over halt
  v = evaluate(state);
  EXPECT_EQ(v.decision, Decision::kFreeze);
  feed(state, 0, 60, 1000, 100);  // errors: 10% → burn 100 → rollback
  v = evaluate(state);
  EXPECT_EQ(v.decision, Decision::kRollback);
  EXPECT_THAT(v.reasons[0], HasSubstr("errors: 1h burn 100"));
}

TEST(Evaluate, TrafficGuardHaltsOnDropAndIsNotJudgedWithoutHistory) {
  SloSpec spec = baseSpec(7 * kDay);
  spec.traffic.maxDrop = *Fixed::parse("0.7");
  SloState state = SloState::start(compile(spec), kT0);
  feed(state, 0, 10, 100, 0);                               // a week ago: 500 per 5 minutes
  EXPECT_EQ(evaluate(state).decision, Decision::kApprove);  // no week-ago data: not judged
  state.advanceTo(kT0 + kWeek);
  feed(state, 0, 10, 30, 0);  // now: 150 per 5m = exactly 30% of 500: not fewer → no halt
  Verdict v = evaluate(state);
  EXPECT_EQ(v.decision, Decision::kApprove);
  ASSERT_EQ(state.series[0].record(1, state.head(), 29, 0), RecordOutcome::kRecorded);
  v = evaluate(state);
  EXPECT_EQ(v.decision, Decision::kHalt);
  EXPECT_THAT(v.reasons,
              ElementsAre("traffic: errors last 5m had 149 events, fewer than 30% of the "
                          "500 in the same 5m one week earlier (maxDrop 0.7)"));
}

TEST(Evaluate, SaturationTimeslices) {
  SloSpec spec = baseSpec(kDay);
  IndicatorSpec sat;
  sat.kind = IndicatorKind::kSaturation;
  sat.objective = *Fixed::parsePercent("99");
  sat.query = "q";
  sat.max = *Fixed::parse("0.9");
  spec.indicators.push_back(sat);
  SloState state = SloState::start(compile(spec), kT0);
  // Errors indicator idle; saturation: 1 slice per minute, bad ones over max.
  feed(state, 1, 60, 1, 0);
  Verdict v = evaluate(state);
  EXPECT_EQ(v.decision, Decision::kApprove);  // saturation judged with ≥ 1 slice
  feed(state, 1, 10, 1, 1);  // 10 bad minutes: 5m burn 100, 1h burn 16.67 > 14.4×(1d/30d)…
  v = evaluate(state);
  EXPECT_EQ(v.decision, Decision::kRollback);
  EXPECT_THAT(v.reasons[0], HasSubstr("saturation: 1h burn"));
  EXPECT_EQ(v.indicators[1].events.total, 70u);
  EXPECT_EQ(v.indicators[1].events.bad, 10u);
}

TEST(Evaluate, HighObjectiveAndHugeCounts) {
  SloSpec spec = baseSpec();
  spec.indicators[0].objective = *Fixed::parsePercent("99.999");
  SloState state = SloState::start(compile(spec), kT0);
  const std::uint64_t huge = kMaxEvents / 2;
  ASSERT_EQ(state.series[0].record(1, kT0 + 1, huge, 1), RecordOutcome::kRecorded);
  ASSERT_EQ(state.series[0].record(1, kT0 + 2, huge, huge / 100'000), RecordOutcome::kRecorded);
  const Verdict v = evaluate(state);
  // 5m: bad ≈ total/200000 → error ratio 5e-6, burn 0.5 at a 1e-5 budget.
  EXPECT_EQ(burn(v, 0, 5)->toString(), "0.5");
  EXPECT_EQ(v.indicators[0].budgetRemaining.toString(), "0.5");
  EXPECT_EQ(v.indicators[0].events.total, 2 * huge);
  EXPECT_EQ(v.decision, Decision::kApprove);
}

TEST(Evaluate, WarnAndDryRunDoNotChangeTheDecision) {
  for (const Mode mode : {Mode::kWarn, Mode::kDryRun}) {
    SloSpec spec = baseSpec();
    spec.policy.mode = mode;
    SloState state = SloState::start(compile(spec), kT0);
    feed(state, 0, 60, 100, 50);
    EXPECT_EQ(evaluate(state).decision, Decision::kRollback);
  }
}

TEST(CompiledSlo, RejectsWhatTheEngineCannotEvaluate) {
  auto expectError = [](SloSpec spec, const std::string& fragment) {
    const auto slo = CompiledSlo::compile(std::move(spec));
    ASSERT_FALSE(slo.ok()) << fragment;
    EXPECT_THAT(slo.status().message(), HasSubstr(fragment));
  };
  SloSpec spec = baseSpec();
  spec.indicators.clear();
  expectError(spec, "spec.indicators");
  spec = baseSpec();
  spec.indicators[0].objective = kOne;
  expectError(spec, "spec.indicators.errors.objective");
  spec = baseSpec();
  spec.indicators.push_back(spec.indicators[0]);
  expectError(spec, "given more than once");
  spec = baseSpec();
  spec.indicators[0].kind = IndicatorKind::kSaturation;
  expectError(spec, "errors or latency is required");
  spec = baseSpec();
  spec.policy.rules.clear();
  expectError(spec, "burnRateRules");
  spec = baseSpec();
  spec.policy.rules[0].factor = Ratio{0, 1};
  expectError(spec, "burnRateRules[0].factor");
  spec = baseSpec();
  spec.policy.unfreezeAbove = *Fixed::parse("-1");
  expectError(spec, "unfreezeAbove");
  spec = baseSpec();
  spec.traffic.maxDrop = kOne;
  expectError(spec, "maxDrop");
  spec = baseSpec(91 * kDay);
  expectError(spec, "spec.window");
}

TEST(DefaultRules, ScaleWithTheWindowExactly) {
  const auto rules7d = defaultRules(7 * kDay);
  ASSERT_EQ(rules7d.size(), 4u);
  EXPECT_EQ(compare(rules7d[0].factor, toRatio(*Fixed::parse("3.36"))), 0);
  EXPECT_EQ(compare(rules7d[1].factor, toRatio(*Fixed::parse("1.4"))), 0);
  EXPECT_EQ(compare(rules7d[2].factor, toRatio(*Fixed::parse("0.7"))), 0);
  EXPECT_EQ(compare(rules7d[3].factor, Ratio{7, 30}), 0);
  const auto rules30d = defaultRules(30 * kDay);
  EXPECT_EQ(compare(rules30d[0].factor, toRatio(*Fixed::parse("14.4"))), 0);
  EXPECT_EQ(compare(rules30d[1].factor, toRatio(*Fixed::parse("6"))), 0);
  EXPECT_EQ(compare(rules30d[2].factor, toRatio(*Fixed::parse("3"))), 0);
  EXPECT_EQ(compare(rules30d[3].factor, toRatio(*Fixed::parse("1"))), 0);
  EXPECT_EQ(rules30d[0].action, RuleAction::kRollback);
  EXPECT_EQ(rules30d[3].action, RuleAction::kHalt);
}

}  // namespace
}  // namespace slogate::engine
