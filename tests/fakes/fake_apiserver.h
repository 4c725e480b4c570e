// fake_apiserver.h — FakeApiServer: an in-process fake Kubernetes API server
// (HTTPS + bearer token, Kubernetes 1.24+ REST semantics) for CI tests of the
// controller, and the options and request records that go with it.
//
// It serves discovery, get/list/watch/create/update/patch/delete for a fixed
// table of resources (core/v1 events and namespaces, apps/v1 deployments,
// argoproj.io/v1alpha1 rollouts, slogate.dev/v1alpha1 servicelevelobjectives,
// coordination.k8s.io/v1 leases, events.k8s.io/v1 events; see
// fake_apiserver_core.cc), with a global resourceVersion counter, watch
// history, bookmarks, 410 Expired after compact(), 409 on stale
// resourceVersions, status subresources, merge/JSON patches and injected
// failures. tests/fakes/README.md lists where it deviates from a real
// kube-apiserver.
//
//   std::string error;
//   auto server = FakeApiServer::start({}, &error);
//   ASSERT_NE(server, nullptr) << error;
//   server->apply(*Json::parse(R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout",
//       "metadata":{"name":"checkout","namespace":"shop"},"spec":{"replicas":3}})"));
//   // point the controller at server->url() with CA file server->caFile() and
//   // "Authorization: Bearer " + server->token(), then inspect:
//   std::optional<Json> ro = server->get("argoproj.io/v1alpha1", "Rollout", "shop", "checkout");
//   for (const RecordedRequest& r : server->requests()) ...
//
// The namespaces default, kube-system, kube-public and kube-node-lease exist
// from the start (resourceVersions 1-4). As on a real server, HTTP creates in
// a missing namespace answer 404; apply() creates a missing namespace first.
//
// Thread safety: every public method may be called from any thread while the
// server runs; the server itself serves on one background thread. The
// destructor must not race with other calls on the same object.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"

namespace slogate::fakes {

struct FakeApiServerOptions {
  // The bearer token that authenticates; a missing or different token gets
  // 401 Unauthorized (a Status object).
  std::string token = "test-token";
  // Extra tokens that authenticate but are forbidden everything (403 Status).
  std::vector<std::string> forbiddenTokens;
};

// One HTTP request as received (recorded before authentication).
struct RecordedRequest {
  std::string method;       // "GET"
  std::string path;         // "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts"
  std::string query;        // "watch=1&resourceVersion=12" (raw, without '?')
  std::string contentType;  // request Content-Type, "" when absent
  std::string body;
  int status = 0;  // the HTTP status answered (200 for a watch stream)
};

class FakeApiServer {
 public:
  // Generates a self-signed CA and a serving certificate for 127.0.0.1 and
  // localhost (in memory, ECDSA P-256), writes the CA's PEM to ca.pem in a new
  // temporary directory, listens on https://127.0.0.1:<free port> and serves
  // on a background thread. On failure returns nullptr and sets *error (when
  // not null).
  static std::unique_ptr<FakeApiServer> start(const FakeApiServerOptions& options,
                                              std::string* error);
  // Ends all watches and connections, joins the thread, removes the temp dir.
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  std::string url() const;     // "https://127.0.0.1:PORT"
  std::string caFile() const;  // path of ca.pem: the CA that signed the serving cert
  std::string caPem() const;   // the same CA certificate as PEM text
  const std::string& token() const;

  // Direct access, like kubectl with full rights: bypasses HTTP, auth and
  // failNext(), but bumps resourceVersion, maintains generation and emits
  // watch events like an HTTP write would.
  //
  // Creates or replaces the object named by apiVersion/kind/namespace/name
  // (namespace "default" when a namespaced object has none). Unlike HTTP
  // writes it sets status too, and ignores metadata.resourceVersion. An
  // unchanged object is not written again (no new resourceVersion, no event).
  // Returns the stored object, or a Status object (kind "Status") naming the
  // problem (unknown kind, missing name).
  Json apply(const Json& object);
  std::optional<Json> get(const std::string& apiVersion, const std::string& kind,
                          const std::string& ns, const std::string& name) const;
  // Deletes like an HTTP DELETE: an object with finalizers only gets its
  // deletionTimestamp (MODIFIED); it goes when the last finalizer is removed.
  // False when there is no such object.
  bool remove(const std::string& apiVersion, const std::string& kind, const std::string& ns,
              const std::string& name);
  // Every object of the kind in every namespace, sorted by namespace and name,
  // each with apiVersion and kind.
  std::vector<Json> list(const std::string& apiVersion, const std::string& kind) const;

  // Fault injection.
  // Ends every open watch stream cleanly (terminating chunk; the connection
  // stays usable for more requests).
  void closeWatches();
  // Forgets the event history: a watch from any older resourceVersion gets an
  // ERROR event with a 410 Expired Status, and so does a list that needs an
  // older snapshot (resourceVersionMatch=Exact, continue tokens).
  void compact();
  // The next `count` authenticated requests answer `status` with a Status
  // object (reason from the code: 429 TooManyRequests, 500 InternalError, 503
  // ServiceUnavailable, 504 Timeout, ...) and a Retry-After header when
  // `retryAfter` is not empty.
  void failNext(int status, int count, const std::string& retryAfter = "");
  // How often watches that asked allowWatchBookmarks=true get a BOOKMARK
  // event (default 1 s).
  void setBookmarkInterval(std::chrono::milliseconds interval);

  std::vector<RecordedRequest> requests() const;
  void clearRequests();
  std::int64_t resourceVersion() const;  // the current global resourceVersion

  class Impl;

 private:
  explicit FakeApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace slogate::fakes
