// verdict_endpoint.h — the verdict of SPEC §2 for Argo Rollouts' `web`
// metric provider: GET /v1/namespaces/{ns}/slos/{name}/verdict.
//
// Always 200 with a verdict JSON (SPEC §4): a non-2xx is an Argo *Error*, and
// errors in a row abort healthy Rollouts. slogate's own trouble — unknown SLO,
// not evaluated yet, Prometheus failing, a verdict older than `maxAge` — is an
// `inconclusive` verdict with a reason, which pauses the Rollout for a human.
//
//   VerdictEndpoint api(snapshotFn, std::chrono::seconds(45), nowFn);
//   std::string json = api.verdict("shop", "checkout");
//
// Thread safety: verdict() may be called from many threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "gate/snapshot.h"

namespace slogate::api {

class VerdictEndpoint {
 public:
  using SnapshotFn = std::function<std::shared_ptr<const gate::Snapshot>()>;
  using NowFn = std::function<std::int64_t()>;  // Unix seconds

  VerdictEndpoint(SnapshotFn snapshot, std::chrono::seconds maxAge, NowFn now);

  // The verdict JSON for one SLO (always a verdict).
  std::string verdict(const std::string& ns, const std::string& name) const;

  // Parses "/v1/namespaces/{ns}/slos/{name}/verdict"; nullopt when the path
  // is not a verdict path.
  static std::optional<std::pair<std::string, std::string>> parsePath(const std::string& path);

 private:
  SnapshotFn snapshot_;
  std::chrono::seconds maxAge_;
  NowFn now_;
};

}  // namespace slogate::api
