// The admission webhook end to end, as a cluster runs it: the real `slogate
// controller` binary (TLS from a test PKI, a real Prometheus with a
// backfilled history whose error budget is spent) and the fake API server
// (tests/fakes/) configured like the chart's ValidatingWebhookConfiguration,
// so every Rollout write a client sends to the API server goes through
// kube-apiserver's admission path into slogate's /v1/admission.
//
// The client here talks only to the API server (plain HTTPS with a bearer
// token, so the status, the Status body and the Warning headers are seen as
// kubectl sees them): (a) a new revision of the gated Rollout is refused
// with 403 and a message naming the SLO, the budget left, since when, and
// the override; nothing is stored; (b) scaling and status writes pass; (c)
// the override annotation passes with a warning and an Event naming who and
// why (a dry run records none); (d) an ungated Rollout passes untouched; (e)
// an SLO in `warn` mode allows with a warning; (f) once slogate is gone,
// failurePolicy Fail refuses and Ignore admits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/time.h"
#include "fakes/fake_apiserver.h"
#include "harness/history.h"
#include "harness/openmetrics.h"
#include "harness/prometheus_server.h"
#include "harness/slogate_process.h"
#include "harness/test_helpers.h"
#include "net/http_client.h"
#include "net/test_pki.h"

namespace slogate::webhook {
namespace {

using harness::eventually;
using harness::parseJson;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

constexpr const char* kWebhookName = "gate.slogate.dev";  // the chart's
constexpr const char* kRollouts = "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/";
constexpr const char* kOverride = "hotfix INC-42";

// A Rollout with one container; its update is not in progress (the
// controller leaves it alone).
std::string rollout(const std::string& name) {
  return R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout",
      "metadata":{"name":")" +
         name + R"(","namespace":"shop"},
      "spec":{"replicas":2,"selector":{"matchLabels":{"app":")" +
         name + R"("}},
        "template":{"metadata":{"labels":{"app":")" +
         name + R"("}},
          "spec":{"containers":[{"name":"app","image":")" +
         name + R"(:v1"}]}}},
      "status":{"currentPodHash":"h1","stableRS":"h1"}})";
}

// An SLO over the service's errors, 1d window, 99%; frozen since `since`.
std::string slo(const std::string& name, const std::string& mode, const std::string& since) {
  return R"({"apiVersion":"slogate.dev/v1alpha1","kind":"ServiceLevelObjective",
      "metadata":{"name":")" +
         name + R"(","namespace":"shop"},
      "spec":{"window":"1d","target":{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","name":")" +
         name + R"("},
        "indicators":{"errors":{"objective":"99",
          "total":"http_requests_total{service=\"checkout\"}",
          "bad":"http_requests_total{service=\"checkout\",code=~\"5..\"}"}},
        "policy":{"mode":")" +
         mode +
         R"(","burnRateRules":[{"long":"1h","short":"5m","factor":"14.4","action":"rollback"}]}},
      "status":{"frozen":true,"frozenSince":")" +
         since + R"("}})";
}

std::string newImage(const std::string& name, const std::string& image) {
  return R"({"spec":{"template":{"spec":{"containers":[{"name":"app","image":")" + name + ":" +
         image + R"("}]}}}})";
}

std::string imageOf(const fakes::FakeApiServer& api, const std::string& name) {
  const auto ro = api.get("argoproj.io/v1alpha1", "Rollout", "shop", name);
  return ro ? (*ro)["spec"]["template"]["spec"]["containers"][0]["image"].text() : "";
}

TEST(AdmissionEndToEnd, TheApiServerCallsSlogatesWebhookForRolloutWrites) {
  if (!harness::prometheusAvailable()) GTEST_SKIP() << "prometheus not installed";
  const auto testStart = std::chrono::steady_clock::now();
  // A day of history ending now (so the controller's clock agrees with it):
  // 5% errors from 20 h to 8 h ago spent 2.5 times a 99% SLO's daily budget;
  // the last 8 hours are clean, so no burn-rate rule fires and the decision
  // is freeze, not rollback.
  const std::int64_t now = std::time(nullptr) / 60 * 60;
  harness::OpenMetricsWriter om;
  harness::ServiceHistory history("checkout", now - 90'000, now);
  history.setRate(now - 90'000, now, 1'000, 0);
  history.setRate(now - std::int64_t{20} * 3600, now - std::int64_t{8} * 3600, 1'000, 50);
  history.write(om);
  std::string error;
  auto prom = harness::PrometheusServer::start(om.text(), &error);
  ASSERT_NE(prom, nullptr) << error;

  auto api = fakes::FakeApiServer::start({}, &error);
  ASSERT_NE(api, nullptr) << error;
  const std::string frozenSince = formatRfc3339(now - std::int64_t{8} * 3600);
  api->apply(parseJson(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}})"));
  for (const char* name : {"checkout", "search", "other"}) api->apply(parseJson(rollout(name)));
  api->apply(parseJson(slo("checkout", "enforce", frozenSince)));
  api->apply(parseJson(slo("search", "warn", frozenSince)));

  const std::string dir = net::testing::makeTempDir();
  struct Cleanup {
    std::string dir;
    ~Cleanup() { net::testing::removeTree(dir); }
  } cleanup{dir};
  net::testing::TestPki pki(dir);
  const net::testing::CertFiles serving = pki.issue("slogate", 11);
  harness::SlogateOptions options = harness::slogateOptions(*api, prom->url());
  options.identity = "e2e";
  options.certFile = serving.certFile;
  options.keyFile = serving.keyFile;
  harness::SlogateProcess controller(options);

  // The serving URLs are in the startup line; then wait for /readyz and for
  // both SLOs' verdicts to be freeze (the webhook answers from them).
  ASSERT_EQ(controller.start(), "");
  const std::string webhookUrl = controller.url();
  ASSERT_THAT(webhookUrl, StartsWith("https://127.0.0.1:"));
  net::HttpClientOptions tls;
  tls.tls.caFile = pki.caFile();
  auto slogate = net::makeHttpClient(webhookUrl, tls);
  auto metrics = net::makeHttpClient(controller.metricsUrl(), {});
  ASSERT_TRUE(slogate.ok() && metrics.ok());
  ASSERT_TRUE(controller.waitReady(std::chrono::steady_clock::now() + std::chrono::seconds(20)))
      << controller.stderrText();
  for (const char* name : {"checkout", "search"}) {
    std::string verdict;
    EXPECT_TRUE(eventually(
        [&] {
          auto r = (*slogate)->send(
              {"GET", std::string("/v1/namespaces/shop/slos/") + name + "/verdict", {}, ""});
          verdict = r.ok() ? r->body : r.status().message();
          return verdict.find("\"decision\":\"freeze\"") != std::string::npos;
        },
        std::chrono::seconds(20)))
        << name << ": " << verdict << "\n"
        << controller.stderrText();
  }

  // The chart's ValidatingWebhookConfiguration, with failurePolicy Fail.
  fakes::ValidatingWebhook webhook;
  webhook.name = kWebhookName;
  webhook.url = webhookUrl + "/v1/admission";
  webhook.caFile = pki.caFile();
  webhook.sideEffects = "NoneOnDryRun";
  webhook.timeoutSeconds = 5;
  webhook.rules = {
      {{"argoproj.io"}, {"v1alpha1"}, {"rollouts"}, {"CREATE", "UPDATE"}, "Namespaced"},
      {{"apps"}, {"v1"}, {"deployments"}, {"CREATE", "UPDATE"}, "Namespaced"}};
  api->setValidatingWebhook(webhook);

  // A client of the API server, as kubectl is.
  net::HttpClientOptions apiTls;
  apiTls.tls.caFile = api->caFile();
  auto kube = net::makeHttpClient(api->url(), apiTls);
  ASSERT_TRUE(kube.ok());
  const auto patch = [&](const std::string& target, const std::string& body) {
    auto r = (*kube)->send({"PATCH",
                            target,
                            {{"Authorization", "Bearer " + api->token()},
                             {"Content-Type", "application/merge-patch+json"},
                             {"Accept", "application/json"}},
                            body});
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : net::HttpResponse{};
  };

  // (a) A new revision of the gated Rollout: 403, nothing stored.
  const auto before = api->get("argoproj.io/v1alpha1", "Rollout", "shop", "checkout");
  net::HttpResponse r = patch(std::string(kRollouts) + "checkout", newImage("checkout", "v2"));
  EXPECT_EQ(r.status, 403) << r.body;
  const Json denied = parseJson(r.body);
  EXPECT_EQ(denied["kind"].text(), "Status");
  EXPECT_EQ(denied["reason"].text(), "Forbidden");
  EXPECT_EQ(denied["code"].asInt(), 403);
  const std::string message = denied["message"].text();
  EXPECT_THAT(message, StartsWith("admission webhook \"gate.slogate.dev\" denied the request: "
                                  "slogate: SLO shop/checkout has spent its error budget"));
  EXPECT_THAT(message, MatchesRegex(".*budget remaining: errors -1\\.[0-9]+\\).*"));
  EXPECT_THAT(message, HasSubstr("frozen since " + frozenSince));
  EXPECT_THAT(message, HasSubstr("new revisions of Rollout shop/checkout are denied"));
  EXPECT_THAT(
      message,
      HasSubstr("kubectl annotate rollout checkout -n shop slogate.dev/override=\"<reason>\""));
  EXPECT_EQ(r.header("Warning"), "");
  const auto after = api->get("argoproj.io/v1alpha1", "Rollout", "shop", "checkout");
  ASSERT_TRUE(before && after);
  EXPECT_EQ((*after)["metadata"]["resourceVersion"].text(),
            (*before)["metadata"]["resourceVersion"].text());
  EXPECT_EQ(imageOf(*api, "checkout"), "checkout:v1");
  ASSERT_FALSE(api->webhookCalls().empty());
  EXPECT_EQ(api->webhookCalls().back().error, "");  // slogate answered, and said no
  EXPECT_FALSE(api->webhookCalls().back().allowed);

  // (b) Scaling and status writes are not new revisions.
  r = patch(std::string(kRollouts) + "checkout", R"({"spec":{"replicas":5}})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Warning"), "");
  EXPECT_EQ((*api->get("argoproj.io/v1alpha1", "Rollout", "shop", "checkout"))["spec"]["replicas"]
                .asInt(),
            5);
  EXPECT_TRUE(api->webhookCalls().back().allowed);  // asked, and allowed
  EXPECT_EQ(api->webhookCalls().back().review["request"]["operation"].text(), "UPDATE");
  const std::size_t calls = api->webhookCalls().size();
  r = patch(std::string(kRollouts) + "checkout/status", R"({"status":{"message":"e2e"}})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(api->webhookCalls().size(), calls);  // rollouts/status is not in the rules
  EXPECT_EQ((*api->get("argoproj.io/v1alpha1", "Rollout", "shop", "checkout"))["status"]["message"]
                .text(),
            "e2e");

  // (c) The override passes with a warning and an Event; a dry run of it
  // first passes too, and records nothing (sideEffects: NoneOnDryRun).
  const std::string overridePatch =
      R"({"metadata":{"annotations":{"slogate.dev/override":")" + std::string(kOverride) +
      R"("}},"spec":{"template":{"spec":{"containers":[{"name":"app","image":"checkout:v2"}]}}}})";
  r = patch(std::string(kRollouts) + "checkout?dryRun=All", overridePatch);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(imageOf(*api, "checkout"), "checkout:v1");
  r = patch(std::string(kRollouts) + "checkout", overridePatch);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Warning"),
            "299 - \"slogate: SLO shop/checkout is frozen; allowed by slogate.dev/override: " +
                std::string(kOverride) + "\"");
  EXPECT_EQ(imageOf(*api, "checkout"), "checkout:v2");
  std::vector<Json> overrides;
  EXPECT_TRUE(eventually(
      [&] {
        overrides.clear();
        for (const Json& ev : api->list("v1", "Event")) {
          if (ev["reason"].text() == "SLOFreezeOverridden") overrides.push_back(ev);
        }
        return !overrides.empty();
      },
      std::chrono::seconds(10)));
  ASSERT_EQ(overrides.size(), 1u);  // none for the dry run
  EXPECT_EQ(overrides[0]["involvedObject"]["kind"].text(), "Rollout");
  EXPECT_EQ(overrides[0]["involvedObject"]["name"].text(), "checkout");
  EXPECT_EQ(overrides[0]["type"].text(), "Warning");
  EXPECT_THAT(overrides[0]["message"].text(), HasSubstr("kubernetes-admin"));  // who
  EXPECT_THAT(overrides[0]["message"].text(), HasSubstr(kOverride));           // why
  EXPECT_THAT(overrides[0]["message"].text(), HasSubstr("shop/checkout"));

  // (d) A Rollout no SLO targets.
  r = patch(std::string(kRollouts) + "other", newImage("other", "v2"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Warning"), "");
  EXPECT_EQ(imageOf(*api, "other"), "other:v2");

  // (e) An SLO in warn mode: allowed, with the denial as a warning.
  r = patch(std::string(kRollouts) + "search", newImage("search", "v2"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.header("Warning"), StartsWith("299 - \"slogate: SLO shop/search has spent its"));
  EXPECT_THAT(r.header("Warning"), HasSubstr("(policy.mode warn: allowed)"));
  EXPECT_EQ(imageOf(*api, "search"), "search:v2");

  auto scraped = (*metrics)->send({"GET", "/metrics", {}, ""});
  ASSERT_TRUE(scraped.ok());
  EXPECT_THAT(scraped->body, HasSubstr("slogate_actions_total{action=\"deny\"} 1"));
  // (The dry run counts as an override too: the handler reports it, only the
  // Event is skipped.)
  EXPECT_THAT(scraped->body, HasSubstr("slogate_actions_total{action=\"override\"} "));

  // (f) slogate gone: Fail refuses every matching write, Ignore admits it.
  const int status = controller.terminate();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << controller.stderrText();
  r = patch(std::string(kRollouts) + "other", newImage("other", "v3"));
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_THAT(parseJson(r.body)["message"].text(),
              StartsWith("Internal error occurred: failed calling webhook \"gate.slogate.dev\": "
                         "failed to call webhook: Post \"" +
                         webhook.url + "?timeout=5s\": dial tcp "));
  EXPECT_THAT(parseJson(r.body)["message"].text(), HasSubstr("connection refused"));
  EXPECT_EQ(imageOf(*api, "other"), "other:v2");
  webhook.failurePolicy = fakes::ValidatingWebhook::FailurePolicy::kIgnore;
  api->setValidatingWebhook(webhook);
  r = patch(std::string(kRollouts) + "other", newImage("other", "v3"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(imageOf(*api, "other"), "other:v3");

  EXPECT_LT(std::chrono::steady_clock::now() - testStart, std::chrono::seconds(60));
}

}  // namespace
}  // namespace slogate::webhook
