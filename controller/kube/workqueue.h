// workqueue.h — WorkQueue: a rate-limited, de-duplicating queue of keys.
//
// The controller-runtime / client-go model: a key ("ns/name") queued many
// times before a worker takes it is processed once; a key being processed is
// never handed to a second worker — if it is added meanwhile, it is queued
// again when the first worker calls done(). addRateLimited() backs a failing
// key off exponentially (per key, 5 ms doubling to 5 min); forget() resets it.
//
//   WorkQueue q;
//   q.add("shop/checkout");
//   while (auto key = q.get()) { reconcile(*key) ? q.forget(*key) : q.addRateLimited(*key);
//                                q.done(*key); }
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

namespace slogate::kube {

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;

  WorkQueue();
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void add(const std::string& key);
  void addAfter(const std::string& key, std::chrono::milliseconds delay);
  void addRateLimited(const std::string& key);
  void forget(const std::string& key);
  // Retries so far for a key (since the last forget).
  int failures(const std::string& key) const;

  // Blocks until a key is ready; nullopt once shut down.
  std::optional<std::string> get();
  void done(const std::string& key);
  void shutDown();
  std::size_t length() const;

 private:
  void addLocked(const std::string& key);
  void delayLoop();

  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::condition_variable delayChanged_;
  std::deque<std::string> queue_;                        // guarded by mu_
  std::set<std::string> dirty_;                          // queued or to requeue; guarded by mu_
  std::set<std::string> processing_;                     // guarded by mu_
  std::multimap<Clock::time_point, std::string> later_;  // guarded by mu_
  std::map<std::string, int> failures_;                  // guarded by mu_
  bool shutDown_ = false;                                // guarded by mu_
  std::thread delayThread_;
};

}  // namespace slogate::kube
