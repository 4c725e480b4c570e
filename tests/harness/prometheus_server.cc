#include "harness/prometheus_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "harness/subprocess.h"

namespace slogate::harness {

namespace {

constexpr int kMaxStartAttempts = 4;  // the first try and 3 retries on a taken port
constexpr int kStopGraceMs = 5000;
constexpr int kPromtoolTimeoutMs = 300000;
constexpr int kHttpTimeoutMs = 10000;
constexpr int kReadyProbeTimeoutMs = 1000;
constexpr int kPollMs = 20;

using Clock = std::chrono::steady_clock;

std::optional<std::string> findExecutable(const std::string& name) {
  auto executable = [](const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           ::access(path.c_str(), X_OK) == 0;
  };
  // Nothing in the tests calls setenv concurrently.
  if (const char* path = std::getenv("PATH")) {  // NOLINT(concurrency-mt-unsafe)
    std::stringstream entries(path);
    std::string dir;
    while (std::getline(entries, dir, ':')) {
      if (dir.empty()) continue;
      std::string candidate = dir;
      candidate += '/';
      candidate += name;
      if (executable(candidate)) return candidate;
    }
  }
  std::string fallback = "/usr/bin/" + name;
  if (executable(fallback)) return fallback;
  return std::nullopt;
}

int pickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

enum class ReadyOutcome { kReady, kPortTaken, kExited, kTimeout };

// Sets *reaped when the child exited (and was reaped) while waiting.
ReadyOutcome waitReady(pid_t pid, int port, const std::string& tsdbPath, Clock::time_point deadline,
                       const std::string& logPath, std::string* detail, bool* reaped) {
  *reaped = false;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      *reaped = true;
      std::string log = readTail(logPath, 1 << 20);
      if (log.find("address already in use") != std::string::npos) return ReadyOutcome::kPortTaken;
      *detail = "prometheus exited (" + describeStatus(status) + ")";
      return ReadyOutcome::kExited;
    }
    std::string body;
    if (httpGet(port, "/-/ready", &body, kReadyProbeTimeoutMs) == 200) {
      // Make sure the server answering is ours, not one that took the port.
      std::string flags;
      if (httpGet(port, "/api/v1/status/flags", &flags, kReadyProbeTimeoutMs) == 200 &&
          flags.find(tsdbPath) != std::string::npos) {
        return ReadyOutcome::kReady;
      }
      return ReadyOutcome::kPortTaken;
    }
    if (Clock::now() >= deadline) {
      *detail = "prometheus not ready in time";
      return ReadyOutcome::kTimeout;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
}

// Stops the child and removes the directory unless released.
struct StartGuard {
  pid_t pid = -1;
  std::string dir;
  ~StartGuard() {
    stopProcess(pid, SIGTERM, kStopGraceMs);
    removeDir(dir);
  }
};

}  // namespace

bool prometheusAvailable() {
  return findExecutable("prometheus").has_value() && findExecutable("promtool").has_value();
}

std::unique_ptr<PrometheusServer> PrometheusServer::start(const std::string& openMetrics,
                                                          std::string* error,
                                                          const PrometheusOptions& options) {
  std::string scratch;
  std::string& err = error != nullptr ? *error : scratch;
  err.clear();
  const std::optional<std::string> prometheus = findExecutable("prometheus");
  const std::optional<std::string> promtool = findExecutable("promtool");
  if (!prometheus || !promtool) {
    err = "prometheus or promtool not found on PATH or in /usr/bin";
    return nullptr;
  }

  StartGuard guard;
  guard.dir = makeTempDir("slogate-prometheus-", &err);
  if (guard.dir.empty()) return nullptr;
  const std::string& dir = guard.dir;

  if (!writeFile(dir + "/data.om", openMetrics)) {
    err = "cannot write " + dir + "/data.om";
    return nullptr;
  }
  const std::string promtoolLog = dir + "/promtool.log";
  std::string reason;
  pid_t tool = spawn({*promtool, "tsdb", "create-blocks-from", "openmetrics",
                      "--max-block-duration=1000h", "data.om", "tsdb"},
                     dir, promtoolLog, &reason);
  if (tool < 0) {
    err = "cannot start promtool: " + reason;
    return nullptr;
  }
  std::optional<int> toolStatus = waitExit(tool, kPromtoolTimeoutMs);
  if (!toolStatus) {
    stopProcess(tool, SIGTERM, kStopGraceMs);
    err = "promtool timed out; output:\n" + readTail(promtoolLog);
    return nullptr;
  }
  if (!WIFEXITED(*toolStatus) || WEXITSTATUS(*toolStatus) != 0) {
    err = "promtool tsdb create-blocks-from openmetrics failed (" + describeStatus(*toolStatus) +
          "); output:\n" + readTail(promtoolLog);
    return nullptr;
  }
  std::string config =
      "global:\n  scrape_interval: 15s\n  evaluation_interval: " + options.evaluationInterval +
      "\n";
  if (!options.rules.empty()) {
    if (!writeFile(dir + "/rules.yml", options.rules)) {
      err = "cannot write " + dir + "/rules.yml";
      return nullptr;
    }
    config += "rule_files: [\"" + dir + "/rules.yml\"]\n";
  }
  if (!options.scrapeConfigs.empty()) config += "scrape_configs:\n" + options.scrapeConfigs;
  if (!writeFile(dir + "/prometheus.yml", config)) {
    err = "cannot write " + dir + "/prometheus.yml";
    return nullptr;
  }

  const std::string tsdbPath = dir + "/tsdb";
  const std::string logPath = dir + "/prometheus.log";
  const auto deadline = Clock::now() + std::chrono::milliseconds(options.readyTimeoutMs);
  for (int attempt = 0; attempt < kMaxStartAttempts; ++attempt) {
    const int port = pickFreePort();
    if (port <= 0) {
      err = std::string("cannot pick a free port: ") + errorText(errno);
      return nullptr;
    }
    guard.pid = spawn(
        {*prometheus, "--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + tsdbPath,
         "--storage.tsdb.retention.time=" + options.retention,
         "--web.listen-address=127.0.0.1:" + std::to_string(port)},
        dir, logPath, &reason);
    if (guard.pid < 0) {
      err = "cannot start prometheus: " + reason;
      return nullptr;
    }
    std::string detail;
    bool reaped = false;
    const ReadyOutcome outcome =
        waitReady(guard.pid, port, tsdbPath, deadline, logPath, &detail, &reaped);
    if (reaped) guard.pid = -1;
    switch (outcome) {
      case ReadyOutcome::kReady: {
        std::unique_ptr<PrometheusServer> server(new PrometheusServer(guard.pid, port, dir));
        guard.pid = -1;
        guard.dir.clear();
        return server;
      }
      case ReadyOutcome::kPortTaken:
        stopProcess(guard.pid, SIGTERM, kStopGraceMs);
        guard.pid = -1;
        continue;
      case ReadyOutcome::kExited:
        err = detail + " on port " + std::to_string(port) + "; log:\n" + readTail(logPath);
        return nullptr;
      case ReadyOutcome::kTimeout:
        stopProcess(guard.pid, SIGTERM, kStopGraceMs);
        guard.pid = -1;
        err = detail + " (" + std::to_string(options.readyTimeoutMs) + " ms) on port " +
              std::to_string(port) + "; log:\n" + readTail(logPath);
        return nullptr;
    }
  }
  err = "prometheus could not get a free port in " + std::to_string(kMaxStartAttempts) +
        " attempts; last log:\n" + readTail(logPath);
  return nullptr;
}

PrometheusServer::PrometheusServer(pid_t pid, int port, std::string dir)
    : pid_(pid), port_(port), dir_(std::move(dir)) {}

PrometheusServer::~PrometheusServer() {
  stopProcess(pid_, SIGTERM, kStopGraceMs);
  removeDir(dir_);
}

std::string PrometheusServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

int PrometheusServer::port() const {
  return port_;
}

pid_t PrometheusServer::pid() const {
  return pid_;
}

const std::string& PrometheusServer::dir() const {
  return dir_;
}

int PrometheusServer::get(const std::string& pathAndQuery, std::string* body) const {
  return httpGet(port_, pathAndQuery, body, kHttpTimeoutMs);
}

std::string urlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '.' || u == '_' || u == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

}  // namespace slogate::harness
