// slogate_demo — `make demo`: the gate's decisions over a shipped incident.
//
// Starts a real Prometheus (loopback, free port) over the synthetic
// "checkout" history of harness/scenarios.h, then runs the slogate binary as
// a user would: `slogate replay --output text --changes true` over the
// incident, and `slogate evaluate` in the middle of it (exit code 11:
// rollback). Stops Prometheus and removes its data on exit.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "harness/prometheus_server.h"
#include "harness/scenarios.h"

namespace {

constexpr std::int64_t kDay0 = 1'793'491'200;  // 2026-11-01T00:00:00Z

std::string rfc3339(std::int64_t t) {
  char buf[32];
  const std::time_t tt = t;
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Runs argv, letting it write to our stdout/stderr; returns its exit code.
int run(const std::vector<std::string>& argv) {
  std::string shown = "$";
  for (const std::string& a : argv) shown += " " + a;
  std::printf("\n%s\n", shown.c_str());
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::perror("execv");
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace

int main() {
  if (!slogate::harness::prometheusAvailable()) {
    std::fprintf(stderr, "slogate_demo: prometheus and promtool are needed (make deps)\n");
    return 2;
  }
  const auto t = slogate::harness::incidentTimes(kDay0);
  slogate::harness::OpenMetricsWriter om;
  slogate::harness::checkoutIncident(kDay0).write(om);
  std::string error;
  auto server = slogate::harness::PrometheusServer::start(om.text(), &error);
  if (!server) {
    std::fprintf(stderr, "slogate_demo: %s\n", error.c_str());
    return 1;
  }
  const std::string slogate = std::string(SLOGATE_BINARY_DIR) + "/controller/slogate";
  const std::string slo =
      std::string(SLOGATE_SOURCE_DIR) + "/tests/fixtures/slo/demo-checkout.yaml";
  std::printf(
      "A local Prometheus (%s) holds 3.5 days of the checkout service at 1,000 requests a "
      "minute.\nOn %s a bad revision fails 10%% of requests for 45 minutes.\nThe SLO "
      "(%s): 99.5%% over a rolling day, rollback on fast burn, freeze when the day's budget is "
      "spent.\nThe gate's decisions, minute by minute, printed where they change:\n",
      server->url().c_str(), rfc3339(t.incidentStart).c_str(),
      "tests/fixtures/slo/demo-checkout.yaml");
  const int replay =
      run({slogate, "replay", "--slo", slo, "--prometheus", server->url(), "--from",
           rfc3339(t.incidentStart - 3600), "--to", rfc3339(t.incidentStart + 86'400 + 3600),
           "--output", "text", "--changes", "true"});
  std::printf("\nWhat a CI pipeline sees when it asks during the incident:\n");
  const int evaluate =
      run({slogate, "evaluate", "--slo", slo, "--prometheus", server->url(), "--at",
           rfc3339(t.incidentStart + std::int64_t{44} * 60), "--output", "text"});
  std::printf("exit code %d (11 = rollback)\n", evaluate);
  return replay == 0 && evaluate == 11 ? 0 : 1;
}
