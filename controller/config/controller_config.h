// controller_config.h — the `slogate controller --config FILE` file, and kubeconfig.
//
//   kubernetes:
//     kubeconfig: /etc/slogate/kubeconfig   # absent: in-cluster service account
//     context: prod                          # absent: current-context
//   namespace: ""                            # "" watches all namespaces
//   prometheus:
//     url: http://prometheus.monitoring:9090
//     bearerTokenFile: /var/run/secrets/prom/token
//     basicAuth: {user: slogate, passwordFile: /etc/slogate/prom-password}
//     headers: {X-Scope-OrgID: team-a}
//     caFile: /etc/slogate/prom-ca.pem
//     insecureSkipVerify: false
//     timeout: 30s
//   tick: 15s
//   evaluationDelay: 1m      # evaluate at the last minute Prometheus has fully scraped
//   staleData: 10m           # no data for longer: approve/halt become inconclusive
//   workers: 4
//   leaderElection: {enabled: true, namespace: slogate, name: slogate, identity: "",
//                    leaseDuration: 15s, renewDeadline: 10s, retryPeriod: 2s}
//   server: {listen: "0.0.0.0:8443", certFile: /tls/tls.crt, keyFile: /tls/tls.key,
//            metricsListen: "0.0.0.0:9090",
//            idlePollMicroseconds: 0}  # > 0: the webhook thread polls this long before
//                                      # sleeping (net::ServerOptions::idlePoll)
//
// Unknown fields are errors; every error is one line "FILE:LINE: field: what".
//
// Thread safety: stateless functions.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace slogate::config {

struct ControllerConfig {
  struct Kubernetes {
    std::string kubeconfig;  // "" = in-cluster
    std::string context;
  } kubernetes;
  std::string ns;
  struct Prometheus {
    std::string url;
    std::string bearerTokenFile;
    std::string basicUser;
    std::string basicPasswordFile;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string caFile;
    bool insecureSkipVerify = false;
    int timeoutSeconds = 30;
  } prometheus;
  int tickSeconds = 15;
  int evaluationDelaySeconds = 60;
  int staleDataSeconds = 600;
  int workers = 4;
  struct LeaderElection {
    bool enabled = true;
    std::string ns;  // "" = the pod's namespace
    std::string name = "slogate";
    std::string identity;  // "" = POD_NAME or the host name
    int leaseSeconds = 15;
    int renewSeconds = 10;
    int retrySeconds = 2;
  } leaderElection;
  struct Server {
    std::string listen = "0.0.0.0:8443";
    std::string certFile;
    std::string keyFile;
    std::string metricsListen = "0.0.0.0:9090";
    int idlePollMicroseconds = 0;  // 0..1,000,000
  } server;
};

Result<ControllerConfig> parseControllerConfig(const std::string& text,
                                               const std::string& fileName);
Result<ControllerConfig> loadControllerConfig(const std::string& path);

// What a kubeconfig says about one context. *Data fields hold decoded PEM.
struct KubeconfigContext {
  std::string server;
  std::string caFile;
  std::string caData;
  std::string token;
  std::string tokenFile;
  std::string clientCertFile;
  std::string clientCertData;
  std::string clientKeyFile;
  std::string clientKeyData;
  bool insecureSkipVerify = false;
  std::string ns = "default";
};

// `context` "" uses current-context. Relative file paths are resolved against
// the kubeconfig's directory, as kubectl does.
Result<KubeconfigContext> loadKubeconfig(const std::string& path, const std::string& context);

// "15s", "1m", "2m30s", "1h" → seconds (> 0).
Result<int> parseSeconds(const std::string& text);

}  // namespace slogate::config
