#include "kube/rollout.h"

namespace slogate::kube {

RolloutProgress rolloutProgress(const Json& rollout) {
  RolloutProgress p;
  const Json& status = rollout["status"];
  p.revision = status["currentPodHash"].text();
  p.stable = status["stableRS"].text();
  p.phase = status["phase"].text();
  p.paused = rollout["spec"]["paused"].isBool() && rollout["spec"]["paused"].boolValue();
  p.aborted = status["abort"].isBool() && status["abort"].boolValue();
  p.updateInProgress = !p.revision.empty() && p.revision != p.stable;
  return p;
}

Status abortRollout(KubeClient& client, const std::string& ns, const std::string& name) {
  const std::string patch = R"({"status":{"abort":true}})";
  auto r = client.patch(resources::kRollout, ns, name, PatchType::kMerge, patch, "status");
  if (!r && r.status().code() == Code::kNotFound) {
    r = client.patch(resources::kRollout, ns, name, PatchType::kMerge, patch);
  }
  return r.ok() ? Status::ok() : r.status();
}

Status pauseRollout(KubeClient& client, const std::string& ns, const std::string& name) {
  auto r =
      client.patch(resources::kRollout, ns, name, PatchType::kMerge, R"({"spec":{"paused":true}})");
  return r.ok() ? Status::ok() : r.status();
}

}  // namespace slogate::kube
