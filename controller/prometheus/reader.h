// reader.h — SLI → PromQL → engine slices.
//
// For an occurrences indicator (errors, latency) the reader asks Prometheus
// for the events of each bucket of R minutes ending at a multiple of R:
//
//   sum(increase(<total>[Rm]))   and   sum(increase(<bad>[Rm]))   (or <good>)
//
// as one query_range with step R (at most 10,000 points a call). increase()
// survives counter resets; on Prometheus 2.x its range is closed, so with
// scrapes on the minute the per-minute values are exact, and otherwise they
// carry PromQL's extrapolation (README, "Accuracy"). Values are rounded to
// whole events. A bucket where the total query has no series has NO DATA and
// is not recorded; where only the bad (good) query is empty, there were no bad
// (good) events. bad is clamped to [0, total].
//
// A saturation indicator evaluates its query at every minute end (step 1m);
// a minute with a value is a slice with data, bad when the value is above
// `max` (exact decimal comparison; NaN is no value). Coarse buckets are
// aggregated from those minutes.
//
// Startup backfill follows engine::backfillPlan: hours for the old part of
// the window, 15-minute buckets, then minutes for the last hours, plus the
// traffic guard's week of 5-minute totals: per occurrences indicator about
// 7 query_range calls for a 30d window. Steady state re-reads the last few
// minutes per indicator on each tick (late scrapes overwrite, never add).
//
// Thread safety: a reader is stateless besides its client; the client is
// thread-safe, so readers may run in parallel on distinct SloStates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "engine/evaluate.h"
#include "prometheus/client.h"

namespace slogate::prometheus {

// Events of one bucket.
struct Slice {
  engine::Minutes end = 0;  // minute since the epoch at which the bucket ends
  std::uint64_t total = 0;
  std::uint64_t bad = 0;
};
using Slices = std::vector<Slice>;  // ascending `end`

// Minutes re-read on every steady-state update (late scrapes).
inline constexpr engine::Minutes kRefreshMinutes = 3;
// Points per query_range call (Prometheus refuses more than 11,000).
inline constexpr std::int64_t kMaxPoints = 10'000;

class SloReader {
 public:
  explicit SloReader(QueryClient& client) : client_(client) {}

  // Buckets of `resolution` minutes ending in (from, to] for indicator `k`.
  Result<Slices> fetch(const engine::CompiledSlo& slo, std::size_t k, engine::Minutes resolution,
                       engine::Minutes from, engine::Minutes to);
  // 5-minute totals of the traffic guard's indicator ending in (from, to].
  Result<Slices> fetchTraffic(const engine::CompiledSlo& slo, engine::Minutes from,
                              engine::Minutes to);

  // A state at `head` with every window filled from Prometheus.
  Result<engine::SloState> backfill(const std::shared_ptr<const engine::CompiledSlo>& slo,
                                    engine::Minutes head);
  // Records the minutes in (head − kRefreshMinutes, now] and advances to `now`.
  Status update(engine::SloState& state, engine::Minutes now);

 private:
  Result<Slices> fetchCounters(const engine::IndicatorSpec& ind, engine::Minutes resolution,
                               engine::Minutes from, engine::Minutes to);
  Result<Slices> fetchTimeslices(const engine::IndicatorSpec& ind, engine::Minutes resolution,
                                 engine::Minutes from, engine::Minutes to);
  // One range query chunked to kMaxPoints: value per bucket end, or absent.
  Status rangeByMinute(const std::string& promql, engine::Minutes resolution, engine::Minutes from,
                       engine::Minutes to, std::vector<std::optional<std::string>>& worst,
                       bool timeslices, engine::Fixed max);

  QueryClient& client_;
};

// "sum(increase(<selector>[<R>m]))"
std::string bucketQuery(const std::string& selector, engine::Minutes resolution);

// A Prometheus sample value as a whole number of events (rounded to nearest):
// nullopt for NaN, ±Inf, negative or unparsable values, or above 2^63 − 1.
std::optional<std::uint64_t> eventCount(std::string_view value);

// Exact comparison of a Prometheus sample value with `threshold`: <0, 0, >0;
// nullopt for NaN or unparsable. "+Inf" compares above, "-Inf" below.
std::optional<int> compareValue(std::string_view value, engine::Fixed threshold);

}  // namespace slogate::prometheus
