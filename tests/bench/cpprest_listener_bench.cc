// cpprest_listener_bench — the controller's HTTP surface (api::route: the
// admission webhook, the verdict endpoint, health, metrics) behind either
// server implementation, on equal terms, for `make bench-webhook`:
//
//   --impl beast    net::HttpServer (Boost.Beast), what `slogate controller` runs;
//   --impl cpprest  cpprestsdk's web::http::experimental::listener::http_listener
//                   over TLS (Boost.Asio on Linux), configured as close to the
//                   Beast server as cpprestsdk allows.
//
//   build/tests/bench/cpprest_listener_bench [--impl cpprest|beast] [--port N] [--threads 1]
//       [--dir DIR] [--slos 100] [--max-body-bytes 1048576] [--max-header-bytes 16384]
//       [--idle-poll-us 0]   (beast only: net::ServerOptions::idlePoll)
//   build/tests/bench/cpprest_listener_bench --write-body FILE [--fixture YAML]
//
// Serving: generates a throwaway CA and an ECDSA P-256 server certificate in
// --dir (default: a temporary directory, removed at exit), prints the URL on
// the first line and "ca <file>" on the second, and serves until
// SIGINT/SIGTERM; then prints what it answered. Both implementations share
// one snapshot: --slos SLOs over 10 namespaces, among them shop/rollout-canary
// — frozen (budget spent), targeting the Rollout rollout-canary — and
// shop/checkout (approve), so the body written by --write-body (an UPDATE of
// Argo Rollouts' own example tests/fixtures/argo/rollout-canary.yaml with a
// new image, as kube-apiserver sends it) takes the webhook's full path: a new
// revision of a gated Rollout, judged and denied with a message.
//
// What cpprestsdk's listener offers and lacks, as found building this (its
// asio server, cpprestsdk 2.10.18, Release/src/http/listener/http_server_asio.cpp):
//   - TLS: yes, through http_listener_config::set_ssl_context_callback, which
//     is called for every accepted connection with a fresh ssl::context (no
//     session resumption across connections; a handshake error is ignored and
//     the connection then fails on read). Everything is set in the callback:
//     TLS 1.2+, the Beast server's cipher list, no compression or renegotiation.
//   - cert reload: possible *because* the callback runs per connection: here
//     the parsed pair is cached and the files are re-checked at most once a
//     second; a broken pair is logged and the old one kept (as the Beast server).
//   - keep-alive: yes (HTTP/1.1; Connection: close honoured both ways).
//   - header limit: none. It reads up to the blank line into an unbounded
//     buffer; the 431 below is decided after the fact, memory already spent.
//   - body limit: none. The handler runs after the header, so a declared
//     Content-Length over the limit is answered 413 here — but the listener
//     sends no response before the whole request body has arrived ("before
//     sending response, the full incoming message need to be processed"), so
//     an oversize sender that does not send everything is never answered, and
//     one that does is read to the end. A chunked body is buffered whole
//     before the handler can count it.
//   - timeouts: none. No handshake, read, idle or write deadline
//     (http_listener_config::set_timeout is not used by the asio listener): a
//     slowloris client holds its connection forever.
//   - threads: the shared cpprestsdk thread pool (crossplat::threadpool,
//     sized here by --threads before first use) runs the sockets, pplx
//     continuations and the handler.
//   - shutdown: http_listener::close() runs as a task on that pool and waits
//     there for every open connection to finish, which needs the pool: with
//     one thread and any connection open (even an idle keep-alive one) it
//     never returns. No grace period or drain either. Bounded here (3 s,
//     then exit).
#include <cpprest/http_listener.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pplx/threadpool.h>
#include <pthread.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "api/router.h"
#include "base/json.h"
#include "bench/latency_histogram.h"
#include "config/slo_document.h"
#include "engine/evaluate.h"
#include "harness/yaml_json.h"
#include "metrics/metrics.h"
#include "net/http_server.h"
#include "net/test_pki.h"
#include "webhook/admission.h"

namespace slogate {
namespace {

namespace whttp = web::http;
using web::http::experimental::listener::http_listener;
using web::http::experimental::listener::http_listener_config;
using Clock = std::chrono::steady_clock;

// The Beast server's TLS 1.2 suites (Mozilla "intermediate" without DHE).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr std::chrono::seconds kCertPoll{1};

int usage() {
  std::fprintf(stderr,
               "usage: cpprest_listener_bench [--impl cpprest|beast] [--port N] [--threads N] "
               "[--dir DIR]\n"
               "           [--slos N] [--max-body-bytes N] [--max-header-bytes N] "
               "[--idle-poll-us N]\n"
               "       cpprest_listener_bench --write-body FILE [--fixture YAML]\n");
  return 2;
}

// ------------------------------------------------------------ the request body

Json withMetadata(Json object, const std::string& resourceVersion) {
  Json meta = object["metadata"];
  meta.set("namespace", Json::string("shop"));
  meta.set("uid", Json::string("0a6e1c52-1c3e-4a7e-9a47-3f1b2f6c8d11"));
  meta.set("resourceVersion", Json::string(resourceVersion));
  meta.set("generation", Json::number("7"));
  meta.set("creationTimestamp", Json::string("2026-11-02T08:15:00Z"));
  object.set("metadata", meta);
  return object;
}

Json gvk(const std::string& group, const std::string& version, const std::string& kind) {
  Json k = Json::object();
  k.set("group", Json::string(group));
  k.set("version", Json::string(version));
  k.set("kind", Json::string(kind));
  return k;
}

int writeBody(const std::string& fixture, const std::string& file) {
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(fixture);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cpprest_listener_bench: %s: %s\n", fixture.c_str(), e.what());
    return 1;
  }
  const Json old = withMetadata(harness::yamlToJson(doc), "123456");
  YAML::Node changed = YAML::Clone(doc);
  changed["spec"]["template"]["spec"]["containers"][0]["image"] = "argoproj/rollouts-demo:yellow";
  const Json object = withMetadata(harness::yamlToJson(changed), "123456");

  Json req = Json::object();
  req.set("uid", Json::string("705ab4f5-6393-11e8-b7cc-42010a800002"));
  req.set("kind", gvk("argoproj.io", "v1alpha1", "Rollout"));
  Json resource = Json::object();
  resource.set("group", Json::string("argoproj.io"));
  resource.set("version", Json::string("v1alpha1"));
  resource.set("resource", Json::string("rollouts"));
  req.set("resource", resource);
  req.set("requestKind", gvk("argoproj.io", "v1alpha1", "Rollout"));
  req.set("requestResource", resource);
  req.set("name", object["metadata"]["name"]);
  req.set("namespace", Json::string("shop"));
  req.set("operation", Json::string("UPDATE"));
  Json user = Json::object();
  user.set("username", Json::string("system:serviceaccount:ci:deployer"));
  user.set("uid", Json::string("3f9c2a1e-8d4b-4c6a-b1e2-7a5d9c0f4e21"));
  Json groups = Json::array();
  for (const char* g :
       {"system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated"}) {
    groups.push(Json::string(g));
  }
  user.set("groups", groups);
  req.set("userInfo", user);
  req.set("object", object);
  req.set("oldObject", old);
  req.set("dryRun", Json::boolean(false));
  Json options = Json::object();
  options.set("kind", Json::string("UpdateOptions"));
  options.set("apiVersion", Json::string("meta.k8s.io/v1"));
  options.set("fieldManager", Json::string("kubectl-client-side-apply"));
  options.set("fieldValidation", Json::string("Strict"));
  req.set("options", options);
  Json review = Json::object();
  review.set("kind", Json::string("AdmissionReview"));
  review.set("apiVersion", Json::string("admission.k8s.io/v1"));
  review.set("request", req);
  const std::string text = review.dump();
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) {
    std::fprintf(stderr, "cpprest_listener_bench: cannot write %s\n", file.c_str());
    return 1;
  }
  std::printf("%s: %zu bytes (UPDATE of %s with a new image)\n", file.c_str(), text.size(),
              fixture.c_str());
  return 0;
}

// ------------------------------------------------------------ the snapshot

std::shared_ptr<const gate::SloEntry> entry(const std::string& ns, const std::string& name,
                                            const std::string& target, bool frozen) {
  const std::string doc =
      "apiVersion: slogate.dev/v1alpha1\nkind: ServiceLevelObjective\n"
      "metadata: {name: " +
      name + ", namespace: " + ns + "}\nspec:\n  target: {name: " + target +
      "}\n  indicators:\n    errors: {objective: \"99.9\", total: "
      "http_requests_total, bad: http_errors_total}\n";
  auto slos = config::parseSloDocuments(doc, "bench.yaml");
  if (!slos) throw std::runtime_error(slos.status().toString());  // main prints it
  constexpr engine::Minutes kNow = 29'000'000;
  engine::SloState state = engine::SloState::start(slos->front(), kNow);
  state.series[0].record(1, kNow, 1000, frozen ? 1000 : 0);
  auto e = std::make_shared<gate::SloEntry>();
  e->ns = ns;
  e->name = name;
  e->targetRollout = target;
  e->verdict = std::make_shared<engine::Verdict>(engine::evaluate(state));
  e->evaluatedAtUnix = kNow * 60;
  if (frozen) {
    e->frozenSinceKnown = true;
    e->frozenSince = "2026-11-03T10:47:00Z";
  }
  return e;
}

std::shared_ptr<const gate::Snapshot> makeSnapshot(int slos) {
  auto s = std::make_shared<gate::Snapshot>();
  s->set("shop/rollout-canary", entry("shop", "rollout-canary", "rollout-canary", true));
  s->set("shop/checkout", entry("shop", "checkout", "checkout", false));
  for (int i = 2; i < slos; ++i) {
    const std::string ns = "team-" + std::to_string(i % 10);
    const std::string name = "service-" + std::to_string(i);
    s->set(ns + "/" + name, entry(ns, name, name, i % 20 == 0));
  }
  return s;
}

// ------------------------------------------------------------ shared handler

struct Counters {
  std::array<std::atomic<std::uint64_t>, 6> byClass{};  // index status/100
  void count(int status) { ++byClass[static_cast<std::size_t>(std::clamp(status / 100, 0, 5))]; }
  std::string summary() const {
    return "2xx " + std::to_string(byClass[2].load()) + ", 4xx " +
           std::to_string(byClass[4].load()) + ", 5xx " + std::to_string(byClass[5].load());
  }
};

struct Bench {
  std::shared_ptr<const gate::Snapshot> snapshot;
  metrics::Metrics metrics{"bench"};
  std::unique_ptr<webhook::AdmissionHandler> admission;
  std::unique_ptr<api::VerdictEndpoint> verdicts;
  api::RouterDeps deps;
  Counters counters;

  explicit Bench(int slos) : snapshot(makeSnapshot(slos)) {
    admission = std::make_unique<webhook::AdmissionHandler>(
        [this] { return snapshot; },
        [](const std::string&, const std::string&) { return std::vector<std::string>{}; },
        [](const webhook::OverrideNotice&) {});
    verdicts = std::make_unique<api::VerdictEndpoint>(
        [this] { return snapshot; }, std::chrono::seconds(45),
        [] { return std::int64_t{29'000'000} * 60 + 30; });
    deps.ready = [] { return true; };
    deps.admission = admission.get();
    deps.verdicts = verdicts.get();
    deps.metrics = &metrics;
  }

  net::ServerResponse handle(const net::ServerRequest& request) {
    const Clock::time_point started = Clock::now();
    net::ServerResponse out;
    try {
      out = api::route(deps, request);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cpprest_listener_bench: handler threw: %s\n", e.what());
      out = {500, {}, R"({"error":"internal error"})"};
    }
    counters.count(out.status);
    const auto took = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started);
    std::lock_guard<std::mutex> lock(handlerMu);
    handlerTime.record(static_cast<std::uint64_t>(took.count()));
    return out;
  }

  // The router's own time per request (µs): what the server implementation adds is the rest.
  std::string handlerSummary() {
    std::lock_guard<std::mutex> lock(handlerMu);
    char buf[160];
    std::snprintf(buf, sizeof buf, "handler µs p50 %.1f p99 %.1f p99.9 %.1f max %.1f",
                  static_cast<double>(handlerTime.percentile(50)) / 1e3,
                  static_cast<double>(handlerTime.percentile(99)) / 1e3,
                  static_cast<double>(handlerTime.percentile(99.9)) / 1e3,
                  static_cast<double>(handlerTime.max()) / 1e3);
    return buf;
  }

  std::mutex handlerMu;
  bench::LatencyHistogram handlerTime;  // guarded by handlerMu
};

struct Limits {
  std::size_t maxBodyBytes = std::size_t{1} << 20;
  std::size_t maxHeaderBytes = std::size_t{16} * 1024;
};

// ------------------------------------------------------------ cpprest TLS

// The certificate pair for new connections, re-read when a file changes.
class CertStore {
 public:
  CertStore(std::string certFile, std::string keyFile)
      : certFile_(std::move(certFile)), keyFile_(std::move(keyFile)) {}

  bool load() {
    std::lock_guard<std::mutex> lock(mu_);
    lastCheck_ = Clock::now();
    return reloadLocked();
  }

  std::uint64_t reloads() const { return reloads_.load(); }

  // Called by cpprestsdk with each connection's fresh context.
  void configure(boost::asio::ssl::context& ctx) {
    std::shared_ptr<const Pair> pair = current();
    SSL_CTX* native = ctx.native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    bool ok = SSL_CTX_set_cipher_list(native, kTls12Ciphers) == 1 && pair &&
              SSL_CTX_use_certificate(native, pair->leaf.get()) == 1;
    for (std::size_t i = 0; ok && i < pair->chain.size(); ++i) {
      // add1: the context takes its own reference.
      ok = SSL_CTX_add1_chain_cert(native, pair->chain[i].get()) == 1;
    }
    ok = ok && SSL_CTX_use_PrivateKey(native, pair->key.get()) == 1;
    if (!ok) {
      ERR_clear_error();
      // cpprestsdk drops the connection on a system_error from the callback.
      throw boost::system::system_error(
          boost::system::errc::make_error_code(boost::system::errc::io_error), "TLS configuration");
    }
  }

 private:
  struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
  };
  struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  struct Pair {
    std::unique_ptr<X509, X509Free> leaf;
    std::vector<std::unique_ptr<X509, X509Free>> chain;
    std::unique_ptr<EVP_PKEY, KeyFree> key;
  };
  struct Stamp {
    std::int64_t certMtime = 0, keyMtime = 0, certSize = -1, keySize = -1;
    bool operator==(const Stamp&) const = default;
  };

  static Stamp stamp(const std::string& cert, const std::string& key) {
    Stamp s;
    struct stat st {};
    if (stat(cert.c_str(), &st) == 0) {
      s.certMtime = st.st_mtim.tv_sec * 1'000'000'000 + st.st_mtim.tv_nsec;
      s.certSize = st.st_size;
    }
    if (stat(key.c_str(), &st) == 0) {
      s.keyMtime = st.st_mtim.tv_sec * 1'000'000'000 + st.st_mtim.tv_nsec;
      s.keySize = st.st_size;
    }
    return s;
  }

  std::shared_ptr<const Pair> current() {
    std::lock_guard<std::mutex> lock(mu_);
    const Clock::time_point now = Clock::now();
    if (now - lastCheck_ >= kCertPoll) {
      lastCheck_ = now;
      if (!(stamp(certFile_, keyFile_) == loaded_) && reloadLocked()) ++reloads_;
    }
    return pair_;
  }

  bool reloadLocked() {
    const Stamp s = stamp(certFile_, keyFile_);
    auto pair = std::make_shared<Pair>();
    std::unique_ptr<BIO, decltype(&BIO_free)> certBio(BIO_new_file(certFile_.c_str(), "r"),
                                                      &BIO_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> keyBio(BIO_new_file(keyFile_.c_str(), "r"),
                                                     &BIO_free);
    if (certBio && keyBio) {
      pair->leaf.reset(PEM_read_bio_X509(certBio.get(), nullptr, nullptr, nullptr));
      while (X509* extra = PEM_read_bio_X509(certBio.get(), nullptr, nullptr, nullptr)) {
        pair->chain.emplace_back(extra);
      }
      pair->key.reset(PEM_read_bio_PrivateKey(keyBio.get(), nullptr, nullptr, nullptr));
    }
    ERR_clear_error();  // the end of the chain reads as an error
    if (!pair->leaf || !pair->key ||
        X509_check_private_key(pair->leaf.get(), pair->key.get()) != 1) {
      ERR_clear_error();
      loaded_ = s;  // do not retry the same broken files every second
      std::fprintf(stderr, "cpprest_listener_bench: cannot load %s / %s; keeping the old pair\n",
                   certFile_.c_str(), keyFile_.c_str());
      return false;
    }
    pair_ = std::move(pair);
    loaded_ = s;
    return true;
  }

  const std::string certFile_;
  const std::string keyFile_;
  std::mutex mu_;
  std::shared_ptr<const Pair> pair_;  // guarded by mu_
  Stamp loaded_;                      // guarded by mu_
  Clock::time_point lastCheck_;       // guarded by mu_
  std::atomic<std::uint64_t> reloads_{0};
};

// ------------------------------------------------------------ cpprest handler

void reply(const whttp::http_request& request, const net::ServerResponse& out) {
  whttp::http_response response(static_cast<whttp::status_code>(out.status));
  std::string contentType = "application/json";
  for (const auto& [name, value] : out.headers) {
    if (strcasecmp(name.c_str(), "Content-Type") == 0) {
      contentType = value;
    } else if (strcasecmp(name.c_str(), "Content-Length") != 0 &&
               strcasecmp(name.c_str(), "Transfer-Encoding") != 0) {
      response.headers().add(name, value);
    }
  }
  response.set_body(std::string(out.body), contentType);
  try {
    request.reply(response).then([](const pplx::task<void>& sent) {
      try {
        sent.get();
      } catch (...) {  // the client went away: nothing to do
      }
    });
  } catch (const std::exception&) {  // already answered (the listener closed the connection)
  }
}

net::ServerResponse errorResponse(int status, const std::string& message) {
  return {status, {{"Connection", "close"}}, R"({"error":")" + message + R"("})"};
}

void serveCpprest(Bench& bench, const Limits& limits, whttp::http_request request) {
  // Limits cpprestsdk does not enforce itself, checked as early as the handler can.
  std::size_t headerBytes = request.method().size() + request.request_uri().to_string().size() + 12;
  for (const auto& [name, value] : request.headers()) headerBytes += name.size() + value.size() + 4;
  if (headerBytes > limits.maxHeaderBytes) {
    bench.counters.count(431);
    return reply(request, errorResponse(431, "request header larger than " +
                                                 std::to_string(limits.maxHeaderBytes) + " bytes"));
  }
  std::uint64_t declared = 0;
  if (request.headers().match(whttp::header_names::content_length, declared) &&
      declared > limits.maxBodyBytes) {
    bench.counters.count(413);
    return reply(request, errorResponse(413, "request body larger than " +
                                                 std::to_string(limits.maxBodyBytes) + " bytes"));
  }
  request.extract_utf8string(true).then([&bench, &limits,
                                         request](const pplx::task<std::string>& body) mutable {
    net::ServerRequest in;
    try {
      in.body = body.get();
    } catch (const std::exception&) {  // the connection broke while reading the body
      return;
    }
    if (in.body.size() > limits.maxBodyBytes) {
      bench.counters.count(413);
      return reply(request, errorResponse(413, "request body larger than " +
                                                   std::to_string(limits.maxBodyBytes) + " bytes"));
    }
    in.method = request.method();
    const web::uri relative = request.relative_uri();
    in.path = relative.path();
    in.query = relative.query();
    in.target = in.query.empty() ? in.path : in.path + "?" + in.query;
    for (const auto& [name, value] : request.headers()) in.headers.emplace_back(name, value);
    in.remote = request.remote_address();
    reply(request, bench.handle(in));
  });
}

// ------------------------------------------------------------ main

int freePort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

}  // namespace
}  // namespace slogate

int main(int argc, char** argv) try {
  using namespace slogate;  // NOLINT(google-build-using-namespace)
  std::string impl = "cpprest";
  int port = 0;
  int threads = 1;
  int slos = 100;
  long idlePollUs = 0;
  std::string dir;
  std::string bodyFile;
  std::string fixture =
      std::string(SLOGATE_SOURCE_DIR) + "/tests/fixtures/argo/rollout-canary.yaml";
  Limits limits;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string value = argv[++i];
    if (arg == "--impl" && (value == "cpprest" || value == "beast")) {
      impl = value;
    } else if (arg == "--port") {
      port = std::atoi(value.c_str());
    } else if (arg == "--threads") {
      threads = std::max(1, std::atoi(value.c_str()));
    } else if (arg == "--slos") {
      slos = std::max(2, std::atoi(value.c_str()));
    } else if (arg == "--dir") {
      dir = value;
    } else if (arg == "--max-body-bytes") {
      limits.maxBodyBytes = std::strtoull(value.c_str(), nullptr, 10);
    } else if (arg == "--max-header-bytes") {
      limits.maxHeaderBytes = std::strtoull(value.c_str(), nullptr, 10);
    } else if (arg == "--idle-poll-us") {
      idlePollUs = std::max(0L, std::atol(value.c_str()));
    } else if (arg == "--write-body") {
      bodyFile = value;
    } else if (arg == "--fixture") {
      fixture = value;
    } else {
      return usage();
    }
  }
  if (!bodyFile.empty()) return writeBody(fixture, bodyFile);

  // Block the signals before any thread starts, so only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const bool ownDir = dir.empty();
  if (ownDir) {
    dir = net::testing::makeTempDir();
  } else if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "cpprest_listener_bench: mkdir %s: %s\n", dir.c_str(),
                 std::generic_category().message(errno).c_str());
    return 1;
  }
  std::string certFile;
  std::string keyFile;
  std::string caFile;
  {
    net::testing::TestPki pki(dir);
    const auto leaf = pki.issue("server", 1001, net::testing::KeyType::kEcP256);
    certFile = leaf.certFile;
    keyFile = leaf.keyFile;
    caFile = pki.caFile();
  }
  Bench bench(slos);
  int status = 0;

  if (impl == "beast") {
    net::ServerOptions options;
    options.listen = "127.0.0.1:" + std::to_string(port);
    options.threads = threads;
    options.certFile = certFile;
    options.keyFile = keyFile;
    options.maxBodyBytes = limits.maxBodyBytes;
    options.maxHeaderBytes = limits.maxHeaderBytes;
    options.idlePoll = std::chrono::microseconds(idlePollUs);
    auto server = net::HttpServer::start(
        options, [&bench](const net::ServerRequest& r) { return bench.handle(r); });
    if (!server) {
      std::fprintf(stderr, "cpprest_listener_bench: %s\n", server.status().toString().c_str());
      status = 1;
    } else {
      std::printf("%s\nca %s\n", (*server)->url().c_str(), caFile.c_str());
      std::fflush(stdout);
      int signal = 0;
      sigwait(&signals, &signal);
      (*server)->stop();
      std::printf(
          "beast: handler answered %s; %s; requests %llu, connections %llu, rejected %llu\n",
          bench.counters.summary().c_str(), bench.handlerSummary().c_str(),
          static_cast<unsigned long long>((*server)->requests()),
          static_cast<unsigned long long>((*server)->connections()),
          static_cast<unsigned long long>((*server)->rejected()));
    }
  } else {
    crossplat::threadpool::initialize_with_threads(static_cast<std::size_t>(threads));
    auto certs = std::make_shared<CertStore>(certFile, keyFile);
    if (!certs->load()) {
      status = 1;
    } else {
      if (port == 0) port = freePort();
      const std::string url = "https://127.0.0.1:" + std::to_string(port);
      http_listener_config config;
      config.set_ssl_context_callback(
          [certs](boost::asio::ssl::context& ctx) { certs->configure(ctx); });
      http_listener listener(url + "/", config);
      listener.support(
          [&bench, &limits](const whttp::http_request& r) { serveCpprest(bench, limits, r); });
      try {
        listener.open().wait();
        std::printf("%s\nca %s\n", url.c_str(), caFile.c_str());
        std::fflush(stdout);
        int signal = 0;
        sigwait(&signals, &signal);
        // close() runs on the pool and waits there for every open connection
        // to finish — which needs the pool: with one thread and a connection
        // still open it never returns. Bound the wait, then leave.
        auto closed = std::make_shared<std::promise<void>>();
        std::future<void> done = closed->get_future();
        listener.close().then([closed](const pplx::task<void>& t) {
          try {
            t.get();
          } catch (...) {
          }
          closed->set_value();
        });
        const bool clean = done.wait_for(std::chrono::seconds(3)) == std::future_status::ready;
        std::printf("cpprest: handler answered %s; %s; cert reloads %llu%s\n",
                    bench.counters.summary().c_str(), bench.handlerSummary().c_str(),
                    static_cast<unsigned long long>(certs->reloads()),
                    clean ? "" : "; listener close() stuck (connections open, one pool thread)");
        if (!clean) {
          std::fflush(stdout);
          if (ownDir) net::testing::removeTree(dir);
          std::_Exit(status);
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "cpprest_listener_bench: %s: %s\n", url.c_str(), e.what());
        status = 1;
      }
    }
  }
  std::fflush(stdout);
  if (ownDir) net::testing::removeTree(dir);
  return status;
} catch (const std::exception& e) {  // e.g. a generated SLO that does not parse
  std::fprintf(stderr, "cpprest_listener_bench: %s\n", e.what());
  return 1;
}
