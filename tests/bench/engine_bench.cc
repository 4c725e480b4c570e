// Engine benchmarks (Google Benchmark). Run:
//   build/tests/bench/engine_bench --benchmark_filter='BM_(EvaluateFleet|IngestSlices)'
//
// BM_EvaluateFleet/10000: one full evaluation pass (every window, budget,
//   rules, decision, reasons when not approving) over 10,000 SLOs with two
//   indicators each and a 30d window, backfilled with 30 days of history.
//   Target: ≤ 5 ms a pass on one core.
// BM_IngestSlices: one new 1-minute slice per indicator (advance + record).
// Counter bytes_per_indicator: heap + object bytes of one indicator's series
//   (target ≤ 32 KiB), averaged over the fleet (every SLO has the maxDrop
//   guard, so one indicator in two also keeps the week-long traffic ring).
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <vector>

#include "engine/evaluate.h"

namespace slogate::engine {
namespace {

constexpr Minutes kHead = 29'000'040 + 40 * kDay;

std::shared_ptr<const CompiledSlo> fleetSlo(int i) {
  SloSpec spec;
  spec.ns = "ns" + std::to_string(i % 50);
  spec.name = "slo-" + std::to_string(i);
  spec.window = 30 * kDay;
  IndicatorSpec errors;
  errors.kind = IndicatorKind::kErrors;
  errors.objective = *Fixed::parsePercent(i % 3 == 0 ? "99.9" : "99.95");
  IndicatorSpec latency;
  latency.kind = IndicatorKind::kLatency;
  latency.objective = *Fixed::parsePercent("99");
  spec.indicators = {errors, latency};
  spec.traffic.minEvents = 100;
  spec.traffic.maxDrop = *Fixed::parse("0.7");
  spec.policy.rules = defaultRules(spec.window);
  return *CompiledSlo::compile(spec);
}

// Backfills 30 days the way the reader does (hours, 15 minutes, minutes).
// About one SLO in twenty has an incident in the last hour.
SloState backfilledState(int i, std::mt19937_64& rng) {
  auto slo = fleetSlo(i);
  const BackfillPlan plan = backfillPlan(*slo->layout(), kHead);
  SloState state = SloState::start(slo, plan.spans.front().from);
  const std::uint64_t perMinute = 200 + rng() % 5000;
  const bool incident = rng() % 20 == 0;
  for (std::size_t k = 0; k < state.series.size(); ++k) {
    for (const BackfillSpan& span : plan.spans) {
      for (Minutes end = span.from + span.resolution; end <= span.to; end += span.resolution) {
        const std::uint64_t total = perMinute * static_cast<std::uint64_t>(span.resolution);
        std::uint64_t bad = total / (k == 0 ? 5000 : 400);
        if (incident && end > kHead - 60) bad = total / 20;
        (void)state.series[k].record(span.resolution, end, total, bad);
      }
    }
    if (static_cast<int>(k) == slo->guardIndex()) {
      for (Minutes end = plan.traffic.from + 5; end <= plan.traffic.to; end += 5) {
        (void)state.series[k].recordTraffic(end, perMinute * 5);
      }
    }
  }
  return state;
}

struct Fleet {
  std::vector<SloState> states;
  std::vector<Verdict> verdicts;
  std::size_t bytes = 0;
  std::size_t indicators = 0;
};

Fleet& fleet(std::size_t n) {
  static std::unique_ptr<Fleet> cached;
  if (!cached || cached->states.size() != n) {
    cached = std::make_unique<Fleet>();
    std::mt19937_64 rng(42);
    cached->states.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      cached->states.push_back(backfilledState(static_cast<int>(i), rng));
      for (const IndicatorSeries& s : cached->states.back().series) {
        cached->bytes += s.bytes();
        ++cached->indicators;
      }
    }
    cached->verdicts.resize(n);
  }
  return *cached;
}

// NOLINTNEXTLINE(readability-identifier-naming): Google Benchmark reports this name (README)
void BM_EvaluateFleet(benchmark::State& bench) {
  Fleet& f = fleet(static_cast<std::size_t>(bench.range(0)));
  std::size_t nonApprove = 0;
  for (auto _ : bench) {
    nonApprove = 0;
    for (std::size_t i = 0; i < f.states.size(); ++i) {
      evaluate(f.states[i], f.verdicts[i]);
      nonApprove += f.verdicts[i].decision != Decision::kApprove ? 1 : 0;
    }
    benchmark::DoNotOptimize(f.verdicts.data());
    benchmark::ClobberMemory();
  }
  bench.counters["slos"] = static_cast<double>(f.states.size());
  bench.counters["not_approving"] = static_cast<double>(nonApprove);
  bench.counters["bytes_per_indicator"] =
      static_cast<double>(f.bytes) / static_cast<double>(f.indicators);
  bench.SetItemsProcessed(bench.iterations() * static_cast<std::int64_t>(f.states.size()));
}
BENCHMARK(BM_EvaluateFleet)->Arg(10000)->Unit(benchmark::kMillisecond);

// NOLINTNEXTLINE(readability-identifier-naming): Google Benchmark reports this name (README)
void BM_IngestSlices(benchmark::State& bench) {
  Fleet& f = fleet(static_cast<std::size_t>(bench.range(0)));
  Minutes head = f.states.front().head();
  std::uint64_t n = 0;
  for (auto _ : bench) {
    ++head;
    for (SloState& state : f.states) {
      for (IndicatorSeries& s : state.series) {
        const std::uint64_t total = 1000 + (++n & 1023);
        benchmark::DoNotOptimize(s.record(1, head, total, total / 1000));
      }
    }
  }
  bench.SetItemsProcessed(bench.iterations() * static_cast<std::int64_t>(f.indicators));
  bench.counters["bytes_per_indicator"] =
      static_cast<double>(f.bytes) / static_cast<double>(f.indicators);
}
BENCHMARK(BM_IngestSlices)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace slogate::engine

BENCHMARK_MAIN();
