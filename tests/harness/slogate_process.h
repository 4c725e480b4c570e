// slogate_process.h — SlogateProcess: the real `slogate controller` binary as
// a child process, as a user runs it, for integration tests. It writes a
// kubeconfig for an API server (the fake one of tests/fakes/: its url(),
// caFile() and token()) and a config.yaml from SlogateOptions into a fresh
// temporary directory, starts `slogate controller --config <dir>/config.yaml`
// with its stdout and stderr in <dir>/output.log, and reads the serving and
// metrics addresses from its startup line.
//
//   harness::SlogateProcess slogate(harness::slogateOptions(*api, prom->url()));
//   ASSERT_EQ(slogate.start(), "");
//   ASSERT_TRUE(slogate.waitReady(std::chrono::steady_clock::now() + std::chrono::seconds(15)))
//       << slogate.stderrText();
//   ... slogate.url(), slogate.metricsUrl(), slogate.get("/metrics", &body) ...
//   const int status = slogate.terminate();  // SIGTERM
//   EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slogate.stderrText();
//
// The destructor SIGKILLs the child if it still runs, reaps it and removes the
// directory, so no process is left behind when an ASSERT returns early; the
// child also gets SIGTERM when the thread that started it exits
// (PR_SET_PDEATHSIG): start it from the test's main thread.
//
// Thread safety: none; one test thread uses an object.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

namespace slogate::harness {

// What goes into the kubeconfig and config.yaml (durations are written as
// whole seconds, "Ns").
struct SlogateOptions {
  // The API server the kubeconfig points at, with the CA file that verifies it
  // and a bearer token.
  std::string apiServerUrl;
  std::string apiServerCaFile;
  std::string apiServerToken;

  std::string prometheusUrl;
  std::optional<std::chrono::seconds> prometheusTimeout;  // prometheus.timeout when set
  std::chrono::seconds tick{1};
  std::chrono::seconds evaluationDelay{1};
  std::optional<std::chrono::seconds> staleData;  // staleData when set

  // leaderElection (`{enabled: false}` when not enabled).
  bool leaderElection = true;
  std::string leaseNamespace = "default";
  std::string identity = "test";
  std::chrono::seconds leaseDuration{15};
  std::chrono::seconds renewDeadline{10};
  std::chrono::seconds retryPeriod{1};

  // server: TLS on `listen` when certFile and keyFile are set.
  std::string listen = "127.0.0.1:0";
  std::string metricsListen = "127.0.0.1:0";
  std::string certFile;
  std::string keyFile;

  // Whole lines of YAML appended to config.yaml as they are.
  std::string extraConfig;

  // How long start() waits for the startup line.
  std::chrono::milliseconds startTimeout{10'000};
  // The binary; "" is the build tree's controller/slogate.
  std::string binary;
};

// Options pointing at `api` (a fakes::FakeApiServer, or anything with url(),
// caFile() and token()) and the Prometheus at `prometheusUrl`; the rest as
// SlogateOptions has it.
template <typename ApiServer>
SlogateOptions slogateOptions(const ApiServer& api, std::string prometheusUrl) {
  SlogateOptions o;
  o.apiServerUrl = api.url();
  o.apiServerCaFile = api.caFile();
  o.apiServerToken = api.token();
  o.prometheusUrl = std::move(prometheusUrl);
  return o;
}

class SlogateProcess {
 public:
  explicit SlogateProcess(SlogateOptions options);
  // SIGKILL if still running, reaps the child, removes the directory.
  ~SlogateProcess();
  SlogateProcess(const SlogateProcess&) = delete;
  SlogateProcess& operator=(const SlogateProcess&) = delete;

  // Writes the files, starts the child and waits (options.startTimeout) for
  // its whole startup line "... serving URL, metrics on URL". "" on success,
  // else what went wrong with the child's output so far (the child, if
  // running, is left to the destructor).
  std::string start();

  // From the startup line: the server of the webhook and the verdicts
  // ("http://127.0.0.1:PORT", or https:// with certFile), and the metrics
  // server (always plain HTTP; it serves the same routes). "" and -1 before
  // start() succeeded.
  const std::string& url() const { return url_; }
  const std::string& metricsUrl() const { return metricsUrl_; }
  int metricsPort() const { return metricsPort_; }

  // GET /readyz on the metrics server until it answers 200 (true), the child
  // exits or `deadline` passes (false).
  bool waitReady(std::chrono::steady_clock::time_point deadline);
  // A blocking GET on the metrics server (10 s timeout): the status code and
  // *body (if not null); -1 on a connection error (then *body says why).
  int get(const std::string& pathAndQuery, std::string* body) const;

  // SIGTERM, then SIGKILL after `grace`; the wait status of the exit (-1 when
  // never started). Once the child exited, both return that status again.
  int terminate(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // SIGKILL (no cleanup, no Lease release); the wait status.
  int kill();
  // False once the child exited (it is then reaped) or before start().
  bool running();

  // What the child wrote to stderr (and stdout) so far.
  std::string stderrText() const;
  // The temporary directory (kubeconfig, config.yaml, output.log).
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }

 private:
  int stop(int signal, std::chrono::milliseconds grace);

  SlogateOptions options_;
  std::string dir_;
  std::string url_;
  std::string metricsUrl_;
  int metricsPort_ = -1;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = -1;
};

}  // namespace slogate::harness
