// rollout.h — reading an Argo Rollout's progress, and acting on it the way
// `kubectl argo rollouts` does.
//
// As read in argo-rollouts' source (pkg/kubectl-argo-rollouts/cmd/abort/abort.go
// and cmd/pause/pause.go):
//   abort  = merge patch {"status":{"abort":true}} on the status subresource,
//            falling back to the main resource when /status is not found;
//   pause  = merge patch {"spec":{"paused":true}}.
// An update is in progress while status.currentPodHash differs from
// status.stableRS (the new ReplicaSet is not yet the stable one). The
// revision an action applies to is status.currentPodHash, so an action is
// never repeated for the same revision and decision.
//
// Thread safety: pure functions and calls through a thread-safe client.
#pragma once

#include <string>

#include "base/json.h"
#include "kube/client.h"

namespace slogate::kube {

struct RolloutProgress {
  bool updateInProgress = false;
  std::string revision;  // status.currentPodHash
  std::string stable;    // status.stableRS
  std::string phase;     // status.phase (Progressing, Paused, Healthy, Degraded)
  bool paused = false;   // spec.paused
  bool aborted = false;  // status.abort
};

RolloutProgress rolloutProgress(const Json& rollout);

Status abortRollout(KubeClient& client, const std::string& ns, const std::string& name);
Status pauseRollout(KubeClient& client, const std::string& ns, const std::string& name);

}  // namespace slogate::kube
