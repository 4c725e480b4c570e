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
// resourceVersions, status subresources, merge/JSON patches, injected
// failures, and validating admission webhooks (setValidatingWebhook(): writes
// are sent to the webhook as AdmissionReviews, as kube-apiserver does).
// tests/fakes/README.md lists where it deviates from a real kube-apiserver.
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
//   ValidatingWebhook hook;                  // the chart's webhook, by URL
//   hook.name = "gate.slogate.dev";
//   hook.url = "https://127.0.0.1:8443/v1/admission";
//   hook.caFile = "/tmp/pki/ca.crt";
//   hook.rules = {{{"argoproj.io"}, {"v1alpha1"}, {"rollouts"}, {"CREATE", "UPDATE"}}};
//   server->setValidatingWebhook(hook);      // HTTP writes of rollouts now go through it
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
  // Who `token` is: the userInfo admission webhooks receive (kind's admin).
  std::string username = "kubernetes-admin";
  std::vector<std::string> groups = {"system:masters", "system:authenticated"};
};

// One rule of a validating webhook (admissionregistration.k8s.io/v1
// RuleWithOperations): the request matches when its group, version,
// resource[/subresource], operation and scope are all listed.
struct WebhookRule {
  std::vector<std::string> apiGroups;            // "" is the core group, "*" any
  std::vector<std::string> apiVersions = {"*"};  // "v1alpha1", "*"
  std::vector<std::string> resources;            // "rollouts", "rollouts/status",
                                                 // "rollouts/*", "*", "*/status", "*/*"
  std::vector<std::string> operations;           // CREATE, UPDATE, DELETE, "*"
  std::string scope = "*";                       // "Namespaced", "Cluster", "*"
};

// A validating admission webhook, as one entry of a
// ValidatingWebhookConfiguration with clientConfig.url (the fake has no
// Services to resolve) and admissionReviewVersions [v1].
struct ValidatingWebhook {
  enum class FailurePolicy { kFail, kIgnore };
  std::string name;    // "rollouts.slogate.dev"; the key of setValidatingWebhook()
  std::string url;     // "https://127.0.0.1:PORT/v1/admission" (https only, as on a real server)
  std::string caPem;   // clientConfig.caBundle (PEM) verifying the webhook's serving
  std::string caFile;  // certificate, or a PEM file read on every call; both empty =
                       // the system's roots
  std::vector<WebhookRule> rules;
  FailurePolicy failurePolicy = FailurePolicy::kFail;  // the v1 default
  int timeoutSeconds = 10;                             // the v1 default; 1 to 30
  std::string sideEffects = "None";  // None | NoneOnDryRun: called on dry runs; Some | Unknown:
                                     // a dry-run request that matches is refused (400)
};

// One call the fake made to a webhook.
struct WebhookCall {
  std::string webhook;  // its name
  Json review;          // the AdmissionReview sent (request.uid, object, oldObject, ...)
  int httpStatus = 0;   // the webhook's HTTP status; 0 when none came back
  std::string error;    // why the call failed ("failed calling webhook ..."), "" when it did not
  bool allowed = false;
  std::vector<std::string> warnings;
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
  // A lagging watch cache: from holdWatchEvents() on, open watches get no
  // events (and no bookmarks) while reads and writes are served as usual;
  // releaseWatchEvents() sends each watch what it missed, in order. Watches
  // opened meanwhile start from the current state and then wait too.
  void holdWatchEvents();
  void releaseWatchEvents();
  // How often watches that asked allowWatchBookmarks=true get a BOOKMARK
  // event (default 1 s).
  void setBookmarkInterval(std::chrono::milliseconds interval);
  // A restart. stopServing() closes the listener and every connection at
  // once: watch streams end mid-stream (no terminating chunk) and new
  // connections are refused. The store, the watch history (compact() it too
  // for a restart that lost the watch cache) and the certificates are kept.
  // resumeServing() listens again on the same port; false (and *error) when
  // the port cannot be bound again.
  void stopServing();
  bool resumeServing(std::string* error = nullptr);

  // Admission. Adds a validating webhook, or replaces the one with the same
  // name. Like kube-apiserver 1.24+, every HTTP create, update, patch and
  // delete of a resource one of its rules matches is sent to it as an
  // admission.k8s.io/v1 AdmissionReview (after the patch is applied and the
  // request validated, before anything is stored): a denial answers the
  // webhook's status (code below 400 made 400; message `admission webhook
  // "<name>" denied the request: <message>`) and stores nothing; its
  // warnings come back as `Warning: 299 - "<text>"` headers; a webhook that
  // cannot be called, times out or answers something invalid fails the
  // request with 500 `Internal error occurred: failed calling webhook
  // "<name>": ...` under failurePolicy Fail and is skipped under Ignore.
  // apply(), remove() and deletecollection do not call webhooks. The call is
  // made without holding the fake's lock and off its I/O thread, so other
  // requests (the webhook's own, too) are served meanwhile.
  void setValidatingWebhook(const ValidatingWebhook& webhook);
  void clearValidatingWebhooks();
  // Every webhook call since the start or the last clearRequests(), in order.
  std::vector<WebhookCall> webhookCalls() const;

  std::vector<RecordedRequest> requests() const;
  // Forgets the recorded requests and webhook calls.
  void clearRequests();
  std::int64_t resourceVersion() const;  // the current global resourceVersion

  class Impl;

 private:
  explicit FakeApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace slogate::fakes
