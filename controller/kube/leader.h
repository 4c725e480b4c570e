// leader.h — LeaderElector: one active replica, through a coordination.k8s.io/v1 Lease.
//
// The client-go algorithm: try to create or take over the Lease every
// `retryPeriod`; a Lease held by someone else can be taken only after it has
// not changed for `leaseDuration` as measured on OUR clock since we last saw
// it change (no trust in other replicas' clocks). Writes carry the Lease's
// resourceVersion, so two replicas racing for it cannot both win (409).
// The leader renews every `retryPeriod`; when no renewal has succeeded for
// `renewDeadline`, isLeader() turns false at once, before the lease could
// expire for others (renewDeadline < leaseDuration). stop() releases a held
// lease so a successor need not wait.
//
//   LeaderElector elector(client, {.ns = "slogate", .name = "slogate", .identity = pod});
//   elector.start();
//   if (elector.isLeader()) act();
//
// Thread safety: isLeader() from any thread; start/stop from the owner.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "kube/client.h"

namespace slogate::kube {

struct LeaderOptions {
  std::string ns = "default";
  std::string name = "slogate";
  std::string identity;
  std::chrono::milliseconds leaseDuration{15'000};
  std::chrono::milliseconds renewDeadline{10'000};
  std::chrono::milliseconds retryPeriod{2'000};
};

class LeaderElector {
 public:
  using Clock = std::chrono::steady_clock;

  LeaderElector(KubeClient& client, LeaderOptions options, std::function<void(bool)> onChange = {});
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  void start();
  void stop();  // releases the lease when held
  // True only while the last successful renewal is younger than renewDeadline.
  bool isLeader() const;
  std::uint64_t transitions() const { return transitions_.load(); }

 private:
  void run();
  bool tryAcquireOrRenew();
  void setLeader(bool leader);
  void release();

  KubeClient& client_;
  const LeaderOptions options_;
  const std::function<void(bool)> onChange_;
  std::atomic<bool> leader_{false};
  std::atomic<Clock::rep> lastRenew_{0};  // Clock ticks of the last successful renewal
  std::atomic<std::uint64_t> transitions_{0};
  // What we last saw of the lease and when (on our clock).
  std::string observedHolder_;
  std::string observedRenewTime_;
  Clock::time_point observedAt_{};
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

// "2026-11-22T04:00:00.123456Z": a metav1.MicroTime.
std::string microTimeNow();

}  // namespace slogate::kube
