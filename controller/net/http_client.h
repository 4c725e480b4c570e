// http_client.h — HttpClient: the one outbound HTTP interface.
//
// Readers (prometheus/, later kube/) talk HTTP through this interface so that
// no header outside net/ includes cpprestsdk, and tests can swap in a fake
// transport. One client serves one base URL ("https://host:port/prefix");
// requests give the path and query relative to it.
//
//   auto client = net::makeHttpClient("http://127.0.0.1:9090", {});
//   auto resp = (*client)->send({.method = "GET", .target = "/-/ready"});
//
// Errors: a transport failure (refused, reset, TLS) is kUnavailable, a timeout
// kDeadline; any HTTP status is a response, not an error.
//
// Thread safety: send() may be called from several threads at once.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace slogate::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

// ASCII case-insensitive equality (header names, tokens).
bool equalsIgnoreCase(std::string_view a, std::string_view b);
// The first header with this name (case-insensitive), or "".
std::string findHeader(const Headers& headers, std::string_view name);

struct HttpRequest {
  std::string method = "GET";
  std::string target;  // path and query, e.g. "/api/v1/query?query=up"
  Headers headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;
  // The first header with this name (case-insensitive), or "".
  std::string header(std::string_view name) const;
};

struct TlsOptions {
  std::string caFile;               // PEM bundle to verify the server; "" = system roots
  std::string certFile;             // client certificate (PEM), optional
  std::string keyFile;              // its key (PEM), optional
  bool insecureSkipVerify = false;  // for tests and labs only
};

struct HttpClientOptions {
  std::chrono::milliseconds timeout{10'000};  // whole request
  TlsOptions tls;
  std::size_t maxResponseBytes = 256u << 20;  // larger bodies are an error
};

// Stops a streaming request from another thread (shutdown, lost leadership).
// Thread safety: cancel() and cancelled() may be called from any thread.
class Cancel {
 public:
  Cancel();
  ~Cancel();
  Cancel(const Cancel&) = delete;
  Cancel& operator=(const Cancel&) = delete;
  void cancel();
  bool cancelled() const;
  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;  // the transport's cancellation source
};

// Receives a streamed response: the status and headers once, then the body
// in pieces as they arrive. Return false from onData to stop reading.
struct StreamHandler {
  std::function<void(int status, const Headers& headers)> onHeaders;
  std::function<bool(std::string_view data)> onData;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
  // Sends `request` and streams the body to `handler` until the server ends
  // it, onData returns false, an error occurs or `cancel` fires. Returns the
  // HTTP status. The client's timeout applies to each wait for data, so a
  // long watch with periodic events never times out while a dead one does.
  virtual Result<int> stream(const HttpRequest& request, const StreamHandler& handler,
                             Cancel* cancel) = 0;
};

// A client over cpprestsdk for `baseUrl` (http or https). Fails on a
// malformed URL or unreadable TLS files.
Result<std::unique_ptr<HttpClient>> makeHttpClient(const std::string& baseUrl,
                                                   const HttpClientOptions& options);

// RFC 3986 percent-encoding of a query parameter value.
std::string urlEncode(std::string_view value);

}  // namespace slogate::net
