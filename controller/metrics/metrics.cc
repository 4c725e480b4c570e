#include "metrics/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "engine/evaluate.h"

namespace slogate::metrics {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Gauge>& objective =
      BuildGauge().Name("slogate_objective_ratio").Help("Objective as a ratio").Register(*registry);
  prometheus::Family<prometheus::Gauge>& budget =
      BuildGauge()
          .Name("slogate_error_budget_remaining_ratio")
          .Help("Error budget remaining over the window")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& burn =
      BuildGauge().Name("slogate_burn_rate_ratio").Help("Burn rate per window").Register(*registry);
  prometheus::Family<prometheus::Gauge>& threshold =
      BuildGauge()
          .Name("slogate_burn_rate_threshold_ratio")
          .Help("Factor of a burn-rate rule: it fires when both windows burn above it")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& events = BuildGauge()
                                                      .Name("slogate_window_events")
                                                      .Help("Events counted over the SLO window")
                                                      .Register(*registry);
  prometheus::Family<prometheus::Gauge>& decision =
      BuildGauge()
          .Name("slogate_decision")
          .Help("1 for the SLO's current decision, 0 for the others")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& frozen =
      BuildGauge().Name("slogate_frozen").Help("1 while the SLO is frozen").Register(*registry);
  prometheus::Family<prometheus::Gauge>& lastEvaluation =
      BuildGauge()
          .Name("slogate_last_evaluation_timestamp_seconds")
          .Help("Unix time of the SLO's last successful evaluation")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& info =
      BuildGauge().Name("slogate_slo_info").Help("SLO metadata, value 1").Register(*registry);
  prometheus::Family<prometheus::Counter>& actions =
      BuildCounter()
          .Name("slogate_actions_total")
          .Help("Rollouts paused, aborted; admissions denied or overridden")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& admission =
      BuildHistogram()
          .Name("slogate_admission_duration_seconds")
          .Help("Admission webhook latency")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& query =
      BuildHistogram()
          .Name("slogate_prometheus_query_duration_seconds")
          .Help("Prometheus query latency")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& queryErrors =
      BuildCounter()
          .Name("slogate_prometheus_query_errors_total")
          .Help("Failed Prometheus queries")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& buildInfo =
      BuildGauge().Name("slogate_build_info").Help("slogate version, value 1").Register(*registry);

  prometheus::Histogram* admissionHistogram = nullptr;
  prometheus::Histogram* queryHistogram = nullptr;
  prometheus::Counter* queryErrorCounter = nullptr;

  std::mutex mu;
  // Everything added for an SLO, to remove on the next observation.
  struct Owned {
    std::vector<std::pair<prometheus::Family<prometheus::Gauge>*, prometheus::Gauge*>> gauges;
  };
  std::map<std::string, Owned> owned;  // guarded by mu

  void removeLocked(const std::string& key) {
    const auto it = owned.find(key);
    if (it == owned.end()) return;
    for (auto& [family, gauge] : it->second.gauges) family->Remove(gauge);
    owned.erase(it);
  }
};

namespace {

double toDouble(engine::Fixed f) {
  return static_cast<double>(f.raw()) / static_cast<double>(engine::Fixed::kScale);
}

const prometheus::Histogram::BucketBoundaries& latencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return kBuckets;
}

}  // namespace

Metrics::Metrics(const std::string& version) : impl_(std::make_unique<Impl>()) {
  impl_->admissionHistogram = &impl_->admission.Add({}, latencyBuckets());
  impl_->queryHistogram = &impl_->query.Add({}, latencyBuckets());
  impl_->queryErrorCounter = &impl_->queryErrors.Add({});
  impl_->buildInfo.Add({{"version", version}}).Set(1);
  for (const char* a : {"abort", "pause", "deny", "override"}) impl_->actions.Add({{"action", a}});
}

Metrics::~Metrics() = default;

void Metrics::observe(const gate::SloEntry& e) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const std::string key = e.ns + "/" + e.name;
  // Family::Add hands back the existing series for the same labels, so series
  // that stay are updated in place; the ones this verdict no longer has (a
  // window that lost its events, a removed rule) are removed at the end.
  Impl::Owned& own = impl_->owned[key];
  Impl::Owned previous;
  previous.gauges.swap(own.gauges);
  const auto add = [&](prometheus::Family<prometheus::Gauge>& family,
                       const std::map<std::string, std::string>& labels, double value) {
    prometheus::Gauge& g = family.Add(labels);
    g.Set(value);
    own.gauges.emplace_back(&family, &g);
  };
  struct RemoveStale {
    Impl::Owned& previous;
    Impl::Owned& own;
    ~RemoveStale() {
      std::sort(own.gauges.begin(), own.gauges.end());
      for (auto& [family, gauge] : previous.gauges) {
        if (!std::binary_search(own.gauges.begin(), own.gauges.end(),
                                std::make_pair(family, gauge))) {
          family->Remove(gauge);
        }
      }
    }
  } removeStale{previous, own};
  const std::map<std::string, std::string> slo{{"namespace", e.ns}, {"slo", e.name}};
  std::string service = e.name;
  if (e.verdict) service = e.verdict->slo->spec().service;
  add(impl_->info,
      {{"namespace", e.ns},
       {"slo", e.name},
       {"service", service},
       {"target", e.targetRollout.value_or("")}},
      1);
  if (!e.verdict) return;
  const engine::Verdict& v = *e.verdict;
  for (const auto d :
       {engine::Decision::kApprove, engine::Decision::kInconclusive, engine::Decision::kHalt,
        engine::Decision::kFreeze, engine::Decision::kRollback}) {
    auto labels = slo;
    labels["decision"] = engine::decisionName(d);
    add(impl_->decision, labels, v.decision == d ? 1 : 0);
  }
  add(impl_->frozen, slo, v.frozen ? 1 : 0);
  add(impl_->lastEvaluation, slo, static_cast<double>(e.evaluatedAtUnix));
  // One series per rule (the lowest factor when rules repeat windows and action).
  std::map<std::tuple<std::string, std::string, std::string>, double> thresholds;
  for (const engine::CompiledSlo::Rule& rule : v.slo->rules()) {
    const engine::Ratio& f = rule.rule.factor;
    const auto shown = engine::toFixed(f);
    const double factor =
        shown ? toDouble(*shown) : static_cast<double>(f.num) / static_cast<double>(f.den);
    const auto ruleKey = std::make_tuple(engine::formatDuration(rule.rule.longWindow),
                                         engine::formatDuration(rule.rule.shortWindow),
                                         std::string(engine::ruleActionName(rule.rule.action)));
    const auto [it, inserted] = thresholds.emplace(ruleKey, factor);
    if (!inserted && factor < it->second) it->second = factor;
  }
  for (const auto& [rule, factor] : thresholds) {
    auto labels = slo;
    labels["long"] = std::get<0>(rule);
    labels["short"] = std::get<1>(rule);
    labels["action"] = std::get<2>(rule);
    add(impl_->threshold, labels, factor);
  }
  const auto windows = v.slo->layout()->windows();
  for (std::size_t k = 0; k < v.indicatorCount; ++k) {
    const engine::IndicatorReading& r = v.indicators[k];
    auto labels = slo;
    labels["indicator"] = engine::indicatorName(r.kind);
    add(impl_->objective, labels, toDouble(r.objective));
    add(impl_->budget, labels, toDouble(r.budgetRemaining));
    for (const char* kind : {"total", "bad"}) {
      auto l = labels;
      l["kind"] = kind;
      add(impl_->events, l,
          static_cast<double>(std::string(kind) == "total" ? r.events.total : r.events.bad));
    }
    for (std::size_t i = 0; i < windows.size(); ++i) {
      const bool sloWindow = static_cast<int>(i) == v.slo->layout()->sloWindowIndex();
      if (!windows[i].listed && !sloWindow) continue;
      const auto b = r.burnRate(i);
      if (!b) continue;
      auto l = labels;
      l["window"] = sloWindow ? "window" : windows[i].name;
      add(impl_->burn, l, toDouble(*b));
      if (sloWindow && windows[i].listed) {  // a rule window equal to the SLO window
        l["window"] = windows[i].name;
        add(impl_->burn, l, toDouble(*b));
      }
    }
  }
}

void Metrics::forget(const std::string& ns, const std::string& name) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->removeLocked(ns + "/" + name);
}

void Metrics::countAction(const std::string& action) {
  impl_->actions.Add({{"action", action}}).Increment();
}

void Metrics::observeAdmission(double seconds) {
  impl_->admissionHistogram->Observe(seconds);
}

void Metrics::observeQuery(double seconds, bool ok) {
  impl_->queryHistogram->Observe(seconds);
  if (!ok) impl_->queryErrorCounter->Increment();
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

}  // namespace slogate::metrics
