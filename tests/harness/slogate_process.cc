#include "harness/slogate_process.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <regex>
#include <sstream>
#include <thread>
#include <utility>

#include "harness/subprocess.h"

namespace slogate::harness {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kHttpTimeoutMs = 10'000;
constexpr int kProbeTimeoutMs = 1'000;
constexpr auto kPoll = std::chrono::milliseconds(20);

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

std::string secondsText(std::chrono::seconds s) {
  return std::to_string(s.count()) + "s";
}

std::string kubeconfig(const SlogateOptions& o) {
  std::ostringstream out;
  out << "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
      << "contexts: [{name: test, context: {cluster: fake, user: u}}]\n"
      << "clusters: [{name: fake, cluster: {server: " << quoted(o.apiServerUrl)
      << ", certificate-authority: " << quoted(o.apiServerCaFile) << "}}]\n"
      << "users: [{name: u, user: {token: " << quoted(o.apiServerToken) << "}}]\n";
  return out.str();
}

std::string config(const SlogateOptions& o, const std::string& dir) {
  std::ostringstream out;
  out << "kubernetes: {kubeconfig: " << quoted(dir + "/kubeconfig") << "}\n"
      << "prometheus: {url: " << quoted(o.prometheusUrl);
  if (o.prometheusTimeout) out << ", timeout: " << secondsText(*o.prometheusTimeout);
  out << "}\n"
      << "tick: " << secondsText(o.tick) << "\n"
      << "evaluationDelay: " << secondsText(o.evaluationDelay) << "\n";
  if (o.staleData) out << "staleData: " << secondsText(*o.staleData) << "\n";
  if (o.leaderElection) {
    out << "leaderElection: {namespace: " << quoted(o.leaseNamespace)
        << ", identity: " << quoted(o.identity)
        << ", leaseDuration: " << secondsText(o.leaseDuration)
        << ", renewDeadline: " << secondsText(o.renewDeadline)
        << ", retryPeriod: " << secondsText(o.retryPeriod) << "}\n";
  } else {
    out << "leaderElection: {enabled: false}\n";
  }
  out << "server: {listen: " << quoted(o.listen);
  if (!o.certFile.empty()) out << ", certFile: " << quoted(o.certFile);
  if (!o.keyFile.empty()) out << ", keyFile: " << quoted(o.keyFile);
  out << ", metricsListen: " << quoted(o.metricsListen) << "}\n";
  out << o.extraConfig;
  if (!o.extraConfig.empty() && o.extraConfig.back() != '\n') out << "\n";
  return out.str();
}

}  // namespace

SlogateProcess::SlogateProcess(SlogateOptions options) : options_(std::move(options)) {}

SlogateProcess::~SlogateProcess() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  removeDir(dir_);
}

std::string SlogateProcess::start() {
  if (pid_ > 0) return "slogate controller: already started";
  std::string error;
  dir_ = makeTempDir("slogate-controller-", &error);
  if (dir_.empty()) return error;
  const std::string configFile = dir_ + "/config.yaml";
  if (!writeFile(dir_ + "/kubeconfig", kubeconfig(options_)) ||
      !writeFile(configFile, config(options_, dir_))) {
    return "cannot write the kubeconfig or config.yaml in " + dir_;
  }
  const std::string binary = options_.binary.empty()
                                 ? std::string(SLOGATE_BINARY_DIR) + "/controller/slogate"
                                 : options_.binary;
  pid_ = spawn({binary, "controller", "--config", configFile}, dir_, dir_ + "/output.log", &error);
  if (pid_ < 0) return "cannot start " + binary + ": " + error;

  static const std::regex serving(
      "serving (https?://127\\.0\\.0\\.1:[0-9]+), metrics on (http://127\\.0\\.0\\.1:([0-9]+))\n");
  const auto deadline = Clock::now() + options_.startTimeout;
  for (;;) {
    const std::string log = stderrText();
    std::smatch m;
    if (std::regex_search(log, m, serving)) {
      url_ = m[1].str();
      metricsUrl_ = m[2].str();
      metricsPort_ = std::stoi(m[3].str());
      return "";
    }
    if (!running()) {
      return "slogate controller exited (" + describeStatus(status_) +
             ") before serving; output:\n" + stderrText();
    }
    if (Clock::now() >= deadline) {
      return "slogate controller: no \"serving …, metrics on …\" line in " +
             std::to_string(options_.startTimeout.count()) + " ms; output:\n" + log;
    }
    std::this_thread::sleep_for(kPoll);
  }
}

bool SlogateProcess::waitReady(Clock::time_point deadline) {
  if (metricsPort_ < 0) return false;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    const int timeoutMs = static_cast<int>(std::clamp<std::int64_t>(left, 1, kProbeTimeoutMs));
    if (httpGet(metricsPort_, "/readyz", nullptr, timeoutMs) == 200) return true;
    if (!running() || Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPoll);
  }
}

int SlogateProcess::get(const std::string& pathAndQuery, std::string* body) const {
  if (metricsPort_ < 0) {
    if (body != nullptr) *body = "slogate controller not started";
    return -1;
  }
  return httpGet(metricsPort_, pathAndQuery, body, kHttpTimeoutMs);
}

int SlogateProcess::stop(int signal, std::chrono::milliseconds grace) {
  if (pid_ <= 0 || exited_ || !running()) return status_;
  status_ = stopProcess(pid_, signal, static_cast<int>(grace.count()));
  exited_ = true;
  return status_;
}

int SlogateProcess::terminate(std::chrono::milliseconds grace) {
  return stop(SIGTERM, grace);
}

int SlogateProcess::kill() {
  return stop(SIGKILL, std::chrono::seconds(10));
}

bool SlogateProcess::running() {
  if (pid_ <= 0 || exited_) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    status_ = r == pid_ ? status : 0;
    exited_ = true;
    return false;
  }
  return true;
}

std::string SlogateProcess::stderrText() const {
  if (dir_.empty()) return "";
  return readTail(dir_ + "/output.log", std::string::npos);
}

}  // namespace slogate::harness
