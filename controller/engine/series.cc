#include "engine/series.h"

#include <algorithm>
#include <cassert>

namespace slogate::engine {
namespace {

// Non-negative modulo for ring indices.
std::size_t ringIndex(Minutes end, Minutes resolution, std::int32_t slots) {
  const Minutes bucket = floorTo(end, resolution) / resolution;
  const Minutes m = bucket % slots;
  return static_cast<std::size_t>(m < 0 ? m + slots : m);
}

// Applying `delta` keeps `sum` within [0, kMaxEvents]. A negative delta
// larger than the sum happens when a finer bucket corrects time that a
// coarser bucket was recorded for on its own (the coarse sum never held the
// minute's old value): refused, so sums never wrap.
bool addFits(std::uint64_t sum, std::int64_t delta) {
  if (delta >= 0) return sum <= kMaxEvents - static_cast<std::uint64_t>(delta);
  return sum >= static_cast<std::uint64_t>(-(delta + 1)) + 1;
}

void applyDelta(std::uint64_t& sum, std::int64_t delta) {
  // Two's-complement wrap gives the right result for negative deltas too; the
  // invariant (every sum includes the slot it corrects) keeps it non-negative.
  sum += static_cast<std::uint64_t>(delta);
}

}  // namespace

const char* recordOutcomeName(RecordOutcome outcome) {
  switch (outcome) {
    case RecordOutcome::kRecorded:
      return "recorded";
    case RecordOutcome::kTooOld:
      return "too old";
    case RecordOutcome::kInvalid:
      return "invalid";
    case RecordOutcome::kOverflow:
      return "overflow";
  }
  return "unknown";
}

IndicatorSeries::IndicatorSeries(std::shared_ptr<const WindowLayout> layout, bool withTraffic,
                                 Minutes head)
    : layout_(std::move(layout)),
      head_(head),
      slots_(static_cast<std::size_t>(layout_->totalSlots())),
      traffic_(withTraffic ? static_cast<std::size_t>(layout_->trafficSlots()) : 0) {
  if (layout_->calendar()) calendarFrom_ = calendarPeriodStart(*layout_->calendar(), head);
}

IndicatorSeries::RingRef IndicatorSeries::ring(std::size_t tier) {
  const TierDef& def = layout_->tiers()[tier];
  return {slots_.data() + def.offset, def.resolution, def.slots};
}

const Events* IndicatorSeries::slotFor(std::size_t tier, Minutes end) const {
  const TierDef& def = layout_->tiers()[tier];
  const Minutes current = ceilTo(head_, def.resolution);
  if (end > current || end <= current - def.slots * def.resolution) return nullptr;
  return slots_.data() + def.offset + ringIndex(end, def.resolution, def.slots);
}

Events* IndicatorSeries::slotFor(std::size_t tier, Minutes end) {
  const TierDef& def = layout_->tiers()[tier];
  const Minutes current = ceilTo(head_, def.resolution);
  if (end > current || end <= current - def.slots * def.resolution) return nullptr;
  return slots_.data() + def.offset + ringIndex(end, def.resolution, def.slots);
}

std::uint64_t* IndicatorSeries::trafficSlotFor(Minutes end) {
  if (traffic_.empty()) return nullptr;
  const auto count = static_cast<std::int32_t>(traffic_.size());
  const Minutes current = ceilTo(head_, kTrafficResolution);
  if (end > current || end <= current - count * kTrafficResolution) return nullptr;
  return traffic_.data() + ringIndex(end, kTrafficResolution, count);
}

Minutes IndicatorSeries::windowStart(std::size_t i, Minutes head, Minutes calendarFrom) const {
  const WindowDef& w = layout_->windows()[i];
  const Minutes r = layout_->tiers()[static_cast<std::size_t>(w.tier)].resolution;
  return floorTo(w.calendar ? calendarFrom : head - w.length, r);
}

Minutes IndicatorSeries::calendarFromAt(Minutes t) const {
  if (!layout_->calendar()) return 0;
  // Never backwards: buckets that left the sum cannot come back (a zone that
  // repeats a day could otherwise move a period's start back).
  return std::max(calendarFrom_, calendarPeriodStart(*layout_->calendar(), t));
}

IndicatorSeries::Sums IndicatorSeries::slidSums(Minutes t, Minutes calendarFrom) const {
  // The buckets that leave each window, read from the rings as they are
  // before they move.
  Sums sums = sums_;
  const auto windows = layout_->windows();
  for (std::size_t i = 0; i < windows.size(); ++i) {
    const auto tier = static_cast<std::size_t>(windows[i].tier);
    const Minutes r = layout_->tiers()[tier].resolution;
    const Minutes oldStart = windowStart(i);
    const Minutes newStart = windowStart(i, t, calendarFrom);
    const Minutes current = ceilTo(head_, r);
    Events& sum = sums[i];
    if (newStart >= current) {  // every bucket the sum holds leaves it
      sum = Events{};
      continue;
    }
    const Minutes last = newStart;
    for (Minutes end = oldStart + r; end <= last; end += r) {
      if (const Events* slot = slotFor(tier, end)) {
        assert(sum.total >= slot->total && sum.bad >= slot->bad);
        sum.total -= slot->total;
        sum.bad -= slot->bad;
      }
    }
  }
  return sums;
}

void IndicatorSeries::advanceTo(Minutes t) {
  if (t <= head_) return;
  const Minutes calendarFrom = calendarFromAt(t);
  moveHead(t, calendarFrom, slidSums(t, calendarFrom));
}

void IndicatorSeries::moveHead(Minutes t, Minutes calendarFrom, const Sums& slid) {
  sums_ = slid;
  // Clear the ring slots the new buckets take over.
  for (std::size_t tier = 0; tier < layout_->tiers().size(); ++tier) {
    const RingRef r = ring(tier);
    const Minutes oldEnd = ceilTo(head_, r.resolution);
    const Minutes newEnd = ceilTo(t, r.resolution);
    const Minutes fresh = std::min<Minutes>((newEnd - oldEnd) / r.resolution, r.count);
    for (Minutes k = 0; k < fresh; ++k) {
      r.slots[ringIndex(newEnd - k * r.resolution, r.resolution, r.count)] = Events{};
    }
  }
  if (!traffic_.empty()) {
    const auto count = static_cast<std::int32_t>(traffic_.size());
    const Minutes oldEnd = ceilTo(head_, kTrafficResolution);
    const Minutes newEnd = ceilTo(t, kTrafficResolution);
    const Minutes fresh = std::min<Minutes>((newEnd - oldEnd) / kTrafficResolution, count);
    for (Minutes k = 0; k < fresh; ++k) {
      traffic_[ringIndex(newEnd - k * kTrafficResolution, kTrafficResolution, count)] = 0;
    }
  }
  head_ = t;
  calendarFrom_ = calendarFrom;
}

RecordOutcome IndicatorSeries::record(Minutes resolution, Minutes end, std::uint64_t total,
                                      std::uint64_t bad) {
  if (bad > total || end % resolution != 0) return RecordOutcome::kInvalid;
  if (total > kMaxEvents) return RecordOutcome::kOverflow;
  const auto tiers = layout_->tiers();
  std::size_t tier = 0;
  while (tier < tiers.size() && tiers[tier].resolution != resolution) ++tier;
  if (tier == tiers.size()) return RecordOutcome::kInvalid;

  if (end > head_) {
    // The bucket is newer than the head: check it fits the sums as they will
    // be once the head moves there (its slot and any coarser or traffic slot
    // it opens start at zero), so a refused bucket leaves the head alone.
    const Minutes calendarFrom = calendarFromAt(end);
    const Sums slid = slidSums(end, calendarFrom);
    const auto fitsAfter = [&](std::uint64_t value) {
      return value <= kMaxEvents - total;  // bad <= total: checking total covers both
    };
    bool ok = true;
    const auto windows = layout_->windows();
    for (std::size_t i = 0; i < windows.size(); ++i) {
      if (static_cast<std::size_t>(windows[i].tier) >= tier &&
          end > windowStart(i, end, calendarFrom)) {
        ok = ok && fitsAfter(slid[i].total) && slid[i].bad <= kMaxEvents - bad;
      }
    }
    for (std::size_t t = tier + 1; t < tiers.size(); ++t) {
      const Minutes coarseEnd = ceilTo(end, tiers[t].resolution);
      if (coarseEnd <= ceilTo(head_, tiers[t].resolution)) {
        if (const Events* slot = slotFor(t, coarseEnd)) {
          ok = ok && fitsAfter(slot->total) && slot->bad <= kMaxEvents - bad;
        }
      }
    }
    if (resolution == 1 && !traffic_.empty()) {
      const Minutes trafficEnd = ceilTo(end, kTrafficResolution);
      if (trafficEnd <= ceilTo(head_, kTrafficResolution)) {
        if (const std::uint64_t* slot = trafficSlotFor(trafficEnd)) ok = ok && fitsAfter(*slot);
      }
    }
    if (!ok) return RecordOutcome::kOverflow;
    moveHead(end, calendarFrom, slid);
  }
  Events* own = slotFor(tier, end);
  if (own == nullptr) return RecordOutcome::kTooOld;
  // Both values are at most 2^63 − 1, so the differences fit an int64.
  const auto dTotal = static_cast<std::int64_t>(total) - static_cast<std::int64_t>(own->total);
  const auto dBad = static_cast<std::int64_t>(bad) - static_cast<std::int64_t>(own->bad);
  if (dTotal == 0 && dBad == 0) return RecordOutcome::kRecorded;

  // Everything the bucket feeds: its own slot, the coarser rings' slots that
  // hold it, the windows of its resolution or coarser that contain it, and
  // (for minutes) the traffic ring. Check all, then apply all.
  Events* coarser[kMaxTiers] = {nullptr, nullptr, nullptr};
  for (std::size_t t = tier + 1; t < tiers.size(); ++t) {
    coarser[t] = slotFor(t, ceilTo(end, tiers[t].resolution));
  }
  std::uint64_t* trafficSlot =
      resolution == 1 ? trafficSlotFor(ceilTo(end, kTrafficResolution)) : nullptr;
  const auto windows = layout_->windows();
  bool inWindow[kMaxWindows] = {};
  for (std::size_t i = 0; i < windows.size(); ++i) {
    inWindow[i] = static_cast<std::size_t>(windows[i].tier) >= tier && end > windowStart(i);
  }

  // Each coarser slot and window stays within [0, kMaxEvents] and keeps
  // bad <= total. A finer bucket correcting time that a coarser bucket was
  // recorded for on its own can break either: the coarse value never held
  // the minute's old counts, so the difference may take out events it does
  // not have (found by fuzz_engine).
  const auto fits = [&](const Events& e) {
    if (!addFits(e.total, dTotal) || !addFits(e.bad, dBad)) return false;
    return e.bad + static_cast<std::uint64_t>(dBad) <= e.total + static_cast<std::uint64_t>(dTotal);
  };
  bool ok = true;
  for (std::size_t t = tier + 1; t < tiers.size(); ++t)
    ok = ok && (coarser[t] == nullptr || fits(*coarser[t]));
  for (std::size_t i = 0; i < windows.size(); ++i) ok = ok && (!inWindow[i] || fits(sums_[i]));
  if (trafficSlot != nullptr) ok = ok && addFits(*trafficSlot, dTotal);
  if (!ok) return RecordOutcome::kOverflow;

  own->total = total;
  own->bad = bad;
  for (std::size_t t = tier + 1; t < tiers.size(); ++t) {
    if (coarser[t] != nullptr) {
      applyDelta(coarser[t]->total, dTotal);
      applyDelta(coarser[t]->bad, dBad);
    }
  }
  for (std::size_t i = 0; i < windows.size(); ++i) {
    if (inWindow[i]) {
      applyDelta(sums_[i].total, dTotal);
      applyDelta(sums_[i].bad, dBad);
    }
  }
  if (trafficSlot != nullptr) applyDelta(*trafficSlot, dTotal);
  return RecordOutcome::kRecorded;
}

RecordOutcome IndicatorSeries::recordTraffic(Minutes end, std::uint64_t total) {
  if (traffic_.empty() || end % kTrafficResolution != 0 || end > head_) {
    return RecordOutcome::kInvalid;
  }
  if (total > kMaxEvents) return RecordOutcome::kOverflow;
  std::uint64_t* slot = trafficSlotFor(end);
  if (slot == nullptr) return RecordOutcome::kTooOld;
  *slot = total;
  return RecordOutcome::kRecorded;
}

std::optional<std::uint64_t> IndicatorSeries::weekAgoTraffic() const {
  if (traffic_.empty()) return std::nullopt;
  // const_cast-free lookup: same arithmetic as trafficSlotFor.
  const auto count = static_cast<std::int32_t>(traffic_.size());
  const Minutes end = floorTo(head_ - kWeek, kTrafficResolution);
  const Minutes current = ceilTo(head_, kTrafficResolution);
  if (end > current || end <= current - count * kTrafficResolution) return 0;
  return traffic_[ringIndex(end, kTrafficResolution, count)];
}

std::size_t IndicatorSeries::bytes() const {
  return sizeof(*this) + slots_.capacity() * sizeof(Events) +
         traffic_.capacity() * sizeof(std::uint64_t);
}

BackfillPlan backfillPlan(const WindowLayout& layout, Minutes head) {
  const auto tiers = layout.tiers();
  // Walk from the finest tier to the coarsest: each span must start early
  // enough to fill its ring at `head`, and on a boundary of the next coarser
  // resolution so the coarser span can end there.
  std::vector<BackfillSpan> reversed;
  Minutes to = head;
  for (std::size_t t = 0; t < tiers.size(); ++t) {
    const Minutes r = tiers[t].resolution;
    const Minutes need = ceilTo(head, r) - static_cast<Minutes>(tiers[t].slots) * r;
    Minutes from = std::min(to, need);
    if (t + 1 < tiers.size()) from = floorTo(from, tiers[t + 1].resolution);
    reversed.push_back({r, from, to});
    to = from;
  }
  BackfillPlan plan;
  plan.spans.assign(reversed.rbegin(), reversed.rend());
  const Minutes minuteFrom = reversed.front().from;
  plan.traffic = {kTrafficResolution,
                  floorTo(head - kWeek - 2 * kTrafficResolution, kTrafficResolution),
                  floorTo(minuteFrom, kTrafficResolution)};
  return plan;
}

}  // namespace slogate::engine
