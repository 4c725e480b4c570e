#include "kube/workqueue.h"

#include <algorithm>

namespace slogate::kube {

WorkQueue::WorkQueue() : delayThread_([this] { delayLoop(); }) {}

WorkQueue::~WorkQueue() {
  shutDown();
  delayThread_.join();
}

void WorkQueue::addLocked(const std::string& key) {
  if (shutDown_ || dirty_.count(key) != 0) return;
  dirty_.insert(key);
  if (processing_.count(key) != 0) return;  // requeued by done()
  queue_.push_back(key);
  ready_.notify_one();
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  addLocked(key);
}

void WorkQueue::addAfter(const std::string& key, std::chrono::milliseconds delay) {
  if (delay <= std::chrono::milliseconds(0)) {
    add(key);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (shutDown_) return;
  later_.emplace(Clock::now() + delay, key);
  delayChanged_.notify_one();
}

void WorkQueue::addRateLimited(const std::string& key) {
  int n = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    n = failures_[key]++;
  }
  const auto delay = std::min<std::chrono::milliseconds>(
      std::chrono::milliseconds(5LL << std::min(n, 20)), std::chrono::minutes(5));
  addAfter(key, delay);
}

void WorkQueue::forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(key);
}

int WorkQueue::failures(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock<std::mutex> lock(mu_);
  ready_.wait(lock, [this] { return shutDown_ || !queue_.empty(); });
  if (queue_.empty()) return std::nullopt;
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(key);
  dirty_.erase(key);
  return key;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  processing_.erase(key);
  if (dirty_.count(key) != 0 && !shutDown_) {
    queue_.push_back(key);
    ready_.notify_one();
  }
}

void WorkQueue::shutDown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutDown_ = true;
  ready_.notify_all();
  delayChanged_.notify_all();
}

std::size_t WorkQueue::length() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void WorkQueue::delayLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!shutDown_) {
    if (later_.empty()) {
      delayChanged_.wait(lock);
      continue;
    }
    const auto first = later_.begin()->first;
    if (Clock::now() < first) {
      delayChanged_.wait_until(lock, first);
      continue;
    }
    while (!later_.empty() && later_.begin()->first <= Clock::now()) {
      addLocked(later_.begin()->second);
      later_.erase(later_.begin());
    }
  }
}

}  // namespace slogate::kube
