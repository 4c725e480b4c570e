// The percentile math of slogate_loadgen (latency_histogram.h): bucket
// bounds, nearest rank, relative error, merge. No timing here: the load
// generator's measurements are benchmarks, not tests.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "bench/latency_histogram.h"

namespace slogate::bench {
namespace {

TEST(LatencyHistogram, BucketsCoverEveryValueWithBoundedWidth) {
  std::mt19937_64 rng(7);
  std::vector<std::uint64_t> values = {
      0,   1,    127,  128,  255,   256,   257,      511,
      512, 1000, 1023, 1024, 65535, 65536, 1u << 30, std::numeric_limits<std::uint64_t>::max()};
  for (int i = 0; i < 100000; ++i) values.push_back(rng() >> (rng() % 64));
  for (const std::uint64_t v : values) {
    const std::size_t i = LatencyHistogram::indexOf(v);
    ASSERT_LT(i, LatencyHistogram::kBuckets) << v;
    const std::uint64_t lo = LatencyHistogram::lowerBound(i);
    const std::uint64_t hi = LatencyHistogram::upperBound(i);
    ASSERT_LE(lo, v);
    ASSERT_GE(hi, v);
    // Width at most lo/128 (exact below 256).
    ASSERT_LE(hi - lo, lo / LatencyHistogram::kSubBuckets) << v;
    if (v < 256) {
      ASSERT_EQ(lo, hi) << v;
    }
  }
}

TEST(LatencyHistogram, BucketsAreContiguousAndOrdered) {
  for (std::size_t i = 0; i + 1 < LatencyHistogram::kBuckets; ++i) {
    ASSERT_EQ(LatencyHistogram::upperBound(i) + 1, LatencyHistogram::lowerBound(i + 1)) << i;
    ASSERT_EQ(LatencyHistogram::indexOf(LatencyHistogram::lowerBound(i)), i);
    ASSERT_EQ(LatencyHistogram::indexOf(LatencyHistogram::upperBound(i)), i);
  }
  EXPECT_EQ(LatencyHistogram::upperBound(LatencyHistogram::kBuckets - 1),
            std::numeric_limits<std::uint64_t>::max());
}

TEST(LatencyHistogram, EmptyAndSingleValue) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.max(), 0u);
  h.record(1'234'567);  // inside a bucket 8 ns wide: still reported exactly (clamped)
  for (const double q : {0.0, 50.0, 99.0, 99.9, 100.0}) EXPECT_EQ(h.percentile(q), 1'234'567u);
  EXPECT_EQ(h.min(), 1'234'567u);
  EXPECT_DOUBLE_EQ(h.mean(), 1'234'567.0);
}

TEST(LatencyHistogram, NearestRankOnExactValues) {
  LatencyHistogram h;
  for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
  EXPECT_EQ(h.percentile(0), 1u);  // rank clamps to 1
  EXPECT_EQ(h.percentile(1), 1u);
  EXPECT_EQ(h.percentile(50), 50u);
  EXPECT_EQ(h.percentile(50.5), 51u);
  EXPECT_EQ(h.percentile(90), 90u);
  EXPECT_EQ(h.percentile(99), 99u);
  EXPECT_EQ(h.percentile(99.9), 100u);
  EXPECT_EQ(h.percentile(100), 100u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(LatencyHistogram, TailRankBoundary) {
  // 990 fast, 10 slow: p99 is the 990th value (fast, reported as the upper
  // bound of its bucket), p99.1 the 991st (slow, clamped to the maximum).
  LatencyHistogram h;
  h.record(1'000'000, 990);
  h.record(100'000'000, 10);
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_GE(h.percentile(99), 1'000'000u);
  EXPECT_LE(h.percentile(99), 1'000'000u + 1'000'000u / LatencyHistogram::kSubBuckets);
  EXPECT_EQ(h.percentile(99.1), 100'000'000u);
  EXPECT_EQ(h.percentile(99.9), 100'000'000u);
  EXPECT_EQ(h.max(), 100'000'000u);
}

TEST(LatencyHistogram, RelativeErrorOnAWideRange) {
  // 1 µs .. 100 ms in 1 µs steps: the true p-th value is p% of 100 ms.
  LatencyHistogram h;
  constexpr std::uint64_t kN = 100'000;
  for (std::uint64_t i = 1; i <= kN; ++i) h.record(i * 1000);
  for (const double q : {50.0, 90.0, 99.0, 99.9}) {
    const auto truth = static_cast<std::uint64_t>(std::llround(q / 100.0 * kN)) * 1000;
    const std::uint64_t got = h.percentile(q);
    EXPECT_GE(got, truth) << q;
    EXPECT_LE(got, truth + truth / LatencyHistogram::kSubBuckets) << q;
  }
  EXPECT_EQ(h.percentile(100), kN * 1000);
  EXPECT_EQ(h.min(), 1000u);
}

TEST(LatencyHistogram, MergeEqualsRecordingEverything) {
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> latency(12.0, 1.5);  // ~160 µs median, long tail
  LatencyHistogram a;
  LatencyHistogram b;
  LatencyHistogram all;
  for (int i = 0; i < 50000; ++i) {
    const auto v = static_cast<std::uint64_t>(latency(rng));
    (i % 3 == 0 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  for (const double q : {10.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
    EXPECT_EQ(a.percentile(q), all.percentile(q)) << q;
  }
}

}  // namespace
}  // namespace slogate::bench
