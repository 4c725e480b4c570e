#include "kube/informer.h"

#include <random>

namespace slogate::kube {

Informer::Informer(KubeClient& client, ResourceRef resource, std::string ns, Handler onChange,
                   InformerOptions options)
    : client_(client),
      resource_(std::move(resource)),
      ns_(std::move(ns)),
      onChange_(std::move(onChange)),
      options_(options) {}

Informer::~Informer() {
  stop();
}

void Informer::start() {
  thread_ = std::thread([this] { run(); });
}

void Informer::stop() {
  stopping_ = true;
  cancel_.cancel();
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string Informer::keyOf(const Json& object) {
  const std::string ns = object["metadata"]["namespace"].text();
  return ns + "/" + object["metadata"]["name"].text();
}

std::shared_ptr<const Json> Informer::get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = cache_.find(key);
  return it == cache_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const Json>> Informer::list() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<const Json>> out;
  out.reserve(cache_.size());
  for (const auto& [k, v] : cache_) out.push_back(v);
  return out;
}

std::string Informer::resourceVersion() const {
  std::lock_guard<std::mutex> lock(mu_);
  return resourceVersion_;
}

void Informer::sleepFor(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  wake_.wait_for(lock, d, [this] { return stopping_.load(); });
}

std::chrono::milliseconds Informer::nextBackoff(int attempt, const Status& st) {
  if (const auto retry = retryAfterSeconds(st)) {
    return std::min(std::chrono::milliseconds(*retry * 1000LL), options_.maxBackoff);
  }
  const auto cap =
      std::min(options_.maxBackoff,
               std::chrono::milliseconds(options_.minBackoff.count() << std::min(attempt, 16)));
  static thread_local std::mt19937_64 rng(std::random_device{}());
  return std::chrono::milliseconds(
      std::uniform_int_distribution<std::int64_t>(cap.count() / 2, cap.count())(rng));
}

bool Informer::relist() {
  auto listed = client_.list(resource_, ns_);
  ++lists_;
  if (!listed) return false;
  std::map<std::string, std::shared_ptr<const Json>> fresh;
  for (const Json& item : (*listed)["items"].items()) {
    // List items carry no kind/apiVersion; add them so cached objects are whole.
    Json obj = item;
    obj.set("apiVersion", Json::string(resource_.apiVersion()));
    obj.set("kind", Json::string(resource_.kind));
    std::string key = keyOf(obj);  // before the move below (assignment sequencing)
    fresh[key] = std::make_shared<const Json>(std::move(obj));
  }
  std::vector<std::string> changed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, v] : fresh) {
      const auto it = cache_.find(k);
      if (it == cache_.end() || it->second->operator[]("metadata")["resourceVersion"].text() !=
                                    (*v)["metadata"]["resourceVersion"].text()) {
        changed.push_back(k);
      }
    }
    for (const auto& [k, v] : cache_) {
      if (fresh.count(k) == 0) changed.push_back(k);
    }
    cache_ = std::move(fresh);
    resourceVersion_ = (*listed)["metadata"]["resourceVersion"].text();
  }
  synced_ = true;
  for (const std::string& k : changed) onChange_(k);
  return true;
}

void Informer::run() {
  int failures = 0;
  bool needList = true;
  while (!stopping_) {
    if (needList) {
      if (!relist()) {
        sleepFor(nextBackoff(failures++, Status(Code::kUnavailable, "list failed")));
        continue;
      }
      needList = false;
      failures = 0;
    }
    WatchOptions wo;
    wo.resourceVersion = resourceVersion();
    wo.timeoutSeconds = options_.watchTimeoutSeconds;
    ++watches_;
    const Status st = client_.watch(
        resource_, ns_, wo,
        [this](const WatchEvent& ev) {
          if (stopping_) return false;
          const std::string rv = ev.object["metadata"]["resourceVersion"].text();
          if (ev.type == "BOOKMARK") {
            std::lock_guard<std::mutex> lock(mu_);
            if (!rv.empty()) resourceVersion_ = rv;
            return true;
          }
          const std::string key = keyOf(ev.object);
          {
            std::lock_guard<std::mutex> lock(mu_);
            if (ev.type == "DELETED") {
              cache_.erase(key);
            } else {
              cache_[key] = std::make_shared<const Json>(ev.object);
            }
            if (!rv.empty()) resourceVersion_ = rv;
          }
          onChange_(key);
          return true;
        },
        &cancel_);
    if (stopping_) break;
    if (st.isOk()) {
      failures = 0;  // the server ended the watch: continue from the last version
      continue;
    }
    if (st.code() == Code::kExpired) {
      needList = true;  // 410 Gone: our version is too old
      continue;
    }
    sleepFor(nextBackoff(failures++, st));
    if (failures >= 5) needList = true;
  }
}

}  // namespace slogate::kube
