// fuzz_engine — engine::SloState / IndicatorSeries / evaluate driven by a
// byte stream of operations on one of three small fixed SLOs.
//
// Input: byte 0 picks the SLO and start minute; then operations, each an
// opcode byte and its arguments (FuzzedDataProvider):
//   record(indicator, resolution, end, total, bad)  resolutions 1, 15, 60 and
//        invalid ones (5, 2, -1); ends near or far from the head, aligned or
//        not; counts small, near 2^63 − 1, above it, up to 2^64 − 1
//   burst  the same record for up to 64 consecutive minutes
//   advanceTo(t)                                     forwards or backwards
//   recordTraffic(indicator, end, total)
//   evaluate                                         then carry `frozen`
//   set frozen to nullopt / false / true
// A final evaluate always runs. SLOGATE_FUZZ_ENGINE_TRACE=1 prints each
// input's operations (to replay a crash file by hand: ./fuzz_engine FILE).
//
// Invariants checked after every evaluate (abort on violation):
//   * decision != approve  ⇒  !reasons.empty()
//   * for every indicator and every window: events.bad <= events.total, and
//     both <= kMaxEvents (series.h: "any sum the engine keeps stays at or
//     below" it); the verdict's per-indicator events likewise
//   * budgetRemaining <= 1; burn rates of windows with events are >= 0
//   * evaluatedAt is the state's head
// after every record: every window sum keeps bad <= total <= kMaxEvents; and
// after every refused record (kInvalid, kOverflow, kTooOld) at or before the
// head: the series' window sums did not change.
//
// Before evaluating, all series are advanced to the newest head (evaluate.h:
// all series share one head, as the reader guarantees with advanceTo).
//
// Found so far (both fixed, each with a test in tests/engine/series_test.cc):
// a minute correcting time a coarse bucket was recorded for on its own could
// wrap a sum below zero, and could leave a window with bad > total.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/evaluate.h"

namespace {

namespace eng = slogate::engine;
using eng::Fixed;
using eng::Minutes;

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_engine: INVARIANT VIOLATED: %s\n  %s\n", what, detail.c_str());
  std::abort();
}

Fixed fx(const char* s) {
  return *Fixed::parse(s);
}
Fixed pct(const char* s) {
  return *Fixed::parsePercent(s);
}

eng::IndicatorSpec occurrences(eng::IndicatorKind kind, const char* objective) {
  eng::IndicatorSpec ind;
  ind.kind = kind;
  ind.objective = pct(objective);
  ind.total = "requests_total";
  ind.bad = "requests_total{code=~\"5..\"}";
  return ind;
}

eng::BurnRateRule rule(Minutes longWindow, Minutes shortWindow, const char* factor,
                       eng::RuleAction action) {
  return {longWindow, shortWindow, eng::toRatio(fx(factor)), action};
}

std::shared_ptr<const eng::CompiledSlo> compileOrDie(eng::SloSpec spec) {
  auto slo = eng::CompiledSlo::compile(std::move(spec));
  if (!slo) fail("fixed SLO does not compile", slo.status().message());
  return *slo;
}

const std::vector<std::shared_ptr<const eng::CompiledSlo>>& slos() {
  static const auto kSlos = [] {
    std::vector<std::shared_ptr<const eng::CompiledSlo>> out;
    {  // 30d, all three indicators, default rules, traffic guard.
      eng::SloSpec s;
      s.ns = "fuzz";
      s.name = "full";
      s.window = 30 * eng::kDay;
      s.indicators.push_back(occurrences(eng::IndicatorKind::kErrors, "99.9"));
      s.indicators.push_back(occurrences(eng::IndicatorKind::kLatency, "99"));
      eng::IndicatorSpec sat;
      sat.kind = eng::IndicatorKind::kSaturation;
      sat.objective = pct("99.5");
      sat.query = "max(cpu)";
      sat.max = fx("0.8");
      s.indicators.push_back(sat);
      s.traffic.minEvents = 10;
      s.traffic.maxDrop = fx("0.5");
      s.policy.freezeBelow = fx("0");
      s.policy.unfreezeAbove = fx("0.05");
      s.policy.rules = eng::defaultRules(s.window);
      out.push_back(compileOrDie(std::move(s)));
    }
    {  // 1h window, minute resolution only, custom rules, negative freezeBelow.
      eng::SloSpec s;
      s.ns = "fuzz";
      s.name = "small";
      s.window = eng::kHour;
      s.indicators.push_back(occurrences(eng::IndicatorKind::kErrors, "99"));
      s.policy.freezeBelow = fx("-0.5");
      s.policy.unfreezeAbove = fx("0.5");
      s.policy.rules = {rule(30, 5, "2", eng::RuleAction::kRollback),
                        rule(eng::kHour, 1, "0.5", eng::RuleAction::kHalt)};
      out.push_back(compileOrDie(std::move(s)));
    }
    {  // 7d latency-only with guard, freeze at a whole budget, 15m and 1h tiers.
      eng::SloSpec s;
      s.ns = "fuzz";
      s.name = "week";
      s.window = 7 * eng::kDay;
      s.indicators.push_back(occurrences(eng::IndicatorKind::kLatency, "95"));
      s.traffic.minEvents = 1000;
      s.traffic.maxDrop = fx("0.9");
      s.policy.freezeBelow = fx("1");
      s.policy.unfreezeAbove = fx("1");
      s.policy.rules = {rule(eng::kDay, 2 * eng::kHour, "3", eng::RuleAction::kHalt),
                        rule(7 * eng::kDay, 6 * eng::kHour, "1", eng::RuleAction::kRollback),
                        rule(45, 7, "14.4", eng::RuleAction::kRollback)};
      out.push_back(compileOrDie(std::move(s)));
    }
    return out;
  }();
  return kSlos;
}

std::uint64_t count(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 5)) {
    case 0:
      return in.ConsumeIntegralInRange<std::uint64_t>(0, 10);
    case 1:
      return in.ConsumeIntegralInRange<std::uint64_t>(0, 1'000'000);
    case 2:
      return eng::kMaxEvents - in.ConsumeIntegralInRange<std::uint64_t>(0, 10);
    case 3:
      return eng::kMaxEvents + in.ConsumeIntegralInRange<std::uint64_t>(0, 10);
    case 4:
      return std::numeric_limits<std::uint64_t>::max() -
             in.ConsumeIntegralInRange<std::uint64_t>(0, 3);
    default:
      return in.ConsumeIntegral<std::uint64_t>();
  }
}

std::uint64_t badFor(FuzzedDataProvider& in, std::uint64_t total) {
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      return 0;
    case 1:
      return total;
    case 2:
      return in.ConsumeIntegralInRange<std::uint64_t>(0, total);
    default:
      return count(in);  // may exceed total: record must refuse it
  }
}

// A distance from the head: mostly near it (late and current minutes), less
// often days away. Far jumps are kept rare on purpose: advancing over a gap
// costs the series O(window / resolution) per window, and under coverage
// instrumentation they would dominate the run time.
Minutes offset(FuzzedDataProvider& in) {
  const int c = in.ConsumeIntegralInRange<int>(0, 9);
  if (c <= 3) return in.ConsumeIntegralInRange<Minutes>(-5, 2);
  if (c <= 6) return in.ConsumeIntegralInRange<Minutes>(-120, 5);
  if (c <= 8) return in.ConsumeIntegralInRange<Minutes>(-3 * eng::kDay, 60);
  return in.ConsumeIntegralInRange<Minutes>(-100 * eng::kDay, 100 * eng::kDay);
}

Minutes resolution(FuzzedDataProvider& in) {
  static constexpr Minutes kResolutions[] = {1, 1, 1, 15, 60, 5, 2, -1};
  return kResolutions[in.ConsumeIntegralInRange<std::size_t>(0, std::size(kResolutions) - 1)];
}

std::string eventsText(const eng::Events& e) {
  return "total " + std::to_string(e.total) + " bad " + std::to_string(e.bad);
}

using Sums = std::array<eng::Events, eng::kMaxWindows>;
Sums sums(const eng::IndicatorSeries& s) {
  Sums out{};
  for (std::size_t i = 0; i < s.layout().windows().size(); ++i) out[i] = s.window(i);
  return out;
}
bool same(const Sums& a, const Sums& b) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].total != b[i].total || a[i].bad != b[i].bad) return false;
  }
  return true;
}

bool consistent(const Sums& sums) {
  return std::all_of(sums.begin(), sums.end(), [](const eng::Events& e) {
    return e.bad <= e.total && e.total <= eng::kMaxEvents;
  });
}

// The operations of the current input, kept compact and formatted only when
// an invariant fails (formatting every operation would dominate the run time).
struct Op {
  enum Kind { kStart, kRecord, kAdvance, kTraffic, kEvaluate, kFrozen } kind;
  std::size_t k = 0;
  Minutes a = 0;  // resolution (record), minute (start, advance), end (traffic)
  Minutes b = 0;  // end (record)
  std::uint64_t total = 0;
  std::uint64_t bad = 0;
  int n = 0;  // burst length (record), decision (evaluate), frozen state
  int outcome = 0;
};

std::string format(const std::vector<Op>& ops) {
  std::string out;
  for (const Op& op : ops) {
    switch (op.kind) {
      case Op::kStart:
        out += "  start at minute " + std::to_string(op.a) + "\n";
        break;
      case Op::kRecord:
        out += "  series[" + std::to_string(op.k) + "].record(" + std::to_string(op.a) + ", " +
               std::to_string(op.b) + ", " + std::to_string(op.total) + ", " +
               std::to_string(op.bad) + ") -> " +
               eng::recordOutcomeName(static_cast<eng::RecordOutcome>(op.outcome)) +
               (op.n > 1 ? " (first of a burst of " + std::to_string(op.n) + ")" : "") + "\n";
        break;
      case Op::kAdvance:
        out += "  advanceTo(" + std::to_string(op.a) + ")\n";
        break;
      case Op::kTraffic:
        out += "  series[" + std::to_string(op.k) + "].recordTraffic(" + std::to_string(op.a) +
               ", " + std::to_string(op.total) + ") -> " +
               eng::recordOutcomeName(static_cast<eng::RecordOutcome>(op.outcome)) + "\n";
        break;
      case Op::kEvaluate:
        out += "  evaluate -> " + std::string(eng::decisionName(static_cast<eng::Decision>(op.n))) +
               (op.outcome != 0 ? " (frozen)" : "") + "\n";
        break;
      case Op::kFrozen:
        out += "  frozen = " + std::string(op.n == 0 ? "nullopt" : (op.n == 2 ? "true" : "false")) +
               "\n";
        break;
    }
  }
  return out;
}

struct Run {
  eng::SloState state;
  std::vector<Op> log;  // the operations so far, printed on failure
  int evaluations = 0;
};

void check(Run& run) {
  eng::SloState& state = run.state;
  Minutes newest = state.head();
  for (const auto& s : state.series) newest = std::max(newest, s.head());
  state.advanceTo(newest);

  const eng::Verdict v = eng::evaluate(state);
  ++run.evaluations;
  const auto where = [&] {
    return "after evaluation " + std::to_string(run.evaluations) + " of SLO " +
           state.slo->spec().name + "; operations:\n" + format(run.log);
  };
  if (v.evaluatedAt != state.head()) fail("evaluatedAt is not the head", where());
  if (v.decision != eng::Decision::kApprove && v.reasons.empty()) {
    fail("a non-approve decision without reasons",
         std::string(eng::decisionName(v.decision)) + "; " + where());
  }
  const auto windows = state.slo->layout()->windows();
  for (std::size_t k = 0; k < state.series.size(); ++k) {
    const eng::IndicatorSeries& s = state.series[k];
    for (std::size_t i = 0; i < windows.size(); ++i) {
      const eng::Events& e = s.window(i);
      if (e.bad > e.total || e.total > eng::kMaxEvents) {
        fail("window sum out of bounds", "indicator " + std::to_string(k) + " window " +
                                             windows[i].name + ": " + eventsText(e) + "; " +
                                             where());
      }
    }
  }
  for (std::size_t k = 0; k < v.indicatorCount; ++k) {
    const eng::IndicatorReading& r = v.indicators[k];
    if (r.events.bad > r.events.total)
      fail("verdict events: bad > total", eventsText(r.events) + "; " + where());
    if (r.budgetRemaining > eng::kOne) {
      fail("budgetRemaining above 1", r.budgetRemaining.toString() + "; " + where());
    }
    for (std::size_t i = 0; i < windows.size(); ++i) {
      if (const auto b = r.burnRate(i); b && *b < eng::kZero) {
        fail("negative burn rate", windows[i].name + " " + b->toString() + "; " + where());
      }
    }
  }
  state.frozen = v.frozen;
  run.log.push_back({Op::kEvaluate, 0, 0, 0, 0, 0, static_cast<int>(v.decision), v.frozen ? 1 : 0});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const auto& all = slos();
  const auto& slo = all[in.ConsumeIntegralInRange<std::size_t>(0, all.size() - 1)];
  static constexpr Minutes kBases[] = {29'000'000, 0, -100'000, 1'000'003};
  const Minutes start = kBases[in.ConsumeIntegralInRange<std::size_t>(0, 3)] +
                        in.ConsumeIntegralInRange<Minutes>(0, 10'000);
  Run run{eng::SloState::start(slo, start), {}, 0};
  run.log.reserve(512);
  run.log.push_back({Op::kStart, 0, start, 0, 0, 0, 0, 0});
  eng::SloState& state = run.state;
  const std::size_t indicators = state.series.size();

  for (int op = 0; op < 256 && in.remaining_bytes() > 0; ++op) {
    switch (in.ConsumeIntegralInRange<int>(0, 7)) {
      case 0:
      case 1:
      case 2:
      case 3: {  // record, or a burst of consecutive records
        const bool burst = in.ConsumeBool();
        const auto k = in.ConsumeIntegralInRange<std::size_t>(0, indicators - 1);
        const Minutes res = resolution(in);
        Minutes end = state.series[k].head() + offset(in);
        if (res > 0 && in.ConsumeIntegralInRange<int>(0, 9) != 0) end = eng::floorTo(end, res);
        const std::uint64_t total = count(in);
        const std::uint64_t bad = badFor(in, total);
        const int n = burst ? in.ConsumeIntegralInRange<int>(1, 64) : 1;
        for (int j = 0; j < n; ++j, end += std::max<Minutes>(res, 1)) {
          eng::IndicatorSeries& s = state.series[k];
          const Sums before = sums(s);
          const bool atOrBeforeHead = end <= s.head();
          const auto outcome = s.record(res, end, total, bad);
          if (j == 0 || outcome != eng::RecordOutcome::kRecorded) {
            run.log.push_back(
                {Op::kRecord, k, res, end, total, bad, j == 0 ? n : 1, static_cast<int>(outcome)});
          }
          const Sums after = sums(s);
          if (!consistent(after)) fail("a record left a window with bad > total", format(run.log));
          if (outcome != eng::RecordOutcome::kRecorded && atOrBeforeHead && !same(before, after)) {
            fail("a refused record changed the window sums", format(run.log));
          }
        }
        break;
      }
      case 4: {
        const Minutes t = state.head() + offset(in) +
                          (in.ConsumeIntegralInRange<int>(0, 7) == 0 ? 6 * eng::kHour : 0);
        state.advanceTo(t);
        run.log.push_back({Op::kAdvance, 0, t, 0, 0, 0, 0, 0});
        break;
      }
      case 5: {
        const auto k = in.ConsumeIntegralInRange<std::size_t>(0, indicators - 1);
        Minutes end = state.series[k].head() - in.ConsumeIntegralInRange<Minutes>(0, 8 * eng::kDay);
        if (in.ConsumeIntegralInRange<int>(0, 9) != 0)
          end = eng::floorTo(end, eng::kTrafficResolution);
        const std::uint64_t total = count(in);
        const auto outcome = state.series[k].recordTraffic(end, total);
        run.log.push_back({Op::kTraffic, k, end, 0, total, 0, 0, static_cast<int>(outcome)});
        break;
      }
      case 6:
        check(run);
        break;
      default: {
        const int f = in.ConsumeIntegralInRange<int>(0, 2);
        state.frozen = f == 0 ? std::nullopt : std::optional<bool>(f == 2);
        run.log.push_back({Op::kFrozen, 0, 0, 0, 0, 0, f, 0});
        break;
      }
    }
  }
  check(run);
  static const bool trace = std::getenv("SLOGATE_FUZZ_ENGINE_TRACE") != nullptr;
  if (trace) std::fprintf(stderr, "SLO %s\n%s", slo->spec().name.c_str(), format(run.log).c_str());
  return 0;
}
