#include "prometheus/client.h"

#include <atomic>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "base/json.h"
#include "base/secret_file.h"

namespace slogate::prometheus {
namespace {

std::string base64(std::string_view in) {
  static const char* kTable = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += i + 1 < in.size() ? kTable[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// "1700000000.123" → seconds and milliseconds, exactly.
bool parseTimestamp(const Json& j, Sample& s) {
  if (!j.isNumber()) return false;
  const std::string& t = j.text();
  const auto dot = t.find('.');
  const std::string whole = t.substr(0, dot);
  std::string frac = dot == std::string::npos ? "" : t.substr(dot + 1);
  if (whole.empty() || whole.size() > 15 || frac.size() > 9 ||
      whole.find_first_not_of("0123456789-") != std::string::npos ||
      frac.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  s.timestamp = std::stoll(whole);
  frac.resize(3, '0');
  // The sign is the text's: "-0.2" has a whole part of 0.
  s.millis = s.timestamp * 1000 + (t[0] == '-' ? -1 : 1) * std::stoll(frac);
  return true;
}

bool parsePair(const Json& pair, Sample& s) {
  if (!pair.isArray() || pair.items().size() != 2 || !pair[1].isString()) return false;
  if (!parseTimestamp(pair[0], s)) return false;
  s.value = pair[1].text();
  return true;
}

Status malformed(const std::string& what) {
  return internalError("prometheus answered a malformed response: " + what);
}

Result<Series> parseSeries(const Json& j, bool matrix) {
  Series s;
  const Json& metric = j["metric"];
  if (!metric.isObject() && !metric.isNull()) return malformed("metric is not an object");
  for (const auto& [k, v] : metric.members()) {
    if (!v.isString()) return malformed("label " + k + " is not a string");
    s.labels.emplace_back(k, v.text());
  }
  if (matrix) {
    const Json& values = j["values"];
    if (!values.isArray()) return malformed("matrix series without values");
    s.samples.reserve(values.items().size());
    for (const Json& p : values.items()) {
      Sample sample;
      if (!parsePair(p, sample)) return malformed("bad [time, value] pair");
      s.samples.push_back(std::move(sample));
    }
  } else {
    Sample sample;
    if (!parsePair(j["value"], sample)) return malformed("bad [time, value] pair");
    s.samples.push_back(std::move(sample));
  }
  return s;
}

class Client final : public QueryClient {
 public:
  Client(ClientOptions options, std::unique_ptr<net::HttpClient> transport)
      : options_(std::move(options)),
        transport_(std::move(transport)),
        rng_(std::random_device{}()) {
    // The URL's path prefix (Mimir's "/prometheus") goes before every API path.
    const auto scheme = options_.url.find("://");
    const auto slash = options_.url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    if (slash != std::string::npos) prefix_ = options_.url.substr(slash);
    while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
  }

  // QueryClient
  Result<QueryResult> query(const std::string& promql, std::int64_t time) override {
    return call("/api/v1/query",
                "query=" + net::urlEncode(promql) + "&time=" + std::to_string(time));
  }
  Result<QueryResult> queryRange(const std::string& promql, std::int64_t start, std::int64_t end,
                                 std::int64_t step) override {
    return call("/api/v1/query_range",
                "query=" + net::urlEncode(promql) + "&start=" + std::to_string(start) +
                    "&end=" + std::to_string(end) + "&step=" + std::to_string(step));
  }
  std::uint64_t requests() const override { return requests_.load(); }

 private:
  Result<net::Headers> headers() const {
    net::Headers h = options_.headers;
    h.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    h.emplace_back("Accept", "application/json");
    std::string token = options_.bearerToken;
    if (!options_.bearerTokenFile.empty()) {
      auto t = readSecretFile(options_.bearerTokenFile, "the bearer token");
      if (!t) return t.status();
      token = *t;
    }
    if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
    if (!options_.basicUser.empty()) {
      h.emplace_back("Authorization",
                     "Basic " + base64(options_.basicUser + ":" + options_.basicPassword));
    }
    return h;
  }

  std::chrono::milliseconds backoffFor(int attempt, const std::string& retryAfter) {
    if (!retryAfter.empty() && retryAfter.find_first_not_of("0123456789") == std::string::npos &&
        retryAfter.size() < 6) {
      return std::min(std::chrono::milliseconds(std::stoll(retryAfter) * 1000),
                      options_.maxBackoff);
    }
    const std::chrono::milliseconds cap =
        std::min(options_.maxBackoff,
                 std::chrono::milliseconds(options_.backoff.count() << std::min(attempt, 10)));
    std::lock_guard<std::mutex> lock(rngMu_);
    // Full jitter: uniform in [cap/2, cap].
    return std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(
        cap.count() / 2, std::max<std::int64_t>(cap.count(), 1))(rng_));
  }

  void pause(std::chrono::milliseconds d) const {
    if (options_.sleep) {
      options_.sleep(d);
    } else {
      std::this_thread::sleep_for(d);
    }
  }

  Result<QueryResult> call(const std::string& path, const std::string& form) {
    auto h = headers();
    if (!h) return h.status();
    net::HttpRequest req{"POST", prefix_ + path, std::move(*h), form};
    Status last;
    const int attempts = std::max(1, options_.maxAttempts);
    for (int attempt = 0; attempt < attempts; ++attempt) {
      ++requests_;
      const auto started = std::chrono::steady_clock::now();
      auto resp = transport_->send(req);
      if (options_.onQuery) {
        const bool ok = resp.ok() && resp->status < 400;
        options_.onQuery(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), ok);
      }
      std::string retryAfter;
      if (!resp) {
        last = resp.status();
        if (last.code() != Code::kUnavailable && last.code() != Code::kDeadline) return last;
      } else if (resp->status >= 500 || resp->status == 429) {
        retryAfter = resp->header("Retry-After");
        auto decoded = decodeResponse(resp->status, resp->body);
        last = decoded ? unavailable("prometheus answered HTTP " + std::to_string(resp->status))
                       : Status(Code::kUnavailable, decoded.status().message());
      } else {
        return decodeResponse(resp->status, resp->body);
      }
      if (attempt + 1 < attempts) pause(backoffFor(attempt, retryAfter));
    }
    return last.withContext(options_.url + path + " (after " + std::to_string(attempts) +
                            " attempts)");
  }

  ClientOptions options_;
  std::unique_ptr<net::HttpClient> transport_;
  std::string prefix_;
  std::atomic<std::uint64_t> requests_{0};
  std::mutex rngMu_;
  std::mt19937_64 rng_;  // guarded by rngMu_
};

}  // namespace

Result<QueryResult> decodeResponse(int httpStatus, std::string_view body) {
  auto doc = Json::parse(body);
  if (!doc) {
    std::string shown(body.substr(0, 200));
    for (char& c : shown) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    return malformed("HTTP " + std::to_string(httpStatus) + ", not JSON (" +
                     doc.status().message() + "): " + shown);
  }
  const Json& d = *doc;
  if (d["status"].text() == "error" || httpStatus >= 400) {
    const std::string type = d["errorType"].text();
    const std::string error = d["error"].text();
    if (type.empty() && error.empty()) {
      return Status(Code::kUnavailable, "prometheus answered HTTP " + std::to_string(httpStatus));
    }
    // bad_data, execution, timeout, canceled, internal, unavailable, not_found
    const Code code = type == "timeout"                             ? Code::kDeadline
                      : (type == "bad_data" || type == "execution") ? Code::kInvalidArgument
                                                                    : Code::kUnavailable;
    return Status(code, "prometheus " + type + ": " + error);
  }
  if (d["status"].text() != "success") return malformed("status is neither success nor error");
  QueryResult out;
  for (const Json& w : d["warnings"].items()) out.warnings.push_back(w.text());
  const std::string type = d["data"]["resultType"].text();
  const Json& result = d["data"]["result"];
  if (type == "vector" || type == "matrix") {
    out.type = type == "vector" ? QueryResult::Type::kVector : QueryResult::Type::kMatrix;
    if (!result.isArray()) return malformed("result is not a list");
    out.series.reserve(result.items().size());
    for (const Json& s : result.items()) {
      auto series = parseSeries(s, type == "matrix");
      if (!series) return series.status();
      out.series.push_back(std::move(*series));
    }
  } else if (type == "scalar" || type == "string") {
    out.type = type == "scalar" ? QueryResult::Type::kScalar : QueryResult::Type::kString;
    Sample sample;
    if (!parsePair(result, sample)) return malformed("bad scalar");
    out.series.push_back(Series{{}, {std::move(sample)}});
  } else {
    return malformed("unknown resultType \"" + type + "\"");
  }
  return out;
}

Result<std::unique_ptr<QueryClient>> makeClient(const ClientOptions& options) {
  net::HttpClientOptions http;
  http.timeout = options.timeout;
  http.tls = options.tls;
  // Scheme and authority only: the client adds the path prefix itself.
  const auto scheme = options.url.find("://");
  if (scheme == std::string::npos) {
    return invalidArgument("--prometheus: \"" + options.url + "\" is not an http(s) URL");
  }
  const auto slash = options.url.find('/', scheme + 3);
  auto transport = net::makeHttpClient(options.url.substr(0, slash), http);
  if (!transport) return transport.status().withContext("--prometheus");
  return makeClient(options, std::move(*transport));
}

std::unique_ptr<QueryClient> makeClient(const ClientOptions& options,
                                        std::unique_ptr<net::HttpClient> transport) {
  return std::make_unique<Client>(options, std::move(transport));
}

}  // namespace slogate::prometheus
