// `slogate controller` as a process, as a user runs it: a config file and a
// kubeconfig pointing at the fake API server (tests/fakes/), a real
// Prometheus (tests/harness/) with a fast burn; the verdict endpoint must
// serve the rollback, /readyz turn ready, the Rollout be aborted, and SIGTERM
// end it cleanly with exit code 0.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>

#include "fakes/fake_apiserver.h"
#include "harness/history.h"
#include "harness/prometheus_server.h"
#include "harness/slogate_process.h"
#include "harness/test_helpers.h"
#include "net/http_client.h"

namespace slogate::cli {
namespace {

using harness::parseJson;
using ::testing::HasSubstr;
using ::testing::StartsWith;

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
  api->apply(parseJson(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}})"));
  api->apply(parseJson(
      R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"checkout","namespace":"shop"},
      "spec":{"replicas":2},"status":{"currentPodHash":"rev2","stableRS":"rev1"}})"));
  api->apply(parseJson(
      R"({"apiVersion":"slogate.dev/v1alpha1","kind":"ServiceLevelObjective","metadata":{"name":"checkout","namespace":"shop"},
      "spec":{"window":"1d","target":{"name":"checkout"},
      "indicators":{"errors":{"objective":"99.9","total":"http_requests_total{service=\"checkout\"}","bad":"http_requests_total{service=\"checkout\",code=~\"5..\"}"}},
      "policy":{"freezeBelow":"-1000","burnRateRules":[{"long":"1h","short":"5m","factor":"14.4","action":"rollback"}]}}})"));

  harness::SlogateProcess slogate(harness::slogateOptions(*api, prom->url()));
  // The serving URL is in the startup line.
  ASSERT_EQ(slogate.start(), "");
  ASSERT_THAT(slogate.url(), StartsWith("http://127.0.0.1:"));
  auto http = net::makeHttpClient(slogate.url(), {});
  ASSERT_TRUE(http.ok());
  EXPECT_TRUE(slogate.waitReady(std::chrono::steady_clock::now() + std::chrono::seconds(15)))
      << slogate.stderrText();
  auto verdict = (*http)->send({"GET", "/v1/namespaces/shop/slos/checkout/verdict", {}, ""});
  ASSERT_TRUE(verdict.ok());
  EXPECT_EQ(verdict->status, 200);
  EXPECT_THAT(verdict->body, HasSubstr("\"decision\":\"rollback\""));
  EXPECT_TRUE(harness::eventually(
      [&] {
        auto ro = api->get("argoproj.io/v1alpha1", "Rollout", "shop", "checkout");
        return ro && (*ro)["status"]["abort"].isBool();
      },
      std::chrono::seconds(10), std::chrono::milliseconds(50)));
  // The counter goes up once the abort patch has returned: wait for it.
  std::string metricsBody;
  EXPECT_TRUE(harness::eventually(
      [&] {
        auto metrics = (*http)->send({"GET", "/metrics", {}, ""});
        if (!metrics.ok()) return false;
        metricsBody = metrics->body;
        return metricsBody.find("slogate_actions_total{action=\"abort\"} 1") != std::string::npos;
      },
      std::chrono::seconds(10), std::chrono::milliseconds(50)))
      << metricsBody;
  EXPECT_THAT(
      metricsBody,
      HasSubstr("slogate_decision{decision=\"rollback\",namespace=\"shop\",slo=\"checkout\"} 1"));

  const int status = slogate.terminate();
  const std::string log = slogate.stderrText();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status << "\n"
                                                             << log;
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
