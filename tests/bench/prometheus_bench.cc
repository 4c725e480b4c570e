// prometheus_bench — slogate against a real Prometheus, at fleet scale.
//
//   build/tests/bench/prometheus_bench [--slos 1000] [--services 10] [--parallel 8]
//                                      [--steady-minutes 10] [--sloth-minutes 3]
//
// 1. Generates 31 days of per-minute counters for N services (requests by
//    code and a latency histogram), ending now, backfills them with promtool
//    and starts Prometheus on a free loopback port.
// 2. Cold start: backfills 1,000 SLOs (30d window, errors + latency) with
//    `--parallel` concurrent readers, as the controller does at startup.
// 3. Steady state: slogate's per-minute updates of every SLO for
//    `--steady-minutes` minutes of data; Prometheus CPU seconds (from
//    /proc/<pid>/stat) per SLO per hour.
// 4. Sloth: the same SLOs as Sloth-style rules (17 per SLO and indicator:
//    7 SLI ratios with raw rate() windows 5m…3d, 8 meta rules, 2 alerts),
//    loaded into a fresh Prometheus over the same data and evaluated every 1m
//    for `--sloth-minutes` of wall time; Prometheus CPU seconds per SLO per hour.
//
// Each figure is printed on its own line; README quotes them.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/slo_document.h"
#include "harness/openmetrics.h"
#include "harness/prometheus_server.h"
#include "prometheus/reader.h"

namespace {

using slogate::engine::Minutes;
using Clock = std::chrono::steady_clock;

struct Args {
  int slos = 1000;
  int services = 10;
  int parallel = 8;
  int steadyMinutes = 10;
  int slothMinutes = 3;
  int days = 31;
};

// CPU seconds (user + system) the process has used so far.
double cpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  double utime = 0;
  double stime = 0;
  for (int i = 3; fields >> f; ++i) {
    if (i == 14) utime = std::stod(f);
    if (i == 15) {
      stime = std::stod(f);
      break;
    }
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string service(int i) {
  return "svc-" + std::to_string(i);
}

std::string history(const Args& a, std::int64_t end) {
  slogate::harness::OpenMetricsWriter om;
  om.declare("http_requests", "counter");
  om.declare("http_request_duration_seconds", "histogram");
  const std::int64_t start = end - static_cast<std::int64_t>(a.days) * 86'400;
  for (int s = 0; s < a.services; ++s) {
    const std::string svc = service(s);
    const auto series = [&](const std::string& name,
                            const std::vector<slogate::harness::Label>& labels, int perMinute) {
      double v = 0;
      for (std::int64_t t = start; t <= end; t += 60) {
        om.add(name, labels, t, v);
        v += perMinute;
      }
    };
    series("http_requests_total", {{"service", svc}, {"code", "200"}}, 1000 + s);
    series("http_requests_total", {{"service", svc}, {"code", "500"}}, 1);
    series("http_request_duration_seconds_bucket", {{"service", svc}, {"le", "0.3"}}, 990 + s);
    series("http_request_duration_seconds_bucket", {{"service", svc}, {"le", "+Inf"}}, 1001 + s);
    series("http_request_duration_seconds_count", {{"service", svc}}, 1001 + s);
  }
  return om.text();
}

std::string sloYaml(const Args& a) {
  std::string out;
  for (int i = 0; i < a.slos; ++i) {
    const std::string svc = service(i % a.services);
    out +=
        "---\napiVersion: slogate.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: "
        "slo-" +
        std::to_string(i) + ", namespace: bench}\nspec:\n  window: 30d\n  indicators:\n" +
        "    errors:\n      objective: \"99.9\"\n      total: http_requests_total{service=\"" +
        svc + "\"}\n      bad: http_requests_total{service=\"" + svc + "\",code=~\"5..\"}\n" +
        "    latency:\n      objective: \"99\"\n      total: "
        "http_request_duration_seconds_count{service=\"" +
        svc + "\"}\n      good: http_request_duration_seconds_bucket{service=\"" + svc +
        "\",le=\"0.3\"}\n";
  }
  return out;
}

// Sloth's rules for one SLO and indicator: 7 SLI + 8 meta + 2 alerts = 17.
std::string slothRules(const std::string& id, const std::string& svc, const std::string& errorRatio,
                       const std::string& objective) {
  const std::string labels = "sloth_id: " + id + ", sloth_service: " + svc + ", sloth_slo: " + id;
  const std::string sel =
      "{sloth_id=\"" + id + "\", sloth_service=\"" + svc + "\", sloth_slo=\"" + id + "\"}";
  std::string out = "- name: sloth-slo-sli-recordings-" + id + "\n  rules:\n";
  for (const char* w : {"5m", "30m", "1h", "2h", "6h", "1d", "3d"}) {
    std::string expr = errorRatio;
    for (std::size_t p; (p = expr.find("$W")) != std::string::npos;) expr.replace(p, 2, w);
    out += "  - record: slo:sli_error:ratio_rate" + std::string(w) + "\n    expr: '" + expr +
           "'\n    labels: {" + labels + ", sloth_window: " + w + "}\n";
  }
  out += "- name: sloth-slo-meta-recordings-" + id + "\n  rules:\n";
  out += "  - record: slo:objective:ratio\n    expr: vector(" + objective + ")\n    labels: {" +
         labels + "}\n";
  out += "  - record: slo:error_budget:ratio\n    expr: vector(1-" + objective +
         ")\n    labels: {" + labels + "}\n";
  out += "  - record: slo:time_period:days\n    expr: vector(30)\n    labels: {" + labels + "}\n";
  out += "  - record: slo:current_burn_rate:ratio\n    expr: 'slo:sli_error:ratio_rate5m" + sel +
         " / on(sloth_id, sloth_slo, sloth_service) group_left slo:error_budget:ratio" + sel +
         "'\n    labels: {" + labels + "}\n";
  out += "  - record: slo:period_burn_rate:ratio\n    expr: 'slo:sli_error:ratio_rate30d" + sel +
         " / on(sloth_id, sloth_slo, sloth_service) group_left slo:error_budget:ratio" + sel +
         "'\n    labels: {" + labels + "}\n";
  out +=
      "  - record: slo:period_error_budget_remaining:ratio\n    expr: '1 - "
      "slo:period_burn_rate:ratio" +
      sel + "'\n    labels: {" + labels + "}\n";
  out += "  - record: sloth_slo_info\n    expr: vector(1)\n    labels: {" + labels + "}\n";
  out +=
      "  - record: slo:sli_error:ratio_rate30d\n    expr: "
      "'sum_over_time(slo:sli_error:ratio_rate5m" +
      sel + "[30d]) / ignoring (sloth_window) count_over_time(slo:sli_error:ratio_rate5m" + sel +
      "[30d])'\n    labels: {" + labels + ", sloth_window: 30d}\n";
  out += "- name: sloth-slo-alerts-" + id + "\n  rules:\n";
  const auto burn = [&](const char* w, const char* f) {
    return "max(slo:sli_error:ratio_rate" + std::string(w) + sel + " > (" + f + " * (1-" +
           objective + "))) without (sloth_window)";
  };
  out += "  - alert: PageBurn\n    expr: '(" + burn("5m", "14.4") + " and " + burn("1h", "14.4") +
         ") or (" + burn("30m", "6") + " and " + burn("6h", "6") +
         ")'\n    labels: {severity: page}\n";
  out += "  - alert: TicketBurn\n    expr: '(" + burn("2h", "3") + " and " + burn("1d", "3") +
         ") or (" + burn("6h", "1") + " and " + burn("3d", "1") +
         ")'\n    labels: {severity: ticket}\n";
  return out;
}

std::string slothRuleFile(const Args& a) {
  std::string out = "groups:\n";
  for (int i = 0; i < a.slos; ++i) {
    const std::string svc = service(i % a.services);
    const std::string id = "bench-slo-" + std::to_string(i);
    out += slothRules(id + "-errors", svc,
                      "(sum(rate(http_requests_total{service=\"" + svc +
                          "\",code=~\"5..\"}[$W])))"
                          " / (sum(rate(http_requests_total{service=\"" +
                          svc + "\"}[$W])))",
                      "0.999");
    out += slothRules(
        id + "-latency", svc,
        "(sum(rate(http_request_duration_seconds_count{service=\"" + svc +
            "\"}[$W])) - sum(rate(http_request_duration_seconds_bucket{service=\"" + svc +
            "\",le=\"0.3\"}[$W]))) / (sum(rate(http_request_duration_seconds_count{service=\"" +
            svc + "\"}[$W])))",
        "0.99");
  }
  return out;
}

template <typename Fn>
void parallelFor(int n, int workers, Fn fn) {
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(workers));
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < n;) fn(i);
    });
  }
  for (auto& t : threads) t.join();
}

int run(const Args& a) {
  const std::int64_t end = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count() /
                           60 * 60;
  const Minutes endMinute = end / 60;
  auto t0 = Clock::now();
  const std::string om = history(a, end);
  auto slos = slogate::config::parseSloDocuments(sloYaml(a), "bench.yaml");
  if (!slos) {
    std::cerr << slos.status().message() << "\n";
    return 1;
  }
  std::string error;
  auto server = slogate::harness::PrometheusServer::start(om, &error);
  if (!server) {
    std::cerr << "prometheus: " << error << "\n";
    return 1;
  }
  std::printf("setup: %d services x %d days backfilled, prometheus ready in %.1f s\n", a.services,
              a.days, std::chrono::duration<double>(Clock::now() - t0).count());

  slogate::prometheus::ClientOptions options;
  options.url = server->url();
  auto client = slogate::prometheus::makeClient(options);
  if (!client) {
    std::cerr << client.status().message() << "\n";
    return 1;
  }
  slogate::prometheus::SloReader reader(**client);

  // 2. Cold start at (end − steady minutes), so the steady phase reads real data.
  const Minutes startMinute = endMinute - a.steadyMinutes;
  std::vector<slogate::engine::SloState> states(slos->size());
  std::atomic<int> failures{0};
  const double cpu0 = cpuSeconds(server->pid());
  t0 = Clock::now();
  parallelFor(static_cast<int>(slos->size()), a.parallel, [&](int i) {
    auto s = reader.backfill((*slos)[static_cast<std::size_t>(i)], startMinute);
    if (!s) {
      if (failures++ == 0) std::cerr << s.status().message() << "\n";
      return;
    }
    states[static_cast<std::size_t>(i)] = std::move(*s);
  });
  const double coldSeconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const double coldCpu = cpuSeconds(server->pid()) - cpu0;
  if (failures > 0) return 1;
  std::printf(
      "cold_start: %zu SLOs (30d window, 2 indicators) in %.1f s wall with %d readers, "
      "%llu queries, prometheus %.1f CPU s\n",
      slos->size(), coldSeconds, a.parallel, static_cast<unsigned long long>((*client)->requests()),
      coldCpu);

  // 3. Steady state: every SLO updated once per minute of data.
  const auto q0 = (*client)->requests();
  const double cpu1 = cpuSeconds(server->pid());
  t0 = Clock::now();
  for (Minutes m = startMinute + 1; m <= endMinute; ++m) {
    parallelFor(static_cast<int>(states.size()), a.parallel, [&](int i) {
      if (auto st = reader.update(states[static_cast<std::size_t>(i)], m); !st.isOk()) {
        if (failures++ == 0) std::cerr << st.message() << "\n";
      }
    });
  }
  const double steadyCpu = cpuSeconds(server->pid()) - cpu1;
  const double sloHours = static_cast<double>(states.size()) * a.steadyMinutes / 60.0;
  std::printf(
      "steady_state: %d minutes x %zu SLOs in %.1f s wall, %llu queries (%.1f per SLO per "
      "minute), prometheus %.2f CPU s = %.6f CPU s per SLO per hour\n",
      a.steadyMinutes, states.size(), std::chrono::duration<double>(Clock::now() - t0).count(),
      static_cast<unsigned long long>((*client)->requests() - q0),
      static_cast<double>((*client)->requests() - q0) / (sloHours * 60), steadyCpu,
      steadyCpu / sloHours);
  server.reset();
  if (a.slothMinutes <= 0) return failures > 0 ? 1 : 0;

  // 4. Sloth-style rules over the same data.
  slogate::harness::PrometheusOptions ruleOptions;
  ruleOptions.rules = slothRuleFile(a);
  ruleOptions.evaluationInterval = "1m";
  ruleOptions.readyTimeoutMs = 120'000;
  auto sloth = slogate::harness::PrometheusServer::start(om, &error, ruleOptions);
  if (!sloth) {
    std::cerr << "prometheus with rules: " << error << "\n";
    return 1;
  }
  // Skip startup (rule loading, the first evaluation), then measure.
  std::this_thread::sleep_for(std::chrono::seconds(75));
  const double cpu2 = cpuSeconds(sloth->pid());
  t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::minutes(a.slothMinutes));
  const double slothCpu = cpuSeconds(sloth->pid()) - cpu2;
  const double wallMinutes = std::chrono::duration<double>(Clock::now() - t0).count() / 60;
  const double slothSloHours = static_cast<double>(a.slos) * wallMinutes / 60.0;
  std::printf(
      "sloth_rules: %d rules (%d SLOs x 2 indicators x 17) every 1m for %.1f min: "
      "prometheus %.2f CPU s = %.6f CPU s per SLO per hour\n",
      a.slos * 34, a.slos, wallMinutes, slothCpu, slothCpu / slothSloHours);
  std::printf("ratio: sloth / slogate prometheus CPU = %.1fx\n",
              (slothCpu / slothSloHours) / (steadyCpu / sloHours));
  return failures > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (flag == "--slos") {
      a.slos = v;
    } else if (flag == "--services") {
      a.services = v;
    } else if (flag == "--parallel") {
      a.parallel = v;
    } else if (flag == "--steady-minutes") {
      a.steadyMinutes = v;
    } else if (flag == "--sloth-minutes") {
      a.slothMinutes = v;
    } else if (flag == "--days") {
      a.days = v;
    } else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  if (!slogate::harness::prometheusAvailable()) {
    std::cerr << "prometheus and promtool are needed (make deps)\n";
    return 2;
  }
  return run(a);
}
