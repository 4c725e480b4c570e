// verdict.h — the engine's answer for one SLO at one minute.
//
// A Verdict is what SPEC §2 describes: the decision, the reasons, and per
// indicator the objective, budget remaining, burn rate per window and events
// over the SLO window. It is a value; the gate publishes immutable snapshots
// of them. Burn rates are kept as raw Fixed billionths in a fixed array so an
// evaluation pass allocates nothing for an SLO that approves.
//
// Thread safety: value type; immutable once published.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/fixed.h"
#include "engine/series.h"
#include "engine/slo_spec.h"
#include "engine/window_layout.h"

namespace slogate::engine {

class CompiledSlo;

// In order of precedence, least severe first (so max() picks the worst).
enum class Decision { kApprove, kInconclusive, kHalt, kFreeze, kRollback };
const char* decisionName(Decision decision);  // "approve", "inconclusive", ...

struct IndicatorReading {
  static constexpr std::int64_t kNoBurn = std::numeric_limits<std::int64_t>::min();

  IndicatorKind kind = IndicatorKind::kErrors;
  Fixed objective;
  Fixed budgetRemaining = kOne;
  Events events;                                 // over the SLO window
  std::array<std::int64_t, kMaxWindows> burn{};  // raw Fixed per layout window, or kNoBurn

  // Burn rate of layout window i; nullopt for a window with no events.
  std::optional<Fixed> burnRate(std::size_t i) const {
    return burn[i] == kNoBurn ? std::nullopt : std::optional<Fixed>(Fixed::fromRaw(burn[i]));
  }
};

struct Verdict {
  std::shared_ptr<const CompiledSlo> slo;  // the spec and layout this verdict is for
  Minutes evaluatedAt = 0;                 // minute since the epoch
  Decision decision = Decision::kInconclusive;
  bool frozen = false;               // freeze state after this evaluation
  std::vector<std::string> reasons;  // empty only for approve
  std::array<IndicatorReading, kIndicatorKinds> indicators{};
  std::size_t indicatorCount = 0;  // readings in spec order
};

}  // namespace slogate::engine
