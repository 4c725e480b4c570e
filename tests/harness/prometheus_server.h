// prometheus_server.h — PrometheusServer: a real Prometheus (the installed
// /usr/bin/prometheus) on 127.0.0.1:<free port>, serving a TSDB backfilled
// from OpenMetrics text with promtool, for integration tests. Also
// prometheusAvailable() and urlEncode().
//
//   std::string error;
//   auto server = PrometheusServer::start(writer.text(), &error);
//   ASSERT_NE(server, nullptr) << error;
//   std::string body;
//   int status = server->get("/api/v1/query?query=" + urlEncode("up") + "&time=0", &body);
//
// Everything lives in a fresh temporary directory (mkdtemp under $TMPDIR or
// /tmp): data.om, promtool.log, tsdb/, prometheus.yml, prometheus.log. The
// destructor stops the process (SIGTERM, SIGKILL after 5 s), reaps it and
// removes the directory; it never throws, so it is safe during exception
// unwinding. The child also gets PR_SET_PDEATHSIG(SIGTERM), so it dies with
// the test process even when no destructor runs. Note that Linux delivers the
// death signal when the THREAD that called start() exits: start the server
// from a thread that outlives it (e.g. the test's main thread).
//
// Thread safety: get(), url(), port(), pid(), dir() are const and may be
// called from several threads at once; start() may run concurrently with
// other start() calls (each server has its own directory and port).
// Destruction must not race with other calls on the same object.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

namespace slogate::harness {

// True when prometheus and promtool exist as executables (searched on PATH,
// then in /usr/bin).
bool prometheusAvailable();

struct PrometheusOptions {
  std::string retention = "400d";
  int readyTimeoutMs = 15000;
  // Rule groups (a Prometheus rules file's YAML); written to rules.yml and
  // loaded when not empty, evaluated every `evaluationInterval`.
  std::string rules;
  std::string evaluationInterval = "1m";
  // Raw YAML list items under scrape_configs (e.g. to scrape slogate).
  std::string scrapeConfigs;
};

class PrometheusServer {
 public:
  // Creates a temp dir, writes data.om, runs `promtool tsdb
  // create-blocks-from openmetrics --max-block-duration=1000h data.om tsdb`,
  // writes a minimal prometheus.yml (global scrape_interval 15s, no scrape
  // configs), starts prometheus on a free loopback port and waits for
  // GET /-/ready == 200 (and checks that the answering server is this one).
  // When the port was taken meanwhile it retries up to 3 times with a new
  // port. On failure returns nullptr, sets *error (if not null) to a message
  // with the tail of promtool's/prometheus's output, and removes the dir.
  static std::unique_ptr<PrometheusServer> start(const std::string& openMetrics, std::string* error,
                                                 const PrometheusOptions& options = {});
  // SIGTERM, waitpid (SIGKILL after 5 s), removes the temp dir recursively.
  ~PrometheusServer();

  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  std::string url() const;  // "http://127.0.0.1:PORT"
  int port() const;
  pid_t pid() const;               // the prometheus process
  const std::string& dir() const;  // the temporary directory

  // Tiny blocking HTTP/1.0 GET against the server (10 s timeout). Returns the
  // status code and sets *body (if not null) to the response body; returns -1
  // on a connection or protocol error (then *body holds the reason).
  // pathAndQuery starts with '/' and is already URL-encoded.
  int get(const std::string& pathAndQuery, std::string* body) const;

 private:
  PrometheusServer(pid_t pid, int port, std::string dir);

  pid_t pid_;
  int port_;
  std::string dir_;
};

// URL-encodes a query parameter value: RFC 3986 unreserved characters
// (A-Z a-z 0-9 - . _ ~) are kept, every other byte becomes %XX.
std::string urlEncode(std::string_view s);

}  // namespace slogate::harness
