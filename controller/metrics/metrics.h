// metrics.h — Metrics: SPEC §5's metrics, rendered in the Prometheus text format.
//
// Per SLO and indicator (labels namespace, slo, indicator):
//   slogate_objective_ratio, slogate_error_budget_remaining_ratio,
//   slogate_burn_rate_ratio{window} (5m … 3d and "window"; absent while a
//   window has no events), slogate_window_events{kind="total"|"bad"};
// per SLO (labels namespace, slo): slogate_decision{decision} (1 for the
// current one), slogate_frozen, slogate_last_evaluation_timestamp_seconds,
// slogate_burn_rate_threshold_ratio{long, short, action} (each burn-rate rule's
// factor, for dashboards), and slogate_slo_info{service, target} (for
// dashboards and the Sloth rules);
// process-wide: slogate_actions_total{action}, slogate_admission_duration_seconds,
// slogate_prometheus_query_duration_seconds, slogate_prometheus_query_errors_total,
// slogate_build_info{version}. Series of a deleted SLO are removed, so
// cardinality is bounded by the SLOs that exist. prometheus-cpp appears only
// in metrics.cc.
//
//   Metrics m("0.3.0");
//   m.observe(entry);                  // after every evaluation
//   std::string text = m.render();     // GET /metrics
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <memory>
#include <string>

#include "gate/snapshot.h"

namespace slogate::metrics {

class Metrics {
 public:
  explicit Metrics(const std::string& version);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Replaces the per-SLO series of `entry` (no verdict: only info and decision absent).
  void observe(const gate::SloEntry& entry);
  void forget(const std::string& ns, const std::string& name);
  // action: "abort", "pause", "deny", "override".
  void countAction(const std::string& action);
  void observeAdmission(double seconds);
  void observeQuery(double seconds, bool ok);

  std::string render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slogate::metrics
