// `slogate controller` processes killed at the worst moments, against the fake
// API server (tests/fakes/) and a FaultyPrometheus (tests/gate/) serving a
// live history: 1,000 requests a minute, 20% failing since two hours ago (a
// fast burn: rollback). (a) The only replica is SIGKILLed mid-incident and
// started again: after its backfill it must reach the same decision and must
// not abort the same revision a second time. (b) Two replicas with leader
// election; the leader is SIGKILLed (no lease release): the other must take
// the Lease and act within leaseDuration + retryPeriod (the config takes whole
// seconds: 3 s / 2 s / 1 s, the shortest it allows).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <thread>

#include "fakes/fake_apiserver.h"
#include "gate/faulty_prometheus.h"
#include "harness/slogate_process.h"
#include "harness/test_helpers.h"

namespace slogate::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;
using harness::eventually;
using harness::parseJson;
using harness::SlogateProcess;

constexpr int kLeaseSeconds = 3;
constexpr int kRenewSeconds = 2;
constexpr int kRetrySeconds = 1;
constexpr int kTickSeconds = 1;

const std::string kAbortPath =
    "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout/status";

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

class FaultProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    // The incident began two hours ago: the 1h and 5m burn rates are both
    // 200 whatever minute the controller evaluates.
    const std::int64_t nowMinute = std::time(nullptr) / 60;
    const std::int64_t historyStart = nowMinute - std::int64_t{2} * 1440;
    const std::int64_t incident = nowMinute - 120;
    std::string error;
    prom_ = fakes::FaultyPrometheus::start(
        [=](const std::string& selector, std::int64_t minute) -> std::optional<std::uint64_t> {
          if (selector.find("service=\"checkout\"") == std::string::npos || minute < historyStart) {
            return std::nullopt;
          }
          if (selector.find("5..") != std::string::npos) return minute >= incident ? 200 : 0;
          return 1000;
        },
        &error);
    ASSERT_NE(prom_, nullptr) << error;
    api_ = fakes::FakeApiServer::start({}, &error);
    ASSERT_NE(api_, nullptr) << error;
    api_->apply(parseJson(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}})"));
    api_->apply(rollout("rev2"));
    api_->apply(parseJson(
        R"({"apiVersion":"slogate.dev/v1alpha1","kind":"ServiceLevelObjective","metadata":{"name":"checkout","namespace":"shop"},
        "spec":{"window":"1d","target":{"name":"checkout"},
        "indicators":{"errors":{"objective":"99.9","total":"http_requests_total{service=\"checkout\"}","bad":"http_requests_total{service=\"checkout\",code=~\"5..\"}"}},
        "policy":{"freezeBelow":"-1000","burnRateRules":[{"long":"1h","short":"5m","factor":"14.4","action":"rollback"}]}}})"));
  }

  static Json rollout(const std::string& podHash) {
    return parseJson(
        R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"checkout","namespace":"shop"},
        "spec":{"replicas":2,"template":{"spec":{"containers":[{"name":"app","image":"app:)" +
        podHash + R"("}]}}},"status":{"currentPodHash":")" + podHash + R"(","stableRS":"rev1"}})");
  }

  // A controller with its own Lease identity (whole seconds: 3 s / 2 s / 1 s).
  harness::SlogateOptions options(const std::string& identity) const {
    harness::SlogateOptions o = harness::slogateOptions(*api_, prom_->url());
    o.prometheusTimeout = std::chrono::seconds(5);
    o.tick = std::chrono::seconds(kTickSeconds);
    o.identity = identity;
    o.leaseDuration = std::chrono::seconds(kLeaseSeconds);
    o.renewDeadline = std::chrono::seconds(kRenewSeconds);
    o.retryPeriod = std::chrono::seconds(kRetrySeconds);
    return o;
  }

  bool aborted(const std::string& revision) const {
    auto r = api_->get("argoproj.io/v1alpha1", "Rollout", "shop", "checkout");
    return r && (*r)["status"]["currentPodHash"].text() == revision &&
           (*r)["status"]["abort"].isBool() && (*r)["status"]["abort"].boolValue();
  }

  std::size_t abortPatches() const {
    std::size_t n = 0;
    for (const auto& r : api_->requests())
      n += r.method == "PATCH" && r.path == kAbortPath && r.status == 200 ? 1 : 0;
    return n;
  }

  std::string leaseHolder() const {
    auto l = api_->get("coordination.k8s.io/v1", "Lease", "default", "slogate");
    return l ? (*l)["spec"]["holderIdentity"].text() : "";
  }

  // Each event's instance, time and message, one a line (for failure output).
  static std::string describe(const std::vector<Json>& events) {
    std::string out;
    for (const Json& e : events) {
      out += e["reportingInstance"].text() + " " + e["firstTimestamp"].text() + " " +
             e["message"].text() + "\n";
    }
    return out;
  }

  std::vector<Json> events(const std::string& reason) const {
    std::vector<Json> out;
    for (const Json& e : api_->list("v1", "Event")) {
      if (e["reason"].text() == reason) out.push_back(e);
    }
    return out;
  }

  // The controller's verdict for shop/checkout once it is ready.
  static Json readyVerdict(SlogateProcess& c, const std::string& name) {
    if (!c.waitReady(Clock::now() + std::chrono::seconds(15))) {
      ADD_FAILURE() << name << " never ready:\n" << c.stderrText();
      return Json();
    }
    std::string body;
    if (c.get("/v1/namespaces/shop/slos/checkout/verdict", &body) != 200) body.clear();
    return parseJson(body);
  }

  std::unique_ptr<fakes::FaultyPrometheus> prom_;
  std::unique_ptr<fakes::FakeApiServer> api_;
};

TEST_F(FaultProcess, KilledMidIncidentRestartsToTheSameDecisionWithoutASecondAbort) {
  const harness::SlogateOptions sameIdentity = options("slogate-0");
  Json before;
  {
    SlogateProcess first(sameIdentity);
    ASSERT_EQ(first.start(), "");
    before = readyVerdict(first, "first");
    ASSERT_EQ(before["decision"].text(), "rollback") << before.dump() << first.stderrText();
    ASSERT_TRUE(eventually([&] { return aborted("rev2"); })) << first.stderrText();
    ASSERT_TRUE(eventually([&] {
      auto s = api_->get("slogate.dev/v1alpha1", "ServiceLevelObjective", "shop", "checkout");
      return s && (*s)["status"]["actions"].items().size() == 1;
    }));
    // SIGKILL mid-incident: no cleanup, no lease release.
    const int status = first.kill();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  }
  ASSERT_EQ(abortPatches(), 1u);

  SlogateProcess second(sameIdentity);
  ASSERT_EQ(second.start(), "");
  const Json after = readyVerdict(second, "second");
  // The same decision for the same reasons after the backfill.
  EXPECT_EQ(after["decision"].text(), "rollback") << after.dump();
  EXPECT_EQ(after["reasons"].dump(), before["reasons"].dump());
  EXPECT_THAT(after["reasons"][0].text(), HasSubstr("1h burn 200 and 5m burn 200 above 14.4"));
  EXPECT_EQ(after["indicators"]["errors"]["burnRates"]["5m"].text(), "200");
  // It leads (same identity: the Lease is still its own) and so could act...
  ASSERT_TRUE(eventually([&] {
    return second.stderrText().find("became the leader") != std::string::npos;
  })) << second.stderrText();
  // ...yet over several ticks it never aborts rev2 again.
  std::this_thread::sleep_for(std::chrono::seconds(3 * kTickSeconds));
  EXPECT_EQ(abortPatches(), 1u);
  EXPECT_EQ(events("SLOGateAbort").size(), 1u);
  auto s = api_->get("slogate.dev/v1alpha1", "ServiceLevelObjective", "shop", "checkout");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ((*s)["status"]["actions"].items().size(), 1u);
  EXPECT_EQ((*s)["status"]["decision"].text(), "rollback");
  // It still acts: a new revision is aborted, once.
  api_->apply(rollout("rev3"));
  EXPECT_TRUE(eventually([&] { return aborted("rev3"); })) << second.stderrText();
  std::this_thread::sleep_for(std::chrono::seconds(2 * kTickSeconds));
  EXPECT_EQ(abortPatches(), 2u);
  const int status = second.terminate();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << second.stderrText();
}

TEST_F(FaultProcess, LeaderKilledTheOtherReplicaTakesOverWithinTheLease) {
  SlogateProcess a(options("replica-a"));
  ASSERT_EQ(a.start(), "");
  EXPECT_EQ(readyVerdict(a, "replica-a")["decision"].text(), "rollback") << a.stderrText();
  ASSERT_TRUE(eventually([&] { return leaseHolder() == "replica-a"; })) << a.stderrText();
  ASSERT_TRUE(eventually([&] { return aborted("rev2"); })) << a.stderrText();
  SlogateProcess b(options("replica-b"));
  ASSERT_EQ(b.start(), "");
  EXPECT_EQ(readyVerdict(b, "replica-b")["decision"].text(), "rollback") << b.stderrText();
  std::this_thread::sleep_for(std::chrono::seconds(kRetrySeconds + 1));
  EXPECT_THAT(b.stderrText(), Not(HasSubstr("became the leader")));
  EXPECT_EQ(leaseHolder(), "replica-a");

  // SIGKILL the leader, and roll out a new revision right away: only the
  // other replica can abort it, once the Lease has expired on its clock.
  const auto killed = Clock::now();
  const int status = a.kill();
  EXPECT_TRUE(WIFSIGNALED(status));
  api_->apply(rollout("rev3"));
  Clock::time_point tookOver{};
  Clock::time_point acted{};
  ASSERT_TRUE(eventually(
      [&] {
        const auto now = Clock::now();
        if (tookOver == Clock::time_point{} && leaseHolder() == "replica-b") tookOver = now;
        if (acted == Clock::time_point{} && aborted("rev3")) acted = now;
        return tookOver != Clock::time_point{} && acted != Clock::time_point{};
      },
      std::chrono::seconds(20)))
      << b.stderrText();
  const double takeover = seconds(tookOver - killed);
  const double action = seconds(acted - killed);
  std::cout << "leader killed → lease taken after " << takeover << " s, rev3 aborted after "
            << action << " s (leaseDuration " << kLeaseSeconds << " s, retryPeriod "
            << kRetrySeconds << " s, tick " << kTickSeconds << " s)\n";
  RecordProperty("takeover_seconds", std::to_string(takeover));
  RecordProperty("action_seconds", std::to_string(action));
  // Not before the lease could have expired (the last renewal was at most one
  // retryPeriod before the kill)...
  EXPECT_GE(takeover, kLeaseSeconds - kRetrySeconds - 0.2);
  // ...and within leaseDuration + retryPeriod (+0.5 s for two processes on a
  // shared machine).
  EXPECT_LE(takeover, kLeaseSeconds + kRetrySeconds + 0.5);
  // Acting takes at most one more tick.
  EXPECT_LE(action, kLeaseSeconds + kRetrySeconds + kTickSeconds + 0.5);
  EXPECT_THAT(b.stderrText(), HasSubstr("became the leader"));

  std::this_thread::sleep_for(std::chrono::seconds(2 * kTickSeconds));
  const auto aborts = events("SLOGateAbort");
  EXPECT_EQ(abortPatches(), 2u) << describe(aborts);  // rev2 by a, rev3 by b: each once
  ASSERT_EQ(aborts.size(), 2u) << describe(aborts) << "replica-a:\n"
                               << a.stderrText() << "replica-b:\n"
                               << b.stderrText();
  for (const Json& e : aborts) {
    const bool rev2 = e["message"].text().find("revision rev2") != std::string::npos;
    EXPECT_EQ(e["reportingInstance"].text(), rev2 ? "replica-a" : "replica-b");
  }
  const int stopped = b.terminate();
  EXPECT_TRUE(WIFEXITED(stopped) && WEXITSTATUS(stopped) == 0) << b.stderrText();
}

}  // namespace
}  // namespace slogate::cli
