// duration.h — whole-minute durations: the engine's unit of time.
//
// Events are counted in 1-minute slices aligned to the minute, so every time
// in the engine is a `Minute`: minutes since the Unix epoch (for instants) or
// a count of minutes (for lengths). Durations are written the way Prometheus
// and the SLO resource write them: "5m", "6h", "30d", "1w", or compound in
// decreasing units ("1h30m").
//
//   Result<Minutes> w = parseDuration("30d");   // 43200
//   formatDuration(90) == "1h30m"
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace slogate::engine {

using Minutes = std::int64_t;  // a length of time, or minutes since the Unix epoch

inline constexpr Minutes kMinute = 1;
inline constexpr Minutes kHour = 60;
inline constexpr Minutes kDay = 24 * kHour;
inline constexpr Minutes kWeek = 7 * kDay;

// Parses a positive duration made of <digits><unit> parts, units w d h m in
// decreasing order, each at most once. Rejects zero, signs, spaces, seconds
// and anything over 10 years.
Result<Minutes> parseDuration(std::string_view text);

// Shortest form in the same syntax: 43200 → "30d", 90 → "1h30m", 10080 → "1w".
std::string formatDuration(Minutes length);

// Floor and ceiling of `t` to a multiple of `step` (step > 0), correct for
// negative t too.
constexpr Minutes floorTo(Minutes t, Minutes step) {
  const Minutes q = t / step;
  return (t % step != 0 && t < 0 ? q - 1 : q) * step;
}
constexpr Minutes ceilTo(Minutes t, Minutes step) {
  const Minutes f = floorTo(t, step);
  return f == t ? t : f + step;
}

}  // namespace slogate::engine
