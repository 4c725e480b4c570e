#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <tuple>

#include "cli/commands.h"
#include "cli/flags.h"
#include "config/controller_config.h"
#include "gate/gate.h"
#include "kube/client.h"
#include "kube/leader.h"
#include "prometheus/client.h"

namespace slogate::cli {
namespace {

// Writes PEM data from a kubeconfig to a private file (the TLS layer reads files).
Result<std::string> writePrivate(const std::string& dir, const std::string& name,
                                 const std::string& data) {
  const std::string path = dir + "/" + name;
  std::ofstream out(path, std::ios::binary);
  if (!out) return internalError("cannot write " + path);
  out << data;
  chmod(path.c_str(), 0600);
  return path;
}

Result<kube::ClusterConfig> clusterConfig(const config::ControllerConfig& c, std::string& tempDir) {
  if (c.kubernetes.kubeconfig.empty()) return kube::inClusterConfig();
  auto k = config::loadKubeconfig(c.kubernetes.kubeconfig, c.kubernetes.context);
  if (!k) return k.status();
  kube::ClusterConfig out;
  out.server = k->server;
  out.caFile = k->caFile;
  out.token = k->token;
  out.tokenFile = k->tokenFile;
  out.clientCertFile = k->clientCertFile;
  out.clientKeyFile = k->clientKeyFile;
  out.insecureSkipVerify = k->insecureSkipVerify;
  out.defaultNamespace = k->ns;
  if (!k->caData.empty() || !k->clientCertData.empty() || !k->clientKeyData.empty()) {
    char tmpl[] = "/tmp/slogate-kube-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return internalError("cannot create a temporary directory");
    tempDir = tmpl;
    for (const auto& [data, file, target] :
         {std::tuple{&k->caData, "ca.pem", &out.caFile},
          std::tuple{&k->clientCertData, "client.pem", &out.clientCertFile},
          std::tuple{&k->clientKeyData, "client-key.pem", &out.clientKeyFile}}) {
      if (data->empty()) continue;
      auto p = writePrivate(tempDir, file, *data);
      if (!p) return p.status();
      *target = *p;
    }
  }
  return out;
}

std::string identity(const config::ControllerConfig& c) {
  if (!c.leaderElection.identity.empty()) return c.leaderElection.identity;
  if (const char* pod = std::getenv("POD_NAME"); pod != nullptr && *pod != '\0') return pod;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + "_" + std::to_string(getpid());
}

}  // namespace

int runController(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Flags flags;
  flags.declare("config", "FILE", "controller configuration (YAML)", true);
  if (std::find(args.begin(), args.end(), "--help") != args.end()) {
    out << "usage: slogate controller --config FILE\n" << flags.usage();
    return 0;
  }
  if (Status st = flags.parse(args); !st.isOk()) {
    err << "slogate controller: " << st.message() << "\n";
    return kExitInvalidInput;
  }
  auto cfg = config::loadControllerConfig(*flags.get("config"));
  if (!cfg) {
    err << "slogate controller: " << cfg.status().message() << "\n";
    return kExitInvalidInput;
  }
  std::string tempDir;
  auto cluster = clusterConfig(*cfg, tempDir);
  if (!cluster) {
    err << "slogate controller: " << cluster.status().message() << "\n";
    return kExitInvalidInput;
  }
  auto kubeClient = kube::KubeClient::make(*cluster);
  if (!kubeClient) {
    err << "slogate controller: " << kubeClient.status().message() << "\n";
    return kExitInvalidInput;
  }
  prometheus::ClientOptions po;
  po.url = cfg->prometheus.url;
  po.bearerTokenFile = cfg->prometheus.bearerTokenFile;
  po.basicUser = cfg->prometheus.basicUser;
  if (!cfg->prometheus.basicPasswordFile.empty()) {
    std::ifstream in(cfg->prometheus.basicPasswordFile);
    if (!in) {
      err << "slogate controller: " << cfg->prometheus.basicPasswordFile << ": cannot read\n";
      return kExitInvalidInput;
    }
    std::getline(in, po.basicPassword);
  }
  po.headers = cfg->prometheus.headers;
  po.tls.caFile = cfg->prometheus.caFile;
  po.tls.insecureSkipVerify = cfg->prometheus.insecureSkipVerify;
  po.timeout = std::chrono::seconds(cfg->prometheus.timeoutSeconds);
  po.maxAttempts = 2;  // the next tick retries anyway
  auto prom = prometheus::makeClient(po);
  if (!prom) {
    err << "slogate controller: " << prom.status().message() << "\n";
    return kExitInvalidInput;
  }

  // SIGTERM/SIGINT end the process gracefully: block them and wait below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const std::string id = identity(*cfg);
  std::unique_ptr<kube::LeaderElector> elector;
  if (cfg->leaderElection.enabled) {
    kube::LeaderOptions lo;
    lo.ns = cfg->leaderElection.ns.empty() ? cluster->defaultNamespace : cfg->leaderElection.ns;
    lo.name = cfg->leaderElection.name;
    lo.identity = id;
    lo.leaseDuration = std::chrono::seconds(cfg->leaderElection.leaseSeconds);
    lo.renewDeadline = std::chrono::seconds(cfg->leaderElection.renewSeconds);
    lo.retryPeriod = std::chrono::seconds(cfg->leaderElection.retrySeconds);
    elector = std::make_unique<kube::LeaderElector>(**kubeClient, lo, [&err, id](bool leading) {
      err << "slogate controller: " << id
          << (leading ? " became the leader" : " is no longer the leader") << "\n";
    });
    elector->start();
  }
  gate::GateOptions go;
  go.tick = std::chrono::seconds(cfg->tickSeconds);
  go.evaluationDelay = std::chrono::seconds(cfg->evaluationDelaySeconds);
  go.workers = cfg->workers;
  go.ns = cfg->ns;
  go.identity = id;
  gate::Gate gate(**kubeClient, **prom, elector.get(), go);
  gate.start();
  err << "slogate controller: started as " << id << " against " << cluster->server << "\n";

  int signal = 0;
  sigwait(&signals, &signal);
  err << "slogate controller: signal " << signal << ", stopping\n";
  gate.stop();
  if (elector) elector->stop();
  if (!tempDir.empty()) {
    for (const char* f : {"ca.pem", "client.pem", "client-key.pem"}) {
      std::remove((tempDir + "/" + f).c_str());
    }
    rmdir(tempDir.c_str());
  }
  return 0;
}

}  // namespace slogate::cli
