// fake_apiserver_core.h — ApiCore: the fake Kubernetes API server's state and
// REST semantics without any networking (FakeApiServer puts HTTPS in front of
// it), plus the resource table (ResourceType) it serves.
//
// ApiCore takes a parsed HTTP request and answers it: authentication,
// injected failures, discovery, and get/list/watch/create/update/patch/delete
// on an in-memory store with one global resourceVersion counter and an event
// history for watches. A watch request registers a WatchSink that receives
// the event lines (initial ones before handle() returns, later ones as writes
// happen on any thread) until stopWatch(), closeWatches() or the end of a 410
// stream. Writes pass validating admission webhooks: handle() runs the
// request once to find the AdmissionReviews to send, sends them through the
// WebhookTransport with its lock released, and runs the request again with
// the answers (again when the object changed meanwhile, as the real
// server's update retry loop does).
//
//   ApiCore core(options, "127.0.0.1:6443");
//   WatchStart watch;
//   HttpResponse r = core.handle({"GET", "/api/v1/namespaces/shop/events?watch=1", "", "",
//                                 "Bearer test-token", ""}, sink, &watch);
//   // watch.started: r is only the head of a chunked stream; events go to sink
//
// Thread safety: all methods may be called concurrently; one mutex guards the
// state. WatchSink callbacks run with that mutex held and must not call back
// into the core; the WebhookTransport runs without it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/json.h"
#include "fakes/fake_apiserver.h"

namespace slogate::fakes {

// One served resource. Add a row to the table in fake_apiserver_core.cc to
// serve another one.
struct ResourceType {
  std::string group;     // "" for the core group
  std::string version;   // "v1"
  std::string kind;      // "Deployment"
  std::string plural;    // "deployments" (the URL segment)
  std::string singular;  // "deployment"
  bool namespaced = true;
  bool statusSubresource = false;   // has /status; the main resource ignores status
  bool customResource = false;      // CRD-backed: no strategic merge patch; lists keep item kinds
  bool generation = false;          // maintains metadata.generation
  bool createOnUpdate = false;      // PUT of a missing object creates it
  bool unconditionalUpdate = true;  // PUT without metadata.resourceVersion is allowed
  std::vector<std::string> shortNames;
  // Field selector labels besides metadata.name and metadata.namespace, each
  // with the dotted path it reads ("source" -> "source.component").
  std::vector<std::pair<std::string, std::string>> fieldLabels;

  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "rollouts.argoproj.io", or "events" for the core group.
  std::string groupResource() const { return group.empty() ? plural : plural + "." + group; }
};

// The served resources, in discovery order.
const std::vector<ResourceType>& resourceTypes();

struct HttpRequest {
  std::string method;
  std::string target;  // path with optional "?query"
  std::string contentType;
  std::string accept;
  std::string authorization;
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond Content-Type
};

// The receiving end of a watch stream (implemented by the HTTP layer).
class WatchSink {
 public:
  virtual ~WatchSink() = default;
  // One event: a JSON object followed by '\n'.
  virtual void send(std::string line) = 0;
  // No more events will come: end the stream after the queued lines.
  virtual void finish() = 0;
};

// Filled by handle() when the request became a watch: the response is then
// only the status line and headers of a chunked stream.
struct WatchStart {
  bool started = false;
  int timeoutSeconds = 0;  // end the stream after this long; 0 = never
};

// What came back from POSTing an AdmissionReview to a webhook.
struct WebhookReply {
  std::string error;  // a transport failure worded like Go's net/http
                      // ("Post \"URL\": context deadline exceeded"); "" when a response came
  int status = 0;     // HTTP status
  std::string contentType;
  std::string body;
};

// Sends `body` (an AdmissionReview) to `webhook.url` within its timeout.
// Implemented by the HTTP layer; called without the core's lock held.
using WebhookTransport =
    std::function<WebhookReply(const ValidatingWebhook& webhook, const std::string& body)>;

class ApiCore {
 public:
  ApiCore(FakeApiServerOptions options, std::string serverAddress);
  ~ApiCore();
  ApiCore(const ApiCore&) = delete;
  ApiCore& operator=(const ApiCore&) = delete;

  // Answers one request. `sink` receives the events when it is a watch. A
  // write that matches a validating webhook calls it through the transport
  // (see setWebhookTransport) with the lock released, so handle() may block
  // up to the webhooks' timeouts: call it off the I/O thread when
  // mayCallWebhooks() says so.
  HttpResponse handle(const HttpRequest& request, const std::shared_ptr<WatchSink>& sink,
                      WatchStart* watch);
  // True when `method` is a write and some validating webhook is configured.
  bool mayCallWebhooks(const std::string& method) const;
  // Without a transport every webhook call fails ("no webhook transport").
  void setWebhookTransport(WebhookTransport transport);
  void setValidatingWebhook(const ValidatingWebhook& webhook);
  void clearValidatingWebhooks();
  std::vector<WebhookCall> webhookCalls() const;
  // Unregisters a sink (the stream ended or the connection closed).
  void stopWatch(const WatchSink* sink);
  // Finishes and unregisters every sink.
  void closeWatches();
  // Unregisters every sink without finishing it (shutdown).
  void dropWatches();
  // Sends a BOOKMARK to every watch that allowed bookmarks (none while
  // events are held: a bookmark says every earlier event was sent).
  void emitBookmarks();
  // A lagging watch cache: while held, events are queued per watch instead
  // of sent; release sends what each watch missed, in order.
  void holdWatchEvents();
  void releaseWatchEvents();

  Json apply(const Json& object);
  std::optional<Json> get(const std::string& apiVersion, const std::string& kind,
                          const std::string& ns, const std::string& name) const;
  bool remove(const std::string& apiVersion, const std::string& kind, const std::string& ns,
              const std::string& name);
  std::vector<Json> list(const std::string& apiVersion, const std::string& kind) const;
  void compact();
  void failNext(int status, int count, const std::string& retryAfter);
  void setBookmarkInterval(std::chrono::milliseconds interval);
  std::chrono::milliseconds bookmarkInterval() const;
  std::vector<RecordedRequest> requests() const;
  void clearRequests();
  std::int64_t resourceVersion() const;

  // The outcome of one REST operation: an HTTP status and a JSON body (the
  // object, a list, or a Status).
  struct Outcome {
    int code = 200;
    Json body;
  };
  // Outcome::code of a write that waits for webhook answers (never sent).
  static constexpr int kAdmissionPending = -1;

 private:
  using Key = std::pair<std::string, std::string>;  // namespace, name
  using Objects = std::map<Key, Json>;

  struct HistoryEvent {
    std::int64_t rv = 0;
    std::size_t type = 0;
    std::string eventType;  // ADDED, MODIFIED, DELETED
    Json object;            // the new state (for DELETED: the last state at rv)
    std::optional<Json> previous;
  };

  struct LabelRequirement {
    enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kNotExists, kGreater, kLess };
    std::string key;
    Op op = Op::kEquals;
    std::vector<std::string> values;
  };
  struct FieldRequirement {
    std::string path;  // dotted path into the object
    bool equals = true;
    std::string value;
  };
  struct Filter {
    std::size_t type = 0;
    std::string ns;  // "" = all namespaces
    std::vector<LabelRequirement> labels;
    std::vector<FieldRequirement> fields;
  };
  struct Watcher {
    std::shared_ptr<WatchSink> sink;
    Filter filter;
    bool bookmarks = false;
    std::vector<std::string> held;  // event lines queued by holdWatchEvents()
  };

  // The admission state of the HTTP request being handled: webhook reviews
  // to send or already answered, warnings, and values that must not change
  // between the passes of one request (defined in fake_apiserver_core.cc).
  struct Admission;

  // Request handling (lock held).
  // Authentication, injected failures, authorization and Accept: a response
  // when the request stops here.
  std::optional<HttpResponse> authenticate(const HttpRequest& request, const std::string& path);
  HttpResponse route(const HttpRequest& request, const std::string& path,
                     const std::multimap<std::string, std::string>& query,
                     const std::shared_ptr<WatchSink>& sink, WatchStart* watch);
  HttpResponse discovery(const std::string& path) const;
  // /openapi/v3 and /openapi/v3/<group-version>: paths with the
  // fieldValidation parameter (so kubectl validates server-side) and schemas
  // that accept anything.
  HttpResponse openApiV3(const std::string& path) const;
  Outcome resourceRequest(const HttpRequest& request, std::size_t type, const std::string& ns,
                          bool allNamespaces, const std::string& name,
                          const std::string& subresource,
                          const std::multimap<std::string, std::string>& query,
                          const std::shared_ptr<WatchSink>& sink, WatchStart* watch);
  Outcome listObjects(std::size_t type, const std::string& ns,
                      const std::multimap<std::string, std::string>& query, bool table);
  Outcome startWatch(std::size_t type, const std::string& ns,
                     const std::multimap<std::string, std::string>& query,
                     const std::shared_ptr<WatchSink>& sink, WatchStart* watch);
  Outcome create(std::size_t type, const std::string& ns, const Json& body, bool dryRun);
  Outcome update(std::size_t type, const std::string& ns, const std::string& name, const Json& body,
                 bool status, bool dryRun);
  Outcome patch(std::size_t type, const std::string& ns, const std::string& name,
                const std::string& contentType, const std::string& body, bool status,
                const std::multimap<std::string, std::string>& query, bool dryRun);
  Outcome deleteObject(std::size_t type, const std::string& ns, const std::string& name,
                       const std::string& body, bool dryRun);
  Outcome deleteCollection(std::size_t type, const std::string& ns,
                           const std::multimap<std::string, std::string>& query, bool dryRun);
  // Writes `next` over `existing` (update and patch): status-subresource
  // rules, generation, finalizers, no-op detection, commit.
  Outcome writeExisting(std::size_t type, const Json& existing, Json next, bool statusOnly,
                        bool keepStatus, bool dryRun);
  Outcome insertNew(std::size_t type, Json object, bool keepStatus, bool dryRun);
  Outcome deleteExisting(std::size_t type, const Json& existing, bool dryRun);
  // Validating admission of the write about to happen (lock held; a no-op
  // outside an HTTP request). nullopt: go on. Otherwise the request's answer:
  // a denial, a failed webhook call, or kAdmissionPending when webhooks must
  // be called first (handle() calls them and runs the request again).
  std::optional<Outcome> admit(std::size_t type, const std::string& operation, const Json& object,
                               const Json& oldObject);

  // State changes (lock held).
  Json commit(std::size_t type, const std::string& eventType, Json object,
              std::optional<Json> previous);
  void notify(const HistoryEvent& event);
  std::optional<Objects> snapshotAt(std::size_t type, std::int64_t rv) const;
  const Json* find(std::size_t type, const std::string& ns, const std::string& name) const;
  void ensureNamespace(const std::string& ns);
  std::string newUid();
  std::string randomSuffix();

  // Selectors.
  static std::optional<std::string> parseLabelSelector(const std::string& text,
                                                       std::vector<LabelRequirement>* out);
  static std::optional<std::string> parseFieldSelector(const ResourceType& type,
                                                       const std::string& text,
                                                       std::vector<FieldRequirement>* out);
  static bool matches(const Filter& filter, const Json& object);
  std::optional<std::string> eventLine(const Watcher& watcher, const HistoryEvent& event) const;
  std::string bookmarkLine(std::size_t type, bool initialEventsEnd) const;

  const FakeApiServerOptions options_;
  const std::string serverAddress_;

  mutable std::mutex mu_;
  std::vector<Objects> objects_;  // indexed like resourceTypes()
  std::deque<HistoryEvent> history_;
  std::int64_t rv_ = 0;
  bool holdEvents_ = false;
  std::int64_t compactedRv_ = 0;  // events at or below this are forgotten
  std::vector<Watcher> watchers_;
  int failStatus_ = 0;
  int failCount_ = 0;
  std::string failRetryAfter_;
  std::chrono::milliseconds bookmarkInterval_{1000};
  std::vector<RecordedRequest> requests_;
  std::vector<std::uint64_t> requestIds_;  // parallel to requests_
  std::uint64_t nextRequestId_ = 0;
  std::vector<ValidatingWebhook> webhooks_;
  WebhookTransport webhookTransport_;
  std::vector<WebhookCall> webhookCalls_;
  Admission* admission_ = nullptr;  // set only while handle() holds the lock
  std::mt19937_64 random_;
};

}  // namespace slogate::fakes
