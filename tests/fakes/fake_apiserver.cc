// The HTTPS side of FakeApiServer: certificates (OpenSSL), the listener and
// one Session per connection (Boost.Beast over Asio SSL streams), all on one
// io_context thread; requests that may call admission webhooks run on their
// own threads (BlockingWork), and postWebhook() is the HTTPS client that
// calls them. REST semantics live in fake_apiserver_core.cc.
#include "fakes/fake_apiserver.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <utility>

#include "fakes/fake_apiserver_core.h"

namespace slogate::fakes {

namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

constexpr std::uint64_t kBodyLimit = std::uint64_t{16} * 1024 * 1024;
constexpr std::size_t kCoalesceBytes = std::size_t{64} * 1024;
constexpr auto kStopTimeout = std::chrono::seconds(5);
constexpr long kCertValiditySeconds = 7L * 24 * 3600;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::string opensslError(const std::string& what) {
  char buffer[256] = {0};
  ERR_error_string_n(ERR_get_error(), buffer, sizeof buffer);
  return what + ": " + buffer;
}

bool addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1;
}

// A certificate for `key` named `commonName`, signed by issuer/issuerKey (or
// self-signed when issuer is null). A CA when `ca`, else a serving cert for
// 127.0.0.1 and localhost.
X509Ptr makeCertificate(EVP_PKEY* key, const char* commonName, X509* issuer, EVP_PKEY* issuerKey,
                        bool ca, std::string* error) {
  X509Ptr cert(X509_new());
  if (!cert) {
    *error = opensslError("X509_new");
    return nullptr;
  }
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) {
    *error = opensslError("RAND_bytes");
    return nullptr;
  }
  serial[0] &= 0x7F;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kCertValiditySeconds);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(commonName), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  bool ok = true;
  if (ca) {
    ok = addExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE") &&
         addExtension(cert.get(), signer, NID_key_usage,
                      "critical,keyCertSign,cRLSign,digitalSignature") &&
         addExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
  } else {
    ok = addExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE") &&
         addExtension(cert.get(), signer, NID_key_usage,
                      "critical,digitalSignature,keyEncipherment") &&
         addExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth") &&
         addExtension(cert.get(), signer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost") &&
         addExtension(cert.get(), signer, NID_subject_key_identifier, "hash") &&
         addExtension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  }
  if (!ok) {
    *error = opensslError("X509 extension");
    return nullptr;
  }
  if (X509_sign(cert.get(), issuerKey != nullptr ? issuerKey : key, EVP_sha256()) == 0) {
    *error = opensslError("X509_sign");
    return nullptr;
  }
  return cert;
}

std::string toPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  std::string pem;
  if (bio == nullptr) return pem;
  if (PEM_write_bio_X509(bio, cert) == 1) {
    char buffer[4096];
    int n = 0;
    while ((n = BIO_read(bio, buffer, sizeof buffer)) > 0)
      pem.append(buffer, static_cast<size_t>(n));
  }
  BIO_free(bio);
  return pem;
}

std::string httpDate() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buffer;
}

std::string auditId() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%016llx%016llx", static_cast<unsigned long long>(random()),
                static_cast<unsigned long long>(random()));
  std::string id(buffer);
  return id.substr(0, 8) + "-" + id.substr(8, 4) + "-" + id.substr(12, 4) + "-" + id.substr(16, 4) +
         "-" + id.substr(20, 12);
}

std::string chunk(const std::string& data) {
  char size[20];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

// Runs requests that may wait on admission webhooks off the I/O thread, so
// the fake keeps serving other connections (the webhook's own requests
// included) meanwhile, as kube-apiserver does.
class BlockingWork {
 public:
  BlockingWork() = default;
  ~BlockingWork() { waitAll(); }
  BlockingWork(const BlockingWork&) = delete;
  BlockingWork& operator=(const BlockingWork&) = delete;

  void run(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(tasks_, [](const std::future<void>& f) {
      return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    });
    tasks_.push_back(std::async(std::launch::async, std::move(task)));
  }

  // Waits for every task started so far (each is bounded by its webhooks'
  // timeouts).
  void waitAll() {
    std::vector<std::future<void>> tasks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks.swap(tasks_);
    }
    for (std::future<void>& t : tasks) t.wait();
  }

 private:
  std::mutex mu_;
  std::vector<std::future<void>> tasks_;
};

std::string lowerFirst(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

// Why OpenSSL refused the webhook's certificate, in Go's crypto/x509 words.
std::string verifyError(long result, const std::string& host) {
  switch (result) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return "x509: certificate signed by unknown authority";
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "x509: certificate has expired or is not yet valid";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return "x509: certificate is not valid for " + host;
    default:
      return std::string("x509: ") + X509_verify_cert_error_string(result);
  }
}

// POSTs an AdmissionReview to a webhook like kube-apiserver's webhook client:
// HTTPS only, TLS 1.2+, the server verified against the webhook's CA and its
// host (IP SAN for an address), "?timeout=<N>s" added to the URL, one new
// connection per call, everything within timeoutSeconds. Failures are
// worded like Go's net/http errors ("Post \"<url>\": dial tcp ...: connect:
// connection refused", "...: context deadline exceeded").
WebhookReply postWebhook(const ValidatingWebhook& webhook, const std::string& body) {
  WebhookReply reply;
  const std::string scheme = "https://";
  if (webhook.url.rfind(scheme, 0) != 0) {
    reply.error =
        "Post \"" + webhook.url + "\": webhook URLs must use https (as kube-apiserver requires)";
    return reply;
  }
  const std::string rest = webhook.url.substr(scheme.size());
  const std::size_t pathStart = rest.find_first_of("/?");
  const std::string authority = rest.substr(0, pathStart);
  std::string target = pathStart == std::string::npos ? "/" : rest.substr(pathStart);
  if (target[0] == '?') target = "/" + target;
  std::string host = authority;
  std::string port = "443";
  if (!authority.empty() && authority[0] == '[') {
    const std::size_t close = authority.find(']');
    host = authority.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 2 < authority.size() && authority[close + 1] == ':') {
      port = authority.substr(close + 2);
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  const int timeout = std::clamp(webhook.timeoutSeconds, 1, 30);
  target += (target.find('?') == std::string::npos ? "?" : "&") + std::string("timeout=") +
            std::to_string(timeout) + "s";
  const std::string post = "Post \"" + scheme + authority + target + "\": ";

  ssl::context context(ssl::context::tls_client);
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  context.set_verify_mode(ssl::verify_peer);
  beast::error_code ec;
  if (!webhook.caPem.empty()) {
    context.add_certificate_authority(asio::buffer(webhook.caPem), ec);
  } else if (!webhook.caFile.empty()) {
    context.load_verify_file(webhook.caFile, ec);
  } else {
    context.set_default_verify_paths(ec);
  }
  if (ec) {
    reply.error = post + "x509: cannot load the webhook's CA (" +
                  (webhook.caFile.empty() ? std::string("caPem") : webhook.caFile) +
                  "): " + ec.message();
    return reply;
  }

  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  ssl::stream<tcp::socket> stream(ioc, context);
  beast::error_code addressError;
  asio::ip::make_address(host, addressError);
  X509_VERIFY_PARAM* param = SSL_get0_param(stream.native_handle());
  if (!addressError) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    // SNI (SSL_set_tlsext_host_name without the macro's C cast).
    SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(host.c_str()));
  }

  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, authority);
  req.set(http::field::user_agent, "kube-apiserver-admission");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, "application/json, */*");
  req.body() = body;
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kBodyLimit);

  std::string failure;
  bool done = false;
  bool timedOut = false;
  const std::string endpoint =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
  auto finish = [&](std::string why) {
    if (timedOut) return;
    failure = std::move(why);
    done = true;
  };
  resolver.async_resolve(
      host, port, [&](const beast::error_code& rec, const tcp::resolver::results_type& results) {
        if (rec) return finish("dial tcp: lookup " + host + ": no such host");
        asio::async_connect(
            stream.lowest_layer(), results,
            [&](const beast::error_code& cec, const tcp::endpoint&) {
              if (cec)
                return finish("dial tcp " + endpoint + ": connect: " + lowerFirst(cec.message()));
              stream.async_handshake(ssl::stream_base::client, [&](const beast::error_code& hec) {
                if (hec) {
                  const long verify = SSL_get_verify_result(stream.native_handle());
                  if (verify != X509_V_OK) {
                    return finish("tls: failed to verify certificate: " +
                                  verifyError(verify, host));
                  }
                  if (hec.message().find("wrong version number") != std::string::npos) {
                    return finish("http: server gave HTTP response to HTTPS client");
                  }
                  return finish("tls: " + lowerFirst(hec.message()));
                }
                http::async_write(stream, req, [&](const beast::error_code& wec, std::size_t) {
                  if (wec) return finish(lowerFirst(wec.message()));
                  http::async_read(
                      stream, buffer, parser, [&](const beast::error_code& rdec, std::size_t) {
                        if (rdec == http::error::end_of_stream || rdec == asio::error::eof ||
                            rdec == ssl::error::stream_truncated) {
                          return finish("EOF");
                        }
                        if (rdec) return finish(lowerFirst(rdec.message()));
                        finish("");
                      });
                });
              });
            });
      });
  ioc.run_for(std::chrono::seconds(timeout));
  if (!done) {
    timedOut = true;
    failure = "context deadline exceeded";
    beast::error_code ignored;
    resolver.cancel();
    stream.lowest_layer().close(ignored);
    ioc.restart();
    ioc.run();  // the cancelled handlers finish before the locals they use go
  }
  if (!failure.empty()) {
    reply.error = post + failure;
    return reply;
  }
  reply.status = static_cast<int>(parser.get().result_int());
  reply.contentType = std::string(parser.get()[http::field::content_type]);
  reply.body = parser.get().body();
  return reply;
}

// One client connection. Requests are answered in order; a watch turns the
// response into a chunked stream fed by the core through send()/finish(),
// after which the connection serves requests again (keep-alive).
class Session : public WatchSink, public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ssl::context& context, ApiCore& core, BlockingWork& work)
      : executor_(socket.get_executor()),
        stream_(std::move(socket), context),
        core_(core),
        work_(work),
        timer_(executor_) {}

  void start() {
    stream_.async_handshake(ssl::stream_base::server,
                            [self = shared_from_this()](const beast::error_code& ec) {
                              if (ec) return self->close();
                              self->readRequest();
                            });
  }

  // Io thread. Idempotent.
  void close() {
    if (closed_) return;
    closed_ = true;
    core_.stopWatch(this);
    timer_.cancel();
    beast::error_code ignored;
    stream_.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.lowest_layer().close(ignored);
  }

  // WatchSink: any thread, with the core's lock held.
  void send(std::string line) override {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.push_back(std::move(line));
    postFlushLocked();
  }
  void finish() override {
    std::lock_guard<std::mutex> lock(mu_);
    finishRequested_ = true;
    postFlushLocked();
  }

 private:
  void postFlushLocked() {
    if (flushPosted_) return;
    flushPosted_ = true;
    asio::post(executor_, [self = shared_from_this()] { self->flush(); });
  }

  void readRequest() {
    if (closed_) return;
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
                       self->onRead(ec);
                     });
  }

  void onRead(const beast::error_code& ec) {
    if (ec) return close();
    if (streaming_) {
      requestWaiting_ = true;  // pipelined behind a watch: answer when it ends
      return;
    }
    handleRequest();
  }

  void handleRequest() {
    const auto& req = parser_->get();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.contentType = std::string(req[http::field::content_type]);
    request.accept = std::string(req[http::field::accept]);
    request.authorization = std::string(req[http::field::authorization]);
    request.body = req.body();
    keepAlive_ = req.keep_alive();
    version_ = req.version();
    if (core_.mayCallWebhooks(request.method)) {
      // Never a watch; the answer is written back on the I/O thread.
      work_.run([self = shared_from_this(), request = std::move(request)] {
        WatchStart ignored;
        HttpResponse response = self->core_.handle(request, self, &ignored);
        asio::post(self->executor_,
                   [self, response = std::move(response)] { self->writeResponse(response); });
      });
      return;
    }
    WatchStart watch;
    HttpResponse response = core_.handle(request, shared_from_this(), &watch);
    if (watch.started) {
      startStream(watch.timeoutSeconds);
    } else {
      writeResponse(response);
    }
  }

  void writeResponse(const HttpResponse& response) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), version_);
    res->set(http::field::content_type, response.contentType);
    res->set(http::field::cache_control, "no-cache, private");
    res->set(http::field::date, httpDate());
    res->set("Audit-Id", auditId());
    for (const auto& [name, value] : response.headers)
      res->insert(name, value);  // Warning: n times
    res->body() = response.body;
    res->keep_alive(keepAlive_);
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](const beast::error_code& ec, std::size_t) {
                        if (ec) return self->close();
                        if (!self->keepAlive_) return self->shutdownTls();
                        self->readRequest();
                      });
  }

  void shutdownTls() {
    stream_.async_shutdown(
        [self = shared_from_this()](const beast::error_code&) { self->close(); });
  }

  void startStream(int timeoutSeconds) {
    streaming_ = true;
    ++streamId_;
    writeQueue_.push_back("HTTP/1.1 200 OK\r\nAudit-Id: " + auditId() +
                          "\r\nCache-Control: no-cache, private\r\nContent-Type: "
                          "application/json\r\nDate: " +
                          httpDate() + "\r\nTransfer-Encoding: chunked\r\n\r\n");
    if (timeoutSeconds > 0) {
      timer_.expires_after(std::chrono::seconds(timeoutSeconds));
      timer_.async_wait([self = shared_from_this(), id = streamId_](const beast::error_code& ec) {
        if (ec || id != self->streamId_ || !self->streaming_) return;
        self->core_.stopWatch(self.get());
        self->finish();
      });
    }
    readRequest();  // notices a closed connection while the stream runs
    flush();
  }

  void flush() {
    std::deque<std::string> lines;
    bool finishing = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      flushPosted_ = false;
      if (!streaming_) return;
      lines.swap(pending_);
      finishing = finishRequested_;
    }
    if (terminatorQueued_) return;
    for (const std::string& line : lines) writeQueue_.push_back(chunk(line));
    if (finishing) {
      writeQueue_.emplace_back("0\r\n\r\n");
      terminatorQueued_ = true;
    }
    if (!writing_) writeNext();
  }

  void writeNext() {
    if (writeQueue_.empty() || closed_) return;
    writing_ = true;
    current_ = std::move(writeQueue_.front());
    writeQueue_.pop_front();
    while (!writeQueue_.empty() && current_.size() < kCoalesceBytes) {
      current_ += writeQueue_.front();
      writeQueue_.pop_front();
    }
    const bool ends = terminatorQueued_ && writeQueue_.empty();
    asio::async_write(stream_, asio::buffer(current_),
                      [self = shared_from_this(), ends](const beast::error_code& ec, std::size_t) {
                        self->writing_ = false;
                        if (ec) return self->close();
                        if (ends) return self->endStream();
                        self->writeNext();
                      });
  }

  void endStream() {
    streaming_ = false;
    terminatorQueued_ = false;
    timer_.cancel();
    core_.stopWatch(this);
    {
      std::lock_guard<std::mutex> lock(mu_);
      finishRequested_ = false;
      pending_.clear();
    }
    if (!keepAlive_) return close();  // a read is pending: no TLS shutdown dance
    if (requestWaiting_) {
      requestWaiting_ = false;
      handleRequest();
    }
  }

  asio::any_io_executor executor_;
  ssl::stream<tcp::socket> stream_;
  ApiCore& core_;
  BlockingWork& work_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  unsigned version_ = 11;
  bool keepAlive_ = true;
  bool closed_ = false;

  // Watch stream state; io thread only.
  bool streaming_ = false;
  bool requestWaiting_ = false;
  bool writing_ = false;
  bool terminatorQueued_ = false;
  std::uint64_t streamId_ = 0;
  std::deque<std::string> writeQueue_;  // encoded bytes: header, chunks, terminator
  std::string current_;                 // the bytes being written

  // Filled by send()/finish() from any thread.
  std::mutex mu_;
  std::deque<std::string> pending_;
  bool finishRequested_ = false;
  bool flushPosted_ = false;
};

}  // namespace

class FakeApiServer::Impl {
 public:
  explicit Impl(FakeApiServerOptions options)
      : options_(std::move(options)),
        sslContext_(ssl::context::tls_server),
        acceptor_(ioc_),
        bookmarkTimer_(ioc_) {}

  ~Impl() {
    if (thread_.joinable()) {
      asio::post(ioc_, [this] {
        stopping_ = true;
        beast::error_code ignored;
        acceptor_.close(ignored);
        bookmarkTimer_.cancel();
        for (const std::weak_ptr<Session>& weak : sessions_) {
          if (std::shared_ptr<Session> session = weak.lock()) session->close();
        }
      });
      if (done_.wait_for(kStopTimeout) != std::future_status::ready) ioc_.stop();
      thread_.join();
    }
    work_.waitAll();  // requests waiting on webhooks use core_
    if (core_) core_->dropWatches();
    sessions_.clear();
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  bool init(std::string* error) {
    PkeyPtr caKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    PkeyPtr serverKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!caKey || !serverKey) {
      *error = opensslError("EC key generation");
      return false;
    }
    X509Ptr caCert =
        makeCertificate(caKey.get(), "slogate fake apiserver CA", nullptr, nullptr, true, error);
    if (!caCert) return false;
    X509Ptr serverCert =
        makeCertificate(serverKey.get(), "127.0.0.1", caCert.get(), caKey.get(), false, error);
    if (!serverCert) return false;
    caPem_ = toPem(caCert.get());

    const char* tmp = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe)
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                          "/slogate-fake-apiserver-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      *error = "mkdtemp " + pattern + " failed";
      return false;
    }
    dir_ = pattern;
    caFile_ = dir_ + "/ca.pem";
    {
      std::ofstream out(caFile_, std::ios::binary | std::ios::trunc);
      out << caPem_;
      if (!out) {
        *error = "cannot write " + caFile_;
        return false;
      }
    }

    sslContext_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                            ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                            ssl::context::no_tlsv1_1);
    if (SSL_CTX_use_certificate(sslContext_.native_handle(), serverCert.get()) != 1 ||
        SSL_CTX_use_PrivateKey(sslContext_.native_handle(), serverKey.get()) != 1) {
      *error = opensslError("SSL_CTX_use_certificate/PrivateKey");
      return false;
    }

    beast::error_code ec;
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol(), ec);
    // SO_REUSEADDR (inherited by accepted sockets) lets resumeServing() bind
    // the port again while closed connections linger in FIN_WAIT/TIME_WAIT.
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      *error = "listen on 127.0.0.1: " + ec.message();
      return false;
    }
    const unsigned short port = acceptor_.local_endpoint().port();
    port_ = port;
    url_ = "https://127.0.0.1:" + std::to_string(port);
    core_ = std::make_unique<ApiCore>(options_, "127.0.0.1:" + std::to_string(port));
    core_->setWebhookTransport(postWebhook);

    accept();
    armBookmarks();
    std::promise<void> done;
    done_ = done.get_future();
    thread_ = std::thread([this, done = std::move(done)]() mutable {
      ioc_.run();
      done.set_value();
    });
    return true;
  }

  void setBookmarkInterval(std::chrono::milliseconds interval) {
    core_->setBookmarkInterval(interval);
    asio::post(ioc_, [this] { bookmarkTimer_.cancel(); });  // re-arms with the new interval
  }

  // A restart: the listener and every connection close on the io thread.
  void stopServing() {
    std::promise<void> closed;
    std::future<void> done = closed.get_future();
    asio::post(ioc_, [this, &closed] {
      ++acceptGeneration_;
      beast::error_code ignored;
      acceptor_.close(ignored);
      for (const std::weak_ptr<Session>& weak : sessions_) {
        if (std::shared_ptr<Session> session = weak.lock()) session->close();
      }
      sessions_.clear();
      closed.set_value();
    });
    done.wait();
  }

  bool resumeServing(std::string* error) {
    std::promise<std::string> opened;
    std::future<std::string> result = opened.get_future();
    asio::post(ioc_, [this, &opened] {
      if (acceptor_.is_open()) return opened.set_value("");  // serving already
      beast::error_code ec;
      const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port_);
      acceptor_.open(endpoint.protocol(), ec);
      if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) acceptor_.bind(endpoint, ec);
      if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        beast::error_code ignored;
        acceptor_.close(ignored);
        return opened.set_value("listen on 127.0.0.1:" + std::to_string(port_) + ": " +
                                ec.message());
      }
      accept();
      opened.set_value("");
    });
    const std::string failure = result.get();
    if (!failure.empty() && error != nullptr) *error = failure;
    return failure.empty();
  }

  ApiCore& core() { return *core_; }
  const ApiCore& core() const { return *core_; }
  const std::string& url() const { return url_; }
  const std::string& caFile() const { return caFile_; }
  const std::string& caPem() const { return caPem_; }
  const std::string& token() const { return options_.token; }

 private:
  void accept() {
    acceptor_.async_accept(
        [this, generation = acceptGeneration_](const beast::error_code& ec, tcp::socket socket) {
          if (stopping_ || generation != acceptGeneration_) return;  // stopped, or stopServing()
          if (!ec) {
            beast::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            auto session = std::make_shared<Session>(std::move(socket), sslContext_, *core_, work_);
            std::erase_if(sessions_, [](const std::weak_ptr<Session>& w) { return w.expired(); });
            sessions_.push_back(session);
            session->start();
          }
          accept();
        });
  }

  void armBookmarks() {
    bookmarkTimer_.expires_after(core_->bookmarkInterval());
    bookmarkTimer_.async_wait([this](const beast::error_code& ec) {
      if (stopping_) return;
      if (!ec) core_->emitBookmarks();
      armBookmarks();
    });
  }

  const FakeApiServerOptions options_;
  asio::io_context ioc_;  // before everything that holds sockets or timers: destroyed after them
  ssl::context sslContext_;
  tcp::acceptor acceptor_;
  asio::steady_timer bookmarkTimer_;
  std::unique_ptr<ApiCore> core_;
  BlockingWork work_;                             // after core_: its tasks finish first
  std::vector<std::weak_ptr<Session>> sessions_;  // io thread only
  bool stopping_ = false;                         // io thread only
  std::uint64_t acceptGeneration_ = 0;            // io thread only; stopServing() bumps it
  unsigned short port_ = 0;
  std::string dir_;
  std::string caFile_;
  std::string caPem_;
  std::string url_;
  std::thread thread_;
  std::future<void> done_;
};

std::unique_ptr<FakeApiServer> FakeApiServer::start(const FakeApiServerOptions& options,
                                                    std::string* error) {
  std::string ignored;
  std::string* err = error != nullptr ? error : &ignored;
  auto impl = std::make_unique<Impl>(options);
  if (!impl->init(err)) return nullptr;
  return std::unique_ptr<FakeApiServer>(new FakeApiServer(std::move(impl)));
}

FakeApiServer::FakeApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FakeApiServer::~FakeApiServer() = default;

std::string FakeApiServer::url() const {
  return impl_->url();
}
std::string FakeApiServer::caFile() const {
  return impl_->caFile();
}
std::string FakeApiServer::caPem() const {
  return impl_->caPem();
}
const std::string& FakeApiServer::token() const {
  return impl_->token();
}

Json FakeApiServer::apply(const Json& object) {
  return impl_->core().apply(object);
}
std::optional<Json> FakeApiServer::get(const std::string& apiVersion, const std::string& kind,
                                       const std::string& ns, const std::string& name) const {
  return impl_->core().get(apiVersion, kind, ns, name);
}
bool FakeApiServer::remove(const std::string& apiVersion, const std::string& kind,
                           const std::string& ns, const std::string& name) {
  return impl_->core().remove(apiVersion, kind, ns, name);
}
std::vector<Json> FakeApiServer::list(const std::string& apiVersion,
                                      const std::string& kind) const {
  return impl_->core().list(apiVersion, kind);
}
void FakeApiServer::closeWatches() {
  impl_->core().closeWatches();
}
void FakeApiServer::compact() {
  impl_->core().compact();
}
void FakeApiServer::holdWatchEvents() {
  impl_->core().holdWatchEvents();
}
void FakeApiServer::releaseWatchEvents() {
  impl_->core().releaseWatchEvents();
}
void FakeApiServer::failNext(int status, int count, const std::string& retryAfter) {
  impl_->core().failNext(status, count, retryAfter);
}
void FakeApiServer::setBookmarkInterval(std::chrono::milliseconds interval) {
  impl_->setBookmarkInterval(interval);
}
void FakeApiServer::stopServing() {
  impl_->stopServing();
}
bool FakeApiServer::resumeServing(std::string* error) {
  return impl_->resumeServing(error);
}
void FakeApiServer::setValidatingWebhook(const ValidatingWebhook& webhook) {
  impl_->core().setValidatingWebhook(webhook);
}
void FakeApiServer::clearValidatingWebhooks() {
  impl_->core().clearValidatingWebhooks();
}
std::vector<WebhookCall> FakeApiServer::webhookCalls() const {
  return impl_->core().webhookCalls();
}
std::vector<RecordedRequest> FakeApiServer::requests() const {
  return impl_->core().requests();
}
void FakeApiServer::clearRequests() {
  impl_->core().clearRequests();
}
std::int64_t FakeApiServer::resourceVersion() const {
  return impl_->core().resourceVersion();
}

}  // namespace slogate::fakes
