// The admission webhook against AdmissionReviews built from Argo Rollouts'
// own example objects (tests/fixtures/argo/), as kube-apiserver sends them.
#include "webhook/admission.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "base/json.h"
#include "config/slo_document.h"
#include "engine/evaluate.h"
#include "harness/yaml_json.h"

namespace slogate::webhook {
namespace {

using ::testing::HasSubstr;

std::vector<Json> fixture(const std::string& name) {
  std::vector<Json> out;
  for (Json j :
       harness::yamlFileToJson(std::string(SLOGATE_SOURCE_DIR) + "/tests/fixtures/argo/" + name)) {
    Json meta = j["metadata"];
    meta.set("namespace", Json::string("shop"));
    j.set("metadata", meta);
    out.push_back(std::move(j));
  }
  return out;
}

std::string review(const std::string& op, const std::string& group, const std::string& version,
                   const std::string& kind, const Json& object, const Json* old) {
  Json req = Json::object();
  req.set("uid", Json::string("705ab4f5-6393-11e8-b7cc-42010a800002"));
  Json k = Json::object();
  k.set("group", Json::string(group));
  k.set("version", Json::string(version));
  k.set("kind", Json::string(kind));
  req.set("kind", k);
  req.set("resource", k);
  req.set("namespace", Json::string("shop"));
  req.set("name", object["metadata"]["name"]);
  req.set("operation", Json::string(op));
  Json user = Json::object();
  user.set("username", Json::string("dev@example.com"));
  req.set("userInfo", user);
  req.set("object", object);
  if (old != nullptr) req.set("oldObject", *old);
  Json r = Json::object();
  r.set("apiVersion", Json::string("admission.k8s.io/v1"));
  r.set("kind", Json::string("AdmissionReview"));
  r.set("request", req);
  return r.dump();
}

Json withImage(Json rollout, const std::string& image) {
  Json spec = rollout["spec"];
  Json tmpl = spec["template"];
  Json podSpec = tmpl["spec"];
  Json containers = Json::array();
  Json c = podSpec["containers"][0];
  c.set("image", Json::string(image));
  containers.push(c);
  podSpec.set("containers", containers);
  tmpl.set("spec", podSpec);
  spec.set("template", tmpl);
  rollout.set("spec", spec);
  return rollout;
}

// `rollout` carrying the override annotation with `reason`.
Json withOverride(Json rollout, const std::string& reason) {
  Json meta = rollout["metadata"];
  Json annotations = Json::object();
  annotations.set("slogate.dev/override", Json::string(reason));
  meta.set("annotations", annotations);
  rollout.set("metadata", meta);
  return rollout;
}

// The same value with every object's members in reverse order, as another
// serializer (a client that re-encodes the object) may write it.
Json reversedMembers(const Json& j) {
  if (j.isArray()) {
    Json a = Json::array();
    for (const Json& v : j.items()) a.push(reversedMembers(v));
    return a;
  }
  if (!j.isObject()) return j;
  Json o = Json::object();
  const auto& members = j.members();
  std::for_each(members.rbegin(), members.rend(),
                [&](const auto& member) { o.set(member.first, reversedMembers(member.second)); });
  return o;
}

// A snapshot with one SLO targeting `rollout`, frozen or not, in `mode`.
std::shared_ptr<const gate::Snapshot> snapshotWith(const std::string& rollout, bool frozen,
                                                   const std::string& mode = "enforce") {
  auto slos = config::parseSloDocuments(
      "apiVersion: slogate.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: "
      "checkout, namespace: shop}\nspec:\n  target: {name: " +
          rollout +
          "}\n  indicators:\n    errors: {objective: \"99.9\", total: a_total, bad: b_total}\n  "
          "policy: {mode: " +
          mode + "}\n",
      "t.yaml");
  EXPECT_TRUE(slos.ok()) << slos.status().message();
  engine::SloState state = engine::SloState::start(slos->front(), 29'000'000);
  state.series[0].record(1, 29'000'000, 1000, frozen ? 1000 : 0);
  auto v = std::make_shared<engine::Verdict>(engine::evaluate(state));
  auto e = std::make_shared<gate::SloEntry>();
  e->ns = "shop";
  e->name = "checkout";
  e->verdict = v;
  e->targetRollout = rollout;
  e->frozenSinceKnown = frozen;
  e->frozenSince = "2026-11-22T04:00:00Z";
  auto s = std::make_shared<gate::Snapshot>();
  s->set("shop/checkout", e);
  return s;
}

struct Harness {
  std::shared_ptr<const gate::Snapshot> snapshot;
  std::vector<OverrideNotice> overrides;
  AdmissionHandler handler{[this] { return snapshot; },
                           [](const std::string& ns, const std::string& name) {
                             return ns == "shop" && name == "rollout-ref-deployment"
                                        ? std::vector<std::string>{"rollout-ref-deployment"}
                                        : std::vector<std::string>{};
                           },
                           [this](const OverrideNotice& n) { overrides.push_back(n); }};
};

Json responseOf(const AdmissionOutcome& o) {
  auto j = Json::parse(o.body);
  EXPECT_TRUE(j.ok()) << o.body;
  return (*j)["response"];
}

TEST(Admission, NewRevisionOfAFrozenRolloutIsDeniedWithAnActionableMessage) {
  Harness h;
  h.snapshot = snapshotWith("rollout-canary", true);
  const Json before = fixture("rollout-canary.yaml")[0];
  const Json after = withImage(before, "argoproj/rollouts-demo:yellow");
  const auto out =
      h.handler.handle(review("UPDATE", "argoproj.io", "v1alpha1", "Rollout", after, &before));
  EXPECT_EQ(out.httpStatus, 200);
  EXPECT_FALSE(out.allowed);
  const Json r = responseOf(out);
  EXPECT_EQ(r["uid"].text(), "705ab4f5-6393-11e8-b7cc-42010a800002");
  EXPECT_FALSE(r["allowed"].boolValue());
  EXPECT_EQ(r["status"]["code"].text(), "403");
  const std::string msg = r["status"]["message"].text();
  EXPECT_THAT(
      msg,
      HasSubstr("SLO shop/checkout has spent its error budget (budget remaining: errors -999)"));
  EXPECT_THAT(msg, HasSubstr("frozen since 2026-11-22T04:00:00Z"));
  EXPECT_THAT(msg, HasSubstr("until every budget is above 0.05"));
  EXPECT_THAT(
      msg,
      HasSubstr(
          "kubectl annotate rollout rollout-canary -n shop slogate.dev/override=\"<reason>\""));
  // CREATE is a new revision too.
  EXPECT_FALSE(
      h.handler.handle(review("CREATE", "argoproj.io", "v1alpha1", "Rollout", after, nullptr))
          .allowed);
}

TEST(Admission, StatusWritesScalingAndMetadataPassUntouched) {
  Harness h;
  h.snapshot = snapshotWith("rollout-canary", true);
  const Json before = fixture("rollout-canary.yaml")[0];
  Json scaled = before;
  Json spec = scaled["spec"];
  spec.set("replicas", Json::number("10"));
  scaled.set("spec", spec);
  auto out =
      h.handler.handle(review("UPDATE", "argoproj.io", "v1alpha1", "Rollout", scaled, &before));
  EXPECT_TRUE(out.allowed);
  EXPECT_FALSE(out.judged);
  Json withStatus = before;
  Json st = Json::object();
  st.set("phase", Json::string("Paused"));
  withStatus.set("status", st);
  EXPECT_TRUE(
      h.handler.handle(review("UPDATE", "argoproj.io", "v1alpha1", "Rollout", withStatus, &before))
          .allowed);
  EXPECT_TRUE(
      h.handler.handle(review("DELETE", "argoproj.io", "v1alpha1", "Rollout", before, &before))
          .allowed);
  // The same pod template with its keys in another order is no new revision.
  const Json reordered = reversedMembers(before);
  ASSERT_NE(reordered["spec"]["template"].dump(), before["spec"]["template"].dump());
  out =
      h.handler.handle(review("UPDATE", "argoproj.io", "v1alpha1", "Rollout", reordered, &before));
  EXPECT_TRUE(out.allowed);
  EXPECT_FALSE(out.judged);
  // ... while a changed image in the reordered template is one.
  EXPECT_FALSE(h.handler
                   .handle(review("UPDATE", "argoproj.io", "v1alpha1", "Rollout",
                                  reversedMembers(withImage(before, "x:3")), &before))
                   .allowed);
}

TEST(Admission, NotFrozenOrNotTargetedIsAllowed) {
  Harness h;
  const Json before = fixture("rollout-canary.yaml")[0];
  const Json after = withImage(before, "x:2");
  h.snapshot = snapshotWith("rollout-canary", false);
  auto out =
      h.handler.handle(review("UPDATE", "argoproj.io", "v1alpha1", "Rollout", after, &before));
  EXPECT_TRUE(out.allowed);
  EXPECT_FALSE(responseOf(out).has("warnings"));
  h.snapshot = snapshotWith("another-rollout", true);
  EXPECT_TRUE(
      h.handler.handle(review("UPDATE", "argoproj.io", "v1alpha1", "Rollout", after, &before))
          .allowed);
}

TEST(Admission, WarnAndDryRunModesAllowWithWarnings) {
  Harness h;
  const Json before = fixture("rollout-canary.yaml")[0];
  const Json after = withImage(before, "x:2");
  for (const char* mode : {"warn", "dryRun"}) {
    h.snapshot = snapshotWith("rollout-canary", true, mode);
    auto out =
        h.handler.handle(review("UPDATE", "argoproj.io", "v1alpha1", "Rollout", after, &before));
    EXPECT_TRUE(out.allowed) << mode;
    const Json r = responseOf(out);
    ASSERT_EQ(r["warnings"].items().size(), 1u) << mode;
    EXPECT_THAT(r["warnings"][0].text(),
                HasSubstr(std::string("(policy.mode ") + mode + ": allowed)"));
  }
}

TEST(Admission, OverrideAnnotationAllowsWithAWarningAndANotice) {
  Harness h;
  h.snapshot = snapshotWith("rollout-canary", true);
  const Json before = fixture("rollout-canary.yaml")[0];
  const Json after = withOverride(withImage(before, "x:hotfix"), "hotfix for INC-42");
  auto out =
      h.handler.handle(review("UPDATE", "argoproj.io", "v1alpha1", "Rollout", after, &before));
  EXPECT_TRUE(out.allowed);
  EXPECT_TRUE(out.overridden);
  EXPECT_THAT(responseOf(out)["warnings"][0].text(),
              HasSubstr("allowed by slogate.dev/override: hotfix for INC-42"));
  ASSERT_EQ(h.overrides.size(), 1u);
  EXPECT_EQ(h.overrides[0].user, "dev@example.com");
  EXPECT_EQ(h.overrides[0].reason, "hotfix for INC-42");
  EXPECT_EQ(h.overrides[0].slo, "shop/checkout");
}

TEST(Admission, ADryRunOverrideIsNeitherAnEventNorCounted) {
  Harness h;
  h.snapshot = snapshotWith("rollout-canary", true);
  const Json before = fixture("rollout-canary.yaml")[0];
  const Json after = withOverride(withImage(before, "x:hotfix"), "try it");
  Json r = *Json::parse(review("UPDATE", "argoproj.io", "v1alpha1", "Rollout", after, &before));
  Json req = r["request"];
  req.set("dryRun", Json::boolean(true));
  r.set("request", req);
  const auto out = h.handler.handle(r.dump());
  EXPECT_TRUE(out.allowed);
  EXPECT_FALSE(out.overridden);
  EXPECT_THAT(responseOf(out)["warnings"][0].text(), HasSubstr("allowed by slogate.dev/override"));
  EXPECT_TRUE(h.overrides.empty());
}

TEST(Admission, TheSnapshotIndexFollowsAnSloThatChangesItsTarget) {
  Harness h;
  auto s = std::make_shared<gate::Snapshot>(*snapshotWith("rollout-canary", true));
  // Retarget shop/checkout to another Rollout: the old one is free again.
  auto moved = std::make_shared<gate::SloEntry>(*s->find("shop", "checkout"));
  moved->targetRollout = "other";
  s->set("shop/checkout", moved);
  h.snapshot = s;
  const Json before = fixture("rollout-canary.yaml")[0];
  const Json after = withImage(before, "x:2");
  EXPECT_TRUE(
      h.handler.handle(review("UPDATE", "argoproj.io", "v1alpha1", "Rollout", after, &before))
          .allowed);
  EXPECT_EQ(s->gating("shop", "other").size(), 1U);
  EXPECT_TRUE(s->gating("shop", "rollout-canary").empty());
  // Removing the SLO empties the index.
  s->set("shop/checkout", nullptr);
  EXPECT_TRUE(s->byTarget.empty());
}

TEST(Admission, DeploymentsReferencedThroughWorkloadRef) {
  Harness h;
  h.snapshot = snapshotWith("rollout-ref-deployment", true);
  const auto docs = fixture("workload-ref.yaml");
  const Json& deployment = docs[0];
  const Json changed = withImage(deployment, "argoproj/rollouts-demo:green");
  auto out = h.handler.handle(review("UPDATE", "apps", "v1", "Deployment", changed, &deployment));
  EXPECT_FALSE(out.allowed);
  EXPECT_THAT(responseOf(out)["status"]["message"].text(),
              HasSubstr("Rollout shop/rollout-ref-deployment"));
  // A Deployment no gated Rollout references passes.
  Json other = changed;
  Json meta = other["metadata"];
  meta.set("name", Json::string("unrelated"));
  other.set("metadata", meta);
  EXPECT_TRUE(
      h.handler.handle(review("UPDATE", "apps", "v1", "Deployment", other, &deployment)).allowed);
  // The Rollout with workloadRef: changing the reference is a new revision.
  const Json& rollout = docs[1];
  Json repointed = rollout;
  Json spec = repointed["spec"];
  Json ref = spec["workloadRef"];
  ref.set("name", Json::string("another-deployment"));
  spec.set("workloadRef", ref);
  repointed.set("spec", spec);
  EXPECT_FALSE(
      h.handler.handle(review("UPDATE", "argoproj.io", "v1alpha1", "Rollout", repointed, &rollout))
          .allowed);
}

TEST(Admission, MalformedInputIs400WithJson) {
  Harness h;
  h.snapshot = snapshotWith("rollout-canary", true);
  for (
      const char* bad :
      {"", "not json", "{}", R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})",
       R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}})",
       R"({"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}})"}) {
    const auto out = h.handler.handle(bad);
    EXPECT_EQ(out.httpStatus, 400) << bad;
    auto j = Json::parse(out.body);
    ASSERT_TRUE(j.ok()) << out.body;
    EXPECT_FALSE((*j)["error"].text().empty());
  }
  // Well-formed review of an object that is not an object: allowed, uid echoed.
  const auto out = h.handler.handle(
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","operation":"UPDATE","kind":{"group":"argoproj.io","kind":"Rollout"},"object":"x"}})");
  EXPECT_EQ(out.httpStatus, 200);
  EXPECT_EQ(responseOf(out)["uid"].text(), "u1");
}

}  // namespace
}  // namespace slogate::webhook
