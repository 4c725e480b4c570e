#include "metrics/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/slo_document.h"
#include "engine/evaluate.h"

namespace slogate::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

gate::SloEntry entry(bool burning) {
  auto slos = config::parseSloDocuments(
      "apiVersion: slogate.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: "
      "checkout, namespace: shop}\nspec:\n  service: Checkout\n  target: {name: checkout}\n  "
      "indicators:\n    errors: {objective: \"99.9\", total: a_total, bad: b_total}\n    "
      "latency: {objective: \"99\", total: c_total, good: d_total}\n",
      "t.yaml");
  engine::SloState state = engine::SloState::start(slos->front(), 29'000'000);
  state.series[0].record(1, 29'000'000, 1000, burning ? 100 : 0);
  state.series[1].record(1, 29'000'000, 1000, 5);
  gate::SloEntry e;
  e.ns = "shop";
  e.name = "checkout";
  e.targetRollout = "checkout";
  e.verdict = std::make_shared<engine::Verdict>(engine::evaluate(state));
  e.evaluatedAtUnix = 1'740'000'000;
  return e;
}

TEST(Metrics, PerSloSeriesFollowSpecSection5) {
  Metrics m("1.2.3");
  m.observe(entry(true));
  const std::string text = m.render();
  EXPECT_THAT(text, HasSubstr("slogate_objective_ratio{indicator=\"errors\",namespace=\"shop\",slo="
                              "\"checkout\"} 0.999"));
  EXPECT_THAT(text, HasSubstr("slogate_burn_rate_ratio{indicator=\"errors\",namespace=\"shop\",slo="
                              "\"checkout\",window=\"5m\"} 100"));
  EXPECT_THAT(text, HasSubstr("slogate_burn_rate_ratio{indicator=\"latency\",namespace=\"shop\","
                              "slo=\"checkout\",window=\"window\"} 0.5"));
  EXPECT_THAT(text, HasSubstr("slogate_error_budget_remaining_ratio{indicator=\"errors\",namespace="
                              "\"shop\",slo=\"checkout\"} -99"));
  EXPECT_THAT(text, HasSubstr("slogate_window_events{indicator=\"errors\",kind=\"bad\",namespace="
                              "\"shop\",slo=\"checkout\"} 100"));
  EXPECT_THAT(
      text,
      HasSubstr("slogate_decision{decision=\"rollback\",namespace=\"shop\",slo=\"checkout\"} 1"));
  EXPECT_THAT(
      text,
      HasSubstr("slogate_decision{decision=\"approve\",namespace=\"shop\",slo=\"checkout\"} 0"));
  EXPECT_THAT(text, HasSubstr("slogate_frozen{namespace=\"shop\",slo=\"checkout\"} 1"));
  EXPECT_THAT(text, HasSubstr("slogate_slo_info{namespace=\"shop\",service=\"Checkout\",slo="
                              "\"checkout\",target=\"checkout\"} 1"));
  EXPECT_THAT(text, HasSubstr("slogate_build_info{version=\"1.2.3\"} 1"));
  // Each burn-rate rule's factor (the defaults for 30d), for dashboards.
  EXPECT_THAT(text, HasSubstr("slogate_burn_rate_threshold_ratio{action=\"rollback\",long=\"1h\","
                              "namespace=\"shop\",short=\"5m\",slo=\"checkout\"} 14.4\n"));
  EXPECT_THAT(text, HasSubstr("slogate_burn_rate_threshold_ratio{action=\"halt\",long=\"3d\","
                              "namespace=\"shop\",short=\"6h\",slo=\"checkout\"} 1\n"));
  // Windows with no events have no series (SPEC: burn rate null).
  EXPECT_THAT(text, Not(HasSubstr("window=\"3d\"} nan")));
}

TEST(Metrics, ReobservingReplacesAndForgetRemoves) {
  Metrics m("x");
  m.observe(entry(true));
  m.observe(entry(false));
  std::string text = m.render();
  EXPECT_THAT(
      text,
      HasSubstr("slogate_decision{decision=\"approve\",namespace=\"shop\",slo=\"checkout\"} 1"));
  EXPECT_THAT(
      text, Not(HasSubstr(
                "slogate_decision{decision=\"rollback\",namespace=\"shop\",slo=\"checkout\"} 1")));
  m.forget("shop", "checkout");
  text = m.render();
  EXPECT_THAT(text, Not(HasSubstr("slo=\"checkout\"")));
}

TEST(Metrics, ASeriesWhoseValueIsGoneIsRemovedTheOthersStay) {
  Metrics m("x");
  m.observe(entry(true));
  const std::string burn =
      R"(slogate_burn_rate_ratio{indicator="errors",namespace="shop",slo="checkout",window="5m"})";
  EXPECT_THAT(m.render(), HasSubstr(burn));
  // The same SLO with no events: burn rates are null, so their series go;
  // budget and decision series stay.
  gate::SloEntry quiet = entry(false);
  engine::SloState empty = engine::SloState::start(quiet.verdict->slo, 29'000'000);
  quiet.verdict = std::make_shared<engine::Verdict>(engine::evaluate(empty));
  m.observe(quiet);
  const std::string text = m.render();
  EXPECT_THAT(text, Not(HasSubstr("slogate_burn_rate_ratio{")));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(slogate_error_budget_remaining_ratio{indicator="errors",namespace="shop",slo="checkout"} 1)"));
  EXPECT_THAT(
      text,
      HasSubstr(R"(slogate_decision{decision="inconclusive",namespace="shop",slo="checkout"} 1)"));
  m.observe(entry(true));
  EXPECT_THAT(m.render(), HasSubstr(burn));
}

TEST(Metrics, CountersAndHistograms) {
  Metrics m("x");
  m.countAction("abort");
  m.countAction("abort");
  m.countAction("deny");
  m.observeAdmission(0.0007);
  m.observeQuery(0.02, true);
  m.observeQuery(1.5, false);
  const std::string text = m.render();
  EXPECT_THAT(text, HasSubstr("slogate_actions_total{action=\"abort\"} 2"));
  EXPECT_THAT(text, HasSubstr("slogate_actions_total{action=\"deny\"} 1"));
  EXPECT_THAT(text, HasSubstr("slogate_actions_total{action=\"pause\"} 0"));
  EXPECT_THAT(text, HasSubstr("slogate_admission_duration_seconds_bucket{le=\"0.001\"} 1"));
  EXPECT_THAT(text, HasSubstr("slogate_prometheus_query_duration_seconds_count 2"));
  EXPECT_THAT(text, HasSubstr("slogate_prometheus_query_errors_total 1"));
}

}  // namespace
}  // namespace slogate::metrics
