#include "kube/client.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/secret_file.h"

namespace slogate::kube {
namespace {

const char* contentTypeOf(PatchType type) {
  switch (type) {
    case PatchType::kMerge:
      return "application/merge-patch+json";
    case PatchType::kJson:
      return "application/json-patch+json";
    case PatchType::kStrategic:
      return "application/strategic-merge-patch+json";
  }
  return "application/merge-patch+json";
}

// The answer's Retry-After, carried in the message for retryAfterSeconds().
Status withRetryAfter(Status st, const std::string& retryAfter) {
  if (retryAfter.empty()) return st;
  return Status(st.code(), st.message() + " (retry after " + retryAfter + " s)");
}

std::string query(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string q;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    q += (q.empty() ? "?" : "&") + k + "=" + net::urlEncode(v);
  }
  return q;
}

}  // namespace

Status statusFromResponse(int httpStatus, const std::string& body, const std::string& what) {
  std::string message;
  if (auto j = Json::parse(body); j.ok() && (*j)["kind"].text() == "Status") {
    message = (*j)["message"].text();
    if (message.empty()) message = (*j)["reason"].text();
  } else {
    message = body.substr(0, 200);
  }
  const std::string text = what + ": HTTP " + std::to_string(httpStatus) + ": " + message;
  switch (httpStatus) {
    case 400:
    case 415:
    case 422:
      return {Code::kInvalidArgument, text};
    case 401:
    case 403:
      return {Code::kPermissionDenied, text};
    case 404:
      return {Code::kNotFound, text};
    case 409:
      return {Code::kConflict, text};
    case 410:
      return {Code::kExpired, text};
    default:
      return {Code::kUnavailable, text};
  }
}

std::optional<int> retryAfterSeconds(const Status& status) {
  const std::string& m = status.message();
  const auto at = m.rfind("(retry after ");
  if (at == std::string::npos) return std::nullopt;
  return std::atoi(m.c_str() + at + 13);
}

Result<ClusterConfig> inClusterConfig(const std::string& root) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || port == nullptr) {
    return invalidArgument(
        "not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset); give kubeconfig in the "
        "config file");
  }
  const std::string dir = root + "/var/run/secrets/kubernetes.io/serviceaccount";
  ClusterConfig c;
  const std::string h = host;
  c.server = "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;
  c.tokenFile = dir + "/token";
  c.caFile = dir + "/ca.crt";
  if (auto t = readSecretFile(c.tokenFile, "the service account token"); !t) return t.status();
  if (auto ns = readSecretFile(dir + "/namespace", "the pod namespace")) c.defaultNamespace = *ns;
  return c;
}

Result<std::unique_ptr<KubeClient>> KubeClient::make(const ClusterConfig& config) {
  net::HttpClientOptions o;
  o.timeout = std::chrono::seconds(30);
  o.tls.caFile = config.caFile;
  o.tls.certFile = config.clientCertFile;
  o.tls.keyFile = config.clientKeyFile;
  o.tls.insecureSkipVerify = config.insecureSkipVerify;
  auto http = net::makeHttpClient(config.server, o);
  if (!http) return http.status().withContext("kubernetes API");
  o.timeout = std::chrono::seconds(360);  // longer than a watch's timeoutSeconds
  auto watchHttp = net::makeHttpClient(config.server, o);
  if (!watchHttp) return watchHttp.status().withContext("kubernetes API");
  return std::make_unique<KubeClient>(config, std::move(*http), std::move(*watchHttp));
}

KubeClient::KubeClient(ClusterConfig config, std::unique_ptr<net::HttpClient> http,
                       std::unique_ptr<net::HttpClient> watchHttp)
    : config_(std::move(config)), http_(std::move(http)), watchHttp_(std::move(watchHttp)) {}

Result<net::Headers> KubeClient::headers(const std::string& contentType) const {
  net::Headers h{{"Accept", "application/json"}, {"User-Agent", "slogate"}};
  if (!contentType.empty()) h.emplace_back("Content-Type", contentType);
  std::string token = config_.token;
  if (!config_.tokenFile.empty()) {
    auto t = readSecretFile(config_.tokenFile, "the bearer token");
    if (!t) return t.status();
    token = *t;
  }
  if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
  return h;
}

Result<Json> KubeClient::call(const std::string& method, const std::string& target,
                              const std::string& contentType, const std::string& body) {
  auto h = headers(contentType);
  if (!h) return h.status();
  const std::string what = method + " " + target;
  auto resp = http_->send({method, target, std::move(*h), body});
  if (!resp) return resp.status();
  if (resp->status >= 300) {
    return withRetryAfter(statusFromResponse(resp->status, resp->body, what),
                          resp->header("Retry-After"));
  }
  auto j = Json::parse(resp->body);
  if (!j) return internalError(what + ": answer is not JSON: " + j.status().message());
  return j;
}

Result<Json> KubeClient::get(const ResourceRef& r, const std::string& ns, const std::string& name) {
  return call("GET", r.objectPath(ns, name), "", "");
}

Result<Json> KubeClient::list(const ResourceRef& r, const std::string& ns,
                              const ListOptions& options) {
  return call("GET",
              r.collectionPath(ns) + query({{"labelSelector", options.labelSelector},
                                            {"fieldSelector", options.fieldSelector},
                                            {"resourceVersion", options.resourceVersion}}),
              "", "");
}

Result<Json> KubeClient::create(const ResourceRef& r, const std::string& ns, const Json& object) {
  return call("POST", r.collectionPath(ns), "application/json", object.dump());
}

Result<Json> KubeClient::update(const ResourceRef& r, const std::string& ns,
                                const std::string& name, const Json& object) {
  return call("PUT", r.objectPath(ns, name), "application/json", object.dump());
}

Result<Json> KubeClient::patch(const ResourceRef& r, const std::string& ns, const std::string& name,
                               PatchType type, const std::string& body,
                               const std::string& subresource) {
  std::string path = r.objectPath(ns, name);
  if (!subresource.empty()) path += "/" + subresource;
  return call("PATCH", path, contentTypeOf(type), body);
}

Status KubeClient::remove(const ResourceRef& r, const std::string& ns, const std::string& name) {
  auto res = call("DELETE", r.objectPath(ns, name), "", "");
  return res.ok() ? Status::ok() : res.status();
}

Status KubeClient::watch(const ResourceRef& r, const std::string& ns, const WatchOptions& options,
                         const std::function<bool(const WatchEvent&)>& onEvent,
                         net::Cancel* cancel) {
  auto h = headers("");
  if (!h) return h.status();
  const std::string target =
      r.collectionPath(ns) + query({{"watch", "1"},
                                    {"resourceVersion", options.resourceVersion},
                                    {"allowWatchBookmarks", options.bookmarks ? "true" : ""},
                                    {"timeoutSeconds", std::to_string(options.timeoutSeconds)},
                                    {"labelSelector", options.labelSelector}});
  const std::string what = "GET " + target;
  int status = 0;
  std::string retryAfter;  // a throttled (429) watch is retried after this, like any request
  std::string errorBody;
  std::string pending;  // bytes of an unfinished line
  Status result = Status::ok();
  net::StreamHandler handler;
  handler.onHeaders = [&](int code, const net::Headers& headers) {
    status = code;
    retryAfter = net::findHeader(headers, "Retry-After");
  };
  handler.onData = [&](std::string_view data) {
    if (status >= 300) {
      errorBody.append(data.substr(0, 4096 - std::min<std::size_t>(errorBody.size(), 4096)));
      return true;
    }
    // `pending` holds no newline yet: only the new bytes are searched, so an
    // event that arrives in many small pieces costs its length, not its
    // length squared.
    std::size_t from = pending.size();
    pending.append(data);
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending.find('\n', from)) != std::string::npos;
         start = from = nl + 1) {
      const std::string_view line(pending.data() + start, nl - start);
      if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
      auto j = Json::parse(line);
      if (!j) {
        result = internalError(what + ": bad watch event: " + j.status().message());
        return false;
      }
      WatchEvent ev{(*j)["type"].text(), (*j)["object"]};
      // As client-go's decoder: only the five event types the API defines,
      // each carrying an object.
      if ((ev.type != "ADDED" && ev.type != "MODIFIED" && ev.type != "DELETED" &&
           ev.type != "BOOKMARK" && ev.type != "ERROR") ||
          !ev.object.isObject()) {
        result = internalError(what + ": bad watch event: type " + Json::string(ev.type).dump() +
                               (ev.object.isObject() ? "" : " without an object"));
        return false;
      }
      if (ev.type == "ERROR") {
        const auto code = ev.object["code"].asInt().value_or(500);
        result = statusFromResponse(static_cast<int>(code), ev.object.dump(), what);
        return false;
      }
      if (!onEvent(ev)) return false;
    }
    pending.erase(0, start);
    if (pending.size() > (64u << 20)) {
      result = internalError(what + ": watch event larger than 64 MiB");
      return false;
    }
    return true;
  };
  auto streamed = watchHttp_->stream({"GET", target, std::move(*h), ""}, handler, cancel);
  if (!streamed) return streamed.status();
  if (status >= 300) return withRetryAfter(statusFromResponse(status, errorBody, what), retryAfter);
  return result;
}

}  // namespace slogate::kube
