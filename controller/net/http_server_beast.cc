// HttpServer over Boost.Beast, Asio and OpenSSL: the only file that includes
// them for serving. One acceptor on its own strand; one Session per
// connection (a shared_ptr kept alive by its pending operation) on its own
// strand (with one I/O thread: on the io_context itself), so io_context
// threads never touch one connection at once.
//
// A session's life: [TLS handshake] -> wait for a request's first bytes (the
// only state stop() may cut short) -> read header (+100 Continue) and body ->
// call the handler -> write -> again, or close. Errors the client caused are
// answered with a JSON error and the connection is drained briefly before it
// is closed, so the client reads the answer rather than a reset.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include "base/json_writer.h"
#include "net/http_server.h"

namespace slogate::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// Mozilla "intermediate" TLS 1.2 suites without DHE (no DH parameters to
// manage); TLS 1.3 keeps OpenSSL's default suites, all of which it allows.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// Read size while waiting for a request's first bytes.
constexpr std::size_t kFirstReadBytes = std::size_t{16} * 1024;
constexpr std::chrono::milliseconds kLingerTimeout{1'000};       // drain after an error reply
constexpr std::size_t kMaxDrainBytes = 4u << 20;                 // ... or until this much is read
constexpr std::chrono::milliseconds kTlsShutdownTimeout{1'000};  // close_notify exchange
constexpr std::chrono::milliseconds kAcceptRetry{100};           // after accept fails (e.g. EMFILE)
constexpr std::chrono::milliseconds kForceCloseWait{1'000};      // for sessions to unwind

std::string toString(beast::string_view s) {
  return std::string(s.data(), s.size());
}

// RFC 9110 token characters (header names).
bool isToken(std::string_view s) {
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || kExtra.find(c) != std::string_view::npos;
  });
}

ServerResponse errorResponse(int status, std::string_view message) {
  JsonWriter w;
  w.beginObject().key("error").string(message).endObject();
  return ServerResponse{.status = status, .headers = {}, .body = w.take()};
}

std::string endpointString(const tcp::endpoint& ep) {
  const asio::ip::address a = ep.address();
  const std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return host + ":" + std::to_string(ep.port());
}

// "host:port" -> endpoint. host: an IP literal ("[::1]" for IPv6),
// "localhost", or empty for all IPv4 interfaces.
Result<tcp::endpoint> parseListen(const std::string& listen) {
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return invalidArgument("listen \"" + listen + "\": want host:port");
  }
  std::string host = listen.substr(0, colon);
  const std::string portText = listen.substr(colon + 1);
  int port = -1;
  const auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (ec != std::errc() || end != portText.data() + portText.size() || port < 0 || port > 65535) {
    return invalidArgument("listen \"" + listen + "\": bad port \"" + portText + "\"");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  asio::ip::address address;
  if (host.empty()) {
    address = asio::ip::address_v4::any();
  } else if (host == "localhost") {
    address = asio::ip::address_v4::loopback();
  } else {
    ErrorCode parseError;
    address = asio::ip::make_address(host, parseError);
    if (parseError) {
      return invalidArgument("listen \"" + listen + "\": host must be an IP address");
    }
  }
  return tcp::endpoint(address, static_cast<unsigned short>(port));
}

// A new server context holding certFile/keyFile. Errors name the file.
Result<std::shared_ptr<ssl::context>> loadTlsContext(const std::string& certFile,
                                                     const std::string& keyFile) {
  try {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
      ERR_clear_error();
      return internalError("TLS: cipher list rejected by OpenSSL");
    }
    ErrorCode ec;
    ctx->use_certificate_chain_file(certFile, ec);
    if (ec) {
      ERR_clear_error();
      return invalidArgument(certFile + ": cannot load certificate: " + ec.message());
    }
    ctx->use_private_key_file(keyFile, ssl::context::pem, ec);
    if (ec) {
      ERR_clear_error();
      return invalidArgument(keyFile + ": cannot load private key for " + certFile + ": " +
                             ec.message());
    }
    if (SSL_CTX_check_private_key(native) != 1) {
      ERR_clear_error();
      return invalidArgument(keyFile + ": does not match " + certFile);
    }
    return ctx;
  } catch (const std::exception& e) {
    ERR_clear_error();
    return internalError("TLS context for " + certFile + ": " + e.what());
  }
}

// What the reloader compares to decide that a file changed.
struct FileStamp {
  bool exists = false;
  std::uint64_t device = 0, inode = 0, size = 0;
  std::int64_t mtimeSec = 0, mtimeNsec = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp stampOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {true,
          static_cast<std::uint64_t>(st.st_dev),
          static_cast<std::uint64_t>(st.st_ino),
          static_cast<std::uint64_t>(st.st_size),
          static_cast<std::int64_t>(st.st_mtim.tv_sec),
          static_cast<std::int64_t>(st.st_mtim.tv_nsec)};
}

struct PairStamp {
  FileStamp cert, key;
  bool operator==(const PairStamp&) const = default;
};

// What stop() needs from a session; both calls may come from any thread.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void serverStopping() = 0;  // close now if waiting for a request
  virtual void forceClose() = 0;      // close whatever it is doing
};

// State shared by the server and its sessions; sessions keep it alive.
struct Shared {
  ServerOptions options;
  Handler handler;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> certReloads{0};

  std::mutex mu;
  std::condition_variable sessionsChanged;                       // signalled on remove()
  std::map<std::uint64_t, std::weak_ptr<SessionBase>> sessions;  // guarded by mu
  std::uint64_t lastId = 0;                                      // guarded by mu

  mutable std::mutex tlsMu;
  std::shared_ptr<ssl::context> tls;  // guarded by tlsMu; null for plain HTTP

  void log(const std::string& line) const {
    if (options.log) {
      options.log(line);
    } else {
      std::fprintf(stderr, "slogate: http server %s: %s\n", options.listen.c_str(), line.c_str());
    }
  }

  std::shared_ptr<ssl::context> tlsContext() const {
    std::lock_guard<std::mutex> lock(tlsMu);
    return tls;
  }
  void setTlsContext(std::shared_ptr<ssl::context> ctx) {
    std::lock_guard<std::mutex> lock(tlsMu);
    tls = std::move(ctx);
  }

  std::uint64_t add(std::weak_ptr<SessionBase> session) {
    std::lock_guard<std::mutex> lock(mu);
    sessions.emplace(++lastId, std::move(session));
    return lastId;
  }
  void remove(std::uint64_t id) {
    {
      std::lock_guard<std::mutex> lock(mu);
      sessions.erase(id);
    }
    sessionsChanged.notify_all();
  }
  std::vector<std::shared_ptr<SessionBase>> live() {
    std::vector<std::shared_ptr<SessionBase>> out;
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& [id, weak] : sessions) {
      if (auto s = weak.lock()) out.push_back(std::move(s));
    }
    return out;
  }
  // True when every session is gone before `deadline`.
  bool waitSessionsGone(SteadyClock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu);
    return sessionsChanged.wait_until(lock, deadline, [this] { return sessions.empty(); });
  }
};

template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  template <class... StreamArgs>
  Session(std::shared_ptr<Shared> shared, std::shared_ptr<ssl::context> tls, std::string remote,
          StreamArgs&&... streamArgs)
      : shared_(std::move(shared)),
        tls_(std::move(tls)),
        remote_(std::move(remote)),
        stream_(std::forward<StreamArgs>(streamArgs)...),
        executor_(stream_.get_executor()) {}
  ~Session() override { shared_->remove(id_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void setId(std::uint64_t id) { id_ = id; }

  // Starts serving; call once, on the session's strand.
  void run() {
    if (shared_->stopping) return close();
    readDeadline_ = SteadyClock::now() + shared_->options.readTimeout;
    if constexpr (kTls) {
      state_ = State::kHandshake;
      lowest().expires_at(readDeadline_);
      stream_.async_handshake(ssl::stream_base::server,
                              beast::bind_front_handler(&Session::onHandshake, self()));
    } else {
      awaitRequest(true);
    }
  }

  const asio::any_io_executor& executor() const { return executor_; }

  // SessionBase
  void serverStopping() override {
    asio::post(executor(), [s = self()] {
      if (s->state_ == State::kHandshake || s->state_ == State::kIdle) s->close();
    });
  }
  void forceClose() override {
    asio::post(executor(), [s = self()] { s->close(); });
  }

 private:
  enum class State { kNew, kHandshake, kIdle, kReading, kHandling, kWriting, kClosing, kClosed };

  std::shared_ptr<Session> self() { return this->shared_from_this(); }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  const ServerOptions& options() const { return shared_->options; }

  void onHandshake(ErrorCode ec) {
    if (ec) {
      // A peer that connects and leaves (a TCP probe) is not a failed handshake.
      if (ec != asio::error::eof && ec != ssl::error::stream_truncated &&
          ec != asio::error::operation_aborted && ec != asio::error::connection_reset) {
        ++shared_->rejected;
      }
      return close();
    }
    awaitRequest(true);
  }

  // Waits for the first bytes of the next request: up to the read deadline on
  // a fresh connection, up to idleTimeout on a kept-alive one.
  void awaitRequest(bool fresh) {
    if (shared_->stopping) return close();
    if (buffer_.size() > 0) return beginRequest(fresh);  // pipelined
    state_ = State::kIdle;
    lowest().expires_at(fresh ? readDeadline_ : SteadyClock::now() + options().idleTimeout);
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            beast::bind_front_handler(&Session::onFirstBytes, self(), fresh));
  }

  void onFirstBytes(bool fresh, ErrorCode ec, std::size_t bytes) {
    if (ec) {
      if (fresh && ec == beast::error::timeout) ++shared_->rejected;  // connected, sent nothing
      return close();
    }
    buffer_.commit(bytes);
    beginRequest(fresh);
  }

  void beginRequest(bool fresh) {
    state_ = State::kReading;
    if (!fresh) readDeadline_ = SteadyClock::now() + options().readTimeout;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
        options().maxHeaderBytes, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(static_cast<std::uint64_t>(options().maxBodyBytes));
    lowest().expires_at(readDeadline_);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::onHeader, self()));
  }

  void onHeader(ErrorCode ec, std::size_t /*bytes*/) {
    if (ec) return onReadError(ec);
    const auto& header = parser_->get();
    if (!parser_->is_done() && beast::iequals(header[http::field::expect], "100-continue")) {
      continue_ = http::response<http::empty_body>(http::status::continue_, header.version());
      lowest().expires_after(options().writeTimeout);
      http::async_write(stream_, continue_,
                        beast::bind_front_handler(&Session::onContinueWritten, self()));
      return;
    }
    readBody();
  }

  void onContinueWritten(ErrorCode ec, std::size_t /*bytes*/) {
    if (ec) return close();
    readBody();
  }

  void readBody() {
    lowest().expires_at(readDeadline_);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::onRequest, self()));
  }

  void onReadError(ErrorCode ec) {
    parser_.reset();
    if (ec == http::error::header_limit) {
      return reject(
          431, "request header larger than " + std::to_string(options().maxHeaderBytes) + " bytes");
    }
    if (ec == http::error::body_limit) {
      return reject(
          413, "request body larger than " + std::to_string(options().maxBodyBytes) + " bytes");
    }
    if (ec == beast::error::timeout) {  // slow client: it gets no answer
      ++shared_->rejected;
      return close();
    }
    const bool parseError =
        ec.category() == http::make_error_code(http::error::bad_target).category();
    if (parseError && ec != http::error::end_of_stream && ec != http::error::partial_message &&
        ec != http::error::short_read) {
      return reject(400, "malformed request: " + ec.message());
    }
    close();  // the peer went away (EOF, reset, stop)
  }

  void onRequest(ErrorCode ec, std::size_t /*bytes*/) {
    if (ec) return onReadError(ec);
    state_ = State::kHandling;
    lowest().expires_never();
    http::request<http::string_body> req = parser_->release();
    parser_.reset();
    ++shared_->requests;

    ServerRequest in;
    in.method = toString(req.method_string());
    in.target = toString(req.target());
    const std::size_t q = in.target.find('?');
    in.path = in.target.substr(0, q);
    if (q != std::string::npos) in.query = in.target.substr(q + 1);
    for (const auto& field : req) {
      in.headers.emplace_back(toString(field.name_string()), toString(field.value()));
    }
    in.body = std::move(req.body());
    in.remote = remote_;

    ServerResponse out;
    try {
      out = shared_->handler(in);
    } catch (const std::exception& e) {
      shared_->log(in.method + " " + in.path + ": handler threw: " + e.what());
      out = errorResponse(500, "internal error");
    } catch (...) {
      shared_->log(in.method + " " + in.path + ": handler threw a non-exception");
      out = errorResponse(500, "internal error");
    }
    prepareResponse(std::move(out), req.version(), req.method() == http::verb::head,
                    req.keep_alive() && !shared_->stopping);
    write();
  }

  // Fills res_ from `out`; the server owns framing (Content-Length, Connection).
  void prepareResponse(ServerResponse out, unsigned version, bool head, bool keepAlive) {
    if (out.status < 200 || out.status > 599) {
      shared_->log("handler answered status " + std::to_string(out.status) + ", sending 500");
      out = errorResponse(500, "internal error");
    }
    res_ = http::response<http::string_body>();
    res_.version(version);
    res_.result(static_cast<unsigned>(out.status));
    bool hasType = false;
    for (const auto& [name, value] : out.headers) {
      if (!isToken(name) || value.find_first_of("\r\n", 0, 3) != std::string::npos) {
        shared_->log("dropping invalid response header \"" + name + "\"");
        continue;
      }
      if (equalsIgnoreCase(name, "Content-Length") || equalsIgnoreCase(name, "Transfer-Encoding")) {
        continue;
      }
      if (equalsIgnoreCase(name, "Connection")) {
        if (equalsIgnoreCase(value, "close")) keepAlive = false;
        continue;
      }
      if (equalsIgnoreCase(name, "Content-Type")) hasType = true;
      res_.insert(name, value);
    }
    if (!hasType) res_.set(http::field::content_type, "application/json");
    res_.keep_alive(keepAlive);
    if (out.status == 204 || out.status == 304) {
      return;  // no body, no Content-Length
    }
    if (head) {
      res_.content_length(out.body.size());
    } else {
      res_.body() = std::move(out.body);
      res_.prepare_payload();
    }
  }

  // Answers an error the client caused, then drains and closes.
  void reject(int status, const std::string& message) {
    ++shared_->rejected;
    lingerAfterWrite_ = true;
    prepareResponse(errorResponse(status, message), 11, false, false);
    write();
  }

  void write() {
    state_ = State::kWriting;
    lowest().expires_after(options().writeTimeout);
    http::async_write(stream_, res_, beast::bind_front_handler(&Session::onWrite, self()));
  }

  void onWrite(ErrorCode ec, std::size_t /*bytes*/) {
    if (ec) return close();
    if (lingerAfterWrite_) return linger();
    if (!res_.keep_alive() || shared_->stopping) return endConnection();
    res_ = http::response<http::string_body>();
    awaitRequest(false);
  }

  // Ends a connection after a last response.
  void endConnection() {
    if constexpr (kTls) {
      state_ = State::kClosing;
      lowest().expires_after(std::min(options().writeTimeout, kTlsShutdownTimeout));
      stream_.async_shutdown([s = self()](ErrorCode) { s->close(); });
    } else {
      linger();
    }
  }

  // Stops sending (plain TCP: FIN) and reads what the client still sends for
  // a moment, so that closing with unread data does not reset the connection
  // before the client has read the response.
  void linger() {
    state_ = State::kClosing;
    if constexpr (!kTls) {
      ErrorCode ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    lowest().expires_after(std::min(options().readTimeout, kLingerTimeout));
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drainBuffer_),
                            [s = self()](ErrorCode ec, std::size_t bytes) {
                              s->drained_ += bytes;
                              if (ec || s->drained_ > kMaxDrainBytes) return s->close();
                              s->drain();
                            });
  }

  void close() {
    state_ = State::kClosed;
    lowest().close();
  }

  std::shared_ptr<Shared> shared_;        // options, handler, counters
  std::shared_ptr<ssl::context> tls_;     // the context stream_ was made with (TLS only)
  std::string remote_;                    // peer "ip:port"
  Stream stream_;                         // tcp_stream or ssl_stream over it
  const asio::any_io_executor executor_;  // the connection's strand (one thread: the io_context)
  std::uint64_t id_ = 0;                  // key in Shared::sessions
  State state_ = State::kNew;
  SteadyClock::time_point readDeadline_;                           // for the request being read
  beast::flat_buffer buffer_;                                      // bytes read, not yet parsed
  std::optional<http::request_parser<http::string_body>> parser_;  // request being read
  http::response<http::empty_body> continue_;                      // 100 Continue
  http::response<http::string_body> res_;                          // response being written
  bool lingerAfterWrite_ = false;  // res_ is an error reply: drain and close after it
  std::array<char, 4096> drainBuffer_{};
  std::size_t drained_ = 0;
};

}  // namespace

struct HttpServer::Impl {
  std::shared_ptr<Shared> shared;
  std::unique_ptr<asio::io_context> io;  // declared before what uses it: destroyed last
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;          // on its own strand
  std::optional<asio::steady_timer> acceptRetry;  // on the acceptor's strand
  std::optional<asio::steady_timer> reloadTimer;  // on its own strand
  std::vector<std::thread> threads;
  int port = 0;
  std::string url;
  PairStamp loadedStamp;                 // files as last loaded; reloadTimer strand only
  std::optional<PairStamp> failedStamp;  // files as last rejected; reloadTimer strand only
  std::mutex stopMu;
  bool stopped = false;  // guarded by stopMu

  ~Impl() { stop(std::chrono::milliseconds(0)); }

  PairStamp stamps() const {
    return {stampOf(shared->options.certFile), stampOf(shared->options.keyFile)};
  }

  void doAccept() {
    // A connection's handlers must not run at once: with one I/O thread they
    // cannot, and a strand would only add a lock and a queue to every one.
    const asio::any_io_executor ex = shared->options.threads == 1
                                         ? asio::any_io_executor(io->get_executor())
                                         : asio::any_io_executor(asio::make_strand(*io));
    acceptor->async_accept(ex, beast::bind_front_handler(&Impl::onAccept, this));
  }

  void onAccept(ErrorCode ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || shared->stopping) return;
    if (ec) {
      shared->log("accept: " + ec.message());
      acceptRetry->expires_after(kAcceptRetry);
      acceptRetry->async_wait([this](ErrorCode waitError) {
        if (!waitError && !shared->stopping) doAccept();
      });
      return;
    }
    ++shared->connections;
    ErrorCode ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::string remote = endpointString(socket.remote_endpoint(ignored));
    if (auto ctx = shared->tlsContext()) {
      ssl::context& ref = *ctx;
      startSession(std::make_shared<Session<TlsStream>>(shared, std::move(ctx), std::move(remote),
                                                        std::move(socket), ref));
    } else {
      startSession(std::make_shared<Session<PlainStream>>(shared, nullptr, std::move(remote),
                                                          std::move(socket)));
    }
    doAccept();
  }

  template <class S>
  void startSession(std::shared_ptr<S> session) {
    session->setId(shared->add(session));
    const asio::any_io_executor ex = session->executor();
    asio::dispatch(ex, [s = std::move(session)] { s->run(); });
  }

  void scheduleReload() {
    if (!shared->tlsContext() || shared->options.certReloadInterval.count() <= 0) return;
    reloadTimer->expires_after(shared->options.certReloadInterval);
    reloadTimer->async_wait([this](ErrorCode ec) {
      if (ec || shared->stopping) return;
      checkCertFiles();
      scheduleReload();
    });
  }

  void checkCertFiles() {
    const PairStamp now = stamps();  // before loading: a change during the load is seen next time
    if (now == loadedStamp || (failedStamp && now == *failedStamp)) return;
    const ServerOptions& o = shared->options;
    auto ctx = loadTlsContext(o.certFile, o.keyFile);
    if (!ctx) {
      failedStamp = now;
      shared->log("certificate not reloaded, keeping the current one: " + ctx.status().message());
      return;
    }
    shared->setTlsContext(std::move(*ctx));
    loadedStamp = now;
    failedStamp.reset();
    ++shared->certReloads;
    shared->log("reloaded certificate " + o.certFile);
  }

  void stop(std::chrono::milliseconds grace) {
    std::lock_guard<std::mutex> lock(stopMu);
    if (stopped || !io) return;
    stopped = true;
    const SteadyClock::time_point deadline = SteadyClock::now() + grace;
    shared->stopping = true;
    if (acceptor) {
      asio::post(acceptor->get_executor(), [this] {
        ErrorCode ignored;
        acceptor->close(ignored);
        acceptRetry->cancel();
      });
    }
    if (reloadTimer) asio::post(reloadTimer->get_executor(), [this] { reloadTimer->cancel(); });
    for (const auto& s : shared->live()) s->serverStopping();
    if (!shared->waitSessionsGone(deadline)) {
      for (const auto& s : shared->live()) s->forceClose();
      (void)shared->waitSessionsGone(SteadyClock::now() + kForceCloseWait);
    }
    work.reset();
    io->stop();
    for (std::thread& t : threads) t.join();
    threads.clear();
    // Destroy I/O objects before the context; destroying it frees sessions
    // that still had handlers queued.
    reloadTimer.reset();
    acceptRetry.reset();
    acceptor.reset();
    io.reset();
  }
};

namespace {

// io_context::run, but an idle thread first polls (epoll with a zero timeout)
// for `idlePoll` after the last handler it ran, and only then blocks.
void runIo(asio::io_context& io, std::chrono::microseconds idlePoll) {
  if (idlePoll.count() <= 0) {
    io.run();
    return;
  }
  while (!io.stopped()) {
    auto until = SteadyClock::now() + idlePoll;
    while (!io.stopped()) {
      if (io.poll() > 0) {
        until = SteadyClock::now() + idlePoll;
      } else if (SteadyClock::now() >= until) {
        break;
      }
    }
    if (io.run_one() == 0) return;  // stopped, or out of work
  }
}

}  // namespace

std::string ServerRequest::header(std::string_view name) const {
  return findHeader(headers, name);
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const ServerOptions& options,
                                                      Handler handler) {
  if (!handler) return invalidArgument("http server: no handler");
  if (options.certFile.empty() != options.keyFile.empty()) {
    return invalidArgument("http server: certFile and keyFile must both be set or both be empty");
  }
  Result<tcp::endpoint> endpoint = parseListen(options.listen);
  if (!endpoint) return endpoint.status();

  auto impl = std::make_unique<Impl>();
  impl->shared = std::make_shared<Shared>();
  impl->shared->options = options;
  impl->shared->options.threads = std::max(1, options.threads);
  impl->shared->handler = std::move(handler);
  const bool tls = !options.certFile.empty();
  if (tls) {
    impl->loadedStamp = impl->stamps();
    auto ctx = loadTlsContext(options.certFile, options.keyFile);
    if (!ctx) return ctx.status();
    impl->shared->setTlsContext(std::move(*ctx));
  }

  const int threads = impl->shared->options.threads;
  impl->io = std::make_unique<asio::io_context>(threads);
  impl->acceptor.emplace(asio::make_strand(*impl->io));
  impl->acceptRetry.emplace(impl->acceptor->get_executor());
  impl->reloadTimer.emplace(asio::make_strand(*impl->io));
  tcp::acceptor& acceptor = *impl->acceptor;
  ErrorCode ec;
  acceptor.open(endpoint->protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(*endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return unavailable("listen " + options.listen + ": " + ec.message());
  const tcp::endpoint bound = acceptor.local_endpoint(ec);
  if (ec) return unavailable("listen " + options.listen + ": " + ec.message());
  impl->port = bound.port();
  tcp::endpoint reachable = bound;
  if (bound.address().is_unspecified()) {
    reachable.address(bound.address().is_v6()
                          ? asio::ip::address(asio::ip::address_v6::loopback())
                          : asio::ip::address(asio::ip::address_v4::loopback()));
  }
  impl->url = std::string(tls ? "https://" : "http://") + endpointString(reachable);

  impl->doAccept();
  impl->scheduleReload();
  impl->work.emplace(impl->io->get_executor());
  for (int i = 0; i < threads; ++i) {
    impl->threads.emplace_back([io = impl->io.get(), shared = impl->shared] {
      for (;;) {  // an exception escaping a completion handler must not end the thread
        try {
          runIo(*io, shared->options.idlePoll);
          return;
        } catch (const std::exception& e) {
          shared->log(std::string("I/O thread: ") + e.what());
        } catch (...) {
          shared->log("I/O thread: unknown exception");
        }
      }
    });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::stop(std::chrono::milliseconds grace) {
  impl_->stop(grace);
}

int HttpServer::port() const {
  return impl_->port;
}

std::string HttpServer::url() const {
  return impl_->url;
}

std::uint64_t HttpServer::certReloads() const {
  return impl_->shared->certReloads.load();
}

std::uint64_t HttpServer::requests() const {
  return impl_->shared->requests.load();
}

std::uint64_t HttpServer::rejected() const {
  return impl_->shared->rejected.load();
}

std::uint64_t HttpServer::connections() const {
  return impl_->shared->connections.load();
}

}  // namespace slogate::net
