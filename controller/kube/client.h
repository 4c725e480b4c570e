// client.h — KubeClient: the Kubernetes API over HTTPS (reader, writer,
// status writer and watch in one small class).
//
// Speaks JSON to the API server with a bearer token (re-read from its file on
// every request, so rotated service-account tokens are picked up) or a client
// certificate, verifying the server against a CA file. Errors carry the API
// server's Status message and map its code: 404 kNotFound, 409 kConflict,
// 410 kExpired (relist), 401/403 kPermissionDenied, 429/5xx/transport
// kUnavailable (with the Retry-After seconds, if any, in retryAfterSeconds()).
//
//   auto client = kube::KubeClient::make(config);
//   auto slo = (*client)->get(kube::resources::kSlo, "shop", "checkout");
//   (*client)->patch(kube::resources::kRollout, "shop", "checkout",
//                    kube::PatchType::kMerge, R"({"spec":{"paused":true}})");
//
// Thread safety: every method may be called from several threads at once.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/json.h"
#include "base/result.h"
#include "kube/resource.h"
#include "net/http_client.h"

namespace slogate::kube {

// How to reach and authenticate to the API server.
struct ClusterConfig {
  std::string server;     // "https://10.0.0.1:443"
  std::string caFile;     // PEM CA bundle for the server ("" = system roots)
  std::string token;      // bearer token, or
  std::string tokenFile;  // a file holding it (re-read on every request)
  std::string clientCertFile;
  std::string clientKeyFile;
  bool insecureSkipVerify = false;
  std::string defaultNamespace = "default";  // the pod's namespace in-cluster
};

// The service account's config inside a pod: KUBERNETES_SERVICE_HOST/PORT and
// /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}.
// `root` replaces "/" for tests.
Result<ClusterConfig> inClusterConfig(const std::string& root = "");

enum class PatchType { kMerge, kJson, kStrategic };

struct ListOptions {
  std::string labelSelector;
  std::string fieldSelector;
  std::string resourceVersion;
};

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
  Json object;
};

struct WatchOptions {
  std::string resourceVersion;
  bool bookmarks = true;
  int timeoutSeconds = 300;  // the server ends the watch after this; the informer re-watches
  std::string labelSelector;
};

class KubeClient {
 public:
  static Result<std::unique_ptr<KubeClient>> make(const ClusterConfig& config);
  // Over a given transport (tests).
  KubeClient(ClusterConfig config, std::unique_ptr<net::HttpClient> http,
             std::unique_ptr<net::HttpClient> watchHttp);

  Result<Json> get(const ResourceRef& r, const std::string& ns, const std::string& name);
  Result<Json> list(const ResourceRef& r, const std::string& ns, const ListOptions& options = {});
  Result<Json> create(const ResourceRef& r, const std::string& ns, const Json& object);
  Result<Json> update(const ResourceRef& r, const std::string& ns, const std::string& name,
                      const Json& object);
  // `subresource` "" or "status".
  Result<Json> patch(const ResourceRef& r, const std::string& ns, const std::string& name,
                     PatchType type, const std::string& body, const std::string& subresource = "");
  Status remove(const ResourceRef& r, const std::string& ns, const std::string& name);

  // Streams watch events to `onEvent` until the server ends the watch (OK),
  // onEvent returns false (OK), `cancel` fires, or an error. An ERROR event
  // with code 410 returns kExpired; other ERROR events their code.
  Status watch(const ResourceRef& r, const std::string& ns, const WatchOptions& options,
               const std::function<bool(const WatchEvent&)>& onEvent, net::Cancel* cancel);

  const ClusterConfig& config() const { return config_; }

 private:
  Result<Json> call(const std::string& method, const std::string& target,
                    const std::string& contentType, const std::string& body);
  Result<net::Headers> headers(const std::string& contentType) const;

  ClusterConfig config_;
  std::unique_ptr<net::HttpClient> http_;       // short requests
  std::unique_ptr<net::HttpClient> watchHttp_;  // long watches (its own timeout)
};

// The Status for an HTTP error answer (body: a Kubernetes Status object, or
// anything). Exposed for tests.
Status statusFromResponse(int httpStatus, const std::string& body, const std::string& what);

// Seconds from a 429's Retry-After header, carried in the status message as
// "(retry after N s)"; nullopt when absent.
std::optional<int> retryAfterSeconds(const Status& status);

}  // namespace slogate::kube
