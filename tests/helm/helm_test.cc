// helm_test.cc — the chart helm/slogate, checked statically.
//
// No helm binary is reachable here (`helm lint` and `helm template` run in
// the release pipeline), so the chart is rendered with go_template.h, the
// subset of Go templates and Sprig the chart uses, over values.yaml and a
// few sets of overrides, and every manifest is parsed and checked: its
// structure, the Deployment's security and probes, the webhook's namespace
// exclusions and certificates, RBAC against RBAC.md, the analysis
// template's conditions, the embedded rules and CRDs against the
// repository's, and the controller config against slogate's own parser.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "config/controller_config.h"
#include "helm/chart.h"
#include "helm/json_schema.h"
#include "helm/value.h"

namespace slogate::helmtest {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

const std::string kSourceDir = SLOGATE_SOURCE_DIR;
const std::string kChartDir = kSourceDir + "/helm/slogate";
const std::string kSyncHint =
    " (copy it into the chart: cmake --build <build dir> --target helm_sync)";

const Chart& chart() {
  static const Chart c = Chart::load(kChartDir);
  return c;
}

const Value& schema() {
  static const Value s = parseYaml(readFile(kChartDir + "/values.schema.json"));
  return s;
}

Rendered render(const std::string& valuesYaml, const Release& release = {}) {
  return chart().render(parseYaml(valuesYaml), release);
}

std::vector<const Value*> ofKind(const Rendered& r, const std::string& kind) {
  std::vector<const Value*> out;
  for (const Manifest& m : r.manifests) {
    if (m.object.at("kind").string == kind) out.push_back(&m.object);
  }
  return out;
}

// The one manifest of `kind` (a failure, and null, when there is not exactly one).
const Value& one(const Rendered& r, const std::string& kind) {
  static const Value kNone;
  const auto all = ofKind(r, kind);
  if (all.size() != 1) {
    ADD_FAILURE() << "expected one " << kind << ", found " << all.size();
    return kNone;
  }
  return *all[0];
}

// v.at("a").at("b")… for "a.b…" (list elements by number).
const Value& path(const Value& v, const std::string& dotted) {
  static const Value kNone;
  const Value* cur = &v;
  std::stringstream ss(dotted);
  std::string part;
  while (std::getline(ss, part, '.')) {
    if (cur->isList()) {
      const std::size_t i = std::stoul(part);
      if (i >= cur->list.size()) return kNone;
      cur = &cur->list[i];
    } else {
      cur = &cur->at(part);
    }
  }
  return *cur;
}

std::vector<std::string> strings(const Value& list) {
  std::vector<std::string> out;
  for (const Value& v : list.list) out.push_back(display(v));
  return out;
}

std::string decodeBase64(const std::string& in) {
  static const std::string kTable =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (const char c : in) {
    const auto p = kTable.find(c);
    if (p == std::string::npos) continue;
    buf = (buf << 6) | static_cast<unsigned>(p);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xFF);
    }
  }
  return out;
}

const Value& container(const Value& deployment) {
  return path(deployment, "spec.template.spec.containers.0");
}

// The value sets every structural check runs over.
struct Scenario {
  const char* name;
  const char* values;
  Release release;
};

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> kScenarios = {
      {"defaults", "", {}},
      {"other release and namespace", "", {"prod", "gate-system"}},
      {"cert-manager, self-signed issuer", "certManager: {enabled: true}", {}},
      {"cert-manager, cluster issuer",
       "certManager: {enabled: true, issuerRef: {name: corp-ca, kind: ClusterIssuer}}",
       {"gate", "platform"}},
      {"everything optional on",
       R"(
serviceMonitor: {enabled: true, labels: {release: kube-prometheus-stack}}
prometheusRule: {enabled: true, labels: {release: kube-prometheus-stack}}
dashboards: {annotations: {grafana_folder: SLOs}}
analysisTemplate: {count: 5, name: slo-gate}
webhook: {failurePolicy: Fail, timeoutSeconds: 10, excludeNamespaces: [team-x, kube-system]}
config:
  watchNamespace: shop
  prometheus:
    url: https://mimir.monitoring/prometheus
    bearerTokenFile: /var/run/secrets/prom/token
    basicAuth: {user: slogate, passwordFile: /etc/prom/password}
    headers: {X-Scope-OrgID: team-a}
    caFile: /etc/prom/ca.pem
    insecureSkipVerify: true
  tick: 30s
  workers: 8
  server: {idlePollMicroseconds: 800}
imagePullSecrets: [{name: regcred}]
podAnnotations: {example.com/team: sre}
podLabels: {team: sre}
priorityClassName: system-cluster-critical
nodeSelector: {kubernetes.io/os: linux}
tolerations: [{key: dedicated, operator: Equal, value: infra, effect: NoSchedule}]
affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: infra, operator: Exists}]}]}}}
extraVolumes: [{name: prom-token, secret: {secretName: prom-token}}]
extraVolumeMounts: [{name: prom-token, mountPath: /var/run/secrets/prom, readOnly: true}]
serviceAccount: {annotations: {example.com/role: gate}}
)",
       {}},
      {"everything optional off",
       R"(
webhook: {enabled: false}
rbac: {create: false}
serviceAccount: {create: false, name: existing-sa}
podDisruptionBudget: {enabled: false}
dashboards: {enabled: false}
analysisTemplate: {enabled: false}
config: {leaderElection: {enabled: false}}
replicaCount: 1
)",
       {}},
  };
  return kScenarios;
}

// ------------------------------------------------------------- Chart.yaml

TEST(HelmChart, ChartYamlFields) {
  const Value& c = chart().metadata();
  EXPECT_EQ(c.at("apiVersion").string, "v2");
  EXPECT_EQ(c.at("name").string, "slogate");
  EXPECT_EQ(c.at("name").string, fs::path(kChartDir).filename().string());
  EXPECT_EQ(c.at("type").string, "application");
  EXPECT_FALSE(c.at("description").string.empty());
  // SemVer 2 (semver.org's regular expression).
  static const std::regex kSemver(
      R"((0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*))"
      R"((?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?)"
      R"((?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?)");
  ASSERT_TRUE(c.at("version").isString()) << "version must be a string";
  EXPECT_TRUE(std::regex_match(c.at("version").string, kSemver)) << c.at("version").string;
  // appVersion is slogate's version: the image tag the chart runs by default.
  ASSERT_TRUE(c.at("appVersion").isString()) << "quote appVersion: it is a string";
  std::smatch m;
  const std::string cmake = readFile(kSourceDir + "/CMakeLists.txt");
  ASSERT_TRUE(std::regex_search(cmake, m, std::regex(R"(project\(slogate VERSION ([0-9.]+))")));
  EXPECT_EQ(c.at("appVersion").string, m[1].str());
}

// --------------------------------------------------- values and the schema

TEST(HelmValues, ValuesYamlMatchesSchema) {
  EXPECT_THAT(validateSchema(schema(), chart().defaults()), IsEmpty());
}

TEST(HelmValues, EveryScenarioMatchesSchema) {
  for (const Scenario& s : scenarios()) {
    const Value merged = mergeValues(chart().defaults(), parseYaml(s.values));
    EXPECT_THAT(validateSchema(schema(), merged), IsEmpty()) << s.name;
  }
}

TEST(HelmValues, SchemaRejectsBadValues) {
  const struct {
    const char* values;
    const char* error;
  } cases[] = {
      {"replicaCount: 0", "replicaCount: 0 is below the minimum 1"},
      {"replicaCount: two", "replicaCount: \"two\" is not of type integer"},
      {"replicaCount: \"2\"", "replicaCount: \"2\" is not of type integer"},
      {"webhook: {failurePolicy: Sometimes}", "webhook.failurePolicy: \"Sometimes\" is not one of"},
      {"webhook: {timeoutSeconds: 31}", "webhook.timeoutSeconds: 31 is above the maximum 30"},
      {"bogus: 1", "bogus: unknown key"},
      {"config: {prometheus: {uri: http://p}}", "config.prometheus.uri: unknown key"},
      {"config: {prometheus: {url: ftp://p}}", "config.prometheus.url: \"ftp://p\" does not match"},
      {"config: {prometheus: {url: null}}", "config.prometheus: url is required"},
      {"config: {tick: soon}", "config.tick: \"soon\" does not match"},
      {"config: {prometheus: {headers: {X-Org: 1}}}", "config.prometheus.headers.X-Org: 1 is not"},
      {"image: {repository: \"\"}", "image.repository: \"\" is shorter than 1"},
      {"certManager: {enabled: yes}", "certManager.enabled: \"yes\" is not of type boolean"},
      {"tolerations: {key: a}", "tolerations: map[key:a] is not of type array"},
      {"imagePullSecrets: [{}]", "imagePullSecrets[0]: name is required"},
  };
  for (const auto& c : cases) {
    const Value merged = mergeValues(chart().defaults(), parseYaml(c.values));
    EXPECT_THAT(validateSchema(schema(), merged), Contains(HasSubstr(c.error))) << c.values;
  }
}

// Every object with properties closes them (unknown keys are typos), and
// values.yaml gives a default for every property the schema lists.
void checkClosedAndDefaulted(const Value& s, const Value& defaults, const std::string& where) {
  if (s.has("properties")) {
    EXPECT_TRUE(s.at("additionalProperties") == Value::of(false))
        << where << ": set additionalProperties: false";
    for (const auto& [k, sub] : s.at("properties").map) {
      const std::string at = where.empty() ? k : where + "." + k;
      // Keys of an object whose default is empty ({}, or list items) are optional.
      if (truthy(defaults)) {
        EXPECT_TRUE(defaults.has(k)) << at << ": no default in values.yaml";
      }
      checkClosedAndDefaulted(sub, defaults.at(k), at);
    }
  }
  if (s.has("items")) checkClosedAndDefaulted(s.at("items"), Value::ofMap({}), where + "[]");
}

TEST(HelmValues, SchemaIsClosedAndEveryKeyHasADefault) {
  checkClosedAndDefaulted(schema(), chart().defaults(), "");
}

// ------------------------------------------------- every template, renders

const std::set<std::string>& clusterScoped() {
  static const std::set<std::string> kKinds = {"ClusterRole", "ClusterRoleBinding",
                                               "ValidatingWebhookConfiguration",
                                               "ClusterAnalysisTemplate"};
  return kKinds;
}

TEST(HelmTemplates, EveryScenarioRendersWellFormedManifests) {
  static const std::set<std::string> kKnownKinds = {"ConfigMap",
                                                    "Deployment",
                                                    "Service",
                                                    "ServiceAccount",
                                                    "ClusterRole",
                                                    "ClusterRoleBinding",
                                                    "Role",
                                                    "RoleBinding",
                                                    "Secret",
                                                    "Issuer",
                                                    "Certificate",
                                                    "ValidatingWebhookConfiguration",
                                                    "PodDisruptionBudget",
                                                    "ServiceMonitor",
                                                    "PrometheusRule",
                                                    "ClusterAnalysisTemplate"};
  static const std::regex kDnsName(
      "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  for (const Scenario& s : scenarios()) {
    SCOPED_TRACE(s.name);
    Rendered r;
    try {
      r = render(s.values, s.release);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
      continue;
    }
    std::set<std::pair<std::string, std::string>> seen;
    for (const Manifest& m : r.manifests) {
      SCOPED_TRACE(m.source);
      const Value& o = m.object;
      ASSERT_TRUE(o.isMap()) << "a document is not a mapping";
      const std::string kind = o.at("kind").string;
      EXPECT_THAT(kKnownKinds, Contains(kind));
      EXPECT_FALSE(o.at("apiVersion").string.empty());
      const std::string name = path(o, "metadata.name").string;
      EXPECT_TRUE(std::regex_match(name, kDnsName) && name.size() <= 63) << kind << " " << name;
      EXPECT_TRUE(seen.insert({kind, name}).second) << "duplicate " << kind << " " << name;
      if (clusterScoped().count(kind) > 0) {
        EXPECT_TRUE(path(o, "metadata.namespace").isNull()) << kind << " is cluster-scoped";
      } else {
        EXPECT_EQ(path(o, "metadata.namespace").string, s.release.ns) << kind << " " << name;
      }
      const Value& labels = path(o, "metadata.labels");
      EXPECT_EQ(labels.at("app.kubernetes.io/name").string, "slogate") << kind;
      EXPECT_EQ(labels.at("app.kubernetes.io/instance").string, s.release.name) << kind;
      EXPECT_EQ(labels.at("app.kubernetes.io/managed-by").string, "Helm") << kind;
      EXPECT_EQ(labels.at("app.kubernetes.io/version").string,
                chart().metadata().at("appVersion").string)
          << kind;
      for (const auto& [k, v] : labels.map) {
        EXPECT_TRUE(v.isString()) << kind << " label " << k << " must be a string";
      }
    }
    for (const auto& [file, text] : r.outputs) {
      EXPECT_THAT(text, Not(HasSubstr("<no value>"))) << file;
      EXPECT_THAT(text, Not(HasSubstr("%!"))) << file;
      EXPECT_THAT(text, Not(HasSubstr("map["))) << file;
    }
    EXPECT_THAT(r.notes, HasSubstr(s.release.ns));
  }
}

TEST(HelmTemplates, DefaultsRenderTheExpectedObjects) {
  const Rendered r = render("");
  std::multiset<std::string> kinds;
  for (const Manifest& m : r.manifests) kinds.insert(m.object.at("kind").string);
  EXPECT_EQ(kinds, (std::multiset<std::string>{
                       "ClusterAnalysisTemplate", "ClusterRole", "ClusterRoleBinding", "ConfigMap",
                       "ConfigMap", "Deployment", "PodDisruptionBudget", "Role", "RoleBinding",
                       "Secret", "Service", "ServiceAccount", "ValidatingWebhookConfiguration"}));
  // Optional CRD-backed objects are off by default; the dashboards' ConfigMap is on.
  EXPECT_THAT(ofKind(r, "ServiceMonitor"), IsEmpty());
  EXPECT_THAT(ofKind(r, "PrometheusRule"), IsEmpty());
}

// -------------------------------------------------------------- Deployment

TEST(HelmDeployment, ReplicasSecurityAndProbes) {
  const Rendered r = render("");
  const Value& d = one(r, "Deployment");
  EXPECT_EQ(path(d, "spec.replicas"), Value::of(std::int64_t{2}));
  EXPECT_EQ(path(d, "spec.template.spec.securityContext.runAsNonRoot"), Value::of(true));
  EXPECT_GT(path(d, "spec.template.spec.securityContext.runAsUser").integer, 0);
  const Value& c = container(d);
  EXPECT_EQ(path(c, "securityContext.runAsNonRoot"), Value::of(true));
  EXPECT_EQ(path(c, "securityContext.readOnlyRootFilesystem"), Value::of(true));
  EXPECT_EQ(path(c, "securityContext.allowPrivilegeEscalation"), Value::of(false));
  EXPECT_THAT(strings(path(c, "securityContext.capabilities.drop")), ElementsAre("ALL"));
  EXPECT_TRUE(path(c, "securityContext.capabilities.add").isNull());
  EXPECT_TRUE(path(c, "securityContext.privileged").isNull());

  EXPECT_EQ(path(c, "livenessProbe.httpGet.path").string, "/healthz");
  EXPECT_EQ(path(c, "livenessProbe.httpGet.port").string, "https");
  EXPECT_EQ(path(c, "livenessProbe.httpGet.scheme").string, "HTTPS");
  EXPECT_EQ(path(c, "readinessProbe.httpGet.path").string, "/readyz");
  EXPECT_EQ(path(c, "readinessProbe.httpGet.port").string, "https");
  EXPECT_EQ(path(c, "readinessProbe.httpGet.scheme").string, "HTTPS");
  EXPECT_EQ(path(c, "startupProbe.httpGet.path").string, "/healthz");

  EXPECT_EQ(path(c, "image").string,
            "ghcr.io/slogate/slogate:" + chart().metadata().at("appVersion").string);
  EXPECT_THAT(strings(path(c, "args")),
              ElementsAre("controller", "--config", "/etc/slogate/config.yaml"));
  EXPECT_EQ(path(c, "env.0.name").string, "POD_NAME");  // leader election identity
  EXPECT_EQ(path(c, "env.0.valueFrom.fieldRef.fieldPath").string, "metadata.name");
  EXPECT_FALSE(path(c, "resources.requests.cpu").isNull());
  EXPECT_FALSE(path(c, "resources.requests.memory").isNull());
  EXPECT_FALSE(path(c, "resources.limits.memory").isNull());

  // The probes' named port is the container's HTTPS port.
  std::map<std::string, std::int64_t> ports;
  for (const Value& p : path(c, "ports").list)
    ports[p.at("name").string] = p.at("containerPort").integer;
  EXPECT_EQ(ports, (std::map<std::string, std::int64_t>{{"https", 8443}, {"metrics", 9090}}));

  // The selector picks the pod template's labels.
  for (const auto& [k, v] : path(d, "spec.selector.matchLabels").map) {
    EXPECT_EQ(path(d, "spec.template.metadata.labels").at(k), v) << k;
  }
  EXPECT_EQ(path(d, "spec.template.spec.serviceAccountName").string,
            path(one(r, "ServiceAccount"), "metadata.name").string);
}

TEST(HelmDeployment, ConfigChecksumFollowsTheConfig) {
  const auto checksum = [](const Rendered& r) {
    return path(one(r, "Deployment"), "spec.template.metadata.annotations.checksum/config").string;
  };
  const std::string a = checksum(render(""));
  EXPECT_TRUE(std::regex_match(a, std::regex("[0-9a-f]{64}"))) << a;
  EXPECT_EQ(a, checksum(render("")));
  EXPECT_NE(a, checksum(render("config: {prometheus: {url: http://other:9090}}")));
}

TEST(HelmDeployment, OverridesReachThePod) {
  const Rendered r = render(scenarios()[4].values);
  const Value& spec = path(one(r, "Deployment"), "spec.template.spec");
  EXPECT_EQ(path(spec, "priorityClassName").string, "system-cluster-critical");
  EXPECT_EQ(path(spec, "imagePullSecrets.0.name").string, "regcred");
  EXPECT_EQ(path(spec, "nodeSelector").at("kubernetes.io/os").string, "linux");
  EXPECT_EQ(path(spec, "tolerations.0.key").string, "dedicated");
  EXPECT_FALSE(path(spec, "affinity.nodeAffinity").isNull());
  EXPECT_TRUE(path(spec, "affinity.podAntiAffinity").isNull());
  EXPECT_EQ(path(spec, "volumes.3.name").string, "prom-token");
  EXPECT_EQ(path(spec, "containers.0.volumeMounts.3.mountPath").string, "/var/run/secrets/prom");
}

TEST(HelmDeployment, MoreThanOneReplicaNeedsLeaderElection) {
  try {
    render("config: {leaderElection: {enabled: false}}");
    ADD_FAILURE() << "two replicas without leader election rendered";
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), HasSubstr("config.leaderElection.enabled must be true"));
  }
  const Rendered single = render("replicaCount: 1\nconfig: {leaderElection: {enabled: false}}");
  EXPECT_EQ(path(one(single, "Deployment"), "spec.replicas").integer, 1);
  // A one-replica PDB with minAvailable 1 would block every node drain.
  EXPECT_THAT(ofKind(single, "PodDisruptionBudget"), IsEmpty());
}

// ------------------------------------------------------------------ config

TEST(HelmConfig, ConfigMapIsAValidControllerConfig) {
  for (const Scenario& s : scenarios()) {
    SCOPED_TRACE(s.name);
    const Rendered r = render(s.values, s.release);
    const Value* cm = nullptr;
    for (const Value* c : ofKind(r, "ConfigMap")) {
      if (path(*c, "data").has("config.yaml")) cm = c;
    }
    ASSERT_NE(cm, nullptr);
    const std::string text = path(*cm, "data").at("config.yaml").string;
    const auto cfg = config::parseControllerConfig(text, "config.yaml");
    ASSERT_TRUE(cfg.ok()) << cfg.status().message() << "\n" << text;
    const Value& values = r.values.at("config");
    const std::string fullname = path(one(r, "Deployment"), "metadata.name").string;
    EXPECT_EQ(cfg->prometheus.url, path(values, "prometheus.url").string);
    EXPECT_EQ(cfg->ns, path(values, "watchNamespace").string);
    EXPECT_TRUE(cfg->kubernetes.kubeconfig.empty()) << "in-cluster service account";
    EXPECT_EQ(cfg->leaderElection.enabled, path(values, "leaderElection.enabled").boolean);
    EXPECT_EQ(cfg->leaderElection.ns, s.release.ns);
    EXPECT_EQ(cfg->leaderElection.name, fullname);
    EXPECT_EQ(cfg->workers, path(values, "workers").integer);
    EXPECT_EQ(cfg->server.listen, "0.0.0.0:8443");
    EXPECT_EQ(cfg->server.metricsListen, "0.0.0.0:9090");
    EXPECT_EQ(cfg->server.idlePollMicroseconds,
              path(values, "server.idlePollMicroseconds").integer);
    EXPECT_EQ(cfg->server.certFile, "/tls/tls.crt");
    EXPECT_EQ(cfg->server.keyFile, "/tls/tls.key");

    // The files it names are where the pod mounts them.
    const Value& d = one(r, "Deployment");
    std::map<std::string, std::string> mounts;  // volume → path
    for (const Value& m : path(container(d), "volumeMounts").list) {
      mounts[m.at("name").string] = m.at("mountPath").string;
    }
    std::map<std::string, const Value*> volumes;
    for (const Value& v : path(d, "spec.template.spec.volumes").list)
      volumes[v.at("name").string] = &v;
    EXPECT_EQ(mounts["config"], "/etc/slogate");
    EXPECT_EQ(path(*volumes["config"], "configMap.name").string, path(*cm, "metadata.name").string);
    EXPECT_EQ(mounts["tls"], "/tls");
    EXPECT_EQ(path(*volumes["tls"], "secret.secretName").string, fullname + "-tls");
    EXPECT_EQ(mounts["tmp"], "/tmp");  // the root filesystem is read-only
  }
}

TEST(HelmConfig, PrometheusClientSettingsAreRendered) {
  const Rendered r = render(scenarios()[4].values);
  const Value* cm = nullptr;  // the controller's (the dashboards have their own)
  for (const Value* c : ofKind(r, "ConfigMap")) {
    if (path(*c, "data").has("config.yaml")) cm = c;
  }
  ASSERT_NE(cm, nullptr);
  const auto cfg = config::parseControllerConfig(path(*cm, "data").at("config.yaml").string, "c");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->prometheus.bearerTokenFile, "/var/run/secrets/prom/token");
  EXPECT_EQ(cfg->prometheus.basicUser, "slogate");
  EXPECT_EQ(cfg->prometheus.basicPasswordFile, "/etc/prom/password");
  ASSERT_EQ(cfg->prometheus.headers.size(), 1u);
  EXPECT_EQ(cfg->prometheus.headers[0],
            std::make_pair(std::string("X-Scope-OrgID"), std::string("team-a")));
  EXPECT_EQ(cfg->prometheus.caFile, "/etc/prom/ca.pem");
  EXPECT_TRUE(cfg->prometheus.insecureSkipVerify);
  EXPECT_EQ(cfg->tickSeconds, 30);
  EXPECT_EQ(cfg->ns, "shop");
}

// ---------------------------------------------------- Service, PDB, monitor

TEST(HelmService, SelectsThePodsAndNamesTheirPorts) {
  const Rendered r = render("serviceMonitor: {enabled: true}");
  const Value& svc = one(r, "Service");
  const Value& d = one(r, "Deployment");
  EXPECT_EQ(path(svc, "spec.selector"), path(d, "spec.selector.matchLabels"));
  std::set<std::string> containerPorts;
  for (const Value& p : path(container(d), "ports").list)
    containerPorts.insert(p.at("name").string);
  std::map<std::string, std::int64_t> ports;
  for (const Value& p : path(svc, "spec.ports").list) {
    ports[p.at("name").string] = p.at("port").integer;
    EXPECT_THAT(containerPorts, Contains(p.at("targetPort").string));
  }
  EXPECT_EQ(ports, (std::map<std::string, std::int64_t>{{"https", 8443}, {"metrics", 9090}}));

  const Value& pdb = one(r, "PodDisruptionBudget");
  EXPECT_EQ(path(pdb, "spec.selector.matchLabels"), path(d, "spec.selector.matchLabels"));
  EXPECT_GE(path(pdb, "spec.minAvailable").integer, 1);
  EXPECT_LT(path(pdb, "spec.minAvailable").integer, path(d, "spec.replicas").integer)
      << "a PDB as large as the Deployment blocks node drains";

  // The ServiceMonitor scrapes the Service's metrics port as job "slogate",
  // keeping the SLO's namespace label (rules/ depend on both).
  const Value& sm = one(r, "ServiceMonitor");
  for (const auto& [k, v] : path(sm, "spec.selector.matchLabels").map) {
    EXPECT_EQ(path(svc, "metadata.labels").at(k), v) << k;
  }
  EXPECT_THAT(strings(path(sm, "spec.namespaceSelector.matchNames")), ElementsAre("slogate"));
  const Value& ep = path(sm, "spec.endpoints.0");
  EXPECT_EQ(ep.at("port").string, "metrics");
  EXPECT_EQ(ep.at("path").string, "/metrics");
  EXPECT_EQ(ep.at("honorLabels"), Value::of(true));
  EXPECT_EQ(path(ep, "relabelings.0.targetLabel").string, "job");
  EXPECT_EQ(path(ep, "relabelings.0.replacement").string, "slogate");
  EXPECT_THAT(readFile(kSourceDir + "/rules/slogate-alerts.yaml"), HasSubstr("job=\"slogate\""));
}

// ----------------------------------------------------------------- webhook

const Value& admissionWebhook(const Rendered& r) {
  return path(one(r, "ValidatingWebhookConfiguration"), "webhooks.0");
}

TEST(HelmWebhook, ExcludesTheReleaseNamespaceAndKubeSystem) {
  for (const Release& rel : {Release{}, Release{"prod", "gate-system"}}) {
    const Rendered r = render("", rel);
    const Value& exprs = path(admissionWebhook(r), "namespaceSelector.matchExpressions");
    ASSERT_EQ(exprs.list.size(), 1u);
    EXPECT_EQ(path(exprs, "0.key").string, "kubernetes.io/metadata.name");
    EXPECT_EQ(path(exprs, "0.operator").string, "NotIn");
    EXPECT_THAT(strings(path(exprs, "0.values")), UnorderedElementsAre(rel.ns, "kube-system"));
  }
  const Rendered r = render("webhook: {excludeNamespaces: [team-x, kube-system]}");
  EXPECT_THAT(strings(path(admissionWebhook(r), "namespaceSelector.matchExpressions.0.values")),
              UnorderedElementsAre("slogate", "kube-system", "team-x"));
}

TEST(HelmWebhook, CallsTheServiceForRolloutsAndReferencedDeployments) {
  const Rendered r = render("");
  const Value& w = admissionWebhook(r);
  EXPECT_EQ(path(one(r, "ValidatingWebhookConfiguration"), "webhooks").list.size(), 1u);
  EXPECT_TRUE(std::regex_match(w.at("name").string, std::regex("[a-z0-9-]+(\\.[a-z0-9-]+){2,}")));
  EXPECT_THAT(strings(w.at("admissionReviewVersions")), ElementsAre("v1"));
  EXPECT_THAT((std::vector<std::string>{"None", "NoneOnDryRun"}),
              Contains(w.at("sideEffects").string));
  EXPECT_EQ(w.at("failurePolicy").string, "Ignore");
  EXPECT_EQ(w.at("timeoutSeconds").integer, 5);
  const Value& svc = one(r, "Service");
  EXPECT_EQ(path(w, "clientConfig.service.name").string, path(svc, "metadata.name").string);
  EXPECT_EQ(path(w, "clientConfig.service.namespace").string, "slogate");
  EXPECT_EQ(path(w, "clientConfig.service.path").string, "/v1/admission");
  EXPECT_EQ(path(w, "clientConfig.service.port").integer, path(svc, "spec.ports.0.port").integer);
  EXPECT_EQ(path(svc, "spec.ports.0.name").string, "https");

  std::set<std::tuple<std::string, std::string, std::string>> rules;
  for (const Value& rule : w.at("rules").list) {
    EXPECT_THAT(strings(rule.at("operations")), UnorderedElementsAre("CREATE", "UPDATE"));
    EXPECT_EQ(rule.at("scope").string, "Namespaced");
    for (const auto& g : strings(rule.at("apiGroups"))) {
      for (const auto& v : strings(rule.at("apiVersions"))) {
        for (const auto& res : strings(rule.at("resources"))) rules.insert({g, v, res});
      }
    }
  }
  EXPECT_EQ(rules, (std::set<std::tuple<std::string, std::string, std::string>>{
                       {"argoproj.io", "v1alpha1", "rollouts"}, {"apps", "v1", "deployments"}}));

  const Rendered strict = render("webhook: {failurePolicy: Fail, timeoutSeconds: 10}");
  EXPECT_EQ(admissionWebhook(strict).at("failurePolicy").string, "Fail");
  EXPECT_EQ(admissionWebhook(strict).at("timeoutSeconds").integer, 10);
  EXPECT_THAT(ofKind(render("webhook: {enabled: false}"), "ValidatingWebhookConfiguration"),
              IsEmpty());
}

TEST(HelmWebhook, SelfSignedCertificateAndCaBundle) {
  const Rendered r = render("");
  const Value& secret = one(r, "Secret");
  EXPECT_EQ(secret.at("type").string, "kubernetes.io/tls");
  EXPECT_EQ(path(secret, "metadata.name").string, "slogate-tls");
  const Value& data = secret.at("data");
  const std::string ca = decodeBase64(data.at("ca.crt").string);
  const std::string crt = decodeBase64(data.at("tls.crt").string);
  EXPECT_THAT(ca, HasSubstr("subject=slogate-ca "));
  EXPECT_THAT(crt, HasSubstr("subject=slogate.slogate.svc "));
  EXPECT_THAT(crt, HasSubstr("issuer=slogate-ca "));
  EXPECT_THAT(crt, HasSubstr("dns=slogate,slogate.slogate,slogate.slogate.svc,"
                             "slogate.slogate.svc.cluster.local "));
  EXPECT_THAT(decodeBase64(data.at("tls.key").string), HasSubstr("PRIVATE KEY"));
  // The API server trusts the CA that signed the serving certificate.
  EXPECT_EQ(path(admissionWebhook(r), "clientConfig.caBundle").string, data.at("ca.crt").string);
  EXPECT_THAT(ofKind(r, "Certificate"), IsEmpty());
}

TEST(HelmWebhook, CertManagerCertificateAndCaInjection) {
  const Rendered r = render("certManager: {enabled: true}");
  EXPECT_THAT(ofKind(r, "Secret"), IsEmpty()) << "cert-manager writes the Secret";
  const Value& cert = one(r, "Certificate");
  const Value& d = one(r, "Deployment");
  std::string tlsSecret;
  for (const Value& v : path(d, "spec.template.spec.volumes").list) {
    if (v.at("name").string == "tls") tlsSecret = path(v, "secret.secretName").string;
  }
  EXPECT_EQ(path(cert, "spec.secretName").string, tlsSecret);
  EXPECT_THAT(strings(path(cert, "spec.dnsNames")), Contains("slogate.slogate.svc"));
  const Value& vwc = one(r, "ValidatingWebhookConfiguration");
  EXPECT_EQ(path(vwc, "metadata.annotations").at("cert-manager.io/inject-ca-from").string,
            "slogate/" + path(cert, "metadata.name").string);
  EXPECT_TRUE(path(admissionWebhook(r), "clientConfig.caBundle").isNull());
  const Value& issuer = one(r, "Issuer");
  EXPECT_TRUE(path(issuer, "spec.selfSigned").isMap());
  EXPECT_EQ(path(cert, "spec.issuerRef.name").string, path(issuer, "metadata.name").string);
  EXPECT_EQ(path(cert, "spec.issuerRef.kind").string, "Issuer");

  const Rendered corp =
      render("certManager: {enabled: true, issuerRef: {name: corp-ca, kind: ClusterIssuer}}");
  EXPECT_THAT(ofKind(corp, "Issuer"), IsEmpty());
  EXPECT_EQ(path(one(corp, "Certificate"), "spec.issuerRef.name").string, "corp-ca");
  EXPECT_EQ(path(one(corp, "Certificate"), "spec.issuerRef.kind").string, "ClusterIssuer");
}

// -------------------------------------------------------------------- RBAC

using RbacRule = std::tuple<std::string, std::string, std::string>;  // group, resource, verb

// RBAC.md's table: | `group` | `resource` | verbs | granted by | why |.
std::map<std::string, std::set<RbacRule>> rbacTable() {
  std::map<std::string, std::set<RbacRule>> out;
  std::istringstream in(readFile(kChartDir + "/RBAC.md"));
  std::string line;
  const auto ticked = [](const std::string& cell) {
    const auto a = cell.find('`');
    const auto b = cell.find('`', a + 1);
    return a == std::string::npos || b == std::string::npos ? cell : cell.substr(a + 1, b - a - 1);
  };
  while (std::getline(in, line)) {
    if (line.rfind("| ", 0) != 0 || line.find("---") != std::string::npos) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line.substr(1));
    std::string cell;
    while (std::getline(ss, cell, '|')) {
      const auto b = cell.find_first_not_of(' ');
      const auto e = cell.find_last_not_of(' ');
      cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
    }
    if (cells.size() < 4 || cells[0] == "API group") continue;
    std::string group = ticked(cells[0]);
    if (group == "\"\"") group.clear();
    const std::string resource = ticked(cells[1]);
    const std::string scope = cells[3].rfind("ClusterRole", 0) == 0 ? "ClusterRole"
                              : cells[3].rfind("Role", 0) == 0      ? "Role"
                                                                    : cells[3];
    std::stringstream verbs(cells[2]);
    std::string verb;
    while (std::getline(verbs, verb, ',')) {
      verb.erase(0, verb.find_first_not_of(' '));
      out[scope].insert({group, resource, verb});
    }
  }
  return out;
}

std::set<RbacRule> rendered(const Value& role) {
  std::set<RbacRule> out;
  for (const Value& rule : role.at("rules").list) {
    EXPECT_TRUE(rule.at("resourceNames").isNull() && rule.at("nonResourceURLs").isNull());
    for (const auto& g : strings(rule.at("apiGroups"))) {
      for (const auto& res : strings(rule.at("resources"))) {
        for (const auto& verb : strings(rule.at("verbs"))) {
          EXPECT_NE(g, "*");
          EXPECT_NE(res, "*");
          EXPECT_NE(verb, "*");
          out.insert({g, res, verb});
        }
      }
    }
  }
  return out;
}

TEST(HelmRbac, RulesEqualTheTableInRbacMd) {
  const auto table = rbacTable();
  ASSERT_EQ(table.size(), 2u) << "RBAC.md lists ClusterRole and Role rows";
  EXPECT_EQ(table.at("ClusterRole").size(), 16u);
  EXPECT_THAT(table.at("Role"),
              UnorderedElementsAre(RbacRule{"coordination.k8s.io", "leases", "get"},
                                   RbacRule{"coordination.k8s.io", "leases", "create"},
                                   RbacRule{"coordination.k8s.io", "leases", "update"}));
  const Rendered r = render("", {"prod", "gate-system"});
  EXPECT_EQ(rendered(one(r, "ClusterRole")), table.at("ClusterRole"));
  EXPECT_EQ(rendered(one(r, "Role")), table.at("Role"));
  EXPECT_EQ(path(one(r, "Role"), "metadata.namespace").string, "gate-system");

  // Bound to slogate's ServiceAccount, and to nothing else.
  const std::string sa = path(one(r, "ServiceAccount"), "metadata.name").string;
  for (const char* kind : {"ClusterRoleBinding", "RoleBinding"}) {
    const Value& b = one(r, kind);
    EXPECT_EQ(path(b, "roleRef.kind").string,
              std::string(kind) == "RoleBinding" ? "Role" : "ClusterRole");
    EXPECT_EQ(path(b, "roleRef.name").string, "prod-slogate");
    ASSERT_EQ(b.at("subjects").list.size(), 1u);
    EXPECT_EQ(path(b, "subjects.0.kind").string, "ServiceAccount");
    EXPECT_EQ(path(b, "subjects.0.name").string, sa);
    EXPECT_EQ(path(b, "subjects.0.namespace").string, "gate-system");
  }
}

// ------------------------------------------------- ClusterAnalysisTemplate

TEST(HelmAnalysisTemplate, ConditionsAndVerdictUrl) {
  const Rendered r = render("", {"prod", "gate-system"});
  const Value& t = one(r, "ClusterAnalysisTemplate");
  EXPECT_EQ(t.at("apiVersion").string, "argoproj.io/v1alpha1");
  EXPECT_EQ(path(t, "metadata.name").string, "prod-slogate");
  std::vector<std::string> args;
  for (const Value& a : path(t, "spec.args").list) args.push_back(a.at("name").string);
  EXPECT_THAT(args, ElementsAre("namespace", "slo"));
  ASSERT_EQ(path(t, "spec.metrics").list.size(), 1u);
  const Value& m = path(t, "spec.metrics.0");
  // approve succeeds; rollback fails (abort); halt, freeze and inconclusive
  // match neither: Inconclusive, which pauses the Rollout.
  EXPECT_EQ(m.at("successCondition").string, "result == \"approve\"");
  EXPECT_EQ(m.at("failureCondition").string, "result == \"rollback\"");
  EXPECT_EQ(m.at("failureLimit").integer, 0);
  EXPECT_EQ(m.at("inconclusiveLimit").integer, 0);
  EXPECT_EQ(m.at("consecutiveErrorLimit").integer, 10);
  EXPECT_EQ(m.at("interval").string, "1m");
  EXPECT_TRUE(m.at("count").isNull()) << "measures until the analysis ends";
  const Value& web = path(m, "provider.web");
  EXPECT_EQ(web.at("url").string,
            "https://prod-slogate.gate-system.svc:8443/v1/namespaces/{{args.namespace}}/slos/"
            "{{args.slo}}/verdict");
  EXPECT_EQ(web.at("method").string, "GET");
  EXPECT_EQ(web.at("jsonPath").string, "{$.decision}");
  EXPECT_EQ(web.at("timeoutSeconds").integer, 10);
  EXPECT_EQ(web.at("insecure"), Value::of(true));
  // The URL's host is the Service, on its HTTPS port.
  const Value& svc = one(r, "Service");
  EXPECT_EQ(path(svc, "metadata.name").string, "prod-slogate");
  EXPECT_EQ(path(svc, "spec.ports.0.port").integer, 8443);

  const Rendered counted = render("analysisTemplate: {count: 5, name: slo-gate}");
  EXPECT_EQ(path(one(counted, "ClusterAnalysisTemplate"), "metadata.name").string, "slo-gate");
  EXPECT_EQ(path(one(counted, "ClusterAnalysisTemplate"), "spec.metrics.0.count").integer, 5);
}

// Field names the template sets that Argo's CRD schema does not know.
void unknownFields(const Value& schemaNode, const Value& v, const std::string& at,
                   std::vector<std::string>& out) {
  if (schemaNode.at("x-kubernetes-preserve-unknown-fields") == Value::of(true)) return;
  if (v.isMap()) {
    for (const auto& [k, item] : v.map) {
      const Value& sub = path(schemaNode, "properties").at(k);
      if (sub.isNull()) {
        out.push_back(at + "." + k);
      } else {
        unknownFields(sub, item, at + "." + k, out);
      }
    }
  } else if (v.isList()) {
    for (const Value& item : v.list) unknownFields(schemaNode.at("items"), item, at + "[]", out);
  }
}

TEST(HelmAnalysisTemplate, FieldsExistInArgoRolloutsCrd) {
  std::string crdPath;
  for (const std::string& p :
       {kSourceDir + "/../shared/argo-rollouts/cluster-analysis-template-crd.yaml",
        std::string("/work/shared/argo-rollouts/cluster-analysis-template-crd.yaml")}) {
    if (fs::exists(p)) crdPath = p;
  }
  if (crdPath.empty()) GTEST_SKIP() << "Argo Rollouts CRDs not found beside the repository";
  const Value crd = parseYaml(readFile(crdPath));
  const Value& s = path(crd, "spec.versions.0.schema.openAPIV3Schema");
  const Rendered r = render("analysisTemplate: {count: 5}");
  std::vector<std::string> unknown;
  unknownFields(path(s, "properties.spec"), path(one(r, "ClusterAnalysisTemplate"), "spec"), "spec",
                unknown);
  EXPECT_THAT(unknown, IsEmpty());
}

// ---------------------------------------------- rules, CRDs and dashboards

std::map<std::string, std::string> filesIn(const std::string& dir, const std::string& ext) {
  std::map<std::string, std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ext) {
      out[e.path().filename().string()] = readFile(e.path().string());
    }
  }
  return out;
}

void expectSameFiles(const std::map<std::string, std::string>& repo,
                     const std::map<std::string, std::string>& chartCopy, const std::string& what) {
  ASSERT_FALSE(repo.empty()) << what;
  for (const auto& [name, text] : repo) {
    const auto it = chartCopy.find(name);
    if (it == chartCopy.end()) {
      ADD_FAILURE() << what << ": " << name << " is missing from the chart" << kSyncHint;
    } else {
      EXPECT_TRUE(it->second == text)
          << what << ": the chart's " << name << " differs" << kSyncHint;
    }
  }
  for (const auto& [name, unused] : chartCopy) {
    EXPECT_TRUE(repo.count(name) > 0)
        << what << ": the chart has " << name << " (not in the repository)";
  }
}

TEST(HelmPrometheusRule, EmbedsTheRepositoryRules) {
  const auto repo = filesIn(kSourceDir + "/rules", ".yaml");
  expectSameFiles(repo, filesIn(kChartDir + "/rules", ".yaml"), "rules/");
  const Rendered r = render("prometheusRule: {enabled: true, labels: {release: kps}}");
  const auto rules = ofKind(r, "PrometheusRule");
  ASSERT_EQ(rules.size(), repo.size());
  std::set<std::string> names;
  for (const Value* pr : rules) {
    names.insert(path(*pr, "metadata.name").string);
    EXPECT_EQ(pr->at("apiVersion").string, "monitoring.coreos.com/v1");
    EXPECT_EQ(path(*pr, "metadata.labels").at("release").string, "kps");
  }
  EXPECT_EQ(names, (std::set<std::string>{"slogate-alerts", "slogate-recording"}));
  // Each PrometheusRule's spec is one rules file, rule for rule.
  for (const auto& [file, text] : repo) {
    const std::string stem = file.substr(0, file.size() - 5);
    const std::string name = "slogate-" + stem.substr(std::string("slogate-").size());
    bool found = false;
    for (const Value* pr : rules) {
      if (path(*pr, "metadata.name").string != name) continue;
      found = true;
      EXPECT_EQ(pr->at("spec"), parseYaml(text)) << file;
    }
    EXPECT_TRUE(found) << file;
  }
}

TEST(HelmCrds, ChartCrdsAreTheRepositoryCrds) {
  const auto repo = filesIn(kSourceDir + "/crds", ".yaml");
  const auto copy = filesIn(kChartDir + "/crds", ".yaml");
  expectSameFiles(repo, copy, "crds/");
  for (const auto& [name, text] : copy) {
    const Value crd = parseYaml(text);
    EXPECT_EQ(crd.at("kind").string, "CustomResourceDefinition") << name;
    EXPECT_EQ(crd.at("apiVersion").string, "apiextensions.k8s.io/v1") << name;
  }
}

const Value* dashboardsConfigMap(const Rendered& r) {
  for (const Value* cm : ofKind(r, "ConfigMap")) {
    if (path(*cm, "metadata.name").string == "slogate-dashboards") return cm;
  }
  return nullptr;
}

TEST(HelmDashboards, ConfigMapOfDashboardJsonForGrafana) {
  // The repository's dashboards ship by default, each file as it is (`|-`
  // drops the final newline); tests/helm/dashboards_test.cc checks their content.
  const auto repo = filesIn(kChartDir + "/dashboards", ".json");
  EXPECT_EQ(repo.size(), 2u);
  const Rendered plain = render("");
  const Value* shipped = dashboardsConfigMap(plain);
  ASSERT_NE(shipped, nullptr);
  EXPECT_EQ(path(*shipped, "metadata.labels").at("grafana_dashboard").string, "1");
  ASSERT_EQ(shipped->at("data").map.size(), repo.size());
  for (const auto& [name, text] : repo) {
    ASSERT_FALSE(text.empty()) << name;
    EXPECT_EQ(path(*shipped, "data").at(name).string, text.substr(0, text.size() - 1)) << name;
  }

  // Other *.json files ship too, nothing else does; annotations are passed on.
  Chart withDashboards = chart();
  const std::string json = "{\n  \"title\": \"SLO \\\"detail\\\"\",\n  \"panels\": []\n}\n";
  withDashboards.putFile("dashboards/slo-detail.json", json);
  withDashboards.putFile("dashboards/notes.txt", "not a dashboard");
  const Rendered r =
      withDashboards.render(parseYaml("dashboards: {annotations: {grafana_folder: SLOs}}"));
  const Value* dash = dashboardsConfigMap(r);
  ASSERT_NE(dash, nullptr);
  EXPECT_EQ(path(*dash, "metadata.labels").at("grafana_dashboard").string, "1");
  EXPECT_EQ(path(*dash, "metadata.annotations").at("grafana_folder").string, "SLOs");
  ASSERT_EQ(dash->at("data").map.size(), repo.size() + 1);
  EXPECT_EQ(path(*dash, "data").at("slo-detail.json").string, json.substr(0, json.size() - 1));
  EXPECT_THAT(ofKind(withDashboards.render(parseYaml("dashboards: {enabled: false}")), "ConfigMap"),
              ::testing::SizeIs(1));

  // A chart without dashboards/*.json has nothing to ship.
  const fs::path copy =
      fs::path(::testing::TempDir()) / ("helm-no-dashboards-" + std::to_string(::getpid()));
  fs::remove_all(copy);
  fs::copy(kChartDir, copy, fs::copy_options::recursive);
  for (const auto& [name, unused] : repo) fs::remove(copy / "dashboards" / name);
  const Rendered none = Chart::load(copy.string()).render(parseYaml(""));
  fs::remove_all(copy);
  EXPECT_EQ(dashboardsConfigMap(none), nullptr);
  for (const Value* cm : ofKind(none, "ConfigMap")) {
    EXPECT_FALSE(path(*cm, "metadata.labels").has("grafana_dashboard"));
  }
}

// ------------------------------------------------------------- Dockerfile

TEST(HelmDockerfile, MultiStageNonRootMinimalRuntime) {
  const std::string text = readFile(kChartDir + "/Dockerfile");
  std::vector<std::string> from;
  std::string lastUser;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("FROM ", 0) == 0) from.push_back(line);
    if (line.rfind("USER ", 0) == 0) lastUser = line.substr(5);
  }
  ASSERT_GE(from.size(), 2u) << "multi-stage";
  EXPECT_THAT(from.back(), HasSubstr("distroless"));
  EXPECT_THAT(from.back(), HasSubstr("nonroot"));
  ASSERT_FALSE(lastUser.empty());
  EXPECT_NE(lastUser.substr(0, lastUser.find(':')), "0");
  EXPECT_NE(lastUser.substr(0, lastUser.find(':')), "root");
  EXPECT_THAT(text, HasSubstr("docker build -f helm/slogate/Dockerfile ."));
  EXPECT_THAT(text, HasSubstr("--target slogate"));
  // The chart's pod runs as the image's user.
  const Rendered r = render("");
  const Value& d = one(r, "Deployment");
  EXPECT_EQ(std::to_string(path(d, "spec.template.spec.securityContext.runAsUser").integer),
            lastUser.substr(0, lastUser.find(':')));
  // Packaging leaves the Dockerfile out of the chart.
  EXPECT_THAT(readFile(kChartDir + "/.helmignore"), HasSubstr("Dockerfile"));
}

}  // namespace
}  // namespace slogate::helmtest
