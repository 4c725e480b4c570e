#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>
#include <tuple>

#include "api/router.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "config/controller_config.h"
#include "gate/gate.h"
#include "kube/client.h"
#include "kube/leader.h"
#include "kube/resource.h"
#include "metrics/metrics.h"
#include "net/http_server.h"
#include "prometheus/client.h"
#include "webhook/admission.h"

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

// Records admission overrides as Events off the request path: the webhook
// never waits on the API server.
class OverrideEvents {
 public:
  explicit OverrideEvents(kube::KubeClient& client) : client_(client), thread_([this] { run(); }) {}
  ~OverrideEvents() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void post(const webhook::OverrideNotice& n) {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() < 1000) queue_.push_back(n);
    cv_.notify_one();
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      const webhook::OverrideNotice n = queue_.front();
      queue_.pop_front();
      lock.unlock();
      Json ev = Json::object();
      ev.set("apiVersion", Json::string("v1"));
      ev.set("kind", Json::string("Event"));
      Json meta = Json::object();
      meta.set("generateName", Json::string(n.rollout + ".slogate-override-"));
      meta.set("namespace", Json::string(n.ns));
      ev.set("metadata", meta);
      Json ref = Json::object();
      ref.set("apiVersion", Json::string("argoproj.io/v1alpha1"));
      ref.set("kind", Json::string("Rollout"));
      ref.set("name", Json::string(n.rollout));
      ref.set("namespace", Json::string(n.ns));
      ev.set("involvedObject", ref);
      ev.set("type", Json::string("Warning"));
      ev.set("reason", Json::string("SLOFreezeOverridden"));
      ev.set("message",
             Json::string(n.user + " deployed past the freeze of SLO " + n.slo + " with " +
                          std::string(webhook::kOverrideAnnotation) + ": " + n.reason));
      Json source = Json::object();
      source.set("component", Json::string("slogate"));
      ev.set("source", source);
      (void)client_.create(kube::resources::kEvent, n.ns, ev);
      lock.lock();
    }
  }

  kube::KubeClient& client_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<webhook::OverrideNotice> queue_;  // guarded by mu_
  bool stopping_ = false;                      // guarded by mu_
  std::thread thread_;
};

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
  metrics::Metrics metrics(SLOGATE_VERSION_STRING);
  po.onQuery = [&metrics](double seconds, bool ok) { metrics.observeQuery(seconds, ok); };
  auto prom = prometheus::makeClient(po);
  if (!prom) {
    err << "slogate controller: " << prom.status().message() << "\n";
    return kExitInvalidInput;
  }
  gate::GateOptions go;
  go.onPublish = [&metrics](const std::string& key,
                            const std::shared_ptr<const gate::SloEntry>& e) {
    if (e) {
      metrics.observe(*e);
    } else {
      const auto slash = key.find('/');
      metrics.forget(key.substr(0, slash), key.substr(slash + 1));
    }
  };
  go.onAction = [&metrics](const std::string& action) { metrics.countAction(action); };
  go.tick = std::chrono::seconds(cfg->tickSeconds);
  go.evaluationDelay = std::chrono::seconds(cfg->evaluationDelaySeconds);
  go.staleData = std::chrono::seconds(cfg->staleDataSeconds);
  go.workers = cfg->workers;
  go.ns = cfg->ns;
  go.identity = id;
  gate::Gate gate(**kubeClient, **prom, elector.get(), go);
  gate.start();

  // Every replica serves the webhook, the verdicts and health; only the
  // leader writes and acts (the gate checks the lease).
  OverrideEvents overrideEvents(**kubeClient);
  webhook::AdmissionHandler admission(
      [&gate] { return gate.snapshot(); },
      [&gate](const std::string& ns, const std::string& deployment) {
        std::vector<std::string> names;
        if (const kube::Informer* rollouts = gate.rollouts()) {
          for (const auto& r : rollouts->list()) {
            const Json& ref = (*r)["spec"]["workloadRef"];
            if ((*r)["metadata"]["namespace"].text() == ns && ref["kind"].text() == "Deployment" &&
                ref["name"].text() == deployment) {
              names.push_back((*r)["metadata"]["name"].text());
            }
          }
        }
        return names;
      },
      [&overrideEvents](const webhook::OverrideNotice& n) { overrideEvents.post(n); });
  api::VerdictEndpoint verdicts([&gate] { return gate.snapshot(); },
                                std::chrono::seconds(3 * cfg->tickSeconds),
                                [] { return static_cast<std::int64_t>(std::time(nullptr)); });
  api::RouterDeps deps;
  deps.ready = [&gate] { return gate.ready(); };
  deps.admission = &admission;
  deps.verdicts = &verdicts;
  deps.metrics = &metrics;
  net::ServerOptions so;
  so.listen = cfg->server.listen;
  so.certFile = cfg->server.certFile;
  so.keyFile = cfg->server.keyFile;
  so.idlePoll = std::chrono::microseconds(cfg->server.idlePollMicroseconds);
  so.log = [&err](const std::string& line) { err << "slogate controller: " << line << "\n"; };
  if (so.certFile.empty()) {
    err << "slogate controller: no server.certFile: serving plain HTTP on " << so.listen
        << " (the API server only calls webhooks over TLS)\n";
  }
  auto server = net::HttpServer::start(
      so, [&deps](const net::ServerRequest& r) { return api::route(deps, r); });
  if (!server) {
    err << "slogate controller: server: " << server.status().message() << "\n";
    gate.stop();
    return server.status().code() == Code::kInvalidArgument ? kExitInvalidInput
                                                            : kExitCouldNotEvaluate;
  }
  net::ServerOptions mo;
  mo.listen = cfg->server.metricsListen;
  mo.log = so.log;
  auto metricsServer = net::HttpServer::start(
      mo, [&deps](const net::ServerRequest& r) { return api::route(deps, r); });
  if (!metricsServer) {
    err << "slogate controller: metrics server: " << metricsServer.status().message() << "\n";
    gate.stop();
    return kExitCouldNotEvaluate;
  }
  err << "slogate controller: started as " << id << " against " << cluster->server << "; serving "
      << (*server)->url() << ", metrics on " << (*metricsServer)->url() << "\n";

  int signal = 0;
  sigwait(&signals, &signal);
  err << "slogate controller: signal " << signal << ", stopping\n";
  (*server)->stop();
  (*metricsServer)->stop();
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
