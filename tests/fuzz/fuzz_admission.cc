// fuzz_admission — webhook::AdmissionHandler::handle on arbitrary request
// bodies, as the API server (or anyone reaching the port) would send them.
// The snapshot holds frozen SLOs in enforce and warn mode targeting the seed
// Rollout, and one gating a Rollout through a Deployment (workloadRef).
//
// Properties checked (abort on violation):
//   * no crash and no exception escapes;
//   * the status is 200 or 400, and the body is JSON: {"error": "..."} for
//     400, an admission.k8s.io/v1 AdmissionReview for 200;
//   * a 200's response.uid is the request's uid, response.allowed matches the
//     outcome, and a denial carries a message naming the SLO and the override;
//   * a denial is only for a judged request (a new revision of a gated Rollout);
//   * handling is deterministic: the same body gives the same answer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include "base/json.h"
#include "config/slo_document.h"
#include "engine/evaluate.h"
#include "webhook/admission.h"

namespace {

using slogate::Json;

[[noreturn]] void fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr,
               "fuzz_admission: INVARIANT VIOLATED: %s\n  detail: %s\n  input (%zu bytes):\n%.*s\n",
               what, detail.c_str(), input.size(), static_cast<int>(input.size()), input.data());
  std::abort();
}

std::shared_ptr<const slogate::gate::SloEntry> frozenEntry(const std::string& name,
                                                           const std::string& rollout,
                                                           const std::string& mode) {
  auto slos = slogate::config::parseSloDocuments(
      "apiVersion: slogate.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: " + name +
          ", namespace: shop}\nspec:\n  target: {name: " + rollout +
          "}\n  indicators:\n    errors: {objective: \"99.9\", total: a_total, bad: b_total}\n"
          "  policy: {mode: " +
          mode + "}\n",
      "fuzz.yaml");
  if (!slos) fail("the harness's own SLO does not load", "", slos.status().message());
  slogate::engine::SloState state = slogate::engine::SloState::start(slos->front(), 29'000'000);
  (void)state.series[0].record(1, 29'000'000, 1000, 1000);
  auto entry = std::make_shared<slogate::gate::SloEntry>();
  entry->ns = "shop";
  entry->name = name;
  entry->verdict = std::make_shared<slogate::engine::Verdict>(slogate::engine::evaluate(state));
  entry->targetRollout = rollout;
  entry->frozenSinceKnown = true;
  entry->frozenSince = "2026-11-22T04:00:00Z";
  return entry;
}

const slogate::webhook::AdmissionHandler& handler() {
  static const auto snapshot = [] {
    auto s = std::make_shared<slogate::gate::Snapshot>();
    s->set("shop/checkout", frozenEntry("checkout", "rollout-canary", "enforce"));
    s->set("shop/checkout-warn", frozenEntry("checkout-warn", "rollout-canary", "warn"));
    s->set("shop/ref", frozenEntry("ref", "rollout-ref-deployment", "enforce"));
    return std::shared_ptr<const slogate::gate::Snapshot>(std::move(s));
  }();
  static const slogate::webhook::AdmissionHandler h([] { return snapshot; },
                                                    [](const std::string& ns,
                                                       const std::string& name) {
                                                      return ns == "shop" && name == "rollout-ref-deployment"
                   ? std::vector<std::string>{"rollout-ref-deployment"}
                   : std::vector<std::string>{};
                                                    },
                                                    [](const slogate::webhook::OverrideNotice&) {});
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  slogate::webhook::AdmissionOutcome out;
  try {
    out = handler().handle(body);
    const slogate::webhook::AdmissionOutcome again = handler().handle(body);
    if (again.body != out.body || again.httpStatus != out.httpStatus) {
      fail("the same body gave two answers", body, out.body + " | " + again.body);
    }
  } catch (const std::exception& e) {
    fail("handle threw", body, e.what());
  } catch (...) {
    fail("handle threw a non-std exception", body, "");
  }

  auto answer = Json::parse(out.body);
  if (!answer) fail("answer is not JSON", body, out.body);
  if (out.httpStatus == 400) {
    if (!(*answer)["error"].isString()) fail("400 without an error string", body, out.body);
    return 0;
  }
  if (out.httpStatus != 200) fail("status is neither 200 nor 400", body, out.body);
  const Json& response = (*answer)["response"];
  if ((*answer)["kind"].text() != "AdmissionReview" ||
      (*answer)["apiVersion"].text() != "admission.k8s.io/v1" || !response.isObject()) {
    fail("200 without an AdmissionReview", body, out.body);
  }
  auto request = Json::parse(body);
  if (!request) fail("a 200 for a body that is not JSON", body, out.body);
  if (response["uid"].text() != (*request)["request"]["uid"].text()) {
    fail("response.uid does not echo request.uid", body, out.body);
  }
  if (!response["allowed"].isBool() || response["allowed"].boolValue() != out.allowed) {
    fail("response.allowed differs from the outcome", body, out.body);
  }
  if (!out.allowed) {
    if (!out.judged) fail("denied a request that was not judged", body, out.body);
    const std::string message = response["status"]["message"].text();
    if (message.find("slogate: SLO shop/") == std::string::npos ||
        message.find("slogate.dev/override") == std::string::npos) {
      fail("a denial without the SLO or the override", body, message);
    }
  }
  return 0;
}
