#include "engine/verdict_json.h"

#include <gtest/gtest.h>

#include "engine/evaluate.h"

namespace slogate::engine {
namespace {

constexpr Minutes kT0 = 29'000'040;

TEST(VerdictJson, RendersSpecShape) {
  SloSpec spec;
  spec.ns = "shop";
  spec.name = "check\"out";
  spec.window = 30 * kDay;
  IndicatorSpec errors;
  errors.kind = IndicatorKind::kErrors;
  errors.objective = *Fixed::parsePercent("99.9");
  spec.indicators.push_back(errors);
  spec.policy.rules = defaultRules(spec.window);
  spec.policy.freezeBelow = *Fixed::parse("-1000");
  spec.policy.unfreezeAbove = spec.policy.freezeBelow;
  auto slo = CompiledSlo::compile(spec);
  ASSERT_TRUE(slo.ok());
  SloState state = SloState::start(*slo, kT0);
  for (Minutes m = 1; m <= 60; ++m) {
    ASSERT_EQ(state.series[0].record(1, kT0 + m, 1000, m > 55 ? 30 : 0), RecordOutcome::kRecorded);
  }
  const Verdict v = evaluate(state);
  EXPECT_EQ(verdictJson(v),
            R"({"namespace":"shop","slo":"check\"out","evaluatedAt":"2025-02-19T23:00:00Z",)"
            R"("decision":"halt","reasons":["errors: 3d burn 2.5 and 6h burn 2.5 above 1 )"
            "(rule 3d/6h \u2192 halt)\"],"
            R"("frozen":false,"indicators":{"errors":{"objective":0.999,"budgetRemaining":-1.5,)"
            R"("burnRates":{"5m":30,"30m":5,"1h":2.5,"2h":2.5,"6h":2.5,"1d":2.5,"3d":2.5,)"
            R"("window":2.5},"events":{"total":60000,"bad":150}}}})");
  const std::string text = verdictText(v);
  EXPECT_NE(text.find("shop/check\"out  halt"), std::string::npos) << text;
  EXPECT_NE(text.find("errors: budget -1.5, burn 5m=30 30m=5"), std::string::npos) << text;
}

TEST(VerdictJson, NullBurnForEmptyWindows) {
  SloSpec spec;
  spec.ns = "a";
  spec.name = "b";
  spec.window = kDay;
  IndicatorSpec lat;
  lat.kind = IndicatorKind::kLatency;
  lat.objective = *Fixed::parsePercent("99");
  spec.indicators.push_back(lat);
  spec.policy.rules = defaultRules(spec.window);
  auto slo = CompiledSlo::compile(spec);
  ASSERT_TRUE(slo.ok());
  const SloState state = SloState::start(*slo, kT0);
  const std::string json = verdictJson(evaluate(state));
  EXPECT_NE(
      json.find(
          R"("burnRates":{"5m":null,"30m":null,"1h":null,"2h":null,"6h":null,"1d":null,"3d":null,"window":null})"),
      std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("decision":"inconclusive")"), std::string::npos);
  EXPECT_NE(json.find(R"("budgetRemaining":1,)"), std::string::npos);
}

}  // namespace
}  // namespace slogate::engine
