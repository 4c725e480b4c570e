#include "harness/history.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace slogate::harness {

namespace {

constexpr std::int64_t kMinute = 60;
constexpr double kFastSeconds = 0.1;
constexpr double kSlowSeconds = 0.5;
constexpr double kDefaultCpu = 0.5;

// Floor division for possibly negative times.
std::int64_t floorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

ServiceHistory::ServiceHistory(std::string service, std::int64_t startSeconds,
                               std::int64_t endSeconds, std::int64_t scrapeSeconds)
    : service_(std::move(service)), start_(startSeconds), end_(endSeconds), scrape_(scrapeSeconds) {
  if (start_ % kMinute != 0 || end_ % kMinute != 0) {
    throw std::invalid_argument("ServiceHistory: start and end must be aligned to 60 s");
  }
  if (start_ > end_) throw std::invalid_argument("ServiceHistory: start after end");
  if (scrape_ <= 0) throw std::invalid_argument("ServiceHistory: scrapeSeconds must be > 0");
}

ServiceHistory::Range ServiceHistory::checkedRange(std::int64_t fromSec, std::int64_t toSec) const {
  if (fromSec > toSec) throw std::invalid_argument("ServiceHistory: range from > to");
  return Range{fromSec, toSec};
}

void ServiceHistory::setRate(std::int64_t fromSec, std::int64_t toSec, std::uint64_t totalPerMinute,
                             std::uint64_t badPerMinute) {
  if (badPerMinute > totalPerMinute) {
    throw std::invalid_argument("ServiceHistory: bad per minute above total per minute");
  }
  rates_.push_back(RateSetting{checkedRange(fromSec, toSec), totalPerMinute, badPerMinute});
}

void ServiceHistory::setSlow(std::int64_t fromSec, std::int64_t toSec,
                             std::uint64_t slowPerMinute) {
  slow_.push_back(SlowSetting{checkedRange(fromSec, toSec), slowPerMinute});
}

void ServiceHistory::setCpu(std::int64_t fromSec, std::int64_t toSec, double value) {
  cpu_.push_back(CpuSetting{checkedRange(fromSec, toSec), value});
}

void ServiceHistory::counterResetAt(std::int64_t sec) {
  resets_.push_back(sec);
}

void ServiceHistory::gap(std::int64_t fromSec, std::int64_t toSec) {
  gaps_.push_back(checkedRange(fromSec, toSec));
}

void ServiceHistory::noSeries(std::int64_t fromSec, std::int64_t toSec) {
  noSeries_.push_back(checkedRange(fromSec, toSec));
}

bool ServiceHistory::inNoSeries(std::int64_t t) const {
  return std::any_of(noSeries_.begin(), noSeries_.end(),
                     [t](const Range& r) { return r.contains(t); });
}

bool ServiceHistory::sampleAt(std::int64_t t) const {
  if (t < start_ || t > end_ || (t - start_) % scrape_ != 0) return false;
  if (inNoSeries(t)) return false;
  return std::none_of(gaps_.begin(), gaps_.end(), [t](const Range& r) { return r.contains(t); });
}

ServiceHistory::Slice ServiceHistory::sliceEndingAt(std::int64_t minuteEnd) const {
  Slice slice;
  const std::int64_t endSec = minuteEnd * kMinute;
  const std::int64_t startSec = endSec - kMinute;
  if (endSec <= start_ || endSec > end_ || inNoSeries(startSec)) return slice;
  // The latest setting covering the slice wins.
  auto covers = [startSec](const auto& setting) { return setting.range.contains(startSec); };
  auto rate = std::find_if(rates_.rbegin(), rates_.rend(), covers);
  if (rate != rates_.rend()) {
    slice.total = rate->total;
    slice.bad = rate->bad;
  }
  auto slow = std::find_if(slow_.rbegin(), slow_.rend(), covers);
  if (slow != slow_.rend()) slice.slow = std::min(slow->slow, slice.total);
  return slice;
}

double ServiceHistory::cpuValue(std::int64_t t) const {
  auto cpu = std::find_if(cpu_.rbegin(), cpu_.rend(),
                          [t](const CpuSetting& setting) { return setting.range.contains(t); });
  return cpu != cpu_.rend() ? cpu->value : kDefaultCpu;
}

void ServiceHistory::write(OpenMetricsWriter& out) const {
  out.declare("http_requests", "counter");
  out.declare("http_request_duration_seconds", "histogram");
  out.declare("container_cpu_utilization_ratio", "gauge");
  const std::vector<Label> good = {{"service", service_}, {"code", "200"}};
  const std::vector<Label> bad = {{"service", service_}, {"code", "500"}};
  const std::vector<Label> fastBucket = {{"service", service_}, {"le", "0.3"}};
  const std::vector<Label> infBucket = {{"service", service_}, {"le", "+Inf"}};
  const std::vector<Label> serviceOnly = {{"service", service_}};
  const std::vector<Label> container = {{"container", service_}};

  // Cumulative counters since the last restart.
  std::uint64_t total = 0, badCount = 0, slow = 0;
  for (std::int64_t t = start_; t <= end_; t += scrape_) {
    const std::int64_t previous = t - scrape_;
    const bool restart =
        inNoSeries(t) || std::any_of(resets_.begin(), resets_.end(),
                                     [&](std::int64_t r) { return previous < r && r <= t; });
    if (restart) total = badCount = slow = 0;
    // Slices ending in (previous, t].
    for (std::int64_t m = floorDiv(previous, kMinute) + 1; m * kMinute <= t; ++m) {
      Slice slice = sliceEndingAt(m);
      total += slice.total;
      badCount += slice.bad;
      slow += slice.slow;
    }
    if (!sampleAt(t)) continue;
    const double fast = static_cast<double>(total - slow);
    out.add("http_requests_total", good, t, static_cast<double>(total - badCount));
    out.add("http_requests_total", bad, t, static_cast<double>(badCount));
    out.add("http_request_duration_seconds_bucket", fastBucket, t, fast);
    out.add("http_request_duration_seconds_bucket", infBucket, t, static_cast<double>(total));
    out.add("http_request_duration_seconds_count", serviceOnly, t, static_cast<double>(total));
    out.add("http_request_duration_seconds_sum", serviceOnly, t,
            fast * kFastSeconds + static_cast<double>(slow) * kSlowSeconds);
    out.add("container_cpu_utilization_ratio", container, t, cpuValue(t));
  }
}

MinuteCounts ServiceHistory::errorsAt(std::int64_t minuteEnd) const {
  Slice slice = sliceEndingAt(minuteEnd);
  return MinuteCounts{minuteEnd, slice.total, slice.bad};
}

MinuteCounts ServiceHistory::latencyAt(std::int64_t minuteEnd) const {
  Slice slice = sliceEndingAt(minuteEnd);
  return MinuteCounts{minuteEnd, slice.total, slice.slow};
}

std::optional<double> ServiceHistory::cpuAt(std::int64_t minuteEnd) const {
  const std::int64_t t = minuteEnd * kMinute;
  if (!sampleAt(t)) return std::nullopt;
  return cpuValue(t);
}

}  // namespace slogate::harness
