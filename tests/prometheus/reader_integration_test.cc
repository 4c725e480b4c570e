// The reader, the engine and the commands against a real Prometheus: one
// server for the suite, backfilled with synthetic histories (harness/) whose
// per-minute truth is exact. The histories are scraped on the minute, so on
// Prometheus 2.x increase(x[1m]) at a minute end is exactly that minute's
// events (the range is closed at both ends and holds both samples; no
// extrapolation), and slogate's numbers must EQUAL the truth. Where a real
// scrape is not aligned, PromQL extrapolates (README, "Accuracy").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "base/json.h"
#include "cli/commands.h"
#include "config/slo_document.h"
#include "harness/prometheus_server.h"
#include "harness/scenarios.h"
#include "prometheus/reader.h"

namespace slogate::prometheus {
namespace {

using engine::Decision;
using engine::Minutes;
using ::testing::HasSubstr;

constexpr std::int64_t kEnd = 1'793'491'200;  // 2026-11-01T00:00:00Z, every history's last sample
constexpr Minutes kEndMinute = kEnd / 60;
constexpr std::int64_t kDaySec = 86'400;
constexpr std::int64_t kIncidentDay0 = kEnd - 10 * kDaySec;  // the shipped incident, earlier

std::string errorsYaml(const std::string& service, const std::string& objective = "99.9") {
  return "    errors:\n      objective: \"" + objective +
         "\"\n      total: http_requests_total{service=\"" + service +
         "\"}\n      bad: http_requests_total{service=\"" + service + "\",code=~\"5..\"}\n";
}
std::string latencyYaml(const std::string& service) {
  return "    latency:\n      objective: \"99\"\n      total: "
         "http_request_duration_seconds_count{service=\"" +
         service + "\"}\n      good: http_request_duration_seconds_bucket{service=\"" + service +
         "\",le=\"0.3\"}\n";
}
std::string saturationYaml(const std::string& service) {
  return "    saturation:\n      objective: \"99\"\n      query: "
         "max(container_cpu_utilization_ratio{container=\"" +
         service + "\"})\n      max: \"0.9\"\n";
}
std::string sloYaml(const std::string& name, const std::string& window,
                    const std::string& indicators, const std::string& extra = "") {
  return "apiVersion: slogate.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: " + name +
         ", namespace: test}\nspec:\n  window: " + window + "\n  indicators:\n" + indicators +
         extra;
}

// One rollback rule and no freeze: isolates what a test looks at.
constexpr const char* kOneRule =
    "  policy:\n    freezeBelow: \"-1000\"\n"
    "    burnRateRules: [{long: 1h, short: 5m, factor: \"14.4\", action: rollback}]\n";

std::shared_ptr<const engine::CompiledSlo> compile(const std::string& yaml) {
  auto slos = config::parseSloDocuments(yaml, "test.yaml");
  EXPECT_TRUE(slos.ok()) << slos.status().message();
  return slos.ok() ? slos->front() : nullptr;
}

class RealPrometheus : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!harness::prometheusAvailable()) return;
    harness::OpenMetricsWriter om;
    const auto days = [](std::int64_t n) { return kEnd - n * kDaySec; };
    {  // 31 days, burn 0.5 against 99.9%: the whole 30d window through every tier.
      harness::ServiceHistory h("steady", days(31), kEnd);
      h.setRate(days(31), kEnd, 2'000, 1);
      h.write(om);
    }
    {  // Clean, then 20% errors for the last 20 minutes.
      harness::ServiceHistory h("fastburn", days(2), kEnd);
      h.setRate(days(2), kEnd - 1200, 1'000, 0);
      h.setRate(kEnd - 1200, kEnd, 1'000, 200);
      h.write(om);
    }
    {  // Clean for two days, then 0.4% errors (burn 4) for two days.
      harness::ServiceHistory h("slowburn", days(4), kEnd);
      h.setRate(days(4), days(2), 1'000, 0);
      h.setRate(days(2), kEnd, 1'000, 4);
      h.write(om);
    }
    {  // One request a minute, none failing.
      harness::ServiceHistory h("lowtraffic", days(2), kEnd);
      h.setRate(days(2), kEnd, 1, 0);
      h.write(om);
    }
    {  // Gone for the last four days.
      harness::ServiceHistory h("gone", days(5), kEnd);
      h.setRate(days(5), kEnd, 100, 0);
      h.noSeries(days(4), kEnd + 60);
      h.write(om);
    }
    {  // Restarts 3 hours before the end: counters start again from 0.
      harness::ServiceHistory h("restart", days(2), kEnd);
      h.setRate(days(2), kEnd, 600, 6);
      h.counterResetAt(kEnd - std::int64_t{3} * 3600);
      h.write(om);
    }
    {  // No errors, but 20% slow requests for the last 45 minutes.
      harness::ServiceHistory h("slowpath", days(2), kEnd);
      h.setRate(days(2), kEnd, 1'000, 0);
      h.setSlow(kEnd - std::int64_t{45} * 60, kEnd, 200);
      h.write(om);
    }
    {  // CPU at 0.95 for the last 2 hours; "edgecpu" exactly at max.
      harness::ServiceHistory h("hotcpu", days(2), kEnd);
      h.setRate(days(2), kEnd, 1'000, 0);
      h.setCpu(kEnd - std::int64_t{2} * 3600 + 60, kEnd + 60, 0.95);
      h.write(om);
      harness::ServiceHistory e("edgecpu", days(2), kEnd);
      e.setRate(days(2), kEnd, 1'000, 0);
      e.setCpu(days(2), kEnd + 60, 0.9);
      e.write(om);
    }
    {  // A week and a day at 1,000 a minute, then 100 a minute for 10 minutes.
      harness::ServiceHistory h("drop", days(8), kEnd);
      h.setRate(days(8), kEnd - 600, 1'000, 0);
      h.setRate(kEnd - 600, kEnd, 100, 0);
      h.write(om);
    }
    harness::checkoutIncident(kIncidentDay0).write(om);
    std::string error;
    server_ = harness::PrometheusServer::start(om.text(), &error).release();
    ASSERT_NE(server_, nullptr) << error;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (!harness::prometheusAvailable()) GTEST_SKIP() << "prometheus/promtool not installed";
    ASSERT_NE(server_, nullptr);
    ClientOptions o;
    o.url = server_->url();
    auto c = makeClient(o);
    ASSERT_TRUE(c.ok()) << c.status().message();
    client_ = std::move(*c);
  }

  engine::Verdict evaluateAt(const std::string& yaml, Minutes at) {
    SloReader reader(*client_);
    auto state = reader.backfill(compile(yaml), at);
    EXPECT_TRUE(state.ok()) << state.status().message();
    if (!state.ok()) return {};
    return engine::evaluate(*state);
  }

  static harness::PrometheusServer* server_;
  std::unique_ptr<QueryClient> client_;
};

harness::PrometheusServer* RealPrometheus::server_ = nullptr;

std::string burnOf(const engine::Verdict& v, std::size_t k, Minutes window) {
  const int i = v.slo->layout()->indexOf(window);
  if (i < 0) return "no such window";
  const auto b = v.indicators[k].burnRate(static_cast<std::size_t>(i));
  return b ? b->toString() : "none";
}

TEST_F(RealPrometheus, SteadyStateEqualsTruthOverThe30dWindow) {
  const auto before = client_->requests();
  const engine::Verdict v = evaluateAt(sloYaml("steady", "30d", errorsYaml("steady")), kEndMinute);
  EXPECT_EQ(v.decision, Decision::kApprove);
  // 30 days × 1,440 minutes × 2,000 requests, one error a minute: exact.
  EXPECT_EQ(v.indicators[0].events.total, 30ull * 1440 * 2000);
  EXPECT_EQ(v.indicators[0].events.bad, 30ull * 1440);
  EXPECT_EQ(v.indicators[0].budgetRemaining.toString(), "0.5");
  for (const Minutes w : {5, 30, 60, 120, 360, 1440, 4320, 43200}) {
    EXPECT_EQ(burnOf(v, 0, w), "0.5") << w;
  }
  // Startup backfill cost: hours, 15-minute buckets and minutes, two queries each.
  EXPECT_EQ(client_->requests() - before, 6u);
}

TEST_F(RealPrometheus, CalendarWindowsCountFromThePeriodStartInTheirZone) {
  const auto calendarSlo = [](const std::string& calendar) {
    std::string yaml = sloYaml("steady", "30d", errorsYaml("steady"));
    yaml.replace(yaml.find("  window: 30d"), std::string("  window: 30d").size(),
                 "  calendar: " + calendar);
    return yaml;
  };
  // October in UTC, at its last minute: every minute of the history but the
  // first (1 October 00:00Z is the period's start, not in it).
  const std::string utcMonth = calendarSlo("{period: month, timeZone: UTC}");
  engine::Verdict v = evaluateAt(utcMonth, kEndMinute - 1);
  EXPECT_EQ(v.indicators[0].events.total, (31ull * 1440 - 1) * 2000);
  EXPECT_EQ(v.indicators[0].events.bad, 31ull * 1440 - 1);
  EXPECT_EQ(v.indicators[0].budgetRemaining.toString(), "0.5");
  // 1 November 00:00Z: a new period, nothing spent yet.
  v = evaluateAt(utcMonth, kEndMinute);
  EXPECT_EQ(v.indicators[0].events.total, 0u);
  EXPECT_EQ(v.indicators[0].budgetRemaining.toString(), "1");
  EXPECT_EQ(v.decision, Decision::kApprove);  // the rolling windows still judge
  // In Berlin, November began at 23:00Z (00:00 CET): one hour is in it.
  v = evaluateAt(calendarSlo("{period: month, timeZone: Europe/Berlin}"), kEndMinute);
  EXPECT_EQ(v.indicators[0].events.total, 60ull * 2000);
  // ISO week: Monday 26 October 00:00Z to Saturday 31 October 23:59Z.
  v = evaluateAt(calendarSlo("{period: week}"), kEndMinute - 1);
  EXPECT_EQ(v.indicators[0].events.total, (6ull * 1440 - 1) * 2000);
}

TEST_F(RealPrometheus, FastBurnRollsBackAndWasApprovedBefore) {
  const std::string yaml =
      sloYaml("fastburn", "30d", errorsYaml("fastburn"), "  policy: {freezeBelow: \"-1000\"}\n");
  const engine::Verdict v = evaluateAt(yaml, kEndMinute);
  EXPECT_EQ(v.decision, Decision::kRollback);
  EXPECT_EQ(burnOf(v, 0, 5), "200");
  EXPECT_EQ(burnOf(v, 0, 60), "66.666666667");
  ASSERT_FALSE(v.reasons.empty());
  EXPECT_EQ(v.reasons[0],
            "errors: 1h burn 66.6667 and 5m burn 200 above 14.4 (rule 1h/5m \u2192 rollback)");
  EXPECT_EQ(evaluateAt(yaml, kEndMinute - 21).decision, Decision::kApprove);
}

TEST_F(RealPrometheus, SlowBurnHalts) {
  const engine::Verdict v = evaluateAt(
      sloYaml("slowburn", "30d", errorsYaml("slowburn"), "  policy: {freezeBelow: \"-1000\"}\n"),
      kEndMinute);
  EXPECT_EQ(v.decision, Decision::kHalt);
  EXPECT_EQ(burnOf(v, 0, 1440), "4");
  ASSERT_FALSE(v.reasons.empty());
  EXPECT_THAT(v.reasons[0],
              HasSubstr("errors: 1d burn 4 and 2h burn 4 above 3 (rule 1d/2h \u2192 halt)"));
}

TEST_F(RealPrometheus, LowTrafficIsInconclusiveUntilMinEvents) {
  const engine::Verdict few = evaluateAt(
      sloYaml("low", "30d", errorsYaml("lowtraffic"), "    traffic: {minEvents: 5000}\n"),
      kEndMinute);
  EXPECT_EQ(few.decision, Decision::kInconclusive);
  ASSERT_FALSE(few.reasons.empty());
  EXPECT_EQ(few.reasons[0],
            "errors: no burn-rate rule judged: 2880 events in the last 3d, fewer than the 5000 "
            "needed (traffic.minEvents)");
  const engine::Verdict enough = evaluateAt(
      sloYaml("low", "30d", errorsYaml("lowtraffic"), "    traffic: {minEvents: 1000}\n"),
      kEndMinute);
  EXPECT_EQ(enough.decision, Decision::kApprove);
}

TEST_F(RealPrometheus, MissingDataIsInconclusiveNotApproved) {
  const engine::Verdict gone = evaluateAt(sloYaml("gone", "1d", errorsYaml("gone")), kEndMinute);
  EXPECT_EQ(gone.decision, Decision::kInconclusive);
  EXPECT_EQ(gone.indicators[0].events.total, 0u);
  EXPECT_EQ(burnOf(gone, 0, 60), "none");
  EXPECT_EQ(gone.indicators[0].budgetRemaining.toString(), "1");
  const engine::Verdict never = evaluateAt(
      sloYaml("never", "1d", errorsYaml("no-such-service") + latencyYaml("nope")), kEndMinute);
  EXPECT_EQ(never.decision, Decision::kInconclusive);
  EXPECT_EQ(never.reasons.size(), 2u);
  // Four days earlier the service still existed.
  EXPECT_EQ(
      evaluateAt(sloYaml("gone", "1d", errorsYaml("gone")), kEndMinute - Minutes{4} * 1440 - 60)
          .decision,
      Decision::kApprove);
}

TEST_F(RealPrometheus, CounterResetLosesNothing) {
  const engine::Verdict v =
      evaluateAt(sloYaml("restart", "1d", errorsYaml("restart", "99"), kOneRule), kEndMinute);
  EXPECT_EQ(v.decision, Decision::kApprove);
  EXPECT_EQ(v.indicators[0].events.total, 1440ull * 600);
  EXPECT_EQ(v.indicators[0].events.bad, 1440ull * 6);
  EXPECT_EQ(burnOf(v, 0, 360), "1");
  EXPECT_EQ(burnOf(v, 0, 5), "1");
}

TEST_F(RealPrometheus, LatencyOnlyRegressionRollsBack) {
  const engine::Verdict v =
      evaluateAt(sloYaml("slowpath", "30d", errorsYaml("slowpath") + latencyYaml("slowpath"),
                         "  policy: {freezeBelow: \"-1000\"}\n"),
                 kEndMinute);
  EXPECT_EQ(v.decision, Decision::kRollback);
  EXPECT_EQ(burnOf(v, 0, 60), "0");   // errors fine
  EXPECT_EQ(burnOf(v, 1, 60), "15");  // 45 × 200 slow of 60,000 against 1%
  ASSERT_FALSE(v.reasons.empty());
  for (const std::string& r : v.reasons) EXPECT_THAT(r, ::testing::StartsWith("latency: "));
}

TEST_F(RealPrometheus, SaturationBreachCountsBadSlicesExactly) {
  const engine::Verdict hot = evaluateAt(
      sloYaml("hot", "1d", errorsYaml("hotcpu") + saturationYaml("hotcpu"), kOneRule), kEndMinute);
  EXPECT_EQ(hot.decision, Decision::kRollback);
  ASSERT_EQ(hot.indicatorCount, 2u);
  EXPECT_EQ(hot.indicators[1].kind, engine::IndicatorKind::kSaturation);
  EXPECT_EQ(hot.indicators[1].events.total, 1440u);  // one slice a minute with data
  EXPECT_EQ(hot.indicators[1].events.bad, 120u);     // the last two hours above 0.9
  EXPECT_THAT(hot.reasons[0], HasSubstr("saturation: 1h burn 100 and 5m burn 100 above 14.4"));
  // Exactly at max is good: Prometheus prints 0.9 and the comparison is exact.
  const engine::Verdict edge = evaluateAt(
      sloYaml("edge", "1d", errorsYaml("edgecpu") + saturationYaml("edgecpu")), kEndMinute);
  EXPECT_EQ(edge.decision, Decision::kApprove);
  EXPECT_EQ(edge.indicators[1].events.total, 1440u);
  EXPECT_EQ(edge.indicators[1].events.bad, 0u);
}

TEST_F(RealPrometheus, TrafficDropHalts) {
  const std::string yaml =
      sloYaml("drop", "30d", errorsYaml("drop"), "    traffic: {maxDrop: \"0.7\"}\n");
  const engine::Verdict v = evaluateAt(yaml, kEndMinute);
  EXPECT_EQ(v.decision, Decision::kHalt);
  ASSERT_FALSE(v.reasons.empty());
  EXPECT_EQ(v.reasons[0],
            "traffic: errors last 5m had 500 events, fewer than 30% of the 5000 in the same 5m "
            "one week earlier (maxDrop 0.7)");
  EXPECT_EQ(evaluateAt(yaml, kEndMinute - 15).decision, Decision::kApprove);
}

TEST_F(RealPrometheus, QueryErrorsAreSurfacedVerbatim) {
  SloReader reader(*client_);
  // A selector that passes slogate's check but not Prometheus' parser.
  auto slo = compile(
      sloYaml("bad", "1d",
              errorsYaml("x").replace(errorsYaml("x").find("code=~\"5..\""), 11, "code=~\"(\"")));
  auto state = reader.backfill(slo, kEndMinute);
  ASSERT_FALSE(state.ok());
  EXPECT_THAT(state.status().message(), HasSubstr("prometheus bad_data: "));
  EXPECT_THAT(state.status().message(), HasSubstr("error parsing regexp"));
}

// replay over the shipped incident: approve → rollback → freeze → approve,
// with the freeze carried through the minutes where a fresh evaluation would
// already approve (hysteresis).
TEST_F(RealPrometheus, ReplayCarriesFreezeThroughTheIncident) {
  const std::string sloFile =
      std::string(SLOGATE_SOURCE_DIR) + "/tests/fixtures/slo/demo-checkout.yaml";
  const harness::IncidentTimes t = harness::incidentTimes(kIncidentDay0);
  const std::int64_t from = t.incidentStart - 3600;
  const std::int64_t to = t.incidentStart + kDaySec + 3600;
  std::ostringstream out;
  std::ostringstream err;
  const auto before = client_->requests();
  const int code = cli::runReplay({"--slo", sloFile, "--prometheus", server_->url(), "--from",
                                   std::to_string(from), "--to", std::to_string(to)},
                                  out, err);
  ASSERT_EQ(code, 0) << err.str();
  EXPECT_EQ(err.str(), "");
  // One backfill (3 spans × 2 queries) and one minute fetch (2 queries): not
  // one round trip per step.
  EXPECT_LE(client_->requests() - before, 8u);

  std::vector<std::string> decisions;
  std::vector<std::pair<std::string, std::string>> stillFrozen;  // time, budget
  std::istringstream lines(out.str());
  std::string line;
  std::size_t steps = 0;
  std::string timeline;  // for failure messages
  while (std::getline(lines, line)) {
    ++steps;
    auto j = Json::parse(line);
    ASSERT_TRUE(j.ok()) << line;
    const std::string d = (*j)["decision"].text();
    const std::string budget = (*j)["indicators"]["errors"]["budgetRemaining"].text();
    if (decisions.empty() || decisions.back() != d) {
      decisions.push_back(d);
      timeline += (*j)["evaluatedAt"].text() + " " + d + " " + budget + "\n";
    }
    if (d == "freeze" && budget.rfind("0.0", 0) == 0) {
      stillFrozen.emplace_back((*j)["evaluatedAt"].text(), budget);
    }
  }
  EXPECT_EQ(steps, static_cast<std::size_t>((to - from) / 60 + 1));
  EXPECT_EQ(decisions, (std::vector<std::string>{"approve", "rollback", "freeze", "approve"}))
      << timeline;
  // Budget above freezeBelow (0) but not above unfreezeAbove (0.05): frozen still.
  ASSERT_FALSE(stillFrozen.empty()) << timeline;
  for (const auto& [at, budget] : stillFrozen) {
    EXPECT_GT(*engine::Fixed::parse(budget), engine::kZero) << at;
    EXPECT_LE(*engine::Fixed::parse(budget), *engine::Fixed::parse("0.05")) << at;
  }

  // evaluate --at one of those minutes has no history: budget > freezeBelow → approve.
  std::ostringstream evalOut;
  const int evalCode = cli::runEvaluate(
      {"--slo", sloFile, "--prometheus", server_->url(), "--at", stillFrozen[0].first}, evalOut,
      err, [] { return std::int64_t{0}; });
  EXPECT_EQ(evalCode, 0) << err.str();
  EXPECT_THAT(evalOut.str(), HasSubstr("\"decision\":\"approve\""));
}

TEST_F(RealPrometheus, EvaluateExitCodesFollowTheMostSevereSlo) {
  const std::string dir = ::testing::TempDir();
  const std::string file = dir + "/two.yaml";
  {
    std::ofstream(file) << sloYaml("ok", "30d", errorsYaml("steady")) << "---\n"
                        << sloYaml("fast", "30d", errorsYaml("fastburn"),
                                   "  policy: {freezeBelow: \"-1000\"}\n");
  }
  std::ostringstream out;
  std::ostringstream err;
  const int code = cli::runEvaluate(
      {"--slo", file, "--prometheus", server_->url(), "--at", std::to_string(kEnd)}, out, err,
      [] { return std::int64_t{0}; });
  EXPECT_EQ(code, 11) << err.str();
  const std::string s = out.str();
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 2);
  EXPECT_THAT(s, HasSubstr("\"slo\":\"ok\""));
  EXPECT_THAT(s, HasSubstr("\"decision\":\"rollback\""));
}

}  // namespace
}  // namespace slogate::prometheus
