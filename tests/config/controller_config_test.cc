#include "config/controller_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

namespace slogate::config {
namespace {

using ::testing::HasSubstr;

TEST(ControllerConfig, FullExample) {
  auto c = parseControllerConfig(R"(kubernetes: {kubeconfig: /k, context: prod}
namespace: shop
prometheus:
  url: https://mimir/prometheus
  bearerTokenFile: /t
  basicAuth: {user: u, passwordFile: /p}
  headers: {X-Scope-OrgID: team-a}
  caFile: /ca
  insecureSkipVerify: true
  timeout: 10s
tick: 30s
evaluationDelay: 2m
staleData: 15m
workers: 8
leaderElection: {enabled: false, namespace: slogate, name: gate, identity: me,
                 leaseDuration: 20s, renewDeadline: 15s, retryPeriod: 3s}
server: {listen: "0.0.0.0:9443", certFile: /c, keyFile: /k, metricsListen: ":9091",
         idlePollMicroseconds: 1000}
)",
                                 "c.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->kubernetes.context, "prod");
  EXPECT_EQ(c->ns, "shop");
  EXPECT_EQ(c->prometheus.headers[0].second, "team-a");
  EXPECT_TRUE(c->prometheus.insecureSkipVerify);
  EXPECT_EQ(c->prometheus.timeoutSeconds, 10);
  EXPECT_EQ(c->tickSeconds, 30);
  EXPECT_EQ(c->evaluationDelaySeconds, 120);
  EXPECT_EQ(c->staleDataSeconds, 900);
  EXPECT_EQ(c->workers, 8);
  EXPECT_FALSE(c->leaderElection.enabled);
  EXPECT_EQ(c->leaderElection.leaseSeconds, 20);
  EXPECT_EQ(c->server.listen, "0.0.0.0:9443");
  EXPECT_EQ(c->server.idlePollMicroseconds, 1000);
}

TEST(ControllerConfig, ErrorsNameFileLineAndField) {
  const struct {
    const char* text;
    const char* message;
  } cases[] = {
      {"prometheus: {url: http://p}\ntick: soon\n", "c.yaml:2: tick: \"soon\""},
      {"prometheus: {url: http://p}\ntik: 15s\n", "c.yaml:2: tik: unknown field"},
      {"prometheus: {url: p:9090}\n", "c.yaml:1: prometheus.url: \"p:9090\" is not an http"},
      {"tick: 15s\n", "prometheus.url: required"},
      {"prometheus: {url: http://p}\nworkers: 0\n", "workers: \"0\" is not a whole number"},
      {"prometheus: {url: http://p}\nserver: {idlePollMicroseconds: 1ms}\n",
       "c.yaml:2: server.idlePollMicroseconds: \"1ms\" is not a whole number from 0 to 1000000"},
      {"prometheus: {url: http://p}\nserver: {idlePollMicroseconds: 1000001}\n",
       "server.idlePollMicroseconds: \"1000001\" is not a whole number"},
      {"prometheus: {url: http://p}\nleaderElection: {leaseDuration: 5s}\n",
       "retryPeriod < renewDeadline < leaseDuration"},
      {"prometheus: {url: http://p, insecureSkipVerify: yes}\n",
       "insecureSkipVerify: \"yes\" is not true or false"},
      {"prometheus: [1\n", "not valid YAML"},
  };
  for (const auto& c : cases) {
    auto r = parseControllerConfig(c.text, "c.yaml");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_THAT(r.status().message(), HasSubstr(c.message));
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
  }
}

TEST(ControllerConfig, Seconds) {
  EXPECT_EQ(*parseSeconds("15s"), 15);
  EXPECT_EQ(*parseSeconds("2m30s"), 150);
  EXPECT_EQ(*parseSeconds("1h"), 3600);
  EXPECT_FALSE(parseSeconds("0s").ok());
  EXPECT_FALSE(parseSeconds("5").ok());
  EXPECT_FALSE(parseSeconds("5d").ok());
  EXPECT_FALSE(parseSeconds("").ok());
}

TEST(Kubeconfig, ContextsClustersUsersAndData) {
  const std::string dir = ::testing::TempDir();
  const std::string path = dir + "/kubeconfig";
  std::ofstream(path) << R"(apiVersion: v1
kind: Config
current-context: dev
contexts:
- name: dev
  context: {cluster: c1, user: u1, namespace: shop}
- name: prod
  context: {cluster: c2, user: u2}
clusters:
- name: c1
  cluster: {server: "https://127.0.0.1:6443", certificate-authority: ca.pem}
- name: c2
  cluster: {server: "https://prod:443", certificate-authority-data: "LS0tLS1CRUdJTg=="}
users:
- name: u1
  user: {token: abc}
- name: u2
  user: {client-certificate-data: "Y2VydA==", client-key-data: "a2V5"}
)";
  auto dev = loadKubeconfig(path, "");
  ASSERT_TRUE(dev.ok()) << dev.status().message();
  EXPECT_EQ(dev->server, "https://127.0.0.1:6443");
  EXPECT_EQ(dev->caFile, dir + "/ca.pem");
  EXPECT_EQ(dev->token, "abc");
  EXPECT_EQ(dev->ns, "shop");
  auto prod = loadKubeconfig(path, "prod");
  ASSERT_TRUE(prod.ok()) << prod.status().message();
  EXPECT_EQ(prod->caData, "-----BEGIN");
  EXPECT_EQ(prod->clientCertData, "cert");
  EXPECT_EQ(prod->clientKeyData, "key");
  EXPECT_THAT(loadKubeconfig(path, "nope").status().message(),
              HasSubstr("context \"nope\" not found"));
}

}  // namespace
}  // namespace slogate::config
