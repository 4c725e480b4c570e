// http_server.h — HttpServer: the one inbound HTTP(S) server.
//
// slogate serves the admission webhook and the Argo Rollouts verdict endpoint
// over TLS, and health and metrics over plain HTTP, through this class. The
// implementation (Boost.Beast, Asio, OpenSSL) lives in http_server_beast.cc;
// this header is plain C++ so webhook/ and api/ never compile Beast.
//
// What it does for every handler, so handlers only see whole requests:
//   - HTTP/1.1 keep-alive (Connection: close honoured), Content-Length and
//     chunked request bodies, Expect: 100-continue;
//   - limits: a header over maxHeaderBytes is answered 431, a body over
//     maxBodyBytes 413, a malformed request 400, all with a JSON body
//     {"error":"..."} and the connection closed; a handler that throws
//     becomes a 500 {"error":"internal error"} and the connection lives on;
//   - timeouts: readTimeout bounds the TLS handshake and the reading of one
//     request (from accept on a fresh connection, from the request's first
//     byte on a kept-alive one), so a slowloris client is dropped; idleTimeout
//     bounds the wait for the next request; writeTimeout a response write;
//   - TLS 1.2+ only (Mozilla "intermediate" ciphers, no compression, no
//     renegotiation); cert and key files are polled and reloaded when they
//     change: new handshakes use the new pair, a broken pair is logged and
//     ignored (the old one keeps serving).
//
//   net::ServerOptions opts;
//   opts.listen = "0.0.0.0:8443";
//   opts.certFile = "/tls/tls.crt";
//   opts.keyFile = "/tls/tls.key";
//   auto server = net::HttpServer::start(opts, [](const net::ServerRequest& req) {
//     net::ServerResponse resp;
//     if (req.path == "/healthz") resp.body = R"({"ok":true})";
//     else resp = {404, {}, R"({"error":"not found"})"};
//     return resp;
//   });
//   if (!server) return server.status();   // names the file or the address
//   ...
//   (*server)->stop();                      // graceful; also done by the destructor
//
// Thread safety: the Handler is called on the server's I/O threads (several
// at once when threads > 1) and must not block long: a slow handler delays
// every connection served by its thread. All HttpServer methods may be called
// from any thread except from inside a Handler (stop() would wait for itself).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "net/http_client.h"  // Headers

namespace slogate::net {

// One request, read whole. Strings are as received (not percent-decoded).
struct ServerRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as sent: "/v1/admission?timeout=10s"
  std::string path;    // target up to '?'
  std::string query;   // target after '?', "" when none
  Headers headers;     // in the order received
  std::string body;    // de-chunked
  std::string remote;  // peer "ip:port"
  // The first header with this name (case-insensitive), or "".
  std::string header(std::string_view name) const;
};

// What a handler answers. The server sets Content-Length and Connection
// itself; Content-Type defaults to application/json. A "Connection: close"
// header closes the connection after this response.
struct ServerResponse {
  int status = 200;
  Headers headers;
  std::string body;
};

// Called once per request on a server thread; exceptions become a 500.
using Handler = std::function<ServerResponse(const ServerRequest&)>;

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port ("[::1]:8443", ":8443" = all); port 0 = free
  std::string certFile;                // both empty = plain HTTP; both set = TLS 1.2+
  std::string keyFile;                 // PEM private key for certFile
  std::size_t maxHeaderBytes = std::size_t{16} * 1024;  // request line + headers; larger -> 431
  std::size_t maxBodyBytes = 1u << 20;                  // larger -> 413
  std::chrono::milliseconds readTimeout{10'000};        // handshake / one whole request
  std::chrono::milliseconds writeTimeout{10'000};       // one whole response
  std::chrono::milliseconds idleTimeout{60'000};        // between keep-alive requests
  int threads = 1;                                      // I/O threads (> 1: strand per connection)
  // Before an I/O thread sleeps in epoll it keeps polling for this long after
  // its last event (0 = sleep at once). Spends CPU for latency: on a VM the
  // host may take a millisecond or more to run a vCPU that went idle, which a
  // thread that never sleeps between requests does not wait for. At or above
  // the gap between requests the thread never sleeps: one core busy.
  std::chrono::microseconds idlePoll{0};
  std::chrono::milliseconds certReloadInterval{1'000};  // poll period; <= 0 = never reload
  // Receives one line per notable event (cert reloaded or rejected, handler
  // threw, accept failed); empty = stderr. Called from server threads.
  std::function<void(const std::string& line)> log;
};

class HttpServer {
 public:
  // Binds, loads the certificate and starts the threads. Errors name the file
  // (kInvalidArgument) or the address (kUnavailable, e.g. already in use).
  static Result<std::unique_ptr<HttpServer>> start(const ServerOptions& options, Handler handler);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Graceful and idempotent: stops accepting, closes idle keep-alive
  // connections, lets requests in flight finish (their responses carry
  // Connection: close) for up to `grace`, then closes what is left and joins
  // the threads. A handler still running is waited for: it cannot be
  // interrupted. After stop() returns the handler is never called again.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

  int port() const;         // the bound port (useful with port 0)
  std::string url() const;  // "https://127.0.0.1:PORT" (or http://), reachable from this host

  // Counters for metrics and tests, monotonic.
  std::uint64_t certReloads() const;  // successful reloads after start
  std::uint64_t requests() const;     // requests handed to the handler
  std::uint64_t rejected() const;     // refused by the server: 400/413/431, read
                                      // timeouts, failed TLS handshakes
  std::uint64_t connections() const;  // accepted connections

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;  // the Beast/Asio server
};

}  // namespace slogate::net
