// latency_histogram.h — LatencyHistogram: the latency record of slogate_loadgen.
//
// Log-linear buckets over unsigned integers (the load generator records
// nanoseconds): every value below 256 has its own bucket; above that each
// power of two is split into 128 equal buckets, so a bucket is never wider
// than 1/128 of its lower bound (relative error < 0.8 %), whatever the range
// (1 ns to 2^64 - 1 in 7,424 counters, allocated up to the largest value seen).
//
// percentile(q) is the nearest rank: the smallest bucket holding at least
// ceil(q/100 × count) of the values, reported as that bucket's upper bound
// (never below the true value, never above it by more than the bucket width),
// clamped to [min, max] — so percentile(100) is the exact maximum and one
// recorded value is reported exactly.
//
//   LatencyHistogram h;
//   h.record(1'250'000);              // 1.25 ms in ns
//   std::uint64_t p99 = h.percentile(99.0);
//
// Thread safety: none; one histogram per thread, merge() afterwards.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace slogate::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr std::size_t kSubBuckets = std::size_t{1} << kSubBucketBits;  // 128
  static constexpr std::size_t kBuckets =
      (64 - kSubBucketBits + 1) * kSubBuckets;  // index of 2^64 - 1, plus one

  // The bucket of `value`. Values below 256 are their own index.
  static std::size_t indexOf(std::uint64_t value) {
    if (value < kSubBuckets) return static_cast<std::size_t>(value);
    const int msb = std::bit_width(value) - 1;  // >= kSubBucketBits
    const int shift = msb - kSubBucketBits;
    return static_cast<std::size_t>(shift + 1) * kSubBuckets +
           static_cast<std::size_t>((value >> shift) - kSubBuckets);
  }

  // Smallest and largest value of bucket `index`.
  static std::uint64_t lowerBound(std::size_t index) {
    if (index < kSubBuckets) return index;
    const std::size_t shift = index / kSubBuckets - 1;
    return (kSubBuckets + index % kSubBuckets) << shift;
  }
  static std::uint64_t upperBound(std::size_t index) {
    if (index < kSubBuckets) return index;
    const std::size_t shift = index / kSubBuckets - 1;
    return lowerBound(index) + ((std::uint64_t{1} << shift) - 1);
  }

  void record(std::uint64_t value, std::uint64_t times = 1) {
    if (times == 0) return;
    const std::size_t index = indexOf(value);
    if (index >= counts_.size()) counts_.resize(index + 1, 0);
    counts_[index] += times;
    count_ += times;
    sum_ += static_cast<long double>(value) * static_cast<long double>(times);
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }

  void merge(const LatencyHistogram& other) {
    if (other.count_ == 0) return;
    if (other.counts_.size() > counts_.size()) counts_.resize(other.counts_.size(), 0);
    for (std::size_t i = 0; i < other.counts_.size(); ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  double mean() const {
    return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
  }

  // Nearest-rank percentile, q in [0, 100]; 0 when empty.
  std::uint64_t percentile(double q) const {
    if (count_ == 0) return 0;
    q = std::clamp(q, 0.0, 100.0);
    // ceil(q/100 × count) without the double rounding up an exact product.
    const long double exact = static_cast<long double>(q) / 100.0L * count_;
    auto rank = static_cast<std::uint64_t>(std::ceil(exact - 1e-9L));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::clamp(upperBound(i), min(), max_);
    }
    return max_;
  }

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  long double sum_ = 0;
  std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t max_ = 0;
};

}  // namespace slogate::bench
