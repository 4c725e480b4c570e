#include "webhook/admission.h"

#include <algorithm>

#include "base/json.h"
#include "base/json_writer.h"
#include "base/time.h"
#include "engine/evaluate.h"

namespace slogate::webhook {
namespace {

std::string errorBody(const std::string& message) {
  JsonWriter w;
  w.beginObject().key("error").string(message).endObject();
  return w.take();
}

std::string reviewBody(const std::string& uid, bool allowed, const std::string& message,
                       const std::vector<std::string>& warnings) {
  JsonWriter w;
  w.beginObject()
      .key("apiVersion")
      .string("admission.k8s.io/v1")
      .key("kind")
      .string("AdmissionReview")
      .key("response")
      .beginObject()
      .key("uid")
      .string(uid)
      .key("allowed")
      .boolean(allowed);
  if (!allowed) {
    w.key("status")
        .beginObject()
        .key("code")
        .raw("403")
        .key("reason")
        .string("Forbidden")
        .key("message")
        .string(message)
        .endObject();
  }
  if (!warnings.empty()) {
    w.key("warnings").beginArray();
    for (const std::string& warning : warnings) w.string(warning);
    w.endArray();
  }
  w.endObject().endObject();
  return w.take();
}

bool changed(const Json& now, const Json& before, std::string_view field) {
  return !now["spec"][field].sameValue(before["spec"][field]);
}

}  // namespace

AdmissionHandler::AdmissionHandler(SnapshotFn snapshot, ReferencingFn referencing,
                                   OverrideFn onOverride)
    : snapshot_(std::move(snapshot)),
      referencing_(std::move(referencing)),
      onOverride_(std::move(onOverride)) {}

AdmissionOutcome AdmissionHandler::handle(std::string_view body) const {
  AdmissionOutcome out;
  auto doc = Json::parse(body);
  if (!doc) {
    out.httpStatus = 400;
    out.body = errorBody("request body is not JSON: " + doc.status().message());
    return out;
  }
  const Json& review = *doc;
  if (review["kind"].text() != "AdmissionReview" ||
      review["apiVersion"].text() != "admission.k8s.io/v1" || !review["request"].isObject()) {
    out.httpStatus = 400;
    out.body = errorBody("expected an admission.k8s.io/v1 AdmissionReview with a request");
    return out;
  }
  const Json& req = review["request"];
  const std::string uid = req["uid"].text();
  if (uid.empty()) {
    out.httpStatus = 400;
    out.body = errorBody("request.uid is missing");
    return out;
  }
  const std::string op = req["operation"].text();
  const std::string group = req["kind"]["group"].text();
  const std::string kind = req["kind"]["kind"].text();
  const std::string ns = req["namespace"].text();
  const Json& object = req["object"];
  const Json& old = req["oldObject"];
  const auto allow = [&](const std::vector<std::string>& warnings = {}) {
    out.allowed = true;
    out.body = reviewBody(uid, true, "", warnings);
    return out;
  };
  if ((op != "CREATE" && op != "UPDATE") || !object.isObject()) return allow();

  // Which Rollouts does this request give a new revision?
  std::vector<std::string> rollouts;
  if (group == "argoproj.io" && kind == "Rollout") {
    if (op == "CREATE" || changed(object, old, "template") || changed(object, old, "workloadRef")) {
      rollouts.push_back(object["metadata"]["name"].text());
    }
  } else if (group == "apps" && kind == "Deployment") {
    if ((op == "CREATE" || changed(object, old, "template")) && referencing_) {
      rollouts = referencing_(ns, object["metadata"]["name"].text());
    }
  }
  if (rollouts.empty()) return allow();

  const auto snapshot = snapshot_();
  std::vector<std::string> warnings;
  std::vector<std::string> denials;
  std::vector<const gate::SloEntry*> gating;
  for (const std::string& rollout : rollouts) {
    for (const gate::SloEntry* entry : snapshot->gating(ns, rollout)) gating.push_back(entry);
  }
  for (const gate::SloEntry* entry : gating) {
    const auto& v = entry->verdict;
    if (!v || !v->frozen) continue;
    out.judged = true;
    const engine::SloSpec& spec = v->slo->spec();
    const std::string sloId = entry->ns + "/" + entry->name;
    std::string budget = "unknown";
    for (std::size_t k = 0; k < v->indicatorCount; ++k) {
      const std::string b = v->indicators[k].budgetRemaining.toString(4);
      budget = k == 0 ? engine::indicatorName(v->indicators[k].kind) + std::string(" ") + b
                      : budget + ", " + engine::indicatorName(v->indicators[k].kind) + " " + b;
    }
    const std::string since = entry->frozenSinceKnown ? " since " + entry->frozenSince : "";
    const std::string rollout = *entry->targetRollout;
    const std::string message =
        "slogate: SLO " + sloId + " has spent its error budget (budget remaining: " + budget +
        ") and is frozen" + since + ": new revisions of Rollout " + ns + "/" + rollout +
        " are denied until every budget is above " + spec.policy.unfreezeAbove.toString() +
        ". To ship a fix anyway, annotate the Rollout: kubectl annotate rollout " + rollout +
        " -n " + ns + " " + std::string(kOverrideAnnotation) + "=\"<reason>\"";
    const std::string overrideReason =
        object["metadata"]["annotations"][std::string(kOverrideAnnotation)].text();
    if (!overrideReason.empty()) {
      warnings.push_back("slogate: SLO " + sloId + " is frozen; allowed by " +
                         std::string(kOverrideAnnotation) + ": " + overrideReason);
      // A dry run (kubectl --dry-run=server) has no side effects: no Event,
      // and it is not counted as an override.
      const bool dryRun = req["dryRun"].isBool() && req["dryRun"].boolValue();
      out.overridden = out.overridden || !dryRun;
      if (onOverride_ && !dryRun) {
        onOverride_({ns, rollout, sloId, req["userInfo"]["username"].text(), overrideReason});
      }
    } else if (spec.policy.mode == engine::Mode::kEnforce) {
      denials.push_back(message);
    } else if (spec.policy.mode == engine::Mode::kWarn) {
      warnings.push_back(message + " (policy.mode warn: allowed)");
    } else {
      warnings.push_back(message + " (policy.mode dryRun: allowed)");
    }
  }
  if (!denials.empty()) {
    std::string message = denials.front();
    for (std::size_t i = 1; i < denials.size(); ++i) message += "; " + denials[i];
    out.allowed = false;
    out.body = reviewBody(uid, false, message, warnings);
    return out;
  }
  return allow(warnings);
}

}  // namespace slogate::webhook
