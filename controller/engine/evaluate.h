// evaluate.h — CompiledSlo, SloState and evaluate(): SPEC §1–§2 as code.
//
// CompiledSlo is an SLO spec checked and prepared for evaluation (its window
// layout, each rule's windows resolved to indices). SloState is the mutable
// part: one IndicatorSeries per indicator, all with the same head, plus the
// freeze state carried between evaluations. evaluate() is pure: the verdict
// depends only on the state, and carries the new freeze state, which the
// caller stores back (the controller in status.frozen, replay in its loop).
//
//   auto slo = CompiledSlo::compile(spec);            // once per spec change
//   SloState state = SloState::start(*slo, head);
//   state.series[0].record(1, minute, total, bad);    // readers feed events
//   state.advanceTo(now);
//   Verdict v = evaluate(state);
//   state.frozen = v.frozen;
//
// Decisions compare exact fractions; only the numbers shown are rounded.
//
// Thread safety: CompiledSlo is immutable; an SloState belongs to one thread
// at a time; evaluate() only reads it.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "base/result.h"
#include "engine/series.h"
#include "engine/slo_spec.h"
#include "engine/verdict.h"
#include "engine/window_layout.h"

namespace slogate::engine {

class CompiledSlo {
 public:
  struct Rule {
    BurnRateRule rule;
    std::uint8_t longIndex = 0;   // layout window index of rule.longWindow
    std::uint8_t shortIndex = 0;  // layout window index of rule.shortWindow
  };

  // Checks what the engine relies on (objectives in (0, 1), at least one rule,
  // errors or latency present, each kind once, thresholds in range) and builds
  // the layout. Field names in errors follow the resource ("spec.policy...").
  static Result<std::shared_ptr<const CompiledSlo>> compile(SloSpec spec);

  const SloSpec& spec() const { return spec_; }
  const std::shared_ptr<const WindowLayout>& layout() const { return layout_; }
  const std::vector<Rule>& rules() const { return rules_; }
  // Index in spec().indicators of the indicator whose traffic the maxDrop
  // guard watches (errors, else latency), or -1 without a guard.
  int guardIndex() const { return guardIndex_; }

 private:
  CompiledSlo() = default;
  SloSpec spec_;
  std::shared_ptr<const WindowLayout> layout_;
  std::vector<Rule> rules_;
  int guardIndex_ = -1;
};

struct SloState {
  std::shared_ptr<const CompiledSlo> slo;
  std::vector<IndicatorSeries> series;  // parallel to slo->spec().indicators
  std::optional<bool> frozen;           // carried freeze state; nullopt before the first verdict
  // The newest bucket end for which a reader recorded data (a total, even of
  // 0 events) for any indicator; nullopt before any. Readers keep it; the
  // gate uses it to tell "no events" from "no data lately".
  std::optional<Minutes> newestData;

  // Empty series for every indicator, all starting at `head`.
  static SloState start(std::shared_ptr<const CompiledSlo> slo, Minutes head);
  Minutes head() const { return series.front().head(); }
  void advanceTo(Minutes t);
};

// Evaluates the SLO at the state's head. `out` is overwritten; reusing one
// Verdict across passes avoids allocation.
void evaluate(const SloState& state, Verdict& out);
Verdict evaluate(const SloState& state);

}  // namespace slogate::engine
