// Prometheus faults against the reconciler: the Gate reads a FaultyPrometheus
// (a loopback Prometheus API over a known history: 1,000 requests a minute,
// 200 of them failing from kIncident on) and acts through the fake API server
// (tests/fakes/). For every fault — down (connection refused), slower than
// the query timeout, 500, 503, a garbage body, NaN and +Inf samples, empty
// results — the published verdict must be `inconclusive` with a reason naming
// the fault, onNoData must be honoured (halt: the Rollout is paused, never
// aborted; approve: nothing is done), the last good verdict keeps its own
// evaluation time (never shown as fresh), and recovery must bring the right
// decision back. The gate's clock is the test's: minutes pass on demand.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "api/verdict_endpoint.h"
#include "base/time.h"
#include "fakes/fake_apiserver.h"
#include "gate/faulty_prometheus.h"
#include "gate/gate.h"
#include "harness/test_helpers.h"

namespace slogate::gate {
namespace {

using fakes::PromFault;
using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

constexpr std::int64_t kT0 = 1'793'491'200;              // 2026-11-01T00:00:00Z
constexpr std::int64_t kFirstEval = kT0 / 60 - 1;        // evaluationDelay 60 s
constexpr std::int64_t kIncident = kT0 / 60 + 10;        // first minute with errors
constexpr std::int64_t kHistoryStart = kT0 / 60 - 2880;  // two days of history

const std::string kRolloutPath = "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout";
const std::string kAbortPath = kRolloutPath + "/status";

using harness::eventually;
using harness::parseJson;

Json rollout(const std::string& podHash) {
  return harness::checkoutRollout(podHash);
}

// A 1d window with the one fast-burn rule: 5m and 1h above 14.4 → rollback.
Json slo(const std::string& onNoData) {
  return parseJson(
      R"({"apiVersion":"slogate.dev/v1alpha1","kind":"ServiceLevelObjective","metadata":{"name":"checkout","namespace":"shop"},
      "spec":{"window":"1d","target":{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","name":"checkout"},
      "indicators":{"errors":{"objective":"99.9","total":"http_requests_total{service=\"checkout\"}",
        "bad":"http_requests_total{service=\"checkout\",code=~\"5..\"}"}},
      "policy":{"mode":"enforce","onNoData":")" +
      onNoData + R"(","freezeBelow":"-1000",
        "burnRateRules":[{"long":"1h","short":"5m","factor":"14.4","action":"rollback"}]}}})");
}

class GateFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    prom_ =
        fakes::FaultyPrometheus::start(fakes::checkoutHistory(kHistoryStart, kIncident), &error);
    ASSERT_NE(prom_, nullptr) << error;
    prom_->setSlowDelay(std::chrono::milliseconds(1500));
    api_ = fakes::FakeApiServer::start({}, &error);
    ASSERT_NE(api_, nullptr) << error;
    api_->apply(parseJson(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}})"));
    kube::ClusterConfig c;
    c.server = api_->url();
    c.caFile = api_->caFile();
    c.token = api_->token();
    auto k = kube::KubeClient::make(c);
    ASSERT_TRUE(k.ok()) << k.status().message();
    kube_ = std::move(*k);
    prometheus::ClientOptions po;
    po.url = prom_->url();
    po.timeout = std::chrono::milliseconds(300);  // "slow" answers take 1.5 s
    po.maxAttempts = 2;
    po.backoff = std::chrono::milliseconds(20);
    po.maxBackoff = std::chrono::milliseconds(50);
    auto p = prometheus::makeClient(po);
    ASSERT_TRUE(p.ok()) << p.status().message();
    promClient_ = std::move(*p);
  }

  void TearDown() override {
    if (gate_) gate_->stop();
    gate_.reset();
  }

  void startGate() {
    GateOptions o;
    o.tick = std::chrono::milliseconds(100);
    o.workers = 2;
    o.identity = "fault-test";
    gate_ =
        std::make_unique<Gate>(*kube_, *promClient_, nullptr, o, [this] { return clock_.load(); });
    gate_->start();
  }

  std::shared_ptr<const SloEntry> entry() const {
    const auto snap = gate_->snapshot();
    const auto it = snap->entries.find("shop/checkout");
    return it == snap->entries.end() ? nullptr : it->second;
  }

  // What the verdict endpoint (Argo Rollouts' analysis) is served now; maxAge
  // is three ticks of the controller's default 15 s.
  Json published() const {
    api::VerdictEndpoint endpoint([this] { return gate_->snapshot(); }, std::chrono::seconds(45),
                                  [this] { return clock_.load(); });
    return parseJson(endpoint.verdict("shop", "checkout"));
  }

  Json sloStatus() const {
    auto s = api_->get("slogate.dev/v1alpha1", "ServiceLevelObjective", "shop", "checkout");
    return s ? (*s)["status"] : Json();
  }

  static Json condition(const Json& status, const std::string& type) {
    for (const Json& c : status["conditions"].items()) {
      if (c["type"].text() == type) return c;
    }
    return Json();
  }

  Json rolloutNow() const {
    auto r = api_->get("argoproj.io/v1alpha1", "Rollout", "shop", "checkout");
    return r ? *r : Json();
  }

  std::size_t patches(const std::string& path, bool okOnly = true) const {
    std::size_t n = 0;
    for (const auto& r : api_->requests()) {
      n += r.method == "PATCH" && r.path == path && (!okOnly || r.status < 300) ? 1 : 0;
    }
    return n;
  }

  // Moves the gate's clock so that it evaluates at minute `minute`.
  void evaluateAt(std::int64_t minute) { clock_ = (minute + 1) * 60; }

  bool settledOn(const std::string& decision, std::int64_t minute) const {
    const auto e = entry();
    return e && e->verdict && e->error.empty() &&
           engine::decisionName(e->verdict->decision) == decision &&
           e->verdict->evaluatedAt == minute;
  }

  std::atomic<std::int64_t> clock_{kT0};
  std::unique_ptr<fakes::FaultyPrometheus> prom_;
  std::unique_ptr<fakes::FakeApiServer> api_;
  std::unique_ptr<kube::KubeClient> kube_;
  std::unique_ptr<prometheus::QueryClient> promClient_;
  std::unique_ptr<Gate> gate_;
};

struct TransportFault {
  PromFault fault;
  std::string named;  // what the reason must say about it
};

// NOLINTNEXTLINE(readability-identifier-naming): gtest finds a value printer by this name
void PrintTo(const TransportFault& f, std::ostream* os) {
  *os << promFaultName(f.fault);
}

class GateTransportFaults : public GateFaults,
                            public ::testing::WithParamInterface<TransportFault> {};

// Healthy → fault (inconclusive, paused, the last verdict kept with its own
// time) → recovery over an incident that began during the outage (rollback,
// one abort).
TEST_P(GateTransportFaults, InconclusiveAndPausedThenTheRightDecisionBack) {
  const TransportFault p = GetParam();
  api_->apply(rollout("rev2"));
  api_->apply(slo("halt"));
  startGate();
  ASSERT_TRUE(eventually([&] { return settledOn("approve", kFirstEval) && gate_->ready(); }));
  ASSERT_TRUE(eventually([&] { return sloStatus()["decision"].text() == "approve"; }));
  const std::string firstEval = formatRfc3339(kFirstEval * 60);
  EXPECT_EQ(published()["decision"].text(), "approve");

  // The fault, two minutes later.
  const auto faulted = Clock::now();
  ASSERT_TRUE(prom_->setFault(p.fault));
  evaluateAt(kFirstEval + 2);
  // (The first failure may be the pooled connection breaking; the next ones
  // name the fault.)
  ASSERT_TRUE(eventually([&] {
    const auto e = entry();
    return e && e->error.find(p.named) != std::string::npos;
  })) << promFaultName(p.fault)
      << ": " << (entry() ? entry()->error : "no entry");
  const auto failed = entry();
  if (p.fault == PromFault::kSlow) {
    // Two attempts, each given up after the 300 ms timeout (the answer takes 1.5 s).
    EXPECT_GE(Clock::now() - faulted, std::chrono::milliseconds(600));
    EXPECT_LT(Clock::now() - faulted, std::chrono::milliseconds(3000));
  }
  EXPECT_THAT(failed->error, HasSubstr(p.named));
  // The last good verdict is kept with its own evaluation time, not refreshed.
  ASSERT_NE(failed->verdict, nullptr);
  EXPECT_EQ(failed->verdict->decision, engine::Decision::kApprove);
  EXPECT_EQ(failed->verdict->evaluatedAt, kFirstEval);
  EXPECT_EQ(failed->evaluatedAtUnix, kT0);
  // What Argo Rollouts is served: inconclusive, naming the fault and how old
  // the last verdict is; never the stale approve.
  const Json v = published();
  EXPECT_EQ(v["decision"].text(), "inconclusive") << v.dump();
  ASSERT_EQ(v["reasons"].items().size(), 1u);
  EXPECT_THAT(v["reasons"][0].text(), HasSubstr("the last evaluation failed"));
  EXPECT_THAT(v["reasons"][0].text(), HasSubstr(p.named));
  EXPECT_THAT(v["reasons"][0].text(), HasSubstr("last verdict was approve at " + firstEval));
  // Status: marked not Ready with the fault, lastEvaluationTime still the last success.
  ASSERT_TRUE(eventually(
      [&] { return condition(sloStatus(), "Ready")["reason"].text() == "PrometheusError"; }));
  const Json st = sloStatus();
  EXPECT_EQ(condition(st, "Ready")["status"].text(), "False");
  EXPECT_THAT(condition(st, "Ready")["message"].text(), HasSubstr(p.named));
  EXPECT_EQ(st["lastEvaluationTime"].text(), firstEval);
  // onNoData: halt → the in-progress Rollout is paused, never aborted.
  EXPECT_TRUE(eventually([&] {
    const Json r = rolloutNow();
    return r["spec"]["paused"].isBool() && r["spec"]["paused"].boolValue();
  })) << "onNoData: halt must pause while Prometheus fails ("
      << promFaultName(p.fault) << ")";
  EXPECT_FALSE(rolloutNow()["status"]["abort"].isBool());
  EXPECT_EQ(patches(kAbortPath, false), 0u);
  ASSERT_TRUE(eventually([&] { return sloStatus()["actions"].items().size() == 1; }));
  EXPECT_EQ(sloStatus()["actions"][0]["action"].text(), "pause");
  EXPECT_EQ(sloStatus()["actions"][0]["decision"].text(), "inconclusive");
  EXPECT_EQ(sloStatus()["actions"][0]["revision"].text(), "rev2");
  // More failing ticks: still one pause.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(patches(kRolloutPath, false), 1u);

  // Recovery, with an incident that started during the outage: the minutes
  // missed are read back and the fast burn rolls back (one abort).
  ASSERT_TRUE(prom_->setFault(PromFault::kNone));
  const std::int64_t recovered = kIncident + 7;
  evaluateAt(recovered);
  ASSERT_TRUE(eventually([&] { return settledOn("rollback", recovered); }))
      << (entry() ? entry()->error : "");
  EXPECT_EQ(entry()->evaluatedAtUnix, clock_.load());
  const Json back = published();
  EXPECT_EQ(back["decision"].text(), "rollback");
  EXPECT_EQ(back["evaluatedAt"].text(), formatRfc3339(recovered * 60));
  EXPECT_THAT(back["reasons"][0].text(), HasSubstr("1h burn 26.6667 and 5m burn 200 above 14.4"));
  EXPECT_TRUE(eventually([&] {
    const Json r = rolloutNow();
    return r["status"]["abort"].isBool() && r["status"]["abort"].boolValue();
  }));
  ASSERT_TRUE(eventually([&] {
    const Json s = sloStatus();
    return condition(s, "Ready")["status"].text() == "True" &&
           s["lastEvaluationTime"].text() == formatRfc3339(recovered * 60);
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(patches(kAbortPath), 1u);
  EXPECT_EQ(patches(kRolloutPath, false), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Prometheus, GateTransportFaults,
    ::testing::Values(TransportFault{PromFault::kDown, "Failed to connect"},
                      TransportFault{PromFault::kSlow, "query_range (after 2 attempts)"},
                      TransportFault{PromFault::kHttp500, "prometheus internal: injected failure"},
                      TransportFault{PromFault::kHttp503, "HTTP 503"},
                      TransportFault{PromFault::kGarbage,
                                     "malformed response: HTTP 200, not JSON"}),
    [](const ::testing::TestParamInfo<TransportFault>& param) {
      return std::string(promFaultName(param.param.fault));
    });

class GateDataFaults : public GateFaults, public ::testing::WithParamInterface<PromFault> {};

// NaN, +Inf and empty answers are no data: from a fresh start no rule can be
// judged, the (fresh) verdict is inconclusive and says so, onNoData: halt
// pauses; once data flows again the gate approves.
TEST_P(GateDataFaults, NoDataIsInconclusiveAndPausesThenApproves) {
  ASSERT_TRUE(prom_->setFault(GetParam()));
  api_->apply(rollout("rev2"));
  api_->apply(slo("halt"));
  startGate();
  ASSERT_TRUE(eventually([&] { return settledOn("inconclusive", kFirstEval); }))
      << (entry() ? entry()->error : "no entry");
  EXPECT_GE(prom_->answered(), 2u);
  const Json v = published();
  EXPECT_EQ(v["decision"].text(), "inconclusive");
  EXPECT_EQ(v["evaluatedAt"].text(), formatRfc3339(kFirstEval * 60));
  ASSERT_FALSE(v["reasons"].items().empty());
  EXPECT_THAT(v["reasons"][0].text(), HasSubstr("errors: no burn-rate rule judged: 0 events"));
  EXPECT_EQ(v["indicators"]["errors"]["burnRates"]["5m"].type(), Json::Type::kNull);
  ASSERT_TRUE(eventually([&] { return sloStatus()["decision"].text() == "inconclusive"; }));
  EXPECT_EQ(condition(sloStatus(), "Ready")["status"].text(), "True");
  EXPECT_EQ(sloStatus()["lastEvaluationTime"].text(), formatRfc3339(kFirstEval * 60));
  EXPECT_TRUE(eventually([&] {
    const Json r = rolloutNow();
    return r["spec"]["paused"].isBool() && r["spec"]["paused"].boolValue();
  }));
  EXPECT_EQ(patches(kAbortPath, false), 0u);

  // Data again: the minutes since are read, the 1h window has events → approve.
  ASSERT_TRUE(prom_->setFault(PromFault::kNone));
  evaluateAt(kFirstEval + 2);
  ASSERT_TRUE(eventually([&] { return settledOn("approve", kFirstEval + 2); }));
  EXPECT_EQ(published()["decision"].text(), "approve");
  ASSERT_TRUE(eventually([&] { return sloStatus()["decision"].text() == "approve"; }));
  EXPECT_EQ(patches(kRolloutPath, false), 1u);
  EXPECT_EQ(patches(kAbortPath, false), 0u);
}

INSTANTIATE_TEST_SUITE_P(Prometheus, GateDataFaults,
                         ::testing::Values(PromFault::kNaN, PromFault::kInf, PromFault::kEmpty),
                         [](const ::testing::TestParamInfo<PromFault>& param) {
                           return std::string(promFaultName(param.param));
                         });

// Data stops mid-life (the service's series vanish): the long windows still
// hold events, so the rules would go on approving on old data. After
// staleData (10 minutes) the gate publishes inconclusive, saying since when,
// and pauses; when data returns, it approves again.
TEST_F(GateFaults, DataThatStopsMidLifeTurnsInconclusiveAfterStaleData) {
  api_->apply(rollout("rev2"));
  api_->apply(slo("halt"));
  startGate();
  ASSERT_TRUE(eventually([&] { return settledOn("approve", kFirstEval); }));
  ASSERT_TRUE(prom_->setFault(PromFault::kEmpty));
  evaluateAt(kFirstEval + 10);  // ten minutes without data: still within staleData
  ASSERT_TRUE(eventually([&] { return settledOn("approve", kFirstEval + 10); }));
  evaluateAt(kFirstEval + 11);
  ASSERT_TRUE(eventually([&] { return settledOn("inconclusive", kFirstEval + 11); }));
  const Json v = published();
  ASSERT_FALSE(v["reasons"].items().empty());
  EXPECT_EQ(v["reasons"][0].text(), "no data from Prometheus since " +
                                        formatRfc3339(kFirstEval * 60) +
                                        " (11 minutes): the rules would judge old data");
  EXPECT_TRUE(eventually([&] {
    const Json r = rolloutNow();
    return r["spec"]["paused"].isBool() && r["spec"]["paused"].boolValue();
  }));
  EXPECT_EQ(patches(kAbortPath, false), 0u);
  ASSERT_TRUE(prom_->setFault(PromFault::kNone));
  evaluateAt(kFirstEval + 12);
  ASSERT_TRUE(eventually([&] { return settledOn("approve", kFirstEval + 12); }));
}

// onNoData: approve — the same faults are published as inconclusive, but the
// gate does nothing to the Rollout.
TEST_F(GateFaults, OnNoDataApproveDoesNothingThroughEveryFault) {
  api_->apply(rollout("rev2"));
  api_->apply(slo("approve"));
  ASSERT_TRUE(prom_->setFault(PromFault::kEmpty));
  startGate();
  ASSERT_TRUE(eventually([&] { return settledOn("inconclusive", kFirstEval); }));
  ASSERT_TRUE(eventually([&] { return sloStatus()["decision"].text() == "inconclusive"; }));
  std::int64_t minute = kFirstEval;
  for (const PromFault f : {PromFault::kDown, PromFault::kHttp503, PromFault::kGarbage,
                            PromFault::kNaN, PromFault::kSlow}) {
    ASSERT_TRUE(prom_->setFault(PromFault::kNone));
    evaluateAt(++minute);
    ASSERT_TRUE(eventually([&] { return settledOn("approve", minute); })) << promFaultName(f);
    ASSERT_TRUE(prom_->setFault(f));
    evaluateAt(++minute);
    if (f == PromFault::kNaN) {
      // NaN is no data, not a failure: evaluated (whatever it decides).
      ASSERT_TRUE(eventually([&] {
        const auto e = entry();
        return e && e->error.empty() && e->verdict && e->verdict->evaluatedAt == minute;
      }));
    } else {
      ASSERT_TRUE(eventually([&] {
        const auto e = entry();
        return e && !e->error.empty();
      })) << promFaultName(f);
      EXPECT_EQ(published()["decision"].text(), "inconclusive") << promFaultName(f);
      EXPECT_EQ(entry()->verdict->evaluatedAt, minute - 1) << promFaultName(f);
    }
  }
  ASSERT_TRUE(prom_->setFault(PromFault::kNone));
  evaluateAt(++minute);
  ASSERT_TRUE(eventually([&] { return settledOn("approve", minute); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(patches(kRolloutPath, false), 0u);
  EXPECT_EQ(patches(kAbortPath, false), 0u);
  EXPECT_FALSE(sloStatus().has("actions"));
  EXPECT_FALSE(rolloutNow()["spec"]["paused"].isBool());
}

}  // namespace
}  // namespace slogate::gate
