// resource.h — ResourceRef: where a Kubernetes resource type lives in the API.
//
//   const ResourceRef& r = resources::kRollout;
//   r.objectPath("shop", "checkout")   //
//   "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout"
//
// Thread safety: immutable values.
#pragma once

#include <string>

namespace slogate::kube {

struct ResourceRef {
  std::string group;    // "" for the core API
  std::string version;  // "v1"
  std::string plural;   // "rollouts"
  std::string kind;     // "Rollout"
  bool namespaced = true;

  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  // Collection path; ns "" lists across all namespaces.
  std::string collectionPath(const std::string& ns) const;
  std::string objectPath(const std::string& ns, const std::string& name) const;
};

namespace resources {
extern const ResourceRef kSlo;         // slogate.dev/v1alpha1 servicelevelobjectives
extern const ResourceRef kRollout;     // argoproj.io/v1alpha1 rollouts
extern const ResourceRef kLease;       // coordination.k8s.io/v1 leases
extern const ResourceRef kEvent;       // v1 events
extern const ResourceRef kDeployment;  // apps/v1 deployments
}  // namespace resources

}  // namespace slogate::kube
