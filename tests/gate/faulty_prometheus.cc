#include "gate/faulty_prometheus.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <ostream>
#include <thread>
#include <vector>

#include "net/http_server.h"

namespace slogate::fakes {
namespace {

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string urlDecode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hexDigit(s[i + 1]) >= 0 &&
               hexDigit(s[i + 2]) >= 0) {
      out += static_cast<char>(hexDigit(s[i + 1]) * 16 + hexDigit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// "a=1&b=2" → the decoded value of `name`, or "".
std::string param(const std::string& form, const std::string& name) {
  std::size_t pos = 0;
  while (pos <= form.size()) {
    const std::size_t end = std::min(form.find('&', pos), form.size());
    const std::string pair = form.substr(pos, end - pos);
    const std::size_t eq = pair.find('=');
    if (eq != std::string::npos && urlDecode(pair.substr(0, eq)) == name) {
      return urlDecode(pair.substr(eq + 1));
    }
    pos = end + 1;
  }
  return "";
}

std::optional<std::int64_t> integer(const std::string& s) {
  if (s.empty() || s.size() > 15 || s.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoll(s);
}

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

net::ServerResponse error(int status, const std::string& type, const std::string& message) {
  return {
      status,
      {},
      R"({"status":"error","errorType":")" + type + R"(","error":)" + jsonString(message) + "}"};
}

}  // namespace

const char* promFaultName(PromFault fault) {
  switch (fault) {
    case PromFault::kNone:
      return "none";
    case PromFault::kDown:
      return "down";
    case PromFault::kSlow:
      return "slow";
    case PromFault::kHttp500:
      return "http500";
    case PromFault::kHttp503:
      return "http503";
    case PromFault::kGarbage:
      return "garbage";
    case PromFault::kNaN:
      return "nan";
    case PromFault::kInf:
      return "inf";
    case PromFault::kEmpty:
      return "empty";
  }
  return "?";
}

std::ostream& operator<<(std::ostream& os, PromFault fault) {
  return os << promFaultName(fault);
}

struct FaultyPrometheus::Impl {
  History history;
  mutable std::mutex mu;
  std::condition_variable changed;  // the fault changed, or shutting down
  PromFault fault = PromFault::kNone;
  std::chrono::milliseconds slowDelay{2000};
  bool shuttingDown = false;
  int port = 0;                             // 0 until the first listen, then kept across kDown
  std::uint64_t generation = 0;             // bumped on every setFault(): wakes slow answers
  std::unique_ptr<net::HttpServer> server;  // null while down
  std::mutex serverMu;                      // serializes start/stop of `server`
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> answered{0};

  bool listen(std::string* error) {
    net::ServerOptions o;
    {
      std::lock_guard<std::mutex> lock(mu);
      o.listen = "127.0.0.1:" + std::to_string(port);
    }
    o.threads = 4;  // slow answers must not hold up the others
    o.log = [](const std::string&) {};
    // The port was ours a moment ago; another bind may need a retry or two.
    for (int attempt = 0;; ++attempt) {
      auto s = net::HttpServer::start(o, [this](const net::ServerRequest& r) { return handle(r); });
      if (s) {
        server = std::move(*s);
        std::lock_guard<std::mutex> lock(mu);
        port = server->port();
        return true;
      }
      if (attempt == 20) {
        if (error != nullptr) *error = s.status().message();
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  net::ServerResponse handle(const net::ServerRequest& r) {
    ++requests;
    PromFault f;
    {
      std::unique_lock<std::mutex> lock(mu);
      f = fault;
      if (f == PromFault::kSlow) {
        const std::uint64_t g = generation;
        changed.wait_for(lock, slowDelay, [&] { return shuttingDown || generation != g; });
      }
    }
    switch (f) {
      case PromFault::kHttp500:
        return error(500, "internal", "injected failure: internal server error");
      case PromFault::kHttp503:
        return {503, {{"Content-Type", "text/plain; charset=utf-8"}}, "Service Unavailable"};
      case PromFault::kGarbage:
        return {200, {{"Content-Type", "text/html"}}, "<html><body>502 Bad Gateway</body></html>"};
      default:
        break;
    }
    const std::string form = r.method == "POST" ? r.body : r.query;
    const bool range = r.path == "/api/v1/query_range";
    if (!range && r.path != "/api/v1/query") return {404, {}, "404 page not found"};
    // sum(increase(<selector>[<R>m]))
    const std::string q = param(form, "query");
    static const std::string kPrefix = "sum(increase(";
    static const std::string kSuffix = "m]))";
    const std::size_t open = q.rfind('[');
    if (q.rfind(kPrefix, 0) != 0 || open == std::string::npos || q.size() < kSuffix.size() ||
        q.compare(q.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
      return error(400, "bad_data", "unsupported query: " + q);
    }
    const std::string selector = q.substr(kPrefix.size(), open - kPrefix.size());
    const auto minutes = integer(q.substr(open + 1, q.size() - kSuffix.size() - open - 1));
    auto start = integer(param(form, range ? "start" : "time"));
    auto end = range ? integer(param(form, "end")) : start;
    const auto step = range ? integer(param(form, "step")) : std::optional<std::int64_t>(60);
    if (!minutes || *minutes <= 0 || !start || !end || !step || *step <= 0 || *end < *start ||
        (*end - *start) / *step > 11'000) {
      return error(400, "bad_data", "bad parameters");
    }
    std::string points;
    std::string last;
    for (std::int64_t t = *start; t <= *end; t += *step) {
      if (t % 60 != 0) continue;  // the reader only asks for whole minutes
      std::uint64_t sum = 0;
      bool any = false;
      for (std::int64_t m = t / 60 - *minutes + 1; m <= t / 60; ++m) {
        if (const auto v = history(selector, m)) {
          sum += *v;
          any = true;
        }
      }
      if (!any) continue;
      const std::string value = f == PromFault::kNaN   ? "NaN"
                                : f == PromFault::kInf ? "+Inf"
                                                       : std::to_string(sum);
      last = "[" + std::to_string(t) + ",\"" + value + "\"]";
      points += (points.empty() ? "" : ",") + last;
    }
    ++answered;
    std::string result;
    if (!points.empty() && f != PromFault::kEmpty) {
      result = range ? R"({"metric":{},"values":[)" + points + "]}"
                     : R"({"metric":{},"value":)" + last + "}";
    }
    return {200,
            {},
            R"({"status":"success","data":{"resultType":")" +
                std::string(range ? "matrix" : "vector") + R"(","result":[)" + result + "]}}"};
  }
};

std::unique_ptr<FaultyPrometheus> FaultyPrometheus::start(History history, std::string* error) {
  auto impl = std::make_unique<Impl>();
  impl->history = std::move(history);
  if (!impl->listen(error)) return nullptr;
  return std::unique_ptr<FaultyPrometheus>(new FaultyPrometheus(std::move(impl)));
}

FaultyPrometheus::FaultyPrometheus(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FaultyPrometheus::~FaultyPrometheus() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->shuttingDown = true;
  }
  impl_->changed.notify_all();
  std::lock_guard<std::mutex> lock(impl_->serverMu);
  if (impl_->server) impl_->server->stop(std::chrono::milliseconds(200));
  impl_->server.reset();
}

std::string FaultyPrometheus::url() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}

bool FaultyPrometheus::setFault(PromFault fault, std::string* error) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->fault = fault;
    ++impl_->generation;
  }
  impl_->changed.notify_all();
  std::lock_guard<std::mutex> lock(impl_->serverMu);
  if (fault == PromFault::kDown && impl_->server) {
    impl_->server->stop(std::chrono::milliseconds(200));
    impl_->server.reset();
  } else if (fault != PromFault::kDown && !impl_->server) {
    return impl_->listen(error);
  }
  return true;
}

PromFault FaultyPrometheus::fault() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->fault;
}

void FaultyPrometheus::setSlowDelay(std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->slowDelay = delay;
}

std::chrono::milliseconds FaultyPrometheus::slowDelay() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->slowDelay;
}

std::uint64_t FaultyPrometheus::requests() const {
  return impl_->requests.load();
}

std::uint64_t FaultyPrometheus::answered() const {
  return impl_->answered.load();
}

FaultyPrometheus::History checkoutHistory(std::int64_t from, std::int64_t incident) {
  return [from, incident](const std::string& selector,
                          std::int64_t minute) -> std::optional<std::uint64_t> {
    if (selector.find("service=\"checkout\"") == std::string::npos || minute < from) {
      return std::nullopt;
    }
    if (selector.find("5..") != std::string::npos) return minute >= incident ? 200 : 0;
    return 1000;
  };
}

}  // namespace slogate::fakes
