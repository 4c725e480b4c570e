// gate.h — Gate: the reconciler. SLOs in the cluster → readings from
// Prometheus → engine verdicts → status, Events, Rollout actions, snapshots.
//
// Level-based, controller-runtime style: informers for ServiceLevelObjectives
// and Rollouts feed a de-duplicating work queue; a ticker re-queues every SLO
// each `tick`; `workers` threads reconcile keys, never the same key twice at
// once, so one slow or broken SLO never delays the others. reconcile(key):
//
//   1. read the SLO from the cache (gone → forget its state and verdict);
//   2. on a new spec (generation) compile it and backfill its windows from
//      Prometheus; otherwise read the minutes since the last tick;
//   3. evaluate at the last whole minute Prometheus has scraped
//      (now − evaluationDelay), carrying the freeze state (seeded from
//      status.frozen, so it survives restarts);
//   4. publish the verdict in the snapshot (every replica);
//   5. as leader only: write status through the status subresource when it
//      changed, an Event when the decision changed, and act on the target
//      Rollout (enforce mode, update in progress): rollback → abort,
//      halt/freeze (and inconclusive with onNoData: halt) → pause; when
//      Prometheus fails, the published verdict is inconclusive and so is
//      the action (never the last, stale verdict's); when Prometheus answers
//      but without data for longer than staleData, approve and halt are
//      published as inconclusive too. An action
//      is recorded in status.actions with the Rollout revision
//      (currentPodHash) and never repeated for the same revision and action;
//      an already aborted or paused Rollout is not patched again.
//
// Thread safety: start/stop from the owner; snapshot()/ready()/counters from
// any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/evaluate.h"
#include "gate/snapshot.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "kube/leader.h"
#include "kube/workqueue.h"
#include "prometheus/client.h"

namespace slogate::gate {

struct GateOptions {
  std::chrono::milliseconds tick{15'000};
  std::chrono::seconds evaluationDelay{60};  // evaluate at floor(now − delay) to a minute
  // When Prometheus has returned no data for any indicator for longer than
  // this (the newest bucket with data ends earlier), an approve or halt would
  // rest on old data: it is published as inconclusive, saying since when.
  // Rollback and freeze stand (a fast burn cannot be judged on old data; a
  // spent budget stays spent).
  std::chrono::seconds staleData{600};
  int workers = 4;
  std::string ns;                    // "" watches all namespaces
  std::string identity = "slogate";  // Event source / action recorder
  // Observers (metrics): every published entry (null = the SLO is gone, with
  // its key), every action done ("abort", "pause").
  std::function<void(const std::string& key, const std::shared_ptr<const SloEntry>& entry)>
      onPublish;
  std::function<void(const std::string& action)> onAction;
};

struct GateCounters {
  std::atomic<std::uint64_t> evaluations{0};
  std::atomic<std::uint64_t> evaluationErrors{0};
  std::atomic<std::uint64_t> statusWrites{0};
  std::atomic<std::uint64_t> events{0};
  std::atomic<std::uint64_t> aborts{0};
  std::atomic<std::uint64_t> pauses{0};
};

class Gate {
 public:
  using NowFn = std::function<std::int64_t()>;  // Unix seconds

  // `elector` may be null: then this replica always acts (single replica).
  Gate(kube::KubeClient& kube, prometheus::QueryClient& prom, kube::LeaderElector* elector,
       GateOptions options, NowFn now = {});
  ~Gate();
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  void start();
  void stop();

  std::shared_ptr<const Snapshot> snapshot() const { return snapshots_.current(); }
  // The Rollout cache (the webhook resolves workloadRef Deployments with it);
  // null before start().
  const kube::Informer* rollouts() const { return rollouts_.get(); }
  // Caches synced and every SLO known at sync time evaluated once.
  bool ready() const;
  const GateCounters& counters() const { return counters_; }

 private:
  struct State;  // per SLO, owned by whichever worker holds its key

  void worker();
  void ticker();
  void reconcile(const std::string& key);
  bool leading() const;
  void writeStatus(const std::string& key, const Json& slo, State& st);
  // Acts on the target Rollout as `decision` says (`reason` for the Event).
  void act(const std::string& key, const Json& slo, State& st, engine::Decision decision,
           const std::string& reason);
  void emitEvent(const Json& involved, const std::string& type, const std::string& reason,
                 const std::string& message);

  kube::KubeClient& kube_;
  prometheus::QueryClient& prom_;
  kube::LeaderElector* elector_;
  const GateOptions options_;
  const NowFn now_;

  kube::WorkQueue queue_;
  std::unique_ptr<kube::Informer> slos_;
  std::unique_ptr<kube::Informer> rollouts_;
  SnapshotPublisher snapshots_;
  GateCounters counters_;

  std::mutex statesMu_;
  std::map<std::string, std::shared_ptr<State>> states_;  // guarded by statesMu_

  std::atomic<bool> stopping_{false};
  std::atomic<bool> firstPassDone_{false};
  std::mutex tickMu_;
  std::condition_variable tickWake_;
  std::vector<std::thread> threads_;
};

}  // namespace slogate::gate
