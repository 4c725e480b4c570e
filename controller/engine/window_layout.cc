#include "engine/window_layout.h"

#include <algorithm>

#include "engine/series.h"

namespace slogate::engine {

Minutes WindowLayout::resolutionFor(Minutes length) {
  if (length <= 6 * kHour) return 1;
  if (length <= 3 * kDay) return 15;
  return kHour;
}

Result<std::shared_ptr<const WindowLayout>> WindowLayout::build(
    Minutes sloWindow, const std::vector<BurnRateRule>& rules, bool trafficRing,
    const std::optional<CalendarWindow>& calendar) {
  if (calendar) {
    if (!calendar->zone) return invalidArgument("calendar window without a time zone");
    sloWindow = maxPeriodLength(calendar->period);
  } else if (sloWindow <= 0 || sloWindow > kMaxSloWindow) {
    return invalidArgument("window " + formatDuration(sloWindow) + " is outside 1m..90d");
  }
  struct Want {
    Minutes length;
    bool listed;
    bool calendar = false;
  };
  std::vector<Want> wants = {{5, true},         {30, true},   {kHour, true},   {2 * kHour, true},
                             {6 * kHour, true}, {kDay, true}, {3 * kDay, true}};
  for (const BurnRateRule& rule : rules) {
    for (const Minutes length : {rule.longWindow, rule.shortWindow}) {
      if (length <= 0 || length > kMaxSloWindow) {
        return invalidArgument("rule window " + formatDuration(length) + " is outside 1m..90d");
      }
      wants.push_back({length, true});
    }
  }
  wants.push_back({sloWindow, false, calendar.has_value()});
  std::sort(wants.begin(), wants.end(), [](const Want& a, const Want& b) {
    if (a.length != b.length) return a.length < b.length;
    if (a.calendar != b.calendar) return b.calendar;
    return a.listed > b.listed;
  });

  std::shared_ptr<WindowLayout> layout(new WindowLayout());
  for (const Want& want : wants) {
    if (!want.calendar && layout->windowCount_ > 0 &&
        layout->windows_[layout->windowCount_ - 1].length == want.length) {
      continue;  // the first of equal lengths wins; listed sorts first
    }
    if (layout->windowCount_ == kMaxWindows) {
      return invalidArgument("more than " + std::to_string(kMaxWindows) +
                             " distinct windows (standard, rule and SLO windows together)");
    }
    WindowDef& def = layout->windows_[layout->windowCount_++];
    def.length = want.length;
    def.listed = want.listed;
    def.calendar = want.calendar;
    def.name = want.calendar ? calendarPeriodName(calendar->period) : formatDuration(want.length);
    if (want.calendar) layout->sloWindowIndex_ = static_cast<int>(layout->windowCount_ - 1);
  }

  // Tiers: one per resolution in use, sized for its longest window.
  Minutes maxAt[kMaxTiers] = {0, 0, 0};
  constexpr Minutes kResolutions[kMaxTiers] = {1, 15, kHour};
  for (std::size_t i = 0; i < layout->windowCount_; ++i) {
    const Minutes r = resolutionFor(layout->windows_[i].length);
    for (int t = 0; t < kMaxTiers; ++t) {
      if (kResolutions[t] == r) maxAt[t] = std::max(maxAt[t], layout->windows_[i].length);
    }
  }
  int tierIndexOf[kMaxTiers] = {-1, -1, -1};
  std::int32_t offset = 0;
  for (int t = 0; t < kMaxTiers; ++t) {
    if (maxAt[t] == 0) continue;
    TierDef& tier = layout->tiers_[layout->tierCount_];
    tierIndexOf[t] = static_cast<int>(layout->tierCount_++);
    tier.resolution = kResolutions[t];
    tier.slots =
        static_cast<std::int32_t>(t == 0 ? maxAt[t] + kLateHorizon + 2
                                         : ceilTo(maxAt[t], kResolutions[t]) / kResolutions[t] + 3);
    tier.offset = offset;
    offset += tier.slots;
  }
  layout->totalSlots_ = offset;
  for (std::size_t i = 0; i < layout->windowCount_; ++i) {
    const Minutes r = resolutionFor(layout->windows_[i].length);
    for (int t = 0; t < kMaxTiers; ++t) {
      if (kResolutions[t] == r) layout->windows_[i].tier = tierIndexOf[t];
    }
  }
  if (!calendar) layout->sloWindowIndex_ = layout->indexOf(sloWindow);
  layout->calendar_ = calendar;
  layout->fiveMinuteIndex_ = layout->indexOf(5);
  layout->trafficSlots_ =
      trafficRing ? static_cast<std::int32_t>(kWeek / kTrafficResolution + 3) : 0;
  return std::shared_ptr<const WindowLayout>(std::move(layout));
}

int WindowLayout::indexOf(Minutes length) const {
  for (std::size_t i = 0; i < windowCount_; ++i) {
    if (windows_[i].length == length && !windows_[i].calendar) return static_cast<int>(i);
  }
  return -1;
}

std::size_t WindowLayout::bytesPerSeries(bool withTraffic) const {
  return sizeof(IndicatorSeries) + static_cast<std::size_t>(totalSlots_) * sizeof(Events) +
         (withTraffic ? static_cast<std::size_t>(trafficSlots_) * sizeof(std::uint64_t) : 0);
}

}  // namespace slogate::engine
