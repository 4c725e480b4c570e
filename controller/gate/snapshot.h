// snapshot.h — Snapshot: the latest verdict of every SLO, immutable.
//
// The gate publishes a new Snapshot after each evaluation (copy-on-write of a
// small map of shared pointers); the webhook and the verdict endpoint read
// the current one without locks held across their work and without ever
// waiting on Prometheus or the API server.
//
//   std::shared_ptr<const Snapshot> s = publisher.current();
//   if (const SloEntry* e = s->find("shop", "checkout")) ... e->verdict ...
//
// Thread safety: a Snapshot is immutable; SnapshotPublisher is thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/verdict.h"

namespace slogate::gate {

struct SloEntry {
  std::string ns;
  std::string name;
  std::shared_ptr<const engine::Verdict> verdict;  // null until the first evaluation
  std::string error;                         // why the last evaluation failed ("" when it did not)
  std::int64_t evaluatedAtUnix = 0;          // wall time of the verdict's evaluation (seconds)
  std::optional<std::string> targetRollout;  // spec.target.name
  bool frozenSinceKnown = false;
  std::string frozenSince;  // RFC 3339, when frozen
};

struct Snapshot {
  std::map<std::string, std::shared_ptr<const SloEntry>> entries;  // by "ns/name"
  // "ns/rollout" → the keys of the entries whose target is that Rollout: the
  // webhook's lookup, O(log n) whatever the number of SLOs.
  std::map<std::string, std::vector<std::string>> byTarget;

  const SloEntry* find(const std::string& ns, const std::string& name) const {
    const auto it = entries.find(ns + "/" + name);
    return it == entries.end() ? nullptr : it->second.get();
  }
  // Replaces (or, with a null entry, removes) one SLO's entry, keeping the
  // index. Write entries only through this.
  void set(const std::string& key, std::shared_ptr<const SloEntry> entry) {
    if (auto old = entries.find(key); old != entries.end() && old->second->targetRollout) {
      const std::string target = old->second->ns + "/" + *old->second->targetRollout;
      auto& keys = byTarget[target];
      keys.erase(std::remove(keys.begin(), keys.end(), key), keys.end());
      if (keys.empty()) byTarget.erase(target);
    }
    if (entry) {
      if (entry->targetRollout) {
        auto& keys = byTarget[entry->ns + "/" + *entry->targetRollout];
        keys.insert(std::lower_bound(keys.begin(), keys.end(), key), key);
      }
      entries[key] = std::move(entry);
    } else {
      entries.erase(key);
    }
  }

  // The entries that gate Rollout ns/rollout, in key order.
  std::vector<const SloEntry*> gating(const std::string& ns, const std::string& rollout) const {
    std::vector<const SloEntry*> out;
    const auto it = byTarget.find(ns + "/" + rollout);
    if (it == byTarget.end()) return out;
    for (const std::string& key : it->second) out.push_back(entries.at(key).get());
    return out;
  }
};

class SnapshotPublisher {
 public:
  SnapshotPublisher() : current_(std::make_shared<const Snapshot>()) {}
  std::shared_ptr<const Snapshot> current() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }
  // Replaces (or, with a null entry, removes) one SLO's entry.
  void put(const std::string& key, std::shared_ptr<const SloEntry> entry) {
    std::lock_guard<std::mutex> lock(mu_);
    auto next = std::make_shared<Snapshot>(*current_);
    next->set(key, std::move(entry));
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> current_;  // guarded by mu_
};

}  // namespace slogate::gate
