// `slogate controller` as a process, as a user runs it: a config file and a
// kubeconfig pointing at the fake API server (tests/fakes/), a real
// Prometheus (tests/harness/) with a fast burn; the verdict endpoint must
// serve the rollback, /readyz turn ready, the Rollout be aborted, and SIGTERM
// end it cleanly with exit code 0.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <thread>

#include "fakes/fake_apiserver.h"
#include "harness/history.h"
#include "harness/prometheus_server.h"
#include "net/http_client.h"

namespace slogate::cli {
namespace {

using ::testing::HasSubstr;

constexpr std::int64_t kEnd = 1'793'491'200;

Json parse(const std::string& s) {
  auto j = Json::parse(s);
  EXPECT_TRUE(j.ok()) << s;
  return *j;
}

TEST(ControllerProcess, ServesVerdictsActsAndStopsOnSigterm) {
  if (!harness::prometheusAvailable()) GTEST_SKIP() << "prometheus not installed";
  // Prometheus history ending now, so the controller's clock agrees with it.
  const std::int64_t now = std::time(nullptr) / 60 * 60;
  harness::OpenMetricsWriter om;
  harness::ServiceHistory h("checkout", now - 86'400, now);
  h.setRate(now - 86'400, now - 1200, 1'000, 0);
  h.setRate(now - 1200, now, 1'000, 200);
  h.write(om);
  std::string error;
  auto prom = harness::PrometheusServer::start(om.text(), &error);
  ASSERT_NE(prom, nullptr) << error;
  auto api = fakes::FakeApiServer::start({}, &error);
  ASSERT_NE(api, nullptr) << error;
  api->apply(parse(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}})"));
  api->apply(parse(
      R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"checkout","namespace":"shop"},
      "spec":{"replicas":2},"status":{"currentPodHash":"rev2","stableRS":"rev1"}})"));
  api->apply(parse(
      R"({"apiVersion":"slogate.dev/v1alpha1","kind":"ServiceLevelObjective","metadata":{"name":"checkout","namespace":"shop"},
      "spec":{"window":"1d","target":{"name":"checkout"},
      "indicators":{"errors":{"objective":"99.9","total":"http_requests_total{service=\"checkout\"}","bad":"http_requests_total{service=\"checkout\",code=~\"5..\"}"}},
      "policy":{"freezeBelow":"-1000","burnRateRules":[{"long":"1h","short":"5m","factor":"14.4","action":"rollback"}]}}})"));

  const std::string dir = ::testing::TempDir() + "/controller-" + std::to_string(getpid());
  mkdir(dir.c_str(), 0700);
  std::ofstream(dir + "/kubeconfig")
      << "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
      << "contexts: [{name: test, context: {cluster: fake, user: u}}]\n"
      << "clusters: [{name: fake, cluster: {server: \"" << api->url()
      << "\", certificate-authority: \"" << api->caFile() << "\"}}]\n"
      << "users: [{name: u, user: {token: " << api->token() << "}}]\n";
  std::ofstream(dir + "/config.yaml")
      << "kubernetes: {kubeconfig: " << dir << "/kubeconfig}\n"
      << "prometheus: {url: \"" << prom->url() << "\"}\n"
      << "tick: 1s\nevaluationDelay: 1s\n"
      << "leaderElection: {namespace: default, identity: test, "
         "leaseDuration: 15s, renewDeadline: 10s, retryPeriod: 1s}\n"
      << "server: {listen: \"127.0.0.1:0\", metricsListen: \"127.0.0.1:0\"}\n";
  int errPipe[2];
  ASSERT_EQ(pipe(errPipe), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(errPipe[1], 2);
    close(errPipe[0]);
    const std::string bin = std::string(SLOGATE_BINARY_DIR) + "/controller/slogate";
    const std::string cfg = dir + "/config.yaml";
    execl(bin.c_str(), bin.c_str(), "controller", "--config", cfg.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(errPipe[1]);
  fcntl(errPipe[0], F_SETFL, O_NONBLOCK);
  std::string log;
  const auto readLog = [&] {
    char buf[4096];
    for (ssize_t n; (n = read(errPipe[0], buf, sizeof buf)) > 0;)
      log.append(buf, static_cast<std::size_t>(n));
  };
  // The serving URL is in the startup line.
  std::smatch m;
  const std::regex serving("serving (http://127\\.0\\.0\\.1:[0-9]+)");
  for (int i = 0; i < 200 && !std::regex_search(log, m, serving); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    readLog();
  }
  ASSERT_TRUE(std::regex_search(log, m, serving)) << log;
  auto http = net::makeHttpClient(m[1].str(), {});
  ASSERT_TRUE(http.ok());
  bool ready = false;
  for (int i = 0; i < 300 && !ready; ++i) {
    auto r = (*http)->send({"GET", "/readyz", {}, ""});
    ready = r.ok() && r->status == 200;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  readLog();
  EXPECT_TRUE(ready) << log;
  auto verdict = (*http)->send({"GET", "/v1/namespaces/shop/slos/checkout/verdict", {}, ""});
  ASSERT_TRUE(verdict.ok());
  EXPECT_EQ(verdict->status, 200);
  EXPECT_THAT(verdict->body, HasSubstr("\"decision\":\"rollback\""));
  bool aborted = false;
  for (int i = 0; i < 200 && !aborted; ++i) {
    auto ro = api->get("argoproj.io/v1alpha1", "Rollout", "shop", "checkout");
    aborted = ro && (*ro)["status"]["abort"].isBool();
    if (!aborted) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(aborted);
  auto metrics = (*http)->send({"GET", "/metrics", {}, ""});
  ASSERT_TRUE(metrics.ok());
  EXPECT_THAT(metrics->body, HasSubstr("slogate_actions_total{action=\"abort\"} 1"));
  EXPECT_THAT(
      metrics->body,
      HasSubstr("slogate_decision{decision=\"rollback\",namespace=\"shop\",slo=\"checkout\"} 1"));

  kill(pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (i == 199) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
  }
  readLog();
  close(errPipe[0]);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
  EXPECT_THAT(log, HasSubstr("became the leader"));
  EXPECT_THAT(log, HasSubstr("stopping"));
}

TEST(ControllerProcess, BadConfigIsOneLineAndExitTwo) {
  const std::string path = ::testing::TempDir() + "/bad-controller.yaml";
  std::ofstream(path) << "prometheus: {url: http://p}\ntick: soon\n";
  const std::string cmd =
      std::string(SLOGATE_BINARY_DIR) + "/controller/slogate controller --config " + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[512] = {};
  std::string out;
  while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int status = pclose(p);
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_EQ(out, "slogate controller: " + path +
                     ":2: tick: \"soon\": expected a number and a unit (s, m, h)\n");
}

}  // namespace
}  // namespace slogate::cli
