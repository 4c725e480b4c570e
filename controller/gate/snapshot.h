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

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

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
  const SloEntry* find(const std::string& ns, const std::string& name) const {
    const auto it = entries.find(ns + "/" + name);
    return it == entries.end() ? nullptr : it->second.get();
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
    if (entry) {
      next->entries[key] = std::move(entry);
    } else {
      next->entries.erase(key);
    }
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> current_;  // guarded by mu_
};

}  // namespace slogate::gate
