// admission.h — AdmissionHandler: the validating webhook's decision, as a
// pure function of an AdmissionReview and the latest verdict snapshot.
//
// Only a new revision is judged: a Rollout CREATE, or an UPDATE that changes
// spec.template or spec.workloadRef; a Deployment UPDATE/CREATE that changes
// spec.template when a gated Rollout references it via spec.workloadRef.
// Status writes, scaling and metadata edits pass untouched. A new revision of
// a Rollout targeted by a frozen SLO is denied in `enforce` mode with a
// message a developer can act on; `warn` mode allows with a warning; `dryRun`
// allows with a warning saying what would have happened; the annotation
// `slogate.dev/override: "<reason>"` allows with a warning and is reported
// through `onOverride` (the controller records an Event; not for dry-run
// requests, as sideEffects: NoneOnDryRun promises). Everything else is
// allowed. response.uid always echoes request.uid. Malformed input is a 400
// with a JSON error body. The handler never waits on anything: it reads the
// snapshot it is given.
//
//   AdmissionHandler h(snapshotFn, rolloutsReferencingFn, onOverride);
//   net::ServerResponse r = h.handle(requestBody);
//
// Thread safety: handle() may be called from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gate/snapshot.h"

namespace slogate::webhook {

inline constexpr std::string_view kOverrideAnnotation = "slogate.dev/override";

struct AdmissionOutcome {
  int httpStatus = 200;
  std::string body;     // AdmissionReview JSON, or {"error": ...} for 400
  bool judged = false;  // a new revision of a gated Rollout
  bool allowed = true;
  bool overridden = false;
};

struct OverrideNotice {
  std::string ns;
  std::string rollout;
  std::string slo;
  std::string user;
  std::string reason;
};

class AdmissionHandler {
 public:
  using SnapshotFn = std::function<std::shared_ptr<const gate::Snapshot>()>;
  // Names of the Rollouts in `ns` whose spec.workloadRef is the Deployment `name`.
  using ReferencingFn =
      std::function<std::vector<std::string>(const std::string& ns, const std::string& name)>;
  using OverrideFn = std::function<void(const OverrideNotice&)>;

  AdmissionHandler(SnapshotFn snapshot, ReferencingFn referencing, OverrideFn onOverride = {});

  AdmissionOutcome handle(std::string_view body) const;

 private:
  SnapshotFn snapshot_;
  ReferencingFn referencing_;
  OverrideFn onOverride_;
};

}  // namespace slogate::webhook
