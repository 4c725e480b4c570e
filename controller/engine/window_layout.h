// window_layout.h — which windows an SLO measures, and at what resolution.
//
// Every indicator of an SLO keeps running sums for the same set of windows:
// the standard 5m, 30m, 1h, 2h, 6h, 1d and 3d, every window its burn-rate
// rules name, and the SLO window itself. Keeping 30 days of 1-minute slices
// would cost 675 KiB an indicator, so older data is kept coarser, in rings
// ("tiers") of buckets:
//
//   window length      resolution   ring (for the longest window of the tier)
//   up to 6h           1 minute     max window + 60 min late horizon + 2
//   up to 3d           15 minutes   max window / 15m + 3
//   longer             1 hour       max window / 1h + 3
//
// A window of length W and resolution R evaluated at minute t covers the
// 1-minute slices ending in (floor_R(t − W), t]: the exact SPEC window
// (t − W, t] for R = 1, and for coarser windows the exact window widened back
// to the start of the bucket that holds its oldest minute (at most R − 1
// minutes more: < 1% of a 1d or 30d window). Windows up to 6h are exact.
//
// A layout is immutable and shared by all indicators of an SLO (and by every
// SLO with the same windows).
//
// Thread safety: immutable after build(); share freely.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/duration.h"
#include "engine/slo_spec.h"

namespace slogate::engine {

inline constexpr int kMaxWindows = 16;  // distinct window lengths an SLO may use
inline constexpr int kMaxTiers = 3;
inline constexpr Minutes kLateHorizon = 60;       // a 1-minute slice may be corrected this late
inline constexpr Minutes kTrafficResolution = 5;  // the traffic guard's week-ago ring
inline constexpr Minutes kMaxSloWindow = 90 * kDay;

struct TierDef {
  Minutes resolution = 1;   // bucket length: 1, 15 or 60 minutes
  std::int32_t slots = 0;   // ring size in buckets
  std::int32_t offset = 0;  // first slot in the series' slot array
};

struct WindowDef {
  Minutes length = 0;     // W (for a calendar window: the longest a period can be)
  std::int32_t tier = 0;  // index into tiers(); its resolution is R
  bool listed = false;    // a standard or rule window: reported under its own name
  bool calendar = false;  // the SLO's calendar window: starts at the period's start
  std::string name;       // "5m", "1d", ...
};

class WindowLayout {
 public:
  // Builds the layout for an SLO window and its rules. `trafficRing` adds the
  // week-long 5-minute ring the maxDrop guard needs (guard indicator only).
  // With `calendar`, the SLO window is that calendar period (sloWindow is
  // ignored) and never shared with a rule window of the same length.
  static Result<std::shared_ptr<const WindowLayout>> build(
      Minutes sloWindow, const std::vector<BurnRateRule>& rules, bool trafficRing,
      const std::optional<CalendarWindow>& calendar = std::nullopt);

  static Minutes resolutionFor(Minutes length);

  std::span<const WindowDef> windows() const { return {windows_.data(), windowCount_}; }
  std::span<const TierDef> tiers() const { return {tiers_.data(), tierCount_}; }
  std::int32_t totalSlots() const { return totalSlots_; }
  std::int32_t trafficSlots() const { return trafficSlots_; }

  // Index of the rolling window with this length, or -1.
  int indexOf(Minutes length) const;
  int sloWindowIndex() const { return sloWindowIndex_; }
  const std::optional<CalendarWindow>& calendar() const { return calendar_; }
  int fiveMinuteIndex() const { return fiveMinuteIndex_; }
  Minutes sloWindow() const { return windows_[static_cast<std::size_t>(sloWindowIndex_)].length; }

  // Bytes one indicator's series takes with this layout (with or without the
  // traffic ring), for the memory report.
  std::size_t bytesPerSeries(bool withTraffic) const;

 private:
  WindowLayout() = default;
  std::array<WindowDef, kMaxWindows> windows_{};  // ascending length
  std::size_t windowCount_ = 0;
  std::array<TierDef, kMaxTiers> tiers_{};  // ascending resolution
  std::size_t tierCount_ = 0;
  std::int32_t totalSlots_ = 0;    // sum of tier slots
  std::int32_t trafficSlots_ = 0;  // 0 without the traffic ring
  int sloWindowIndex_ = -1;
  int fiveMinuteIndex_ = -1;
  std::optional<CalendarWindow> calendar_;
};

}  // namespace slogate::engine
