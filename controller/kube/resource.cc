#include "kube/resource.h"

namespace slogate::kube {

std::string ResourceRef::collectionPath(const std::string& ns) const {
  std::string p = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) p += "/namespaces/" + ns;
  return p + "/" + plural;
}

std::string ResourceRef::objectPath(const std::string& ns, const std::string& name) const {
  return collectionPath(ns) + "/" + name;
}

namespace resources {
const ResourceRef kSlo{"slogate.dev", "v1alpha1", "servicelevelobjectives",
                       "ServiceLevelObjective"};
const ResourceRef kRollout{"argoproj.io", "v1alpha1", "rollouts", "Rollout"};
const ResourceRef kLease{"coordination.k8s.io", "v1", "leases", "Lease"};
const ResourceRef kEvent{"", "v1", "events", "Event"};
const ResourceRef kDeployment{"apps", "v1", "deployments", "Deployment"};
}  // namespace resources

}  // namespace slogate::kube
