// client.h — QueryClient: Prometheus' HTTP query API, and its implementation.
//
// Speaks /api/v1/query and /api/v1/query_range (form-encoded POST, which
// Prometheus, Thanos and Mimir all accept, so long selectors never hit URL
// limits) and decodes vector, matrix, scalar and string results. Sample values
// stay the strings Prometheus printed ("12", "0.5", "NaN", "+Inf") so callers
// decide how exact to be.
//
// Errors: a Prometheus error body ({"status":"error","errorType":"bad_data",
// "error":"..."}) is surfaced verbatim as "prometheus bad_data: ...";
// transport errors, 5xx and 429 are retried with jittered exponential backoff
// (Retry-After honoured) up to `maxAttempts`, then kUnavailable/kDeadline.
//
//   auto client = prometheus::makeClient({.url = "http://127.0.0.1:9090"});
//   auto r = (*client)->queryRange("sum(increase(x[1m]))", start, end, 60);
//
// Thread safety: a client may be used from several threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "net/http_client.h"

namespace slogate::prometheus {

struct Sample {
  std::int64_t timestamp = 0;  // Unix seconds (Prometheus' float seconds, truncated to whole)
  std::int64_t millis = 0;     // the same instant in milliseconds, exact
  std::string value;           // as Prometheus printed it
};

struct Series {
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by name as received
  std::vector<Sample> samples;  // one for vector results, many for matrix
};

struct QueryResult {
  enum class Type { kVector, kMatrix, kScalar, kString };
  Type type = Type::kVector;
  std::vector<Series> series;  // scalar/string: one series without labels
  std::vector<std::string> warnings;
};

class QueryClient {
 public:
  virtual ~QueryClient() = default;
  // Instant query at Unix second `time`.
  virtual Result<QueryResult> query(const std::string& promql, std::int64_t time) = 0;
  // Range query over [start, end] every `step` seconds.
  virtual Result<QueryResult> queryRange(const std::string& promql, std::int64_t start,
                                         std::int64_t end, std::int64_t step) = 0;
  // Queries sent so far (each attempt counts once), for reports and tests.
  virtual std::uint64_t requests() const = 0;
};

struct ClientOptions {
  std::string url;  // "http://prometheus:9090" or with a path prefix, e.g. Mimir's "/prometheus"
  std::string bearerToken;
  std::string bearerTokenFile;  // re-read on every request (rotated tokens)
  std::string basicUser;
  std::string basicPassword;
  net::Headers headers;  // extra headers, e.g. {"X-Scope-OrgID", "tenant-1"}
  net::TlsOptions tls;
  std::chrono::milliseconds timeout{30'000};  // per attempt
  int maxAttempts = 4;                        // 1 = no retry
  std::chrono::milliseconds backoff{200};     // first retry waits up to this (jittered)
  std::chrono::milliseconds maxBackoff{5'000};
  // For tests: replaces sleeping between retries.
  std::function<void(std::chrono::milliseconds)> sleep;
  // Observer (metrics): each attempt's duration in seconds and whether it succeeded.
  std::function<void(double seconds, bool ok)> onQuery;
};

// A client over net::makeHttpClient.
Result<std::unique_ptr<QueryClient>> makeClient(const ClientOptions& options);

// A client over a given transport (tests inject a fake one).
std::unique_ptr<QueryClient> makeClient(const ClientOptions& options,
                                        std::unique_ptr<net::HttpClient> transport);

// Decodes a Prometheus API response body (for the client and the fuzzer).
Result<QueryResult> decodeResponse(int httpStatus, std::string_view body);

}  // namespace slogate::prometheus
