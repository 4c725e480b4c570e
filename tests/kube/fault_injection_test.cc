// API server faults during a gate's life: the Gate (controller/gate) against
// the fake API server (tests/fakes/) while it restarts (connections and watch
// streams cut mid-stream, the watch cache compacted: 410 on re-watch), answers
// 500 to the Rollout abort, and 429 with Retry-After to re-watches; and a
// leader handing over to another replica. Prometheus is a FaultyPrometheus
// (tests/gate/) left healthy, over a fast burn: every in-progress revision
// must be aborted exactly once, and nothing changed during an outage may be
// lost.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "fakes/fake_apiserver.h"
#include "gate/faulty_prometheus.h"
#include "gate/gate.h"
#include "harness/test_helpers.h"
#include "kube/leader.h"

namespace slogate::gate {
namespace {

using ::testing::ElementsAre;

constexpr std::int64_t kT0 = 1'793'491'200;        // 2026-11-01T00:00:00Z
constexpr std::int64_t kIncident = kT0 / 60 - 90;  // errors from 90 minutes ago
constexpr std::int64_t kHistoryStart = kT0 / 60 - 2880;

const std::string kRolloutPath = "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout";
const std::string kAbortPath = kRolloutPath + "/status";

using harness::eventually;
using harness::parseJson;

Json rollout(const std::string& podHash) {
  return harness::checkoutRollout(podHash);
}

Json slo(bool withLatency) {
  const std::string latency =
      withLatency
          ? R"(,"latency":{"objective":"99","total":"http_request_duration_seconds_count{service=\"checkout\"}",
               "good":"http_request_duration_seconds_bucket{service=\"checkout\",le=\"0.3\"}"})"
          : "";
  return parseJson(
      R"({"apiVersion":"slogate.dev/v1alpha1","kind":"ServiceLevelObjective","metadata":{"name":"checkout","namespace":"shop"},
      "spec":{"window":"1d","target":{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","name":"checkout"},
      "indicators":{"errors":{"objective":"99.9","total":"http_requests_total{service=\"checkout\"}",
        "bad":"http_requests_total{service=\"checkout\",code=~\"5..\"}"})" +
      latency + R"(},
      "policy":{"freezeBelow":"-1000",
        "burnRateRules":[{"long":"1h","short":"5m","factor":"14.4","action":"rollback"}]}}})");
}

class ApiServerFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    prom_ =
        fakes::FaultyPrometheus::start(fakes::checkoutHistory(kHistoryStart, kIncident), &error);
    ASSERT_NE(prom_, nullptr) << error;
    api_ = fakes::FakeApiServer::start({}, &error);
    ASSERT_NE(api_, nullptr) << error;
    api_->setBookmarkInterval(std::chrono::milliseconds(200));
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
    po.timeout = std::chrono::milliseconds(2000);
    auto p = prometheus::makeClient(po);
    ASSERT_TRUE(p.ok()) << p.status().message();
    promClient_ = std::move(*p);
  }

  std::unique_ptr<Gate> startGate(const std::string& identity,
                                  kube::LeaderElector* elector = nullptr) {
    GateOptions o;
    o.tick = std::chrono::milliseconds(100);
    o.workers = 2;
    o.identity = identity;
    auto g = std::make_unique<Gate>(*kube_, *promClient_, elector, o,
                                    [] { return kT0; });  // evaluates at kT0 − 1 min
    g->start();
    return g;
  }

  Json sloNow() const {
    auto s = api_->get("slogate.dev/v1alpha1", "ServiceLevelObjective", "shop", "checkout");
    return s ? *s : Json();
  }

  bool aborted(const std::string& revision) const {
    auto r = api_->get("argoproj.io/v1alpha1", "Rollout", "shop", "checkout");
    return r && (*r)["status"]["currentPodHash"].text() == revision &&
           (*r)["status"]["abort"].isBool() && (*r)["status"]["abort"].boolValue();
  }

  // PATCHes of `path` answered with `status` (0: any).
  std::size_t patches(const std::string& path, int status) const {
    std::size_t n = 0;
    for (const auto& r : api_->requests()) {
      n += r.method == "PATCH" && r.path == path && (status == 0 || r.status == status) ? 1 : 0;
    }
    return n;
  }

  // The revisions in status.actions, in order, as "revision:action".
  std::vector<std::string> actions() const {
    std::vector<std::string> out;
    const Json slo = sloNow();  // outlives the loop (a temporary would not)
    for (const Json& a : slo["status"]["actions"].items())
      out.push_back(a["revision"].text() + ":" + a["action"].text());
    return out;
  }

  std::vector<Json> events(const std::string& reason) const {
    std::vector<Json> out;
    for (const Json& e : api_->list("v1", "Event")) {
      if (e["reason"].text() == reason) out.push_back(e);
    }
    return out;
  }

  std::unique_ptr<fakes::FaultyPrometheus> prom_;
  std::unique_ptr<fakes::FakeApiServer> api_;
  std::unique_ptr<kube::KubeClient> kube_;
  std::unique_ptr<prometheus::QueryClient> promClient_;
};

TEST_F(ApiServerFaults, RestartsErrorsAndThrottlingLoseNoUpdateAndAbortOncePerRevision) {
  api_->apply(rollout("rev2"));
  api_->apply(slo(false));
  auto gate = startGate("replica-a");
  ASSERT_TRUE(eventually([&] { return aborted("rev2") && actions().size() == 1; }));
  ASSERT_TRUE(eventually([&] { return gate->ready(); }));
  const std::uint64_t listsBefore = gate->rollouts()->lists();

  // 1. The API server restarts: connections and watch streams are cut
  //    mid-stream, it stays away ~1 s and comes back without its watch cache.
  //    Meanwhile a new revision rolls out and the SLO gains an indicator.
  api_->stopServing();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  api_->apply(rollout("rev3"));
  api_->apply(slo(true));
  api_->compact();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  std::string error;
  ASSERT_TRUE(api_->resumeServing(&error)) << error;
  // No lost update: the new spec (generation 2) is evaluated, rev3 aborted once.
  EXPECT_TRUE(eventually([&] {
    const Json s = sloNow()["status"];
    return s["observedGeneration"].text() == "2" && s["indicators"].has("latency") &&
           s["decision"].text() == "rollback";
  })) << sloNow().dump();
  EXPECT_TRUE(eventually([&] { return aborted("rev3"); }));
  EXPECT_GT(gate->rollouts()->lists(), listsBefore) << "relisted after the restart";
  ASSERT_TRUE(eventually([&] { return actions().size() == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // both informers watch again

  // 2. The abort itself fails (500): retried on the next tick, sent once.
  api_->clearRequests();
  api_->failNext(500, 2);
  api_->apply(rollout("rev4"));
  EXPECT_TRUE(eventually([&] { return aborted("rev4"); }));
  ASSERT_TRUE(eventually([&] { return actions().size() == 3; }));
  EXPECT_GE(patches(kAbortPath, 500), 1u) << "the injected 500 must have hit the abort";
  EXPECT_EQ(patches(kAbortPath, 200), 1u);

  // 3. Throttled re-watches (429, Retry-After: 1) after the watches end, and
  //    a compaction meanwhile: the informers wait the second, get 410,
  //    relist, and see the revision that arrived while they waited.
  api_->clearRequests();
  api_->failNext(429, 2, "1");
  const auto cut = std::chrono::steady_clock::now();
  api_->closeWatches();
  ASSERT_TRUE(eventually([&] {
    std::size_t throttled = 0;
    for (const auto& r : api_->requests()) {
      throttled += r.status == 429 && r.query.find("watch=1") != std::string::npos ? 1 : 0;
    }
    return throttled == 2;
  })) << "both re-watches must have been throttled";
  api_->apply(rollout("rev5"));
  api_->compact();
  ASSERT_TRUE(eventually([&] { return aborted("rev5"); }));
  EXPECT_GE(std::chrono::steady_clock::now() - cut, std::chrono::milliseconds(950))
      << "Retry-After: 1 must be honoured";
  ASSERT_TRUE(eventually([&] { return actions().size() == 4; }));

  // Many ticks and relists later: every revision aborted exactly once.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(patches(kAbortPath, 200), 1u);  // rev5's, since the last clearRequests()
  EXPECT_THAT(actions(), ElementsAre("rev2:abort", "rev3:abort", "rev4:abort", "rev5:abort"));
  EXPECT_EQ(events("SLOGateAbort").size(), 4u);
  EXPECT_EQ(gate->counters().aborts.load(), 4u);
  gate->stop();
}

// The watch lags (the informers keep showing rev2 running and no action
// recorded) while the leader's lease flickers (renewals fail past
// renewDeadline, then succeed): re-reading status.actions from the stale
// cache while not leading must not forget the abort the gate just made, or
// it aborts rev2 again once it leads again and drops the record from status.
TEST_F(ApiServerFaults, ALeaseThatFlickersWhileTheWatchLagsDoesNotActTwice) {
  api_->apply(rollout("rev2"));
  api_->apply(slo(false));
  kube::LeaderOptions lo;
  lo.identity = "replica-a";
  lo.leaseDuration = std::chrono::milliseconds(1500);
  lo.renewDeadline = std::chrono::milliseconds(1000);
  lo.retryPeriod = std::chrono::milliseconds(100);
  kube::LeaderElector elector(*kube_, lo);
  auto gate = startGate("replica-a", &elector);  // follows until the elector starts
  ASSERT_TRUE(eventually([&] { return gate->ready(); }));
  api_->holdWatchEvents();
  elector.start();
  ASSERT_TRUE(eventually([&] { return aborted("rev2") && actions().size() == 1; }));
  api_->failNext(500, 20);
  ASSERT_TRUE(eventually([&] { return !elector.isLeader(); })) << "the lease must flicker";
  ASSERT_TRUE(eventually([&] { return elector.isLeader(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // ticks on the stale cache
  api_->releaseWatchEvents();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(patches(kAbortPath, 200), 1u);
  EXPECT_THAT(actions(), ElementsAre("rev2:abort"));
  EXPECT_EQ(events("SLOGateAbort").size(), 1u);
  gate->stop();
  elector.stop();
}

// A follower that started before the leader wrote anything takes over: it
// must carry on the leader's record (status.actions, the decision it
// announced) — not drop the history or announce the decision again.
TEST_F(ApiServerFaults, LeaderHandoverKeepsTheActionHistoryAndAnnouncesNothingTwice) {
  api_->apply(rollout("rev2"));
  api_->apply(slo(false));
  kube::LeaderOptions lo;
  // a releases its lease when it steps down, so b takes over within a retry
  // period whatever these are; they are long so that a slow machine (TSan)
  // cannot make a miss renewals and hand over early.
  lo.leaseDuration = std::chrono::milliseconds(6000);
  lo.renewDeadline = std::chrono::milliseconds(4000);
  lo.retryPeriod = std::chrono::milliseconds(100);
  kube::LeaderOptions la = lo, lb = lo;
  la.identity = "replica-a";
  lb.identity = "replica-b";
  auto electorA = std::make_unique<kube::LeaderElector>(*kube_, la);
  electorA->start();
  ASSERT_TRUE(eventually([&] { return electorA->isLeader(); }));
  // b follows: evaluates and serves, writes nothing.
  kube::LeaderElector electorB(*kube_, lb);
  electorB.start();
  auto gateB = startGate("replica-b", &electorB);
  ASSERT_TRUE(eventually([&] { return gateB->ready(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(sloNow()["status"].has("decision"));
  // a acts.
  auto gateA = startGate("replica-a", electorA.get());
  ASSERT_TRUE(eventually([&] { return aborted("rev2") && actions().size() == 1; }));
  ASSERT_TRUE(eventually([&] { return events("DecisionChanged").size() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // b sees a's status
  // a steps down (its lease is released); b takes over.
  gateA->stop();
  electorA->stop();
  ASSERT_TRUE(eventually([&] { return electorB.isLeader(); }));
  api_->apply(rollout("rev3"));
  ASSERT_TRUE(eventually([&] { return aborted("rev3"); }));
  ASSERT_TRUE(eventually([&] { return actions().size() >= 2; })) << sloNow().dump();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_THAT(actions(), ElementsAre("rev2:abort", "rev3:abort"));
  EXPECT_EQ(events("DecisionChanged").size(), 1u) << "b announced a's decision again";
  EXPECT_EQ(patches(kAbortPath, 200), 2u);
  const auto aborts = events("SLOGateAbort");
  ASSERT_EQ(aborts.size(), 2u);
  for (const Json& e : aborts) {
    const bool rev2 = e["message"].text().find("revision rev2") != std::string::npos;
    EXPECT_EQ(e["reportingInstance"].text(), rev2 ? "replica-a" : "replica-b");
  }
  gateB->stop();
  electorB.stop();
}

}  // namespace
}  // namespace slogate::gate
