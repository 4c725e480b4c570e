// slogate_loadgen — an open-loop, fixed-rate HTTP/1.1 (TLS or plain) load
// generator with keep-alive, for the webhook latency target (README,
// "Performance"): Debian's wrk has no fixed-rate mode, and a closed loop
// hides a server's stalls (coordinated omission).
//
//   slogate_loadgen --url https://127.0.0.1:PORT/v1/admission --body FILE
//                   --rate 2000 --duration 30s --connections 16
//                   [--ca FILE | --insecure] [--warmup 5s] [--json] [--label NAME]
//                   [--mix-malformed RATE] [--mix-oversize RATE] [--flood-connections 16]
//                   [--oversize-bytes 1048577] [--oversize-send 65536|all]
//                   [--timeout 10s] [--flood-timeout 2s] [--busy-poll]
//
// Request i is due at start + i/rate, whatever happened to earlier ones. A due
// request goes out on the idle keep-alive connection that has been idle the
// longest (round robin, so no connection sits unused until the server's idle
// timeout closes it under the generator); when every connection is
// busy it waits in a FIFO for the first one to free up, and that wait is part
// of its latency: latency is measured from the *scheduled* send time to the
// last byte of the response. Only requests scheduled after the warm-up are
// counted. Errors: non-2xx answers, transport errors (connect, handshake,
// reset; the connection is re-established), timeouts, and requests still
// unanswered when the run ends.
//
// Floods (issue 7), each on its own connections and at its own fixed rate,
// measured over the same window:
//   --mix-malformed RATE  the body cut in half (truncated JSON) on keep-alive
//                         connections: the handler's 400;
//   --mix-oversize RATE   a fresh connection per request declaring
//                         Content-Length --oversize-bytes (default 1 MiB + 1,
//                         one over the server's default limit), sending the
//                         first --oversize-send bytes of it (default 64 KiB;
//                         "all" sends every byte) and waiting up to
//                         --flood-timeout for the answer: the server's 413.
// A flood request waits for a free flood connection like a valid one, but at
// most 100 ms worth are queued; beyond that it is dropped (and counted).
// Flood connections do not verify the server's certificate (an attacker
// would not) and make a full handshake each time (no session resumption: the
// server's most expensive case).
//
// One thread (pin it with taskset). The generator's own lateness is reported
// (timer lag: how late a request was taken off the schedule): when it is
// large, the generator and not the server is the bottleneck. --busy-poll
// keeps the generator's core out of idle (it polls instead of sleeping in
// epoll_wait): on this VM a parked vCPU takes up to milliseconds to wake, and
// without it that wake-up, on the generator's side, is counted as latency.
#include <openssl/ssl.h>
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bench/latency_histogram.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;
using slogate::bench::LatencyHistogram;

constexpr std::size_t kDefaultOversizeSend = std::size_t{64} * 1024;
constexpr std::chrono::milliseconds kReconnectDelay{50};
constexpr std::chrono::milliseconds kFloodBacklog{100};  // queued flood requests, in time
constexpr std::uint64_t kResponseBodyLimit = std::uint64_t{64} << 20;

// ---------------------------------------------------------------- options

struct Options {
  std::string url;
  std::string bodyFile;
  double rate = 0;
  Clock::duration duration = std::chrono::seconds(30);
  Clock::duration warmup = std::chrono::seconds(0);
  int connections = 16;
  std::string caFile;
  bool insecure = false;
  bool json = false;
  bool busyPoll = false;
  std::string label;
  Clock::duration timeout = std::chrono::seconds(10);
  double malformedRate = 0;
  double oversizeRate = 0;
  int floodConnections = 16;
  std::uint64_t oversizeBytes = (std::uint64_t{1} << 20) + 1;
  std::optional<std::uint64_t> oversizeSend;  // nullopt: min(kDefaultOversizeSend, bytes)
  bool oversizeSendAll = false;
  Clock::duration floodTimeout = std::chrono::seconds(2);
};

int usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "slogate_loadgen: %s\n", why);
  std::fprintf(stderr,
               "usage: slogate_loadgen --url URL --body FILE --rate N [--duration 30s] "
               "[--connections 16]\n"
               "         [--ca FILE | --insecure] [--warmup 5s] [--json] [--label NAME] "
               "[--timeout 10s] [--busy-poll]\n"
               "         [--mix-malformed RATE] [--mix-oversize RATE] [--flood-connections 16]\n"
               "         [--oversize-bytes N] [--oversize-send N|all] [--flood-timeout 2s]\n");
  return 2;
}

std::optional<double> parseNumber(std::string_view text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const std::string s(text);
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v) || v < 0) return std::nullopt;
  return v;
}

// "30s", "500ms", "2m", "1.5s"; a bare number is seconds.
std::optional<Clock::duration> parseDuration(std::string_view text) {
  double scale = 1.0;
  if (text.ends_with("ms")) {
    scale = 1e-3;
    text.remove_suffix(2);
  } else if (text.ends_with("s")) {
    text.remove_suffix(1);
  } else if (text.ends_with("m")) {
    scale = 60.0;
    text.remove_suffix(1);
  }
  const auto v = parseNumber(text);
  if (!v) return std::nullopt;
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(*v * scale));
}

std::optional<std::uint64_t> parseCount(std::string_view text) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

struct Url {
  bool tls = true;
  std::string host;  // without brackets
  std::string port;
  std::string target;
  std::string hostHeader;
};

std::optional<Url> parseUrl(std::string_view text) {
  Url u;
  if (text.starts_with("https://")) {
    text.remove_prefix(8);
  } else if (text.starts_with("http://")) {
    u.tls = false;
    text.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  const std::size_t slash = text.find('/');
  std::string_view authority = text.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(text.substr(slash));
  u.hostHeader = std::string(authority);
  if (authority.starts_with("[")) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (authority.starts_with(":")) u.port = std::string(authority.substr(1));
  } else {
    const std::size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) u.port = std::string(authority.substr(colon + 1));
  }
  if (u.port.empty()) u.port = u.tls ? "443" : "80";
  if (u.host.empty()) return std::nullopt;
  return u;
}

// CPU seconds this process has used (user + system).
double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double toMs(std::uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}
double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}
std::uint64_t nanos(Clock::duration d) {
  return d.count() < 0 ? 0 : static_cast<std::uint64_t>(std::chrono::nanoseconds(d).count());
}

// ---------------------------------------------------------------- lanes

enum class LaneKind { kValid, kMalformed, kOversize };

struct Job {
  Clock::time_point scheduled;
  bool measured = false;
};

class Conn;
class Generator;

// One kind of traffic: its schedule, its connections, its results.
class Lane {
 public:
  Lane(Generator& gen, LaneKind kind, std::string name, double rate, std::string request,
       Clock::duration timeout, int connections);

  void start(Clock::time_point t0, Clock::time_point measureStart, Clock::time_point end);
  void stop();

  // From a connection: ready for a job (connected and idle; an oversize
  // connection is "ready" while disconnected: it connects per job).
  void onReady(const std::shared_ptr<Conn>& conn);
  void onSent(const Job& job, Clock::time_point now);
  void onAnswer(const Job& job, unsigned status, Clock::time_point now);
  void onFailure(const Job& job, bool timeout);
  void onConnectError() { ++connectErrors; }

  void onJobDone();
  bool drained() const { return scheduleDone_ && queue_.empty() && busy_ == 0; }
  std::size_t idleCount() const { return idle_.size(); }

  Generator& gen;
  const LaneKind kind;
  const std::string name;
  const double rate;
  const std::string request;  // bytes on the wire
  const Clock::duration timeout;
  std::vector<std::shared_ptr<Conn>> conns;

  // Results over the measurement window.
  LatencyHistogram latency;    // valid: 2xx answers; floods: every answer
  LatencyHistogram queueWait;  // scheduled → written (waiting for a connection)
  LatencyHistogram timerLag;   // scheduled → taken off the schedule (generator lateness)
  std::map<unsigned, std::uint64_t> statuses;
  std::uint64_t scheduled = 0;  // measured jobs
  std::uint64_t sent = 0;
  std::uint64_t ok = 0;
  std::uint64_t non2xx = 0;
  std::uint64_t transport = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t dropped = 0;
  std::uint64_t connectErrors = 0;
  Clock::time_point lastAnswer{};

 private:
  void tick();
  Clock::time_point due(std::uint64_t i) const {
    return t0_ + std::chrono::nanoseconds(std::llround(static_cast<double>(i) * 1e9 / rate));
  }
  void push(Job job);

  asio::steady_timer timer_;
  std::deque<Job> queue_;
  std::deque<std::shared_ptr<Conn>> idle_;  // FIFO: requests go round the connections
  std::size_t maxQueue_;
  Clock::time_point t0_;
  Clock::time_point measureStart_;
  std::uint64_t next_ = 0;
  std::uint64_t total_ = 0;
  int busy_ = 0;
  bool scheduleDone_ = false;
};

class Generator {
 public:
  Generator(Options options, Url url, std::string body);
  int run();

  asio::io_context io;  // first: destroyed last, after the handlers that hold connections
  ssl::context tls{ssl::context::tls_client};       // valid requests: verifies as configured
  ssl::context floodTls{ssl::context::tls_client};  // floods: no verification (an attacker's)
  Options options;
  Url url;
  tcp::resolver::results_type endpoints;
  bool stopping = false;
  void onLaneProgress();

 private:
  void finish();
  void report(Clock::time_point measureStart, Clock::time_point measureEnd) const;

  std::string body_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  Lane* valid_ = nullptr;
  std::optional<asio::steady_timer> deadline_;
  Clock::time_point finishedAt_;
  double cpuAtStart_ = 0;
  Clock::time_point startedAt_;
};

// ---------------------------------------------------------------- connection

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(Generator& gen, Lane& lane)
      : gen_(gen), lane_(lane), retry_(gen.io), perJob_(lane.kind == LaneKind::kOversize) {}

  // Keep-alive lanes connect up front; oversize connections on demand.
  void start() {
    if (perJob_) {
      lane_.onReady(shared_from_this());
    } else {
      connect();
    }
  }

  void send(const Job& job) {
    job_ = job;
    if (connected_) {
      exchange();
    } else {
      connect();
    }
  }

  void close() {
    if (!tls_ && !plain_) return;
    ErrorCode ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
    connected_ = false;
  }

  void cancelRetry() { retry_.cancel(); }

 private:
  using TlsStream = beast::ssl_stream<beast::tcp_stream>;

  beast::tcp_stream& lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  void makeStream() {
    tls_.reset();
    plain_.reset();
    buffer_.clear();
    if (gen_.url.tls) {
      const bool flood = lane_.kind != LaneKind::kValid;
      tls_ = std::make_unique<TlsStream>(gen_.io, flood ? gen_.floodTls : gen_.tls);
      ErrorCode ec;
      if (!gen_.options.insecure && !flood) {
        tls_->set_verify_callback(ssl::host_name_verification(gen_.url.host), ec);
      }
      ErrorCode parse;
      asio::ip::make_address(gen_.url.host, parse);
      if (parse) {  // SNI for names only
        // SSL_set_tlsext_host_name without its old-style cast.
        SSL_ctrl(tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(gen_.url.host.c_str()));
      }
    } else {
      plain_ = std::make_unique<beast::tcp_stream>(gen_.io);
    }
  }

  void connect() {
    makeStream();
    lowest().expires_after(lane_.timeout);
    lowest().async_connect(
        gen_.endpoints,
        [self = shared_from_this()](ErrorCode ec, const tcp::endpoint&) { self->onConnect(ec); });
  }

  void onConnect(ErrorCode ec) {
    if (gen_.stopping) return;
    if (ec) return connectFailed();
    ErrorCode ignored;
    lowest().socket().set_option(tcp::no_delay(true), ignored);
    if (!tls_) return connectedOk();
    tls_->async_handshake(ssl::stream_base::client, [self = shared_from_this()](ErrorCode e) {
      if (self->gen_.stopping) return;
      if (e) return self->connectFailed();
      self->connectedOk();
    });
  }

  void connectFailed() {
    lane_.onConnectError();
    close();
    if (job_) {  // the job this connection was made for fails with it
      const Job job = *job_;
      job_.reset();
      lane_.onFailure(job, false);
      lane_.onJobDone();
      if (gen_.stopping) return;
    }
    if (perJob_) {
      lane_.onReady(shared_from_this());
      return;
    }
    retry_.expires_after(kReconnectDelay);
    retry_.async_wait([self = shared_from_this()](ErrorCode ec) {
      if (!ec && !self->gen_.stopping) self->connect();
    });
  }

  void connectedOk() {
    connected_ = true;
    lowest().expires_never();
    if (job_) {
      exchange();
    } else {
      lane_.onReady(shared_from_this());
    }
  }

  // Writes the request and reads the answer at once (a server may answer an
  // oversize request before it has read the body).
  void exchange() {
    answered_ = false;
    readError_ = {};
    pending_ = 2;
    parser_.emplace();
    parser_->body_limit(kResponseBodyLimit);
    const Clock::time_point now = Clock::now();
    lane_.onSent(*job_, now);
    lowest().expires_after(lane_.timeout);
    auto onRead = [self = shared_from_this()](ErrorCode ec, std::size_t) { self->onRead(ec); };
    auto onWrite = [self = shared_from_this()](ErrorCode ec, std::size_t) { self->onWrite(ec); };
    if (tls_) {
      http::async_read(*tls_, buffer_, *parser_, std::move(onRead));
      asio::async_write(*tls_, asio::buffer(lane_.request), std::move(onWrite));
    } else {
      http::async_read(*plain_, buffer_, *parser_, std::move(onRead));
      asio::async_write(*plain_, asio::buffer(lane_.request), std::move(onWrite));
    }
  }

  void onWrite(ErrorCode /*ec*/) {
    // A write error shows in the read (or the answer came first): nothing to do.
    if (--pending_ == 0) done();
  }

  void onRead(ErrorCode ec) {
    const Clock::time_point now = Clock::now();
    if (!ec) {
      answered_ = true;
      if (!gen_.stopping) lane_.onAnswer(*job_, parser_->get().result_int(), now);
      if (perJob_ || !parser_->get().keep_alive()) close();  // cancels an unfinished write
    } else {
      readError_ = ec;
      close();
    }
    if (--pending_ == 0) done();
  }

  void done() {
    if (gen_.stopping) return;
    const Job job = *job_;
    job_.reset();
    if (!answered_) lane_.onFailure(job, readError_ == beast::error::timeout);
    lane_.onJobDone();
    if (gen_.stopping) return;
    if (connected_) {
      lowest().expires_never();
      lane_.onReady(shared_from_this());
    } else if (perJob_) {
      lane_.onReady(shared_from_this());
    } else {
      connect();  // the server closed (Connection: close) or the connection broke
    }
  }

  Generator& gen_;
  Lane& lane_;
  asio::steady_timer retry_;
  const bool perJob_;  // a fresh connection per request, closed after the answer
  std::unique_ptr<TlsStream> tls_;
  std::unique_ptr<beast::tcp_stream> plain_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::optional<Job> job_;
  bool connected_ = false;
  bool answered_ = false;
  ErrorCode readError_;
  int pending_ = 0;
};

// ---------------------------------------------------------------- lane

Lane::Lane(Generator& g, LaneKind k, std::string n, double r, std::string req, Clock::duration t,
           int connections)
    : gen(g),
      kind(k),
      name(std::move(n)),
      rate(r),
      request(std::move(req)),
      timeout(t),
      timer_(g.io),
      maxQueue_(
          k == LaneKind::kValid
              ? std::numeric_limits<std::size_t>::max()
              : std::max<std::size_t>(16, static_cast<std::size_t>(r * seconds(kFloodBacklog)))) {
  for (int i = 0; i < connections; ++i) conns.push_back(std::make_shared<Conn>(g, *this));
}

void Lane::start(Clock::time_point t0, Clock::time_point measureStart, Clock::time_point end) {
  t0_ = t0;
  measureStart_ = measureStart;
  total_ = static_cast<std::uint64_t>(std::llround(seconds(end - t0) * rate));
  next_ = 0;
  timer_.expires_at(t0_);
  timer_.async_wait([this](ErrorCode ec) {
    if (!ec) tick();
  });
}

void Lane::stop() {
  timer_.cancel();
  for (const auto& c : conns) {
    c->cancelRetry();
    c->close();
  }
}

void Lane::tick() {
  if (gen.stopping) return;
  const Clock::time_point now = Clock::now();
  while (next_ < total_ && due(next_) <= now) {
    const Job job{due(next_), due(next_) >= measureStart_};
    if (job.measured) {
      ++scheduled;
      timerLag.record(nanos(now - job.scheduled));
    }
    ++next_;
    push(job);
  }
  if (next_ >= total_) {
    scheduleDone_ = true;
    gen.onLaneProgress();
    return;
  }
  timer_.expires_at(due(next_));
  timer_.async_wait([this](ErrorCode ec) {
    if (!ec) tick();
  });
}

void Lane::push(Job job) {
  if (!idle_.empty()) {
    auto conn = std::move(idle_.front());
    idle_.pop_front();
    ++busy_;
    conn->send(job);
  } else if (queue_.size() < maxQueue_) {
    queue_.push_back(job);
  } else if (job.measured) {
    ++dropped;
  }
}

void Lane::onReady(const std::shared_ptr<Conn>& conn) {
  if (gen.stopping) return;
  if (!queue_.empty()) {
    const Job job = queue_.front();
    queue_.pop_front();
    ++busy_;
    conn->send(job);
    return;
  }
  idle_.push_back(conn);
}

void Lane::onJobDone() {
  --busy_;
  if (kind == LaneKind::kValid) gen.onLaneProgress();
}

void Lane::onSent(const Job& job, Clock::time_point now) {
  if (!job.measured) return;
  ++sent;
  queueWait.record(nanos(now - job.scheduled));
}

void Lane::onAnswer(const Job& job, unsigned status, Clock::time_point now) {
  if (!job.measured) return;
  ++statuses[status];
  lastAnswer = std::max(lastAnswer, now);
  const bool success = status >= 200 && status < 300;
  if (success) {
    ++ok;
  } else {
    ++non2xx;
  }
  if (success || kind != LaneKind::kValid) latency.record(nanos(now - job.scheduled));
}

void Lane::onFailure(const Job& job, bool timedOut) {
  if (!job.measured) return;
  if (timedOut) {
    ++timeouts;
  } else {
    ++transport;
  }
}

// ---------------------------------------------------------------- generator

std::string requestHead(const Url& url, std::uint64_t contentLength) {
  return "POST " + url.target + " HTTP/1.1\r\nHost: " + url.hostHeader +
         "\r\nUser-Agent: slogate_loadgen\r\nAccept: application/json, */*\r\n"
         "Content-Type: application/json\r\nContent-Length: " +
         std::to_string(contentLength) + "\r\n\r\n";
}

Generator::Generator(Options o, Url u, std::string body)
    : options(std::move(o)), url(std::move(u)), body_(std::move(body)) {}

void Generator::onLaneProgress() {
  if (stopping || valid_ == nullptr) return;
  if (valid_->drained()) finish();
}

void Generator::finish() {
  if (stopping) return;
  stopping = true;
  finishedAt_ = Clock::now();
  if (deadline_) deadline_->cancel();
  for (auto& lane : lanes_) lane->stop();
  io.stop();
}

int Generator::run() {
  if (url.tls) {
    for (ssl::context* ctx : {&tls, &floodTls}) {
      ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    }
    floodTls.set_verify_mode(ssl::verify_none);
    if (options.insecure) {
      tls.set_verify_mode(ssl::verify_none);
    } else {
      ErrorCode ec;
      if (!options.caFile.empty()) {
        tls.load_verify_file(options.caFile, ec);
      } else {
        tls.set_default_verify_paths(ec);
      }
      if (ec) {
        std::fprintf(stderr, "slogate_loadgen: CA %s: %s\n", options.caFile.c_str(),
                     ec.message().c_str());
        return 1;
      }
      tls.set_verify_mode(ssl::verify_peer);
    }
  }
  {
    ErrorCode ec;
    tcp::resolver resolver(io);
    endpoints = resolver.resolve(url.host, url.port, ec);
    if (ec) {
      std::fprintf(stderr, "slogate_loadgen: resolve %s: %s\n", url.host.c_str(),
                   ec.message().c_str());
      return 1;
    }
  }

  lanes_.push_back(std::make_unique<Lane>(*this, LaneKind::kValid, "valid", options.rate,
                                          requestHead(url, body_.size()) + body_, options.timeout,
                                          options.connections));
  valid_ = lanes_.back().get();
  if (options.malformedRate > 0) {
    const std::string cut = body_.substr(0, body_.size() / 2);
    lanes_.push_back(std::make_unique<Lane>(
        *this, LaneKind::kMalformed, "malformed", options.malformedRate,
        requestHead(url, cut.size()) + cut, options.floodTimeout, options.floodConnections));
  }
  if (options.oversizeRate > 0) {
    const std::uint64_t send =
        options.oversizeSendAll
            ? options.oversizeBytes
            : std::min(options.oversizeBytes, options.oversizeSend.value_or(kDefaultOversizeSend));
    std::string prefix(static_cast<std::size_t>(send), 'x');
    if (!prefix.empty()) prefix.front() = '{';
    lanes_.push_back(std::make_unique<Lane>(*this, LaneKind::kOversize, "oversize",
                                            options.oversizeRate,
                                            requestHead(url, options.oversizeBytes) + prefix,
                                            options.floodTimeout, options.floodConnections));
  }

  // Connect the keep-alive connections first (up to 5 s), then start the clock.
  for (auto& lane : lanes_) {
    for (auto& c : lane->conns) c->start();
  }
  const auto allConnected = [this] {
    return std::all_of(lanes_.begin(), lanes_.end(), [](const auto& lane) {
      return lane->kind == LaneKind::kOversize || lane->idleCount() == lane->conns.size();
    });
  };
  const Clock::time_point connectDeadline = Clock::now() + std::chrono::seconds(5);
  while (!allConnected() && Clock::now() < connectDeadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
  if (!allConnected()) {
    std::fprintf(stderr, "slogate_loadgen: cannot connect to %s (%llu connect errors)\n",
                 options.url.c_str(), static_cast<unsigned long long>(valid_->connectErrors));
    return 1;
  }
  for (auto& lane : lanes_) lane->connectErrors = 0;  // setup is not part of the run

  const Clock::time_point t0 = Clock::now() + std::chrono::milliseconds(10);
  const Clock::time_point measureStart = t0 + options.warmup;
  const Clock::time_point end = measureStart + options.duration;
  cpuAtStart_ = cpuSeconds();
  startedAt_ = Clock::now();
  for (auto& lane : lanes_) lane->start(t0, measureStart, end);
  deadline_.emplace(io);
  deadline_->expires_at(end + options.timeout + std::chrono::seconds(1));
  deadline_->async_wait([this](ErrorCode ec) {
    if (!ec) finish();
  });
  io.restart();
  if (options.busyPoll) {
    // Never block in epoll_wait: on a VM an idle vCPU parks in the
    // hypervisor and its wake-up (up to milliseconds) would be counted as
    // the server's latency. The generator spends its own core instead.
    while (!io.stopped()) io.poll();
  } else {
    io.run();
  }
  report(measureStart, end);
  return 0;
}

std::string jsonString(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string fixed3(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::string percentilesJson(const LatencyHistogram& h) {
  return "{\"p50\":" + fixed3(toMs(h.percentile(50))) +
         ",\"p90\":" + fixed3(toMs(h.percentile(90))) +
         ",\"p99\":" + fixed3(toMs(h.percentile(99))) +
         ",\"p99.9\":" + fixed3(toMs(h.percentile(99.9))) + ",\"max\":" + fixed3(toMs(h.max())) +
         ",\"mean\":" + fixed3(h.mean() / 1e6) + "}";
}

std::string percentilesText(const LatencyHistogram& h) {
  return "p50 " + fixed3(toMs(h.percentile(50))) + "  p90 " + fixed3(toMs(h.percentile(90))) +
         "  p99 " + fixed3(toMs(h.percentile(99))) + "  p99.9 " + fixed3(toMs(h.percentile(99.9))) +
         "  max " + fixed3(toMs(h.max()));
}

std::string statusesJson(const std::map<unsigned, std::uint64_t>& m) {
  std::string out = "{";
  for (const auto& [status, n] : m) {
    if (out.size() > 1) out += ",";
    out += "\"" + std::to_string(status) + "\":" + std::to_string(n);
  }
  return out + "}";
}

void Generator::report(Clock::time_point measureStart, Clock::time_point measureEnd) const {
  const Lane& v = *valid_;
  const std::uint64_t answered = v.ok + v.non2xx;
  const std::uint64_t failed = v.transport + v.timeouts;
  const std::uint64_t unfinished = v.scheduled - std::min(v.scheduled, answered + failed);
  const Clock::time_point last = std::max(v.lastAnswer, measureEnd);
  const double window = seconds(last - measureStart);
  const double achieved = window > 0 ? static_cast<double>(answered) / window : 0.0;
  const std::uint64_t errors = v.non2xx + failed + unfinished;
  const double runSeconds = seconds(finishedAt_ - startedAt_);
  const double generatorBusy = runSeconds > 0 ? (cpuSeconds() - cpuAtStart_) / runSeconds : 0.0;

  if (options.json) {
    std::string j =
        "{\"label\":" + jsonString(options.label) + ",\"url\":" + jsonString(options.url) +
        ",\"body_bytes\":" + std::to_string(body_.size()) +
        ",\"target_rate\":" + fixed3(options.rate) + ",\"achieved_rate\":" + fixed3(achieved) +
        ",\"duration_s\":" + fixed3(seconds(options.duration)) +
        ",\"warmup_s\":" + fixed3(seconds(options.warmup)) +
        ",\"connections\":" + std::to_string(options.connections) +
        ",\"count\":" + std::to_string(v.scheduled) + ",\"ok\":" + std::to_string(v.ok) +
        ",\"errors\":{\"total\":" + std::to_string(errors) +
        ",\"non2xx\":" + std::to_string(v.non2xx) +
        ",\"transport\":" + std::to_string(v.transport) +
        ",\"timeout\":" + std::to_string(v.timeouts) +
        ",\"unfinished\":" + std::to_string(unfinished) +
        ",\"connect\":" + std::to_string(v.connectErrors) +
        "},\"statuses\":" + statusesJson(v.statuses) +
        ",\"latency_ms\":" + percentilesJson(v.latency) +
        ",\"queue_wait_ms\":" + percentilesJson(v.queueWait) +
        ",\"timer_lag_ms\":" + percentilesJson(v.timerLag) +
        ",\"generator_cpu_busy\":" + fixed3(generatorBusy) + ",\"floods\":{";
    bool first = true;
    for (const auto& lane : lanes_) {
      if (lane.get() == valid_) continue;
      const Lane& f = *lane;
      if (!first) j += ",";
      first = false;
      // Numbers first, then the nested objects (webhook_compare.sh greps them).
      j += jsonString(f.name) + ":{\"target_rate\":" + fixed3(f.rate) +
           ",\"scheduled\":" + std::to_string(f.scheduled) + ",\"sent\":" + std::to_string(f.sent) +
           ",\"answered\":" + std::to_string(f.ok + f.non2xx) +
           ",\"answered_rate\":" + fixed3(static_cast<double>(f.ok + f.non2xx) / window) +
           ",\"transport\":" + std::to_string(f.transport) +
           ",\"timeout\":" + std::to_string(f.timeouts) +
           ",\"dropped\":" + std::to_string(f.dropped) +
           ",\"connect_errors\":" + std::to_string(f.connectErrors) +
           ",\"statuses\":" + statusesJson(f.statuses) +
           ",\"latency_ms\":" + percentilesJson(f.latency) + "}";
    }
    j += "}}";
    std::printf("%s\n", j.c_str());
    return;
  }

  std::printf(
      "slogate_loadgen%s%s: %s, body %zu bytes, %.0f req/s for %.1f s (+%.1f s warm-up), "
      "%d connections\n",
      options.label.empty() ? "" : " ", options.label.c_str(), options.url.c_str(), body_.size(),
      options.rate, seconds(options.duration), seconds(options.warmup), options.connections);
  std::printf(
      "  achieved %.1f req/s; requests %llu, 2xx %llu; errors %llu (non-2xx %llu, "
      "transport %llu, timeout %llu, unfinished %llu; connect errors %llu)\n",
      achieved, static_cast<unsigned long long>(v.scheduled), static_cast<unsigned long long>(v.ok),
      static_cast<unsigned long long>(errors), static_cast<unsigned long long>(v.non2xx),
      static_cast<unsigned long long>(v.transport), static_cast<unsigned long long>(v.timeouts),
      static_cast<unsigned long long>(unfinished),
      static_cast<unsigned long long>(v.connectErrors));
  std::printf("  latency ms (from scheduled send): %s\n", percentilesText(v.latency).c_str());
  std::printf("  waiting for a connection ms:      %s\n", percentilesText(v.queueWait).c_str());
  std::printf("  generator timer lag ms:           %s\n", percentilesText(v.timerLag).c_str());
  std::printf("  generator CPU: %.0f %% of one core over the run\n", generatorBusy * 100);
  for (const auto& lane : lanes_) {
    if (lane.get() == valid_) continue;
    const Lane& f = *lane;
    const std::uint64_t floodAnswered = f.ok + f.non2xx;
    std::string statuses;
    for (const auto& [status, n] : f.statuses) {
      statuses += " " + std::to_string(status) + "×" + std::to_string(n);
    }
    std::printf(
        "  flood %s: %.0f req/s scheduled %llu, sent %llu, answered %llu (%.1f/s):%s; "
        "transport %llu, timeout %llu, dropped %llu, connect errors %llu\n",
        f.name.c_str(), f.rate, static_cast<unsigned long long>(f.scheduled),
        static_cast<unsigned long long>(f.sent), static_cast<unsigned long long>(floodAnswered),
        static_cast<double>(floodAnswered) / window, statuses.empty() ? " none" : statuses.c_str(),
        static_cast<unsigned long long>(f.transport), static_cast<unsigned long long>(f.timeouts),
        static_cast<unsigned long long>(f.dropped),
        static_cast<unsigned long long>(f.connectErrors));
    std::printf("    answer latency ms: %s\n", percentilesText(f.latency).c_str());
  }
}

}  // namespace

int main(int argc, char** argv) try {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&]() -> std::optional<std::string_view> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string_view(argv[++i]);
    };
    if (arg == "--insecure") {
      o.insecure = true;
      continue;
    }
    if (arg == "--json") {
      o.json = true;
      continue;
    }
    if (arg == "--busy-poll") {
      o.busyPoll = true;
      continue;
    }
    const auto v = value();
    if (!v) return usage(("missing value for " + std::string(arg)).c_str());
    bool good = true;
    if (arg == "--url") {
      o.url = std::string(*v);
    } else if (arg == "--body") {
      o.bodyFile = std::string(*v);
    } else if (arg == "--rate") {
      const auto r = parseNumber(*v);
      good = r && *r > 0;
      o.rate = r.value_or(0);
    } else if (arg == "--duration" || arg == "--warmup" || arg == "--timeout" ||
               arg == "--flood-timeout") {
      const auto d = parseDuration(*v);
      good = d.has_value();
      if (d) {
        (arg == "--duration"  ? o.duration
         : arg == "--warmup"  ? o.warmup
         : arg == "--timeout" ? o.timeout
                              : o.floodTimeout) = *d;
      }
    } else if (arg == "--connections" || arg == "--flood-connections") {
      const auto n = parseCount(*v);
      good = n && *n > 0 && *n <= 10000;
      (arg == "--connections" ? o.connections : o.floodConnections) =
          static_cast<int>(n.value_or(1));
    } else if (arg == "--ca") {
      o.caFile = std::string(*v);
    } else if (arg == "--label") {
      o.label = std::string(*v);
    } else if (arg == "--mix-malformed" || arg == "--mix-oversize") {
      const auto r = parseNumber(*v);
      good = r.has_value();
      (arg == "--mix-malformed" ? o.malformedRate : o.oversizeRate) = r.value_or(0);
    } else if (arg == "--oversize-bytes") {
      const auto n = parseCount(*v);
      good = n && *n > 0;
      o.oversizeBytes = n.value_or(1);
    } else if (arg == "--oversize-send") {
      if (*v == "all") {
        o.oversizeSendAll = true;
      } else {
        o.oversizeSend = parseCount(*v);
        good = o.oversizeSend.has_value();
      }
    } else {
      return usage(("unknown flag " + std::string(arg)).c_str());
    }
    if (!good) return usage(("bad value for " + std::string(arg)).c_str());
  }
  if (o.url.empty() || o.bodyFile.empty() || o.rate <= 0) return usage(nullptr);
  if (o.duration <= Clock::duration::zero()) return usage("--duration must be positive");
  if (!o.caFile.empty() && o.insecure) return usage("--ca and --insecure exclude each other");
  const auto url = parseUrl(o.url);
  if (!url) return usage("--url must be http[s]://host[:port][/path]");
  std::ifstream in(o.bodyFile, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "slogate_loadgen: cannot read %s\n", o.bodyFile.c_str());
    return 2;
  }
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::signal(SIGPIPE, SIG_IGN);
  Generator gen(std::move(o), *url, std::move(body));
  return gen.run();
} catch (const std::exception& e) {
  std::fprintf(stderr, "slogate_loadgen: %s\n", e.what());
  return 1;  // as a run that fails (usage errors return 2)
}
