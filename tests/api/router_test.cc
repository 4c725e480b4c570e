// The controller's HTTP surface over a real server (plain HTTP here; TLS is
// covered by tests/net): routes, methods, content types, readiness, metrics.
#include "api/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "base/json.h"
#include "config/slo_document.h"
#include "engine/evaluate.h"
#include "net/http_client.h"

namespace slogate::api {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<const gate::Snapshot> frozenSnapshot() {
  auto slos = config::parseSloDocuments(
      "apiVersion: slogate.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: "
      "checkout, namespace: shop}\nspec:\n  target: {name: checkout}\n  indicators:\n    errors: "
      "{objective: \"99.9\", total: a_total, bad: b_total}\n",
      "t.yaml");
  engine::SloState state = engine::SloState::start(slos->front(), 29'000'000);
  state.series[0].record(1, 29'000'000, 1000, 1000);
  auto e = std::make_shared<gate::SloEntry>();
  e->ns = "shop";
  e->name = "checkout";
  e->targetRollout = "checkout";
  e->verdict = std::make_shared<engine::Verdict>(engine::evaluate(state));
  e->evaluatedAtUnix = std::int64_t{29'000'000} * 60;
  auto s = std::make_shared<gate::Snapshot>();
  s->set("shop/checkout", e);
  return s;
}

TEST(Router, ServesEveryEndpoint) {
  auto snapshot = frozenSnapshot();
  std::atomic<bool> ready{false};
  metrics::Metrics m("test");
  webhook::AdmissionHandler admission(
      [&] { return snapshot; },
      [](const std::string&, const std::string&) { return std::vector<std::string>{}; });
  VerdictEndpoint verdicts([&] { return snapshot; }, std::chrono::seconds(60),
                           [] { return std::int64_t{29'000'000} * 60 + 30; });
  RouterDeps deps{[&] { return ready.load(); }, &admission, &verdicts, &m};
  auto server =
      net::HttpServer::start({}, [&](const net::ServerRequest& r) { return route(deps, r); });
  ASSERT_TRUE(server.ok()) << server.status().message();
  auto client = net::makeHttpClient((*server)->url(), {});
  ASSERT_TRUE(client.ok());
  const auto get = [&](const std::string& target) {
    auto r = (*client)->send({"GET", target, {}, ""});
    EXPECT_TRUE(r.ok()) << r.status().message();
    return *r;
  };
  EXPECT_EQ(get("/healthz").status, 200);
  EXPECT_EQ(get("/readyz").status, 503);
  ready = true;
  EXPECT_EQ(get("/readyz").status, 200);
  const auto v = get("/v1/namespaces/shop/slos/checkout/verdict");
  EXPECT_EQ(v.status, 200);
  EXPECT_THAT(v.body, HasSubstr("\"decision\":\"rollback\""));
  EXPECT_THAT(v.body, HasSubstr("\"frozen\":true"));
  const auto unknown = get("/v1/namespaces/shop/slos/nope/verdict");
  EXPECT_EQ(unknown.status, 200);
  EXPECT_THAT(unknown.body, HasSubstr("\"decision\":\"inconclusive\""));
  EXPECT_EQ(get("/nope").status, 404);
  EXPECT_EQ(get("/v1/admission").status, 405);

  const std::string review =
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","operation":"CREATE",
      "kind":{"group":"argoproj.io","version":"v1alpha1","kind":"Rollout"},"namespace":"shop","name":"checkout",
      "object":{"metadata":{"name":"checkout","namespace":"shop"},"spec":{"template":{}}}}})";
  auto denied =
      (*client)->send({"POST", "/v1/admission", {{"Content-Type", "application/json"}}, review});
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied->status, 200);
  EXPECT_THAT(denied->body, HasSubstr("\"allowed\":false"));
  EXPECT_THAT(denied->body, HasSubstr("\"uid\":\"u-1\""));
  auto wrongType =
      (*client)->send({"POST", "/v1/admission", {{"Content-Type", "text/plain"}}, review});
  ASSERT_TRUE(wrongType.ok());
  EXPECT_EQ(wrongType->status, 415);
  auto malformed =
      (*client)->send({"POST", "/v1/admission", {{"Content-Type", "application/json"}}, "{"});
  ASSERT_TRUE(malformed.ok());
  EXPECT_EQ(malformed->status, 400);
  EXPECT_TRUE(Json::parse(malformed->body).ok());

  const auto metricsText = get("/metrics");
  EXPECT_EQ(metricsText.status, 200);
  EXPECT_THAT(metricsText.body, HasSubstr("slogate_actions_total{action=\"deny\"} 1"));
  EXPECT_THAT(metricsText.body, HasSubstr("slogate_admission_duration_seconds_count 2"));
  (*server)->stop();
}

}  // namespace
}  // namespace slogate::api
