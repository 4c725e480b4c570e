#include "kube/leader.h"

#include <cstdio>
#include <ctime>

namespace slogate::kube {

std::string microTimeNow() {
  const auto now = std::chrono::system_clock::now();
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(us % 1'000'000));
  return buf;
}

LeaderElector::LeaderElector(KubeClient& client, LeaderOptions options,
                             std::function<void(bool)> onChange)
    : client_(client), options_(std::move(options)), onChange_(std::move(onChange)) {}

LeaderElector::~LeaderElector() {
  stop();
}

void LeaderElector::start() {
  thread_ = std::thread([this] { run(); });
}

void LeaderElector::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool LeaderElector::isLeader() const {
  if (!leader_.load()) return false;
  const auto last = Clock::time_point(Clock::duration(lastRenew_.load()));
  return Clock::now() - last < options_.renewDeadline;
}

void LeaderElector::setLeader(bool leader) {
  if (leader_.exchange(leader) != leader) {
    ++transitions_;
    if (onChange_) onChange_(leader);
  }
}

bool LeaderElector::tryAcquireOrRenew() {
  const std::string now = microTimeNow();
  const auto leaseSeconds =
      std::chrono::duration_cast<std::chrono::seconds>(options_.leaseDuration);
  auto current = client_.get(resources::kLease, options_.ns, options_.name);
  if (!current && current.status().code() == Code::kNotFound) {
    Json lease = Json::object();
    lease.set("apiVersion", Json::string("coordination.k8s.io/v1"));
    lease.set("kind", Json::string("Lease"));
    Json meta = Json::object();
    meta.set("name", Json::string(options_.name));
    meta.set("namespace", Json::string(options_.ns));
    lease.set("metadata", meta);
    Json spec = Json::object();
    spec.set("holderIdentity", Json::string(options_.identity));
    spec.set("leaseDurationSeconds", Json::number(std::to_string(leaseSeconds.count())));
    spec.set("acquireTime", Json::string(now));
    spec.set("renewTime", Json::string(now));
    spec.set("leaseTransitions", Json::number("0"));
    lease.set("spec", spec);
    return client_.create(resources::kLease, options_.ns, lease).ok();
  }
  if (!current) return false;
  const Json& spec = (*current)["spec"];
  const std::string holder = spec["holderIdentity"].text();
  const std::string renewTime = spec["renewTime"].text();
  if (holder != observedHolder_ || renewTime != observedRenewTime_) {
    observedHolder_ = holder;
    observedRenewTime_ = renewTime;
    observedAt_ = Clock::now();
  }
  const bool mine = holder == options_.identity;
  if (!holder.empty() && !mine && Clock::now() < observedAt_ + options_.leaseDuration) {
    return false;  // held by someone else and not expired (on our clock)
  }
  Json lease = *current;
  Json newSpec = spec.isObject() ? spec : Json::object();
  newSpec.set("holderIdentity", Json::string(options_.identity));
  newSpec.set("leaseDurationSeconds", Json::number(std::to_string(leaseSeconds.count())));
  newSpec.set("renewTime", Json::string(now));
  if (!mine) {
    newSpec.set("acquireTime", Json::string(now));
    newSpec.set("leaseTransitions",
                Json::number(std::to_string(spec["leaseTransitions"].asInt().value_or(0) + 1)));
  }
  lease.set("spec", newSpec);
  // metadata.resourceVersion stays as read: a concurrent writer makes this 409.
  auto updated = client_.update(resources::kLease, options_.ns, options_.name, lease);
  if (!updated) return false;
  observedHolder_ = options_.identity;
  observedRenewTime_ = now;
  observedAt_ = Clock::now();
  return true;
}

void LeaderElector::release() {
  auto current = client_.get(resources::kLease, options_.ns, options_.name);
  if (!current || (*current)["spec"]["holderIdentity"].text() != options_.identity) return;
  Json lease = *current;
  Json spec = lease["spec"];
  spec.set("holderIdentity", Json::string(""));
  spec.set("renewTime", Json::string(microTimeNow()));
  spec.set("leaseDurationSeconds", Json::number("1"));
  lease.set("spec", spec);
  (void)client_.update(resources::kLease, options_.ns, options_.name, lease);
}

void LeaderElector::run() {
  while (true) {
    const auto attemptStart = Clock::now();
    if (tryAcquireOrRenew()) {
      lastRenew_ = attemptStart.time_since_epoch().count();
      setLeader(true);
    } else if (leader_.load() && !isLeader()) {
      setLeader(false);  // renewDeadline passed without a renewal: stop acting
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (wake_.wait_for(lock, options_.retryPeriod, [this] { return stopping_; })) break;
  }
  if (leader_.load()) {
    setLeader(false);
    release();
  }
}

}  // namespace slogate::kube
