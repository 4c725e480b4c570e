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

namespace slogate::harness {

namespace {

constexpr int kMaxStartAttempts = 4;  // the first try and 3 retries on a taken port
constexpr int kStopGraceMs = 5000;
constexpr int kPromtoolTimeoutMs = 300000;
constexpr int kHttpTimeoutMs = 10000;
constexpr int kReadyProbeTimeoutMs = 1000;
constexpr int kPollMs = 20;
constexpr std::size_t kLogTailBytes = 3000;

using Clock = std::chrono::steady_clock;

// strerror without its static buffer (start() may run on several threads).
std::string errorText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

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

bool writeFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  return static_cast<bool>(out);
}

std::string readTail(const std::string& path, std::size_t maxBytes = kLogTailBytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "(no " + path + ")";
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (text.size() > maxBytes) text = "..." + text.substr(text.size() - maxBytes);
  return text;
}

// Starts argv[0] with cwd `dir`, stdin /dev/null, stdout+stderr to logPath
// (truncated). The child gets SIGTERM when the calling thread dies.
// Returns -1 (and a reason) on failure.
pid_t spawn(const std::vector<std::string>& args, const std::string& dir,
            const std::string& logPath, std::string* reason) {
  int logFd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (logFd < 0) {
    *reason = "open " + logPath + ": " + errorText(errno);
    return -1;
  }
  int nullFd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (nullFd < 0) {
    *reason = std::string("open /dev/null: ") + errorText(errno);
    ::close(logFd);
    return -1;
  }
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);  // NOLINT(concurrency-mt-unsafe): one thread here
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGTERM, &dfl, nullptr);
    ::sigaction(SIGPIPE, &dfl, nullptr);
    if (::dup2(nullFd, STDIN_FILENO) < 0 || ::dup2(logFd, STDOUT_FILENO) < 0 ||
        ::dup2(logFd, STDERR_FILENO) < 0 || ::chdir(dir.c_str()) != 0) {
      ::_exit(127);
    }
    ::close_range(3, ~0U, 0);
    ::execv(argv[0], argv.data());
    const char message[] = "slogate harness: execv failed\n";
    [[maybe_unused]] ssize_t ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
    ::_exit(127);
  }
  const int forkErrno = errno;
  ::close(logFd);
  ::close(nullFd);
  if (pid < 0) *reason = std::string("fork: ") + errorText(forkErrno);
  return pid;
}

// Waits up to timeoutMs for pid to exit; returns its wait status if it did.
std::optional<int> waitExit(pid_t pid, int timeoutMs) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return 0;  // not our child any more (already reaped)
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void stopProcess(pid_t pid) noexcept {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  if (waitExit(pid, kStopGraceMs)) return;
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

void removeDir(const std::string& dir) noexcept {
  if (dir.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

std::string describeStatus(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
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

std::string decodeChunked(const std::string& in) {
  std::string out;
  std::size_t pos = 0;
  while (pos < in.size()) {
    std::size_t lineEnd = in.find("\r\n", pos);
    if (lineEnd == std::string::npos) break;
    std::size_t size = std::strtoull(in.substr(pos, lineEnd - pos).c_str(), nullptr, 16);
    if (size == 0) break;
    pos = lineEnd + 2;
    out += in.substr(pos, size);
    pos += size + 2;
  }
  return out;
}

int httpGet(int port, const std::string& pathAndQuery, std::string* body, int timeoutMs) {
  std::string scratch;
  std::string& out = body != nullptr ? *body : scratch;
  out.clear();
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    out = std::string("socket: ") + errorText(errno);
    return -1;
  }
  timeval tv{};
  tv.tv_sec = timeoutMs / 1000;
  tv.tv_usec = static_cast<suseconds_t>(timeoutMs % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    out = std::string("connect: ") + errorText(errno);
    ::close(fd);
    return -1;
  }
  const std::string request = "GET " + pathAndQuery +
                              " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port) +
                              "\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  std::size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      out = std::string("send: ") + errorText(errno);
      ::close(fd);
      return -1;
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string response;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out = std::string("recv: ") + errorText(errno);
      ::close(fd);
      return -1;
    }
    if (n == 0) break;
    response.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  // "HTTP/1.x NNN reason\r\n headers \r\n\r\n body"
  std::size_t headerEnd = response.find("\r\n\r\n");
  if (response.compare(0, 5, "HTTP/") != 0 || headerEnd == std::string::npos) {
    out = "malformed HTTP response: " + response.substr(0, 200);
    return -1;
  }
  std::size_t space = response.find(' ');
  if (space == std::string::npos || space > headerEnd) {
    out = "malformed HTTP status line";
    return -1;
  }
  int status = std::atoi(response.c_str() + space + 1);
  std::string headers = response.substr(0, headerEnd);
  for (char& c : headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  out = response.substr(headerEnd + 4);
  if (headers.find("transfer-encoding: chunked") != std::string::npos) out = decodeChunked(out);
  return status;
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
    stopProcess(pid);
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

  const char* tmp = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe)
  std::string tmpl =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/slogate-prometheus-XXXXXX";
  std::vector<char> path(tmpl.begin(), tmpl.end());
  path.push_back('\0');
  if (::mkdtemp(path.data()) == nullptr) {
    err = "mkdtemp " + tmpl + ": " + errorText(errno);
    return nullptr;
  }
  StartGuard guard;
  guard.dir = path.data();
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
    stopProcess(tool);
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
        stopProcess(guard.pid);
        guard.pid = -1;
        continue;
      case ReadyOutcome::kExited:
        err = detail + " on port " + std::to_string(port) + "; log:\n" + readTail(logPath);
        return nullptr;
      case ReadyOutcome::kTimeout:
        stopProcess(guard.pid);
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
  stopProcess(pid_);
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
