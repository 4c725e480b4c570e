#include "harness/subprocess.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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
#include <sstream>
#include <system_error>
#include <thread>

namespace slogate::harness {

namespace {

using Clock = std::chrono::steady_clock;

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

}  // namespace

std::string errorText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

std::string makeTempDir(const std::string& prefix, std::string* error) {
  const char* tmp = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe)
  const std::string tmpl =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" + prefix + "XXXXXX";
  std::vector<char> path(tmpl.begin(), tmpl.end());
  path.push_back('\0');
  if (::mkdtemp(path.data()) == nullptr) {
    if (error != nullptr) *error = "mkdtemp " + tmpl + ": " + errorText(errno);
    return "";
  }
  return path.data();
}

void removeDir(const std::string& dir) noexcept {
  if (dir.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

bool writeFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  return static_cast<bool>(out);
}

std::string readTail(const std::string& path, std::size_t maxBytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "(no " + path + ")";
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (text.size() > maxBytes) text = "..." + text.substr(text.size() - maxBytes);
  return text;
}

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

int stopProcess(pid_t pid, int signal, int graceMs) noexcept {
  if (pid <= 0) return -1;
  ::kill(pid, signal);
  if (const std::optional<int> status = waitExit(pid, graceMs)) return *status;
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string describeStatus(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
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

}  // namespace slogate::harness
