#include "api/verdict_endpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "config/slo_document.h"
#include "engine/evaluate.h"

namespace slogate::api {
namespace {

using ::testing::HasSubstr;

constexpr std::int64_t kNow = 1'793'491'200;

std::shared_ptr<gate::SloEntry> entry(std::int64_t evaluatedAt, const std::string& error = "") {
  auto slos = config::parseSloDocuments(
      "apiVersion: slogate.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: "
      "checkout, namespace: shop}\nspec:\n  indicators:\n    errors: {objective: \"99.9\", "
      "total: a_total, bad: b_total}\n",
      "t.yaml");
  engine::SloState state = engine::SloState::start(slos->front(), kNow / 60);
  state.series[0].record(1, kNow / 60, 1000, 0);
  auto e = std::make_shared<gate::SloEntry>();
  e->ns = "shop";
  e->name = "checkout";
  e->verdict = std::make_shared<engine::Verdict>(engine::evaluate(state));
  e->evaluatedAtUnix = evaluatedAt;
  e->error = error;
  return e;
}

Json call(const std::shared_ptr<gate::SloEntry>& e, const std::string& name = "checkout") {
  auto snap = std::make_shared<gate::Snapshot>();
  if (e) snap->set("shop/checkout", e);
  VerdictEndpoint api([snap] { return snap; }, std::chrono::seconds(45), [] { return kNow; });
  auto j = Json::parse(api.verdict("shop", name));
  EXPECT_TRUE(j.ok());
  return *j;
}

TEST(VerdictEndpoint, FreshVerdictIsServedAsIs) {
  const Json v = call(entry(kNow - 10));
  EXPECT_EQ(v["decision"].text(), "approve");
  EXPECT_EQ(v["slo"].text(), "checkout");
  EXPECT_EQ(v["indicators"]["errors"]["objective"].text(), "0.999");
}

TEST(VerdictEndpoint, TroubleIsInconclusiveWithAReason) {
  Json v = call(entry(kNow - 46));
  EXPECT_EQ(v["decision"].text(), "inconclusive");
  EXPECT_THAT(v["reasons"][0].text(),
              HasSubstr("stale verdict: last evaluation at 2026-10-31T23:59:14Z"));
  v = call(nullptr);
  EXPECT_EQ(v["decision"].text(), "inconclusive");
  EXPECT_EQ(v["reasons"][0].text(), "slogate: unknown SLO shop/checkout");
  EXPECT_EQ(v["evaluatedAt"].text(), "2026-11-01T00:00:00Z");
  v = call(entry(kNow, "prometheus: unreachable"));
  EXPECT_EQ(v["decision"].text(), "inconclusive");
  EXPECT_THAT(v["reasons"][0].text(),
              HasSubstr("the last evaluation failed (prometheus: unreachable)"));
  auto notYet = std::make_shared<gate::SloEntry>();
  notYet->ns = "shop";
  notYet->name = "checkout";
  v = call(notYet);
  EXPECT_THAT(v["reasons"][0].text(), HasSubstr("not evaluated yet"));
}

TEST(VerdictEndpoint, ParsesOnlyVerdictPaths) {
  EXPECT_EQ(VerdictEndpoint::parsePath("/v1/namespaces/shop/slos/checkout/verdict"),
            (std::pair<std::string, std::string>{"shop", "checkout"}));
  EXPECT_EQ(VerdictEndpoint::parsePath("/v1/namespaces/shop/slos/checkout"), std::nullopt);
  EXPECT_EQ(VerdictEndpoint::parsePath("/v1/namespaces//slos/x/verdict"), std::nullopt);
  EXPECT_EQ(VerdictEndpoint::parsePath("/v1/namespaces/shop/slos/a/b/verdict"), std::nullopt);
  EXPECT_EQ(VerdictEndpoint::parsePath("/healthz"), std::nullopt);
}

}  // namespace
}  // namespace slogate::api
