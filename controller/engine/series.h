// series.h — IndicatorSeries: one indicator's events, windowed.
//
// A series receives event counts per time bucket and keeps, for every window
// of its layout, the running (total, bad) sum ending at its head minute, so an
// evaluation reads O(1) numbers per window. Counts arrive as:
//
//   record(1, end, total, bad)    a 1-minute slice (the steady state)
//   record(15|60, end, ...)       a coarse bucket (startup backfill of old data)
//   recordTraffic(end, total)     a 5-minute total for the maxDrop guard's ring
//
// Recording a bucket that was recorded before OVERWRITES it (the difference is
// applied), so re-reading a minute that Prometheus had only partly scraped
// never double-counts. A bucket newer than the head moves the head there
// first; one older than its ring holds is refused (kTooOld). A refused bucket
// changes nothing, not even the head.
//
// A calendar window (layout().calendar()) starts at its period's start
// instead of W before the head; when the head enters a new period, the old
// period's buckets leave the sum, so the budget is whole again.
//
// Exactness: a window of resolution R is exact at head t when its ring was
// filled at resolution R or finer over the window's span. Windows draw only on
// data at their own resolution or finer, so a backfill that records hours for
// old data, then 15-minute buckets, then minutes for the last hours (see
// backfillPlan) leaves every window exact.
//
// Thread safety: none; a series is owned by one evaluator at a time.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "engine/duration.h"
#include "engine/window_layout.h"

namespace slogate::engine {

// Events in a bucket or window. For timeslices: total = slices with data.
struct Events {
  std::uint64_t total = 0;
  std::uint64_t bad = 0;
};

// Any sum the engine keeps stays at or below this (2^63 − 1), so products
// with billionths fit 128 bits with room to spare.
inline constexpr std::uint64_t kMaxEvents = 0x7fff'ffff'ffff'ffffULL;

enum class RecordOutcome {
  kRecorded,  // applied
  kTooOld,    // the bucket's ring no longer holds it; nothing changed
  kInvalid,   // bad > total, unknown resolution or misaligned end; nothing changed
  kOverflow,  // some sum would pass kMaxEvents, go below zero or hold more bad
              // than total events (a finer bucket correcting a coarser one
              // recorded on its own); nothing changed
};

const char* recordOutcomeName(RecordOutcome outcome);

// One span of a startup backfill: buckets of `resolution` ending in (from, to].
struct BackfillSpan {
  Minutes resolution = 1;
  Minutes from = 0;
  Minutes to = 0;
};

class IndicatorSeries {
 public:
  // `withTraffic`: keep the week-long 5-minute ring (needs a layout built with
  // trafficRing). `head` starts the series at that minute with no events.
  IndicatorSeries(std::shared_ptr<const WindowLayout> layout, bool withTraffic, Minutes head);

  const WindowLayout& layout() const { return *layout_; }
  Minutes head() const { return head_; }

  // Slides every window so it ends at `t`. No-op when t <= head.
  void advanceTo(Minutes t);

  // Records the bucket of `resolution` (1 or a tier's) ending at minute `end`
  // (a multiple of the resolution).
  RecordOutcome record(Minutes resolution, Minutes end, std::uint64_t total, std::uint64_t bad);

  // Sets the 5-minute traffic total of the bucket ending at `end` (backfill of
  // the guard's week-ago history). kInvalid without a traffic ring.
  RecordOutcome recordTraffic(Minutes end, std::uint64_t total);

  // The running sum of window i (layout().windows()[i]) at the head.
  const Events& window(std::size_t i) const { return sums_[i]; }

  // Total events in the 5-minute traffic bucket ending at floor_5(head − 1w),
  // or nullopt without a traffic ring.
  std::optional<std::uint64_t> weekAgoTraffic() const;

  // Heap and object bytes this series uses.
  std::size_t bytes() const;

 private:
  struct RingRef {
    Events* slots;
    Minutes resolution;
    std::int32_t count;
  };
  using Sums = std::array<Events, kMaxWindows>;
  RingRef ring(std::size_t tier);
  const Events* slotFor(std::size_t tier, Minutes end) const;  // nullptr when outside the ring
  Events* slotFor(std::size_t tier, Minutes end);
  std::uint64_t* trafficSlotFor(Minutes end);  // nullptr when outside the ring
  // Where window i starts with the head at `head` (and the calendar window's
  // period starting at `calendarFrom`): floor_R(head − W), or floor_R(period start).
  Minutes windowStart(std::size_t i, Minutes head, Minutes calendarFrom) const;
  Minutes windowStart(std::size_t i) const { return windowStart(i, head_, calendarFrom_); }
  Minutes calendarFromAt(Minutes t) const;  // the calendar window's start at head t
  // The window sums as they will be with the head at t > head, computed
  // without changing anything.
  Sums slidSums(Minutes t, Minutes calendarFrom) const;
  // advanceTo(t) with the values it would compute: calendarFromAt(t) and
  // slidSums(t, calendarFrom) (record() has them already).
  void moveHead(Minutes t, Minutes calendarFrom, const Sums& slid);

  std::shared_ptr<const WindowLayout> layout_;
  Minutes head_;                        // newest minute the windows end at
  Minutes calendarFrom_ = 0;            // the calendar window's period start at the head
  Sums sums_{};                         // running window sums
  std::vector<Events> slots_;           // all tiers' rings, back to back
  std::vector<std::uint64_t> traffic_;  // 5-minute totals, empty without the guard
};

// What a startup backfill records so that every window of a layout is exact
// at minute `head`: coarse buckets for old data, minutes for the last hours.
struct BackfillPlan {
  // Contiguous spans, oldest first (each `from` is the previous `to`, the last
  // `to` is head). Start the series at spans.front().from and record every
  // bucket in order.
  std::vector<BackfillSpan> spans;
  // 5-minute totals for the traffic ring, recorded with recordTraffic after
  // the spans (its `to` is where the 1-minute span starts).
  BackfillSpan traffic;
};
BackfillPlan backfillPlan(const WindowLayout& layout, Minutes head);

}  // namespace slogate::engine
