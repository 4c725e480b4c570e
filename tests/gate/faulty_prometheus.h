// faulty_prometheus.h — FaultyPrometheus: a loopback Prometheus HTTP API over
// a known history, that fails on demand the way real ones do.
//
// It answers the two endpoints slogate uses, /api/v1/query_range and
// /api/v1/query (GET or form-encoded POST), for the only query shape the
// reader sends, sum(increase(<selector>[<R>m])): the value at time t is the
// sum of the history's per-minute events for the minutes ending in
// (t − R, t] (a minute whose series does not exist adds nothing; a point with
// no existing minute is left out, like Prometheus leaves out a range without
// samples). With whole-minute scrapes that is exactly what a real Prometheus
// 2.x answers for a counter growing by those events (README, "Accuracy").
//
//   auto prom = FaultyPrometheus::start(
//       [](const std::string& selector, std::int64_t minute) -> std::optional<std::uint64_t> {
//         return selector.find("5..") == std::string::npos ? 1000 : 0;
//       }, &error);
//   // point a prometheus::QueryClient at prom->url()
//   prom->setFault(PromFault::kHttp503);   // every query now fails with 503
//   prom->setFault(PromFault::kNone);      // healthy again
//
// Faults: kDown closes the listener (connection refused) until another fault
// is set, then listens again on the same port; kSlow holds every answer for
// slowDelay() (then answers correctly); kHttp500 is Prometheus' JSON error
// (errorType "internal"); kHttp503 the plain-text "Service Unavailable" of a
// Prometheus that is not ready; kGarbage a 200 with an HTML body; kNaN and
// kInf answer every point as "NaN" / "+Inf"; kEmpty answers success with no
// series at all.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

namespace slogate::fakes {

enum class PromFault { kNone, kDown, kSlow, kHttp500, kHttp503, kGarbage, kNaN, kInf, kEmpty };
const char* promFaultName(PromFault fault);  // "none", "down", "slow", "http500", ...
std::ostream& operator<<(std::ostream& os, PromFault fault);  // its name (test output)

class FaultyPrometheus {
 public:
  // Events of `selector` in the minute ending at `minute` (Unix minutes), or
  // nullopt when the series does not exist in that minute.
  using History =
      std::function<std::optional<std::uint64_t>(const std::string& selector, std::int64_t minute)>;

  // Listens on http://127.0.0.1:<free port>. nullptr (and *error) on failure.
  static std::unique_ptr<FaultyPrometheus> start(History history, std::string* error);
  ~FaultyPrometheus();
  FaultyPrometheus(const FaultyPrometheus&) = delete;
  FaultyPrometheus& operator=(const FaultyPrometheus&) = delete;

  std::string url() const;  // "http://127.0.0.1:PORT"
  // Takes effect for the next request (kDown and leaving it: at once). False
  // (and *error) when the port could not be bound again after kDown.
  bool setFault(PromFault fault, std::string* error = nullptr);
  PromFault fault() const;
  void setSlowDelay(std::chrono::milliseconds delay);  // default 2 s
  std::chrono::milliseconds slowDelay() const;

  std::uint64_t requests() const;  // requests received, whatever was answered
  std::uint64_t answered() const;  // answered with data (no fault, or NaN/+Inf/empty)

  struct Impl;

 private:
  explicit FaultyPrometheus(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The checkout service both fault suites serve: 1,000 requests a minute for
// selectors of service="checkout" from minute `from` on, of which 200 fail
// (code 5..) from minute `incident` on; nothing for other selectors.
FaultyPrometheus::History checkoutHistory(std::int64_t from, std::int64_t incident);

}  // namespace slogate::fakes
