// harness_test.cc — OpenMetricsWriter format, ServiceHistory truth, and an
// end-to-end run: backfill a 2-day history into a real Prometheus and check
// that increase() per minute equals the truth.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "harness/history.h"
#include "harness/openmetrics.h"
#include "harness/prometheus_server.h"

namespace slogate::harness {
namespace {

constexpr std::int64_t kT0 = 1704067200;  // 2024-01-01T00:00:00Z
constexpr std::int64_t kMinute = 60;
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 86400;

// The value of `head` (name{labels}) at `timestamp` in an OpenMetrics text.
std::optional<std::string> valueIn(const std::string& text, const std::string& head,
                                   std::int64_t timestamp) {
  const std::string suffix = " " + std::to_string(timestamp) + "\n";
  std::size_t pos = 0;
  while ((pos = text.find(head + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') {
      std::size_t end = text.find('\n', pos);
      std::string line = text.substr(pos, end - pos + 1);
      if (line.size() > suffix.size() &&
          line.compare(line.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return line.substr(head.size() + 1, line.size() - head.size() - 1 - suffix.size());
      }
    }
    pos += head.size();
  }
  return std::nullopt;
}

TEST(OpenMetricsWriter, WritesGroupedSeriesWithTypeLines) {
  OpenMetricsWriter w;
  w.declare("http_requests", "counter");
  w.declare("temp", "gauge");
  w.declare("lat", "histogram");
  w.add("http_requests_total", {{"service", "a"}, {"code", "200"}}, 60, 1);
  w.add("temp", {}, 60, 0.25);
  w.add("http_requests_total", {{"service", "b\"\\\nc"}}, 60, 5);
  w.add("http_requests_total", {{"service", "a"}, {"code", "200"}}, 120, 12345678901234);
  w.add("temp", {}, 120, 0.1);
  w.add("lat_bucket", {{"le", "+Inf"}}, 60, 3);
  w.add("lat_count", {}, 60, 3);
  w.add("lat_sum", {}, 60, 1.5);
  w.declare("http_requests", "counter");  // again: no-op
  EXPECT_EQ(w.samples(), 8u);
  EXPECT_EQ(w.text(),
            "# TYPE http_requests counter\n"
            "http_requests_total{service=\"a\",code=\"200\"} 1 60\n"
            "http_requests_total{service=\"a\",code=\"200\"} 12345678901234 120\n"
            "http_requests_total{service=\"b\\\"\\\\\\nc\"} 5 60\n"
            "# TYPE temp gauge\n"
            "temp 0.25 60\n"
            "temp 0.1 120\n"
            "# TYPE lat histogram\n"
            "lat_bucket{le=\"+Inf\"} 3 60\n"
            "lat_count 3 60\n"
            "lat_sum 1.5 60\n"
            "# EOF\n");
}

TEST(OpenMetricsWriter, EmptyFileIsJustEof) {
  EXPECT_EQ(OpenMetricsWriter().text(), "# EOF\n");
}

TEST(OpenMetricsWriter, RejectsMisuse) {
  OpenMetricsWriter w;
  w.declare("c", "counter");
  EXPECT_THROW(w.declare("c", "gauge"), std::invalid_argument);
  EXPECT_THROW(w.declare("x", "summary"), std::invalid_argument);
  EXPECT_THROW(w.add("c", {}, 60, 1), std::invalid_argument);  // counters need _total
  EXPECT_THROW(w.add("d_total", {}, 60, 1), std::invalid_argument);
  w.add("c_total", {}, 60, 1);
  EXPECT_THROW(w.add("c_total", {}, 60, 2), std::invalid_argument);  // duplicate timestamp
  EXPECT_THROW(w.add("c_total", {}, 0, 2), std::invalid_argument);   // out of order
  EXPECT_EQ(w.samples(), 1u);
}

TEST(OpenMetricsWriter, FormatsValuesExactly) {
  EXPECT_EQ(OpenMetricsWriter::formatValue(0), "0");
  EXPECT_EQ(OpenMetricsWriter::formatValue(-0.0), "0");
  EXPECT_EQ(OpenMetricsWriter::formatValue(42), "42");
  EXPECT_EQ(OpenMetricsWriter::formatValue(-7), "-7");
  EXPECT_EQ(OpenMetricsWriter::formatValue(9007199254740993.0), "9007199254740992");
  EXPECT_EQ(OpenMetricsWriter::formatValue(0.1), "0.1");
  EXPECT_EQ(OpenMetricsWriter::formatValue(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(OpenMetricsWriter::formatValue(1e20), "1e+20");
  EXPECT_EQ(OpenMetricsWriter::formatValue(INFINITY), "+Inf");
  EXPECT_EQ(OpenMetricsWriter::formatValue(-INFINITY), "-Inf");
  EXPECT_EQ(OpenMetricsWriter::formatValue(NAN), "NaN");
  for (double v : {0.1, 2.5e-9, 123456.789, 1.0 / 7}) {
    EXPECT_EQ(std::strtod(OpenMetricsWriter::formatValue(v).c_str(), nullptr), v);
  }
}

TEST(UrlEncode, KeepsUnreservedOnly) {
  EXPECT_EQ(urlEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(urlEncode("sum(x{a=\"b\"}[1m]) /+&"),
            "sum%28x%7Ba%3D%22b%22%7D%5B1m%5D%29%20%2F%2B%26");
  EXPECT_EQ(urlEncode("\xff"), "%FF");
}

TEST(ServiceHistory, TruthFollowsSettings) {
  ServiceHistory h("a", kT0, kT0 + 2 * kHour);
  h.setRate(kT0, kT0 + kHour, 100, 3);
  h.setRate(kT0 + kHour, kT0 + 2 * kHour, 200, 10);
  h.setSlow(kT0, kT0 + 2 * kHour, 150);  // capped at the total
  h.noSeries(kT0 + 90 * kMinute, kT0 + 100 * kMinute);
  h.gap(kT0 + 30 * kMinute, kT0 + 35 * kMinute);
  h.setCpu(kT0 + 10 * kMinute, kT0 + 20 * kMinute, 0.75);
  const std::int64_t m0 = kT0 / kMinute;

  // Slices ending in (start, end] only.
  EXPECT_EQ(h.errorsAt(m0).total, 0u);
  EXPECT_EQ(h.errorsAt(m0 + 1).total, 100u);
  EXPECT_EQ(h.errorsAt(m0 + 1).bad, 3u);
  EXPECT_EQ(h.errorsAt(m0 + 1).minuteEnd, m0 + 1);
  // The rate change at kT0+1h: the slice ending at minute 60 started before it.
  EXPECT_EQ(h.errorsAt(m0 + 60).total, 100u);
  EXPECT_EQ(h.errorsAt(m0 + 61).total, 200u);
  EXPECT_EQ(h.errorsAt(m0 + 61).bad, 10u);
  EXPECT_EQ(h.latencyAt(m0 + 1).bad, 100u);
  EXPECT_EQ(h.latencyAt(m0 + 61).bad, 150u);
  // Gaps keep events; noSeries has none (slices starting in [90, 100)).
  EXPECT_EQ(h.errorsAt(m0 + 33).total, 100u);
  EXPECT_EQ(h.errorsAt(m0 + 90).total, 200u);
  EXPECT_EQ(h.errorsAt(m0 + 91).total, 0u);
  EXPECT_EQ(h.errorsAt(m0 + 100).total, 0u);
  EXPECT_EQ(h.errorsAt(m0 + 101).total, 200u);
  EXPECT_EQ(h.errorsAt(m0 + 120).total, 200u);
  EXPECT_EQ(h.errorsAt(m0 + 121).total, 0u);
  // The gauge.
  EXPECT_EQ(h.cpuAt(m0), 0.5);
  EXPECT_EQ(h.cpuAt(m0 + 10), 0.75);
  EXPECT_EQ(h.cpuAt(m0 + 20), 0.5);
  EXPECT_EQ(h.cpuAt(m0 + 30), std::nullopt);
  EXPECT_EQ(h.cpuAt(m0 + 35), 0.5);
  EXPECT_EQ(h.cpuAt(m0 + 95), std::nullopt);
  EXPECT_EQ(h.cpuAt(m0 + 120), 0.5);
  EXPECT_EQ(h.cpuAt(m0 + 121), std::nullopt);

  EXPECT_THROW(ServiceHistory("x", kT0 + 1, kT0 + kHour), std::invalid_argument);
  EXPECT_THROW(h.setRate(kT0, kT0 + kHour, 1, 2), std::invalid_argument);
}

TEST(ServiceHistory, WritesCumulativeCountersWithResets) {
  ServiceHistory h("a", kT0, kT0 + kHour);
  h.setRate(kT0, kT0 + kHour, 10, 1);
  h.setSlow(kT0, kT0 + kHour, 4);
  h.counterResetAt(kT0 + 30 * kMinute);
  h.gap(kT0 + 10 * kMinute, kT0 + 12 * kMinute);
  h.noSeries(kT0 + 40 * kMinute, kT0 + 45 * kMinute);
  OpenMetricsWriter w;
  h.write(w);
  const std::string text = w.text();
  const std::string good = "http_requests_total{service=\"a\",code=\"200\"}";
  const std::string bad = "http_requests_total{service=\"a\",code=\"500\"}";
  const std::string fast = "http_request_duration_seconds_bucket{service=\"a\",le=\"0.3\"}";
  const std::string inf = "http_request_duration_seconds_bucket{service=\"a\",le=\"+Inf\"}";
  const std::string count = "http_request_duration_seconds_count{service=\"a\"}";
  const std::string cpu = "container_cpu_utilization_ratio{container=\"a\"}";
  auto at = [&](const std::string& head, std::int64_t minute) {
    return valueIn(text, head, kT0 + minute * kMinute);
  };
  EXPECT_EQ(at(good, 0), "0");
  EXPECT_EQ(at(bad, 0), "0");
  EXPECT_EQ(at(good, 1), "9");
  EXPECT_EQ(at(bad, 1), "1");
  EXPECT_EQ(at(fast, 2), "12");
  EXPECT_EQ(at(inf, 2), "20");
  EXPECT_EQ(at(count, 2), "20");
  EXPECT_EQ(at(cpu, 2), "0.5");
  EXPECT_EQ(at(good, 9), "81");
  EXPECT_EQ(at(good, 10), std::nullopt);  // gap: no samples, events go on
  EXPECT_EQ(at(good, 11), std::nullopt);
  EXPECT_EQ(at(cpu, 11), std::nullopt);
  EXPECT_EQ(at(good, 12), "108");
  EXPECT_EQ(at(good, 29), "261");
  EXPECT_EQ(at(good, 30), "9");  // restart: only the slice ending here
  EXPECT_EQ(at(bad, 30), "1");
  EXPECT_EQ(at(count, 30), "10");
  EXPECT_EQ(at(good, 39), "90");
  EXPECT_EQ(at(good, 40), std::nullopt);
  EXPECT_EQ(at(good, 44), std::nullopt);
  EXPECT_EQ(at(good, 45), "0");  // a new process; no events in (44, 45]
  EXPECT_EQ(at(good, 46), "9");
  EXPECT_EQ(at(good, 60), "135");
  EXPECT_EQ(at(good, 61), std::nullopt);
  // 61 timestamps minus 2 (gap) minus 5 (noSeries), 7 series each.
  EXPECT_EQ(w.samples(), 7u * (61 - 2 - 5));
}

TEST(ServiceHistory, SubMinuteScrapeStepsAtMinuteBoundaries) {
  ServiceHistory h("a", kT0, kT0 + 5 * kMinute, 15);
  h.setRate(kT0, kT0 + 5 * kMinute, 8, 0);
  OpenMetricsWriter w;
  h.write(w);
  const std::string good = "http_requests_total{service=\"a\",code=\"200\"}";
  EXPECT_EQ(valueIn(w.text(), good, kT0 + 45), "0");
  EXPECT_EQ(valueIn(w.text(), good, kT0 + 60), "8");
  EXPECT_EQ(valueIn(w.text(), good, kT0 + 75), "8");
  EXPECT_EQ(valueIn(w.text(), good, kT0 + 300), "40");
  EXPECT_EQ(w.samples(), 7u * 21);
}

// ---- End to end against a real Prometheus ----

// The single value of an instant-vector query answer; nullopt when empty.
std::optional<double> scalarOf(const std::string& body) {
  const std::string key = "\"value\":[";
  std::size_t pos = body.find(key);
  if (pos == std::string::npos) return std::nullopt;
  pos = body.find(",\"", pos + key.size());
  if (pos == std::string::npos) return std::nullopt;
  pos += 2;
  std::size_t end = body.find('"', pos);
  if (end == std::string::npos) return std::nullopt;
  if (body.find(key, end) != std::string::npos) return std::nullopt;  // more than one series
  return std::strtod(body.substr(pos, end - pos).c_str(), nullptr);
}

std::optional<double> query(const PrometheusServer& server, const std::string& promql,
                            std::int64_t time) {
  std::string body;
  int status = server.get(
      "/api/v1/query?query=" + urlEncode(promql) + "&time=" + std::to_string(time), &body);
  EXPECT_EQ(status, 200) << promql << ": " << body;
  EXPECT_NE(body.find("\"status\":\"success\""), std::string::npos) << body;
  return scalarOf(body);
}

void expectNear(std::optional<double> got, double want, const std::string& what) {
  ASSERT_TRUE(got.has_value()) << what << ": no value, want " << want;
  EXPECT_LE(std::fabs(*got - want), 1e-6 * std::max(1.0, std::fabs(want)))
      << what << ": got " << *got << ", want " << want;
}

TEST(PrometheusServer, FailsWithPromtoolOutputOnBadInput) {
  if (!prometheusAvailable()) GTEST_SKIP() << "prometheus/promtool not installed";
  std::string error;
  auto server = PrometheusServer::start("this is not openmetrics\n", &error);
  EXPECT_EQ(server, nullptr);
  EXPECT_NE(error.find("promtool"), std::string::npos) << error;
  EXPECT_NE(error.find("exit code 1"), std::string::npos) << error;
  EXPECT_NE(error.find("parsing"), std::string::npos) << error;  // promtool's own message
}

TEST(PrometheusServer, BackfilledHistoryAnswersWithTheTruth) {
  if (!prometheusAvailable()) GTEST_SKIP() << "prometheus/promtool not installed";
  const std::int64_t end = kT0 + 2 * kDay;
  ServiceHistory a("a", kT0, end);
  a.setRate(kT0, kT0 + kDay, 100, 3);
  a.setRate(kT0 + kDay, end, 250, 10);  // rate change
  a.setSlow(kT0, end, 20);
  a.counterResetAt(kT0 + kDay + 6 * kHour);
  a.setCpu(kT0 + 12 * kHour, kT0 + 13 * kHour, 0.9);
  ServiceHistory b("b", kT0, end);
  b.setRate(kT0, end, 40, 1);
  b.gap(kT0 + 3 * kHour, kT0 + 3 * kHour + 10 * kMinute);
  b.noSeries(kT0 + 33 * kHour, kT0 + 34 * kHour);
  OpenMetricsWriter w;
  a.write(w);
  b.write(w);

  std::string error;
  auto server = PrometheusServer::start(w.text(), &error);
  ASSERT_NE(server, nullptr) << error;
  EXPECT_EQ(server->url(), "http://127.0.0.1:" + std::to_string(server->port()));
  EXPECT_TRUE(std::filesystem::is_directory(server->dir()));
  std::string body;
  EXPECT_EQ(server->get("/-/ready", &body), 200) << body;

  const std::int64_t m0 = kT0 / kMinute;
  const std::int64_t resetMinute = (kT0 + kDay + 6 * kHour) / kMinute;
  for (std::int64_t m : {m0 + 1, m0 + 2, m0 + 777, m0 + 1440, m0 + 1441, m0 + 1442, resetMinute - 1,
                         resetMinute, resetMinute + 1, m0 + 2880}) {
    const std::int64_t t = m * kMinute;
    const std::string when = " at minute " + std::to_string(m - m0);
    expectNear(query(*server, "sum(increase(http_requests_total{service=\"a\"}[1m]))", t),
               static_cast<double>(a.errorsAt(m).total), "total" + when);
    expectNear(
        query(*server, "sum(increase(http_requests_total{service=\"a\",code=\"500\"}[1m]))", t),
        static_cast<double>(a.errorsAt(m).bad), "bad" + when);
    const MinuteCounts latency = a.latencyAt(m);
    expectNear(query(*server,
                     "sum(increase(http_request_duration_seconds_bucket{service=\"a\",le=\"0.3\"}"
                     "[1m]))",
                     t),
               static_cast<double>(latency.total - latency.bad), "fast" + when);
    expectNear(query(*server, "container_cpu_utilization_ratio{container=\"a\"}", t),
               a.cpuAt(m).value(), "cpu" + when);
    expectNear(query(*server, "sum(increase(http_requests_total{service=\"b\"}[1m]))", t),
               static_cast<double>(b.errorsAt(m).total), "b total" + when);
  }
  expectNear(query(*server, "container_cpu_utilization_ratio{container=\"a\"}",
                   kT0 + 12 * kHour + 30 * kMinute),
             0.9, "cpu override");

  // The counter value after the reset: the slices since the restart.
  const std::int64_t late = resetMinute + 100;
  double sinceReset = 0;
  for (std::int64_t m = resetMinute; m <= late; ++m) {
    sinceReset += static_cast<double>(a.errorsAt(m).total);
  }
  expectNear(query(*server, "sum(http_requests_total{service=\"a\"})", late * kMinute), sinceReset,
             "cumulative after reset");

  // Series counts: 2 services x 2 codes; b is gone (beyond the 5m lookback)
  // in the middle of its noSeries hour.
  expectNear(query(*server, "count(http_requests_total)", kT0 + 10 * kHour), 4, "series");
  expectNear(query(*server, "count(http_requests_total)", kT0 + 33 * kHour + 30 * kMinute), 2,
             "series during noSeries");
  // Over a whole day the sum of 1m increases equals the truth.
  std::uint64_t dayTruth = 0;
  for (std::int64_t m = m0 + 1; m <= m0 + 1440; ++m) dayTruth += a.errorsAt(m).total;
  expectNear(query(*server,
                   "sum(sum_over_time(sum(increase(http_requests_total{service=\"a\"}[1m]))"
                   "[1d:1m]))",
                   kT0 + kDay),
             static_cast<double>(dayTruth), "day total");

  const pid_t pid = server->pid();
  const std::string dir = server->dir();
  ASSERT_GT(pid, 0);
  EXPECT_EQ(::kill(pid, 0), 0);
  server.reset();
  errno = 0;
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(PrometheusServer, TwoServersGetDistinctPortsAndDirs) {
  if (!prometheusAvailable()) GTEST_SKIP() << "prometheus/promtool not installed";
  OpenMetricsWriter w;
  ServiceHistory("a", kT0, kT0 + kHour).write(w);
  std::string error;
  auto first = PrometheusServer::start(w.text(), &error);
  ASSERT_NE(first, nullptr) << error;
  auto second = PrometheusServer::start(w.text(), &error);
  ASSERT_NE(second, nullptr) << error;
  EXPECT_NE(first->port(), second->port());
  EXPECT_NE(first->dir(), second->dir());
  expectNear(query(*second, "count(http_requests_total)", kT0 + 30 * kMinute), 2, "series");
}

}  // namespace
}  // namespace slogate::harness
