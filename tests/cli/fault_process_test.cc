// `slogate controller` processes killed at the worst moments, against the fake
// API server (tests/fakes/) and a FaultyPrometheus (tests/gate/) serving a
// live history: 1,000 requests a minute, 20% failing since two hours ago (a
// fast burn: rollback). (a) The only replica is SIGKILLed mid-incident and
// started again: after its backfill it must reach the same decision and must
// not abort the same revision a second time. (b) Two replicas with leader
// election; the leader is SIGKILLed (no lease release): the other must take
// the Lease and act within leaseDuration + retryPeriod (the config takes whole
// seconds: 3 s / 2 s / 1 s, the shortest it allows).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <thread>

#include "fakes/fake_apiserver.h"
#include "gate/faulty_prometheus.h"
#include "net/http_client.h"

namespace slogate::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;

constexpr int kLeaseSeconds = 3;
constexpr int kRenewSeconds = 2;
constexpr int kRetrySeconds = 1;
constexpr int kTickSeconds = 1;

const std::string kAbortPath =
    "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout/status";

Json parse(const std::string& s) {
  auto j = Json::parse(s);
  EXPECT_TRUE(j.ok()) << s;
  return j.ok() ? *j : Json();
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(15000)) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// One `slogate controller` child process; SIGKILLed and reaped by the
// destructor if still running (also when an assertion fails).
class Controller {
 public:
  Controller(const std::string& config, std::string name) : name_(std::move(name)) {
    int errPipe[2];
    if (pipe(errPipe) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(errPipe[1], 2);
      close(errPipe[0]);
      close(errPipe[1]);
      const std::string bin = std::string(SLOGATE_BINARY_DIR) + "/controller/slogate";
      execl(bin.c_str(), bin.c_str(), "controller", "--config", config.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(errPipe[1]);
    fd_ = errPipe[0];
    fcntl(fd_, F_SETFL, O_NONBLOCK);
  }
  ~Controller() {
    if (running()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  bool running() const { return pid_ > 0 && !reaped_; }

  const std::string& log() {
    char buf[4096];
    for (ssize_t n; fd_ >= 0 && (n = read(fd_, buf, sizeof buf)) > 0;)
      log_.append(buf, static_cast<std::size_t>(n));
    return log_;
  }

  // The verdict/health server's URL from the startup line ("" until then).
  std::string url() {
    std::smatch m;
    static const std::regex serving("serving (http://127\\.0\\.0\\.1:[0-9]+)");
    const std::string& l = log();
    return std::regex_search(l, m, serving) ? m[1].str() : "";
  }

  // GET on the controller's server; "" on failure or a non-200.
  std::string get(const std::string& path) {
    if (!http_) {
      const std::string u = url();
      if (u.empty()) return "";
      auto c = net::makeHttpClient(u, {});
      if (!c.ok()) return "";
      http_ = std::move(*c);
    }
    auto r = http_->send({"GET", path, {}, ""});
    return r.ok() && r->status == 200 ? r->body : "";
  }

  // Sends `signal` and waits for the exit; the wait status.
  int stop(int signal) {
    if (!running()) return status_;
    kill(pid_, signal);
    for (int i = 0; i < 300; ++i) {
      if (waitpid(pid_, &status_, WNOHANG) == pid_) {
        reaped_ = true;
        return status_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
    reaped_ = true;
    return status_;
  }

  const std::string& name() const { return name_; }

 private:
  std::string name_;
  pid_t pid_ = -1;
  int fd_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string log_;
  std::unique_ptr<net::HttpClient> http_;
};

class FaultProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    // The incident began two hours ago: the 1h and 5m burn rates are both
    // 200 whatever minute the controller evaluates.
    const std::int64_t nowMinute = std::time(nullptr) / 60;
    const std::int64_t historyStart = nowMinute - 2 * 1440;
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
    api_->apply(parse(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}})"));
    api_->apply(rollout("rev2"));
    api_->apply(parse(
        R"({"apiVersion":"slogate.dev/v1alpha1","kind":"ServiceLevelObjective","metadata":{"name":"checkout","namespace":"shop"},
        "spec":{"window":"1d","target":{"name":"checkout"},
        "indicators":{"errors":{"objective":"99.9","total":"http_requests_total{service=\"checkout\"}","bad":"http_requests_total{service=\"checkout\",code=~\"5..\"}"}},
        "policy":{"freezeBelow":"-1000","burnRateRules":[{"long":"1h","short":"5m","factor":"14.4","action":"rollback"}]}}})"));
    dir_ = ::testing::TempDir() + "/fault-process-" + std::to_string(getpid());
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ + "/kubeconfig")
        << "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
        << "contexts: [{name: test, context: {cluster: fake, user: u}}]\n"
        << "clusters: [{name: fake, cluster: {server: \"" << api_->url()
        << "\", certificate-authority: \"" << api_->caFile() << "\"}}]\n"
        << "users: [{name: u, user: {token: " << api_->token() << "}}]\n";
  }

  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  static Json rollout(const std::string& podHash) {
    return parse(
        R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"checkout","namespace":"shop"},
        "spec":{"replicas":2,"template":{"spec":{"containers":[{"name":"app","image":"app:)" +
        podHash + R"("}]}}},"status":{"currentPodHash":")" + podHash + R"(","stableRS":"rev1"}})");
  }

  std::string config(const std::string& identity) const {
    const std::string path = dir_ + "/" + identity + ".yaml";
    std::ofstream(path) << "kubernetes: {kubeconfig: " << dir_ << "/kubeconfig}\n"
                        << "prometheus: {url: \"" << prom_->url() << "\", timeout: 5s}\n"
                        << "tick: " << kTickSeconds << "s\nevaluationDelay: 1s\n"
                        << "leaderElection: {namespace: default, identity: " << identity
                        << ", leaseDuration: " << kLeaseSeconds
                        << "s, renewDeadline: " << kRenewSeconds
                        << "s, retryPeriod: " << kRetrySeconds << "s}\n"
                        << "server: {listen: \"127.0.0.1:0\", metricsListen: \"127.0.0.1:0\"}\n";
    return path;
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

  std::vector<Json> events(const std::string& reason) const {
    std::vector<Json> out;
    for (const Json& e : api_->list("v1", "Event")) {
      if (e["reason"].text() == reason) out.push_back(e);
    }
    return out;
  }

  // The controller's verdict for shop/checkout once it is ready.
  static Json readyVerdict(Controller& c) {
    if (!eventually([&] { return !c.get("/readyz").empty(); })) {
      ADD_FAILURE() << c.name() << " never ready:\n" << c.log();
      return Json();
    }
    return parse(c.get("/v1/namespaces/shop/slos/checkout/verdict"));
  }

  std::unique_ptr<fakes::FaultyPrometheus> prom_;
  std::unique_ptr<fakes::FakeApiServer> api_;
  std::string dir_;
};

TEST_F(FaultProcess, KilledMidIncidentRestartsToTheSameDecisionWithoutASecondAbort) {
  const std::string cfg = config("slogate-0");
  Json before;
  {
    Controller first(cfg, "first");
    before = readyVerdict(first);
    ASSERT_EQ(before["decision"].text(), "rollback") << before.dump() << first.log();
    ASSERT_TRUE(eventually([&] { return aborted("rev2"); })) << first.log();
    ASSERT_TRUE(eventually([&] {
      auto s = api_->get("slogate.dev/v1alpha1", "ServiceLevelObjective", "shop", "checkout");
      return s && (*s)["status"]["actions"].items().size() == 1;
    }));
    // SIGKILL mid-incident: no cleanup, no lease release.
    const int status = first.stop(SIGKILL);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  }
  ASSERT_EQ(abortPatches(), 1u);

  Controller second(cfg, "second");
  const Json after = readyVerdict(second);
  // The same decision for the same reasons after the backfill.
  EXPECT_EQ(after["decision"].text(), "rollback") << after.dump();
  EXPECT_EQ(after["reasons"].dump(), before["reasons"].dump());
  EXPECT_THAT(after["reasons"][0].text(), HasSubstr("1h burn 200 and 5m burn 200 above 14.4"));
  EXPECT_EQ(after["indicators"]["errors"]["burnRates"]["5m"].text(), "200");
  // It leads (same identity: the Lease is still its own) and so could act...
  ASSERT_TRUE(eventually([&] {
    return second.log().find("became the leader") != std::string::npos;
  })) << second.log();
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
  EXPECT_TRUE(eventually([&] { return aborted("rev3"); })) << second.log();
  std::this_thread::sleep_for(std::chrono::seconds(2 * kTickSeconds));
  EXPECT_EQ(abortPatches(), 2u);
  const int status = second.stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << second.log();
}

TEST_F(FaultProcess, LeaderKilledTheOtherReplicaTakesOverWithinTheLease) {
  Controller a(config("replica-a"), "replica-a");
  EXPECT_EQ(readyVerdict(a)["decision"].text(), "rollback") << a.log();
  ASSERT_TRUE(eventually([&] { return leaseHolder() == "replica-a"; })) << a.log();
  ASSERT_TRUE(eventually([&] { return aborted("rev2"); })) << a.log();
  Controller b(config("replica-b"), "replica-b");
  EXPECT_EQ(readyVerdict(b)["decision"].text(), "rollback") << b.log();
  std::this_thread::sleep_for(std::chrono::seconds(kRetrySeconds + 1));
  EXPECT_THAT(b.log(), Not(HasSubstr("became the leader")));
  EXPECT_EQ(leaseHolder(), "replica-a");

  // SIGKILL the leader, and roll out a new revision right away: only the
  // other replica can abort it, once the Lease has expired on its clock.
  const auto killed = Clock::now();
  const int status = a.stop(SIGKILL);
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
      << b.log();
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
  EXPECT_THAT(b.log(), HasSubstr("became the leader"));

  std::this_thread::sleep_for(std::chrono::seconds(2 * kTickSeconds));
  EXPECT_EQ(abortPatches(), 2u);  // rev2 by a, rev3 by b: each once
  const auto aborts = events("SLOGateAbort");
  ASSERT_EQ(aborts.size(), 2u);
  for (const Json& e : aborts) {
    const bool rev2 = e["message"].text().find("revision rev2") != std::string::npos;
    EXPECT_EQ(e["reportingInstance"].text(), rev2 ? "replica-a" : "replica-b");
  }
  const int stopped = b.stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(stopped) && WEXITSTATUS(stopped) == 0) << b.log();
}

}  // namespace
}  // namespace slogate::cli
