// The reconciler end to end: the fake API server (tests/fakes/) holds the
// SLO and its Rollout, a real Prometheus (tests/harness/) holds a fast burn,
// and the Gate must write status, record Events, abort the Rollout exactly
// once per revision — across restarts — and never act without the lease.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "fakes/fake_apiserver.h"
#include "gate/gate.h"
#include "harness/history.h"
#include "harness/prometheus_server.h"
#include "harness/test_helpers.h"
#include "kube/leader.h"

namespace slogate::gate {
namespace {

using ::testing::HasSubstr;

constexpr std::int64_t kEnd = 1'793'491'200;  // last sample of the history

using harness::eventually;
using harness::parseJson;

Json rollout(const std::string& podHash) {
  return harness::checkoutRollout(podHash, R"(,"observedGeneration":"2")");
}

Json slo(const std::string& mode, const std::string& service = "checkout") {
  return parseJson(
      R"({"apiVersion":"slogate.dev/v1alpha1","kind":"ServiceLevelObjective","metadata":{"name":"checkout","namespace":"shop"},
      "spec":{"service":"checkout","window":"30d","target":{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","name":"checkout"},
      "indicators":{"errors":{"objective":"99.9","total":"http_requests_total{service=\")" +
      service + R"(\"}","bad":"http_requests_total{service=\")" + service +
      R"(\",code=~\"5..\"}"}},"policy":{"mode":")" + mode + R"(","freezeBelow":"-1000"}}})");
}

class GateEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!harness::prometheusAvailable()) return;
    harness::OpenMetricsWriter om;
    harness::ServiceHistory h("checkout", kEnd - std::int64_t{2} * 86'400, kEnd);
    h.setRate(kEnd - std::int64_t{2} * 86'400, kEnd - 1200, 1'000, 0);
    h.setRate(kEnd - 1200, kEnd, 1'000, 200);
    h.write(om);
    std::string error;
    prom_ = harness::PrometheusServer::start(om.text(), &error).release();
    ASSERT_NE(prom_, nullptr) << error;
  }
  static void TearDownTestSuite() {
    delete prom_;
    prom_ = nullptr;
  }
  void SetUp() override {
    if (!harness::prometheusAvailable()) GTEST_SKIP() << "prometheus not installed";
    std::string error;
    api_ = fakes::FakeApiServer::start({}, &error);
    ASSERT_NE(api_, nullptr) << error;
    api_->apply(parseJson(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}})"));
    kube::ClusterConfig c;
    c.server = api_->url();
    c.caFile = api_->caFile();
    c.token = api_->token();
    kube_ = std::move(*kube::KubeClient::make(c));
    prometheus::ClientOptions po;
    po.url = prom_->url();
    promClient_ = std::move(*prometheus::makeClient(po));
  }

  std::unique_ptr<Gate> startGate(kube::LeaderElector* elector = nullptr) {
    GateOptions o;
    o.tick = std::chrono::milliseconds(100);
    o.workers = 2;
    o.identity = "test-replica";
    auto g = std::make_unique<Gate>(*kube_, *promClient_, elector, o,
                                    [] { return kEnd + 60; });  // evaluates at kEnd
    g->start();
    return g;
  }

  std::size_t count(const std::string& method, const std::string& path) const {
    std::size_t n = 0;
    for (const auto& r : api_->requests()) n += r.method == method && r.path == path ? 1 : 0;
    return n;
  }

  std::vector<Json> events(const std::string& reason) const {
    std::vector<Json> out;
    for (const Json& e : api_->list("v1", "Event")) {
      if (e["reason"].text() == reason) out.push_back(e);
    }
    return out;
  }

  static harness::PrometheusServer* prom_;
  std::unique_ptr<fakes::FakeApiServer> api_;
  std::unique_ptr<kube::KubeClient> kube_;
  std::unique_ptr<prometheus::QueryClient> promClient_;
};

harness::PrometheusServer* GateEndToEnd::prom_ = nullptr;

const std::string kAbortPath =
    "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout/status";
const std::string kSloStatusPath =
    "/apis/slogate.dev/v1alpha1/namespaces/shop/servicelevelobjectives/checkout/status";

TEST_F(GateEndToEnd, FastBurnAbortsTheRolloutOncePerRevisionAcrossRestarts) {
  api_->apply(rollout("rev2"));
  api_->apply(slo("enforce"));
  auto gate = startGate();
  ASSERT_TRUE(eventually([&] {
    auto r = api_->get("argoproj.io/v1alpha1", "Rollout", "shop", "checkout");
    return r && (*r)["status"]["abort"].isBool() && (*r)["status"]["abort"].boolValue();
  }));
  ASSERT_TRUE(eventually([&] {
    auto s = api_->get("slogate.dev/v1alpha1", "ServiceLevelObjective", "shop", "checkout");
    return s && (*s)["status"]["actions"].items().size() == 1;
  }));
  EXPECT_TRUE(eventually([&] { return gate->ready(); }));
  // Many ticks later: still one abort, one status write (nothing changed).
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_EQ(count("PATCH", kAbortPath), 1u);
  EXPECT_EQ(gate->counters().aborts.load(), 1u);
  const auto s = api_->get("slogate.dev/v1alpha1", "ServiceLevelObjective", "shop", "checkout");
  ASSERT_TRUE(s.has_value());
  const Json& st = (*s)["status"];
  EXPECT_EQ(st["decision"].text(), "rollback");
  EXPECT_THAT(st["reasons"][0].text(),
              HasSubstr("errors: 1h burn 66.6667 and 5m burn 200 above 14.4"));
  EXPECT_EQ(st["indicators"]["errors"]["burnRates"]["5m"].text(), "200");
  EXPECT_EQ(st["lastEvaluationTime"].text(), "2026-11-01T00:00:00Z");
  EXPECT_EQ(st["observedGeneration"].text(), "1");
  EXPECT_EQ(st["actions"][0]["revision"].text(), "rev2");
  EXPECT_EQ(st["actions"][0]["action"].text(), "abort");
  bool burning = false;
  for (const Json& c : st["conditions"].items()) {
    if (c["type"].text() == "Burning") burning = c["status"].text() == "True";
  }
  EXPECT_TRUE(burning);
  EXPECT_LE(count("PATCH", kSloStatusPath), 2u);
  ASSERT_EQ(events("SLOGateAbort").size(), 1u);
  EXPECT_EQ(events("SLOGateAbort")[0]["involvedObject"]["kind"].text(), "Rollout");
  EXPECT_THAT(events("SLOGateAbort")[0]["message"].text(), HasSubstr("aborted revision rev2"));
  EXPECT_EQ(events("DecisionChanged").size(), 1u);
  // The snapshot serves the same verdict. Held while read: the gate publishes
  // new snapshots all the time, and an entry lives only as long as one holds it.
  const auto snapshot = gate->snapshot();
  const SloEntry* e = snapshot->find("shop", "checkout");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->verdict->decision, engine::Decision::kRollback);

  // Killed and restarted mid-incident: same decision, no second abort.
  gate.reset();
  api_->clearRequests();
  gate = startGate();
  ASSERT_TRUE(eventually([&] { return gate->ready(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(count("PATCH", kAbortPath), 0u);
  EXPECT_EQ(gate->snapshot()->find("shop", "checkout")->verdict->decision,
            engine::Decision::kRollback);

  // A new revision gets its own abort.
  api_->apply(rollout("rev3"));
  EXPECT_TRUE(eventually([&] { return count("PATCH", kAbortPath) == 1; }));
  const auto s2 = api_->get("slogate.dev/v1alpha1", "ServiceLevelObjective", "shop", "checkout");
  EXPECT_TRUE(eventually([&] {
    auto x = api_->get("slogate.dev/v1alpha1", "ServiceLevelObjective", "shop", "checkout");
    return x && (*x)["status"]["actions"].items().size() == 2;
  }));
}

TEST_F(GateEndToEnd, WarnModeAndNoLeaseNeverAct) {
  api_->apply(rollout("rev2"));
  api_->apply(slo("warn"));
  auto gate = startGate();
  ASSERT_TRUE(eventually([&] { return gate->ready(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(count("PATCH", kAbortPath), 0u);
  gate.reset();

  // Another replica holds the lease: this one evaluates and serves, writes nothing.
  api_->apply(slo("enforce"));
  api_->apply(parseJson(
      R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"slogate","namespace":"default"},
      "spec":{"holderIdentity":"other-replica","leaseDurationSeconds":3600,"renewTime":"2026-12-02T00:00:00.000000Z"}})"));
  kube::LeaderOptions lo;
  lo.identity = "test-replica";
  lo.retryPeriod = std::chrono::milliseconds(100);
  kube::LeaderElector elector(*kube_, lo);
  elector.start();
  api_->clearRequests();
  gate = startGate(&elector);
  ASSERT_TRUE(eventually([&] { return gate->ready(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(elector.isLeader());
  EXPECT_EQ(gate->snapshot()->find("shop", "checkout")->verdict->decision,
            engine::Decision::kRollback);
  EXPECT_EQ(count("PATCH", kAbortPath), 0u);
  EXPECT_EQ(count("PATCH", kSloStatusPath), 0u);
  gate.reset();
  elector.stop();
}

TEST_F(GateEndToEnd, BrokenSpecAndMissingDataAreReportedNotActedOn) {
  api_->apply(rollout("rev2"));
  // No such service in Prometheus: inconclusive (onNoData halt → pause).
  api_->apply(slo("enforce", "no-such-service"));
  auto gate = startGate();
  ASSERT_TRUE(eventually([&] {
    auto s = api_->get("slogate.dev/v1alpha1", "ServiceLevelObjective", "shop", "checkout");
    return s && (*s)["status"]["decision"].text() == "inconclusive";
  }));
  EXPECT_TRUE(eventually([&] {
    auto r = api_->get("argoproj.io/v1alpha1", "Rollout", "shop", "checkout");
    return r && (*r)["spec"]["paused"].isBool();
  })) << "onNoData: halt pauses the in-progress Rollout";
  // A spec the loader rejects: Ready=False with the reason, no crash.
  Json bad = slo("enforce");
  Json spec = bad["spec"];
  Json ind = spec["indicators"];
  Json errors = ind["errors"];
  errors.set("objective", Json::string("100"));
  ind.set("errors", errors);
  spec.set("indicators", ind);
  bad.set("spec", spec);
  api_->apply(bad);
  ASSERT_TRUE(eventually([&] {
    auto s = api_->get("slogate.dev/v1alpha1", "ServiceLevelObjective", "shop", "checkout");
    if (!s) return false;
    for (const Json& c : (*s)["status"]["conditions"].items()) {
      if (c["type"].text() == "Ready" && c["reason"].text() == "InvalidSpec") {
        return c["message"].text().find("objective: \"100\" is not a percentage") !=
               std::string::npos;
      }
    }
    return false;
  }));
  EXPECT_EQ((*api_->get("slogate.dev/v1alpha1", "ServiceLevelObjective", "shop",
                        "checkout"))["status"]["observedGeneration"]
                .text(),
            "2");
  // Deleted: gone from the snapshot.
  api_->remove("slogate.dev/v1alpha1", "ServiceLevelObjective", "shop", "checkout");
  EXPECT_TRUE(eventually([&] { return gate->snapshot()->find("shop", "checkout") == nullptr; }));
}

}  // namespace
}  // namespace slogate::gate
