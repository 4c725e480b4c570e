// Unit tests of the reader's number handling; its queries against a real
// Prometheus are in reader_integration_test.cc.
#include "prometheus/reader.h"

#include <gtest/gtest.h>

#include "config/slo_document.h"

namespace slogate::prometheus {
namespace {

engine::Fixed fx(const char* s) {
  return *engine::Fixed::parse(s);
}

TEST(Reader, BucketQuery) {
  EXPECT_EQ(bucketQuery("a_total{x=\"y\"}", 1), "sum(increase(a_total{x=\"y\"}[1m]))");
  EXPECT_EQ(bucketQuery("a_total", 60), "sum(increase(a_total[60m]))");
}

TEST(Reader, EventCountRoundsAndRejects) {
  EXPECT_EQ(eventCount("12"), 12u);
  EXPECT_EQ(eventCount("12.000000000000002"), 12u);
  EXPECT_EQ(eventCount("11.5"), 12u);
  EXPECT_EQ(eventCount("0"), 0u);
  EXPECT_EQ(eventCount("-0.2"), 0u);  // float noise around zero
  EXPECT_EQ(eventCount("1e3"), 1000u);
  EXPECT_EQ(eventCount("-3"), std::nullopt);
  EXPECT_EQ(eventCount("NaN"), std::nullopt);
  EXPECT_EQ(eventCount("+Inf"), std::nullopt);
  EXPECT_EQ(eventCount("1e30"), std::nullopt);
  EXPECT_EQ(eventCount(""), std::nullopt);
  EXPECT_EQ(eventCount("12abc"), std::nullopt);
}

TEST(Reader, CompareValueIsExactDecimal) {
  EXPECT_EQ(compareValue("0.9", fx("0.9")), 0);
  EXPECT_EQ(compareValue("0.90000", fx("0.9")), 0);
  // The double nearest 0.9 printed in full is above 0.9: exact comparison says so.
  EXPECT_EQ(compareValue("0.90000000000000002220446", fx("0.9")), 1);
  EXPECT_EQ(compareValue("0.8999999999999999", fx("0.9")), -1);
  EXPECT_EQ(compareValue("1", fx("0.9")), 1);
  EXPECT_EQ(compareValue("10", fx("9.5")), 1);
  EXPECT_EQ(compareValue("9e-1", fx("0.9")), 0);
  EXPECT_EQ(compareValue("0.0009e3", fx("0.9")), 0);
  EXPECT_EQ(compareValue("-1", fx("0.9")), -1);
  EXPECT_EQ(compareValue("-1", fx("-2")), 1);
  EXPECT_EQ(compareValue("-0", fx("0")), 0);
  EXPECT_EQ(compareValue("+Inf", fx("1000")), 1);
  EXPECT_EQ(compareValue("-Inf", fx("-1000")), -1);
  EXPECT_EQ(compareValue("1e400", fx("1000")), 1);
  EXPECT_EQ(compareValue("1e-400", fx("0")), 1);
  EXPECT_EQ(compareValue("NaN", fx("0.9")), std::nullopt);
  EXPECT_EQ(compareValue("abc", fx("0.9")), std::nullopt);
  EXPECT_EQ(compareValue("", fx("0.9")), std::nullopt);
}

// Answers every range query with one series: 100 total events a minute;
// the good/bad query's value comes from `other` (nullopt: no series at all).
class CannedClient final : public QueryClient {
 public:
  std::function<std::optional<std::string>(std::int64_t minute)> other;
  Result<QueryResult> query(const std::string&, std::int64_t) override {
    return unavailable("instant queries are not used");
  }
  Result<QueryResult> queryRange(const std::string& promql, std::int64_t start, std::int64_t end,
                                 std::int64_t step) override {
    ++requests_;
    QueryResult r;
    r.type = QueryResult::Type::kMatrix;
    Series s;
    const bool total = promql.find("code") == std::string::npos;
    for (std::int64_t t = start; t <= end; t += step) {
      std::optional<std::string> v = total ? std::optional<std::string>("100") : other(t / 60);
      if (v) s.samples.push_back({t, t * 1000, *v});
    }
    if (!s.samples.empty()) r.series.push_back(s);
    return r;
  }
  std::uint64_t requests() const override { return requests_; }

 private:
  std::uint64_t requests_ = 0;
};

TEST(Reader, ANanOrGarbageGoodOrBadBucketIsNoDataNotZero) {
  for (const char* which : {"bad", "good"}) {
    auto slos = config::parseSloDocuments(
        std::string("apiVersion: slogate.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: "
                    "{name: a, namespace: b}\nspec:\n  indicators:\n    errors:\n      "
                    "objective: \"99\"\n      total: t_total\n      ") +
            which + ": t_total{code=\"5\"}\n",
        "t.yaml");
    ASSERT_TRUE(slos.ok()) << slos.status().message();
    CannedClient client;
    client.other = [](std::int64_t minute) -> std::optional<std::string> {
      if (minute == 1002) return "NaN";
      if (minute == 1003) return "garbage";
      if (minute == 1004) return std::nullopt;  // no series: 0 events
      return "3";
    };
    SloReader reader(client);
    auto slices = reader.fetch(*slos->front(), 0, 1, 1000, 1005);
    ASSERT_TRUE(slices.ok()) << slices.status().message();
    std::vector<engine::Minutes> ends;
    for (const Slice& s : *slices) ends.push_back(s.end);
    EXPECT_EQ(ends, (std::vector<engine::Minutes>{1001, 1004, 1005})) << which;
    const bool bad = std::string(which) == "bad";
    EXPECT_EQ((*slices)[1].bad, bad ? 0U : 100U) << which;  // no series
    EXPECT_EQ((*slices)[0].bad, bad ? 3U : 97U) << which;
  }
}

}  // namespace
}  // namespace slogate::prometheus
