// informer.h — Informer: a local cache of one resource type, kept in sync by
// list + watch.
//
// Lists the resource (remembering the list's resourceVersion), then watches
// from it with bookmarks; on a 410 Gone (Expired) it relists, on an ended
// watch it re-watches from the last version it saw, on errors it backs off
// (jittered, honouring 429 Retry-After). Every add, change or delete calls
// `onChange(key)` with the key "namespace/name" — level-based: the handler
// re-reads the cache, so a missed intermediate state never matters.
//
//   Informer slos(client, resources::kSlo, "", [&](const std::string& k) { queue.add(k); });
//   slos.start();
//   ... slos.hasSynced(); auto obj = slos.get("shop/checkout");
//
// Thread safety: get/list/hasSynced may be called from any thread; start and
// stop from the owner.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.h"

namespace slogate::kube {

struct InformerOptions {
  int watchTimeoutSeconds = 300;
  std::chrono::milliseconds minBackoff{200};
  std::chrono::milliseconds maxBackoff{30'000};
};

class Informer {
 public:
  using Handler = std::function<void(const std::string& key)>;

  Informer(KubeClient& client, ResourceRef resource, std::string ns, Handler onChange,
           InformerOptions options = {});
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void start();
  void stop();

  bool hasSynced() const { return synced_.load(); }
  std::shared_ptr<const Json> get(const std::string& key) const;
  std::vector<std::shared_ptr<const Json>> list() const;
  std::string resourceVersion() const;
  std::uint64_t lists() const { return lists_.load(); }      // relists so far (1 after sync)
  std::uint64_t watches() const { return watches_.load(); }  // watch requests so far

  static std::string keyOf(const Json& object);

 private:
  void run();
  bool relist();  // false on error
  void sleepFor(std::chrono::milliseconds d);
  std::chrono::milliseconds nextBackoff(int attempt, const Status& st);

  KubeClient& client_;
  const ResourceRef resource_;
  const std::string ns_;
  const Handler onChange_;
  const InformerOptions options_;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Json>> cache_;  // guarded by mu_
  std::string resourceVersion_;                               // guarded by mu_
  std::condition_variable wake_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> synced_{false};
  std::atomic<std::uint64_t> lists_{0};
  std::atomic<std::uint64_t> watches_{0};
  net::Cancel cancel_;
  std::thread thread_;
};

}  // namespace slogate::kube
