// history.h — ServiceHistory: a synthetic golden-signal history of one
// service, written as OpenMetrics for backfilling, with the exact per-minute
// truth to compare answers against.
//
// Time model (all times Unix seconds; a "minute" m is the Unix minute
// seconds/60):
//   - The minute slice ending at minute m holds the events that happened in
//     ((m-1)*60, m*60]. Slices ending in (start, end] may hold events.
//   - Event settings (setRate, setSlow, noSeries) cover the slices whose
//     START (m-1)*60 lies in [fromSec, toSec): for aligned bounds the slices
//     ending at minutes (from/60, to/60].
//   - Samples are taken at start + k*scrapeSeconds up to and including end.
//     Sample settings (gap, noSeries, setCpu, counterResetAt) cover the sample
//     timestamps t in [fromSec, toSec).
//   - A counter sample at t includes every event of the slices ending at or
//     before t since the last restart, so increase(x[1m]) at m*60 is exactly
//     the slice ending at m (with the default 60 s scrape).
//   - counterResetAt(sec): the process restarts right after the sample before
//     sec; the first sample at or after sec counts only the events since then
//     (for a 60 s scrape: the slice ending at that sample). Prometheus'
//     reset handling recovers those events exactly.
//   - noSeries(from, to): no samples at t in [from, to), no events in slices
//     starting in [from, to), and the counters start again from 0 afterwards.
//   - gap(from, to): no samples at t in [from, to); events go on and count in
//     the truth (a query across the gap cannot see them minute by minute).
// Later settings override earlier ones where they overlap.
//
// Series written (S = service):
//   http_requests_total{service=S,code="200"}  good events (total - bad)
//   http_requests_total{service=S,code="500"}  bad events
//   http_request_duration_seconds_bucket{service=S,le="0.3"}   fast = total - slow
//   http_request_duration_seconds_bucket{service=S,le="+Inf"}  total
//   http_request_duration_seconds_count{service=S}  total
//   http_request_duration_seconds_sum{service=S}    approximate (0.1 s fast, 0.5 s slow)
//   container_cpu_utilization_ratio{container=S}    gauge (default 0.5)
// Several histories may write into one OpenMetricsWriter (distinct services).
//
// Misuse (unaligned start/end, bad > total, from > to) throws
// std::invalid_argument.
//
// Thread safety: none for setters; const members may be called concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/openmetrics.h"

namespace slogate::harness {

// One minute slice of truth: minuteEnd = Unix minute (seconds/60) at the END
// of the slice.
struct MinuteCounts {
  std::int64_t minuteEnd = 0;
  std::uint64_t total = 0;
  std::uint64_t bad = 0;
};

class ServiceHistory {
 public:
  // service label value; start/end in Unix seconds, aligned to 60, start <= end.
  // scrapeSeconds > 0: the sample spacing (60 by default).
  ServiceHistory(std::string service, std::int64_t startSeconds, std::int64_t endSeconds,
                 std::int64_t scrapeSeconds = 60);

  // Events per minute for the slices starting in [fromSec, toSec): total and
  // bad (bad <= total). Default: 0 and 0.
  void setRate(std::int64_t fromSec, std::int64_t toSec, std::uint64_t totalPerMinute,
               std::uint64_t badPerMinute);
  // Of the total per minute, how many are slow (above 0.3 s); capped at the
  // minute's total. Default 0.
  void setSlow(std::int64_t fromSec, std::int64_t toSec, std::uint64_t slowPerMinute);
  // Gauge value for samples at t in [fromSec, toSec). Default 0.5.
  void setCpu(std::int64_t fromSec, std::int64_t toSec, double value);
  // The process restarts: all counters restart from 0 at the first sample at
  // or after sec.
  void counterResetAt(std::int64_t sec);
  // No samples written at t in [fromSec, toSec); events still happen and count
  // in the truth.
  void gap(std::int64_t fromSec, std::int64_t toSec);
  // The service does not exist at all then: no samples, no events; counters
  // start from 0 afterwards.
  void noSeries(std::int64_t fromSec, std::int64_t toSec);

  // Declares the three families and writes every series, samples in time order.
  void write(OpenMetricsWriter& out) const;

  // Exact truth for the slice ending at Unix minute minuteEnd.
  MinuteCounts errorsAt(std::int64_t minuteEnd) const;   // total, bad (= 5xx)
  MinuteCounts latencyAt(std::int64_t minuteEnd) const;  // total, bad (= slow)
  // The gauge sample at minuteEnd*60; nullopt when there is none (gaps,
  // noSeries, outside [start, end], off the scrape grid).
  std::optional<double> cpuAt(std::int64_t minuteEnd) const;

  const std::string& service() const { return service_; }
  std::int64_t startSeconds() const { return start_; }
  std::int64_t endSeconds() const { return end_; }
  std::int64_t scrapeSeconds() const { return scrape_; }
  // Whether a sample is written at t (on the grid, in range, not in a gap).
  bool sampleAt(std::int64_t t) const;

 private:
  struct Range {
    std::int64_t from = 0, to = 0;
    bool contains(std::int64_t t) const { return from <= t && t < to; }
  };
  struct RateSetting {
    Range range;
    std::uint64_t total = 0, bad = 0;
  };
  struct SlowSetting {
    Range range;
    std::uint64_t slow = 0;
  };
  struct CpuSetting {
    Range range;
    double value = 0;
  };
  struct Slice {
    std::uint64_t total = 0, bad = 0, slow = 0;
  };

  Range checkedRange(std::int64_t fromSec, std::int64_t toSec) const;
  bool inNoSeries(std::int64_t t) const;
  Slice sliceEndingAt(std::int64_t minuteEnd) const;
  double cpuValue(std::int64_t t) const;

  std::string service_;
  std::int64_t start_, end_, scrape_;
  std::vector<RateSetting> rates_;
  std::vector<SlowSetting> slow_;
  std::vector<CpuSetting> cpu_;
  std::vector<std::int64_t> resets_;
  std::vector<Range> gaps_;
  std::vector<Range> noSeries_;
};

}  // namespace slogate::harness
