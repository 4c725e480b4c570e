// Tests FakeApiServer over real HTTPS: a small synchronous Beast + OpenSSL
// client (below) that verifies the server certificate against caFile(), and
// kubectl when it is installed.
#include "fakes/fake_apiserver.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fakes/json_patch.h"
#include "net/http_server.h"
#include "net/test_pki.h"

namespace slogate::fakes {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

constexpr auto kIoTimeout = std::chrono::seconds(5);
constexpr const char* kRollouts = "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts";
constexpr const char* kDeployments = "/apis/apps/v1/namespaces/shop/deployments";
constexpr const char* kLeases = "/apis/coordination.k8s.io/v1/namespaces/shop/leases";
constexpr const char* kSlos = "/apis/slogate.dev/v1alpha1/namespaces/shop/servicelevelobjectives";
constexpr const char* kRolloutApiVersion = "argoproj.io/v1alpha1";

Json parse(const std::string& text) {
  Result<Json> r = Json::parse(text);
  EXPECT_TRUE(r.ok()) << r.status().message() << " in " << text;
  return r.ok() ? *r : Json();
}

// `object` with `patch` merged in (RFC 7386), for building test objects.
Json merged(const Json& object, const std::string& patch) {
  return mergePatch(object, parse(patch));
}

// "2026-01-02T03:04:05Z" (std::regex trips GCC 12 warnings under ASan).
bool isRfc3339Seconds(const std::string& s) {
  const std::string shape = "dddd-dd-ddTdd:dd:ddZ";
  if (s.size() != shape.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (shape[i] == 'd' ? std::isdigit(static_cast<unsigned char>(s[i])) == 0 : s[i] != shape[i]) {
      return false;
    }
  }
  return true;
}

std::string rv(const Json& object) {
  return object["metadata"]["resourceVersion"].text();
}

std::int64_t rvNumber(const Json& object) {
  return std::stoll(rv(object));
}

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::vector<std::string> warnings;           // every Warning header, in order
  std::string body;
  Json json;
};

// A synchronous HTTPS/1.1 client on one connection. Every operation runs on
// a private io_context with a deadline, so a misbehaving server fails the
// test instead of hanging it.
class HttpsClient {
 public:
  HttpsClient(const FakeApiServer& server, std::string token)
      : token_(std::move(token)), context_(ssl::context::tls_client) {
    const std::string url = server.url();
    port_ = static_cast<unsigned short>(std::stoi(url.substr(url.rfind(':') + 1)));
    context_.set_verify_mode(ssl::verify_peer);
    context_.load_verify_file(server.caFile());
  }

  bool connect(std::string* error) {
    stream_.emplace(ioc_, context_);
    // Check the certificate's IP SAN against the address we dial.
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(stream_->native_handle()), "127.0.0.1");
    beast::error_code ec = run([&](auto handler) {
      beast::get_lowest_layer(*stream_).async_connect(
          tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), handler);
    });
    if (!ec) {
      ec = run([&](auto handler) { stream_->async_handshake(ssl::stream_base::client, handler); });
    }
    if (ec) *error = ec.message();
    return !ec;
  }

  Response request(const std::string& method, const std::string& target,
                   const std::string& body = "", const std::string& contentType = "",
                   const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    Response response;
    if (!send(method, target, body, contentType, headers)) return response;
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::uint64_t{64} * 1024 * 1024);
    const beast::error_code ec =
        run([&](auto handler) { http::async_read(*stream_, buffer_, parser, handler); });
    if (ec) {
      ADD_FAILURE() << method << " " << target << ": reading the response: " << ec.message();
      return response;
    }
    return toResponse(parser.get());
  }

  Response get(const std::string& target) { return request("GET", target); }
  Response post(const std::string& target, const Json& body) {
    return request("POST", target, body.dump(), "application/json");
  }
  Response put(const std::string& target, const Json& body) {
    return request("PUT", target, body.dump(), "application/json");
  }
  Response patch(const std::string& target, const std::string& contentType,
                 const std::string& body) {
    return request("PATCH", target, body, contentType);
  }

  // Sends a watch request and reads the response header. On 200 the events
  // follow through nextEvent().
  Response openWatch(const std::string& target) {
    Response response;
    if (!send("GET", target, "", "", {})) return response;
    watch_.emplace();
    watch_->body_limit(std::numeric_limits<std::uint64_t>::max());
    lines_.clear();
    watch_->on_chunk_body(chunkCallback_);
    const beast::error_code ec =
        run([&](auto handler) { http::async_read_header(*stream_, buffer_, *watch_, handler); });
    if (ec) {
      ADD_FAILURE() << "watch " << target << ": " << ec.message();
      return response;
    }
    response.status = static_cast<int>(watch_->get().result_int());
    for (const auto& field : watch_->get()) {
      response.headers[lower(std::string(field.name_string()))] = std::string(field.value());
    }
    return response;
  }

  // The next event of the open watch; nullopt when the stream ended cleanly
  // (terminating chunk received). Fails the test on a timeout or error.
  std::optional<Json> nextEvent() {
    while (true) {
      const std::size_t newline = lines_.find('\n');
      if (newline != std::string::npos) {
        const std::string line = lines_.substr(0, newline);
        lines_.erase(0, newline + 1);
        return parse(line);
      }
      if (watch_->is_done()) return std::nullopt;
      const beast::error_code ec =
          run([&](auto handler) { http::async_read_some(*stream_, buffer_, *watch_, handler); });
      if (ec) {
        ADD_FAILURE() << "reading watch events: " << ec.message();
        return std::nullopt;
      }
    }
  }

  // Reads `count` events, skipping BOOKMARKs; fewer when the stream ends.
  std::vector<Json> nextEvents(std::size_t count) {
    std::vector<Json> events;
    while (events.size() < count) {
      std::optional<Json> event = nextEvent();
      if (!event) break;
      if ((*event)["type"].text() == "BOOKMARK") continue;
      events.push_back(std::move(*event));
    }
    return events;
  }

 private:
  static std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  template <typename Start>
  beast::error_code run(Start start) {
    beast::error_code result = asio::error::would_block;
    beast::get_lowest_layer(*stream_).expires_after(kIoTimeout);
    start([&result](const beast::error_code& ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  bool send(const std::string& method, const std::string& target, const std::string& body,
            const std::string& contentType,
            const std::vector<std::pair<std::string, std::string>>& headers) {
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
    req.set(http::field::user_agent, "slogate-fakes-test");
    req.set(http::field::accept, "application/json");
    if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
    if (!contentType.empty()) req.set(http::field::content_type, contentType);
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body() = body;
    req.prepare_payload();
    const beast::error_code ec =
        run([&](auto handler) { http::async_write(*stream_, req, handler); });
    if (ec) ADD_FAILURE() << method << " " << target << ": writing the request: " << ec.message();
    return !ec;
  }

  static Response toResponse(const http::response<http::string_body>& res) {
    Response response;
    response.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      response.headers[lower(std::string(field.name_string()))] = std::string(field.value());
      if (field.name() == http::field::warning) response.warnings.emplace_back(field.value());
    }
    response.body = res.body();
    if (Result<Json> json = Json::parse(response.body)) response.json = std::move(*json);
    return response;
  }

  std::string token_;
  unsigned short port_ = 0;
  asio::io_context ioc_;
  ssl::context context_;
  std::optional<ssl::stream<beast::tcp_stream>> stream_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> watch_;
  std::string lines_;
  std::function<std::size_t(std::uint64_t, beast::string_view, beast::error_code&)> chunkCallback_ =
      [this](std::uint64_t, beast::string_view data, beast::error_code&) {
        lines_.append(data.data(), data.size());
        return data.size();
      };
};

void expectStatus(const Response& r, int code, const std::string& reason) {
  EXPECT_EQ(r.status, code) << r.body;
  EXPECT_EQ(r.json["kind"].text(), "Status") << r.body;
  EXPECT_EQ(r.json["apiVersion"].text(), "v1") << r.body;
  EXPECT_EQ(r.json["status"].text(), "Failure") << r.body;
  EXPECT_EQ(r.json["reason"].text(), reason) << r.body;
  EXPECT_EQ(r.json["code"].asInt(), code) << r.body;
  EXPECT_EQ(r.headers.count("content-type") ? r.headers.at("content-type") : "",
            "application/json");
}

class FakeApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeApiServerOptions options;
    options.forbiddenTokens = {"forbidden-token"};
    std::string error;
    server_ = FakeApiServer::start(options, &error);
    ASSERT_NE(server_, nullptr) << error;
    // Like a real server, HTTP creates need the namespace to exist.
    server_->apply(parse(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}})"));
  }

  std::unique_ptr<HttpsClient> connect(const std::string& token = "test-token") {
    auto client = std::make_unique<HttpsClient>(*server_, token);
    std::string error;
    EXPECT_TRUE(client->connect(&error)) << error;
    return client;
  }

  // The Argo Rollouts canary example (testdata/rollout-canary.json).
  static Json rollout(const std::string& name = "rollout-canary") {
    std::ifstream in(std::string(SLOGATE_SOURCE_DIR) + "/tests/fakes/testdata/rollout-canary.json");
    std::stringstream text;
    text << in.rdbuf();
    return merged(parse(text.str()), R"({"metadata":{"name":")" + name + R"("}})");
  }

  static Json deployment(const std::string& name) {
    return parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":")" + name +
                 R"(","namespace":"shop"},"spec":{"replicas":2}})");
  }

  std::unique_ptr<FakeApiServer> server_;
};

TEST_F(FakeApiServerTest, AuthenticationAndAuthorization) {
  expectStatus(connect("")->get("/api"), 401, "Unauthorized");
  expectStatus(connect("wrong")->get(kRollouts), 401, "Unauthorized");
  const Response forbidden = connect("forbidden-token")->get(kRollouts);
  expectStatus(forbidden, 403, "Forbidden");
  EXPECT_NE(forbidden.json["message"].text().find("forbidden: User"), std::string::npos);
  expectStatus(connect("forbidden-token")->get("/api"), 403, "Forbidden");

  const Response version = connect()->get("/version");
  EXPECT_EQ(version.status, 200);
  EXPECT_EQ(version.json["major"].text(), "1");
  EXPECT_EQ(server_->requests().size(), 5u);  // recorded before authentication
}

TEST_F(FakeApiServerTest, Discovery) {
  auto c = connect();
  const Response api = c->get("/api");
  ASSERT_EQ(api.status, 200);
  EXPECT_EQ(api.json["kind"].text(), "APIVersions");
  EXPECT_EQ(api.json["versions"][0].text(), "v1");

  const Response apis = c->get("/apis");
  ASSERT_EQ(apis.status, 200);
  EXPECT_EQ(apis.json["kind"].text(), "APIGroupList");
  std::vector<std::string> groups;
  for (const Json& g : apis.json["groups"].items()) {
    groups.push_back(g["name"].text());
    EXPECT_EQ(g["preferredVersion"]["groupVersion"].text(),
              g["versions"][0]["groupVersion"].text());
  }
  EXPECT_EQ(groups, (std::vector<std::string>{"apps", "argoproj.io", "slogate.dev",
                                              "coordination.k8s.io", "events.k8s.io"}));

  auto resources = [&](const std::string& path) {
    const Response r = c->get(path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.json["kind"].text(), "APIResourceList") << path;
    std::map<std::string, Json> byName;
    for (const Json& res : r.json["resources"].items()) byName[res["name"].text()] = res;
    return byName;
  };
  auto core = resources("/api/v1");
  EXPECT_FALSE(core["namespaces"]["namespaced"].boolValue());
  EXPECT_EQ(core["namespaces"]["kind"].text(), "Namespace");
  EXPECT_TRUE(core["events"]["namespaced"].boolValue());
  auto argo = resources("/apis/argoproj.io/v1alpha1");
  EXPECT_EQ(argo["rollouts"]["kind"].text(), "Rollout");
  EXPECT_EQ(argo["rollouts"]["singularName"].text(), "rollout");
  EXPECT_EQ(argo["rollouts"]["verbs"].items().size(), 8u);
  EXPECT_EQ(argo["rollouts/status"]["verbs"].items().size(), 3u);
  EXPECT_EQ(resources("/apis/slogate.dev/v1alpha1").count("servicelevelobjectives/status"), 1u);
  EXPECT_EQ(resources("/apis/coordination.k8s.io/v1")["leases"]["kind"].text(), "Lease");
  EXPECT_EQ(resources("/apis/events.k8s.io/v1")["events"]["kind"].text(), "Event");
  EXPECT_EQ(resources("/apis/apps/v1").count("deployments/status"), 1u);

  const Response group = c->get("/apis/argoproj.io");
  EXPECT_EQ(group.json["kind"].text(), "APIGroup");
  EXPECT_EQ(group.json["preferredVersion"]["version"].text(), "v1alpha1");
  expectStatus(c->get("/apis/nope.io/v1"), 404, "NotFound");
  expectStatus(c->get("/apis/argoproj.io/v1alpha1/namespaces/shop/widgets"), 404, "NotFound");
  expectStatus(c->get("/apis/argoproj.io/v1alpha1/rollouts/x"), 404, "NotFound");
}

TEST_F(FakeApiServerTest, CreateGetListUpdateDelete) {
  auto c = connect();
  const Response created = c->post(kRollouts, rollout());
  ASSERT_EQ(created.status, 201) << created.body;
  const Json& meta = created.json["metadata"];
  EXPECT_EQ(meta["name"].text(), "rollout-canary");
  EXPECT_EQ(meta["namespace"].text(), "shop");
  EXPECT_EQ(meta["uid"].text().size(), 36u);
  EXPECT_EQ(rv(created.json), std::to_string(server_->resourceVersion()));
  EXPECT_TRUE(isRfc3339Seconds(meta["creationTimestamp"].text())) << meta.dump();
  EXPECT_EQ(meta["generation"].asInt(), 1);

  expectStatus(c->post(kRollouts, rollout()), 409, "AlreadyExists");

  const std::string path = std::string(kRollouts) + "/rollout-canary";
  const Response got = c->get(path);
  ASSERT_EQ(got.status, 200);
  EXPECT_TRUE(jsonEqual(got.json, created.json));

  const Response list = c->get(kRollouts);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json["kind"].text(), "RolloutList");
  EXPECT_EQ(list.json["apiVersion"].text(), kRolloutApiVersion);
  EXPECT_EQ(list.json["metadata"]["resourceVersion"].text(),
            std::to_string(server_->resourceVersion()));
  ASSERT_EQ(list.json["items"].items().size(), 1u);
  EXPECT_EQ(list.json["items"][0]["kind"].text(), "Rollout");  // custom resources keep it
  EXPECT_EQ(c->get("/apis/argoproj.io/v1alpha1/rollouts").json["items"].items().size(), 1u);

  const Json v2 = merged(created.json, R"({"spec":{"replicas":6}})");
  const Response updated = c->put(path, v2);
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_GT(rvNumber(updated.json), rvNumber(created.json));
  const Response stale = c->put(path, merged(v2, R"({"spec":{"replicas":7}})"));
  expectStatus(stale, 409, "Conflict");
  EXPECT_NE(stale.json["message"].text().find("the object has been modified"), std::string::npos);
  EXPECT_EQ(stale.json["details"]["kind"].text(), "rollouts");
  // Custom resources refuse unconditional updates.
  expectStatus(c->put(path, merged(v2, R"({"metadata":{"resourceVersion":null}})")), 422,
               "Invalid");
  expectStatus(c->put(path, merged(updated.json, R"({"metadata":{"name":"other"}})")), 400,
               "BadRequest");

  const Response deleted = c->request("DELETE", path);
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(deleted.json["status"].text(), "Success");
  EXPECT_EQ(deleted.json["details"]["name"].text(), "rollout-canary");
  const Response gone = c->get(path);
  expectStatus(gone, 404, "NotFound");
  EXPECT_EQ(gone.json["message"].text(), "rollouts.argoproj.io \"rollout-canary\" not found");
  expectStatus(c->request("DELETE", path), 404, "NotFound");

  const Response noNamespace = c->post("/apis/argoproj.io/v1alpha1/namespaces/nowhere/rollouts",
                                       merged(rollout(), R"({"metadata":{"namespace":null}})"));
  expectStatus(noNamespace, 404, "NotFound");
  EXPECT_EQ(noNamespace.json["message"].text(), "namespaces \"nowhere\" not found");
  expectStatus(c->post(kRollouts, merged(rollout(), R"({"metadata":{"name":"Bad_Name"}})")), 422,
               "Invalid");
  const Response generated =
      c->post(kRollouts, merged(rollout(), R"({"metadata":{"name":null,"generateName":"ro-"}})"));
  EXPECT_EQ(generated.status, 201);
  const std::string generatedName = generated.json["metadata"]["name"].text();
  EXPECT_EQ(generatedName.size(), 8u);
  EXPECT_EQ(generatedName.rfind("ro-", 0), 0u) << generatedName;
}

TEST_F(FakeApiServerTest, BuiltinsListWithoutItemKindsAndAllowUnconditionalUpdates) {
  auto c = connect();
  ASSERT_EQ(c->post(kDeployments, deployment("web")).status, 201);
  const Response list = c->get(kDeployments);
  ASSERT_EQ(list.json["items"].items().size(), 1u);
  EXPECT_FALSE(list.json["items"][0].has("kind"));  // like the real server's typed lists
  EXPECT_EQ(list.json["kind"].text(), "DeploymentList");
  const Response updated = c->put(std::string(kDeployments) + "/web",
                                  merged(deployment("web"), R"({"spec":{"replicas":4}})"));
  EXPECT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(updated.json["metadata"]["generation"].asInt(), 2);
  EXPECT_EQ(updated.json["kind"].text(), "Deployment");
}

TEST_F(FakeApiServerTest, GenerationMovesOnSpecChangesOnly) {
  auto c = connect();
  const std::string path = std::string(kRollouts) + "/rollout-canary";
  Response r = c->post(kRollouts, rollout());
  ASSERT_EQ(r.status, 201);

  r = c->put(path, merged(r.json, R"({"metadata":{"labels":{"team":"checkout"}}})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["metadata"]["generation"].asInt(), 1);

  r = c->put(path, merged(r.json, R"({"spec":{"replicas":9}})"));
  EXPECT_EQ(r.json["metadata"]["generation"].asInt(), 2);

  r = c->put(path + "/status", merged(r.json, R"({"status":{"phase":"Healthy"}})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["metadata"]["generation"].asInt(), 2);
  EXPECT_EQ(r.json["status"]["phase"].text(), "Healthy");

  r = c->patch(path, "application/merge-patch+json", R"({"metadata":{"annotations":{"a":"b"}}})");
  EXPECT_EQ(r.json["metadata"]["generation"].asInt(), 2);
  r = c->patch(path, "application/merge-patch+json", R"({"spec":{"paused":true}})");
  EXPECT_EQ(r.json["metadata"]["generation"].asInt(), 3);

  // Writing the same object again is a no-op: no new resourceVersion.
  const std::int64_t before = server_->resourceVersion();
  const Response same = c->put(path, r.json);
  EXPECT_EQ(same.status, 200);
  EXPECT_EQ(rv(same.json), rv(r.json));
  EXPECT_EQ(server_->resourceVersion(), before);
}

TEST_F(FakeApiServerTest, StatusSubresourceRules) {
  auto c = connect();
  const std::string path = std::string(kRollouts) + "/rollout-canary";
  Response r = c->post(kRollouts, merged(rollout(), R"({"status":{"phase":"Healthy"}})"));
  ASSERT_EQ(r.status, 201);
  EXPECT_FALSE(r.json.has("status"));  // ignored on create

  const Response ignored = c->put(path, merged(r.json, R"({"status":{"phase":"Degraded"}})"));
  EXPECT_EQ(ignored.status, 200);
  EXPECT_FALSE(ignored.json.has("status"));
  EXPECT_EQ(rv(ignored.json), rv(r.json));  // nothing else changed: no write at all

  r = c->put(path + "/status",
             merged(r.json, R"({"spec":{"replicas":99},"status":{"phase":"Healthy"}})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["status"]["phase"].text(), "Healthy");
  EXPECT_EQ(r.json["spec"]["replicas"].asInt(), 5);  // only status changes through /status
  EXPECT_EQ(r.json["metadata"]["generation"].asInt(), 1);
  expectStatus(c->put(path + "/status", merged(r.json, R"({"metadata":{"resourceVersion":"1"}})")),
               409, "Conflict");

  r = c->patch(path, "application/merge-patch+json",
               R"({"spec":{"paused":true},"status":{"phase":"Degraded"}})");
  EXPECT_TRUE(r.json["spec"]["paused"].boolValue());
  EXPECT_EQ(r.json["status"]["phase"].text(), "Healthy");

  r = c->patch(path + "/status", "application/merge-patch+json",
               R"({"spec":{"replicas":1},"status":{"phase":"Progressing"}})");
  EXPECT_EQ(r.json["status"]["phase"].text(), "Progressing");
  EXPECT_EQ(r.json["spec"]["replicas"].asInt(), 5);
  EXPECT_EQ(c->get(path + "/status").json["status"]["phase"].text(), "Progressing");

  // ServiceLevelObjectives have a status subresource too; Leases do not.
  const Json slo = parse(R"({"apiVersion":"slogate.dev/v1alpha1","kind":"ServiceLevelObjective",
      "metadata":{"name":"checkout"},"spec":{"objective":"99.9"},"status":{"budget":"1"}})");
  const Response createdSlo = c->post(kSlos, slo);
  ASSERT_EQ(createdSlo.status, 201) << createdSlo.body;
  EXPECT_FALSE(createdSlo.json.has("status"));
  const Response sloStatus = c->put(std::string(kSlos) + "/checkout/status",
                                    merged(createdSlo.json, R"({"status":{"budget":"0.5"}})"));
  EXPECT_EQ(sloStatus.json["status"]["budget"].text(), "0.5");
  expectStatus(c->get(std::string(kLeases) + "/x/status"), 404, "NotFound");
}

TEST_F(FakeApiServerTest, MergeAndJsonPatches) {
  auto c = connect();
  const std::string path = std::string(kRollouts) + "/rollout-canary";
  const Response created = c->post(kRollouts, rollout());
  ASSERT_EQ(created.status, 201);

  Response r = c->patch(path, "application/merge-patch+json", R"({"spec":{"paused":true}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.json["spec"]["paused"].boolValue());
  expectStatus(c->patch(path, "application/merge-patch+json",
                        R"({"metadata":{"resourceVersion":")" + rv(created.json) +
                            R"("},"spec":{"paused":false}})"),
               409, "Conflict");
  r = c->patch(
      path, "application/merge-patch+json; charset=utf-8",
      R"({"metadata":{"resourceVersion":")" + rv(r.json) + R"("},"spec":{"paused":false}})");
  EXPECT_EQ(r.status, 200) << r.body;

  r = c->patch(path, "application/json-patch+json",
               R"([{"op":"test","path":"/spec/replicas","value":5},
                   {"op":"replace","path":"/spec/replicas","value":7},
                   {"op":"add","path":"/metadata/labels/track","value":"canary"}])");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["spec"]["replicas"].asInt(), 7);
  EXPECT_EQ(r.json["metadata"]["labels"]["track"].text(), "canary");
  expectStatus(c->patch(path, "application/json-patch+json",
                        R"([{"op":"test","path":"/spec/replicas","value":5}])"),
               422, "Invalid");
  expectStatus(c->patch(path, "application/json-patch+json", R"({"op":"add"})"), 400, "BadRequest");
  expectStatus(c->patch(path, "application/merge-patch+json", "{not json"), 400, "BadRequest");
  // Custom resources have no strategic merge patch; built-ins do.
  expectStatus(c->patch(path, "application/strategic-merge-patch+json", R"({"spec":{}})"), 415,
               "UnsupportedMediaType");
  expectStatus(c->patch(path, "text/plain", "{}"), 415, "UnsupportedMediaType");
  expectStatus(c->patch(std::string(kRollouts) + "/missing", "application/merge-patch+json", "{}"),
               404, "NotFound");
  ASSERT_EQ(c->post(kDeployments, deployment("web")).status, 201);
  r = c->patch(std::string(kDeployments) + "/web", "application/strategic-merge-patch+json",
               R"({"spec":{"replicas":3}})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["spec"]["replicas"].asInt(), 3);
}

TEST_F(FakeApiServerTest, WatchFromListResourceVersionReplaysLaterEventsInOrder) {
  server_->apply(rollout("a"));
  auto c = connect();
  const Response list = c->get(kRollouts);
  const std::string listRv = list.json["metadata"]["resourceVersion"].text();
  server_->apply(rollout("b"));
  server_->apply(merged(rollout("a"), R"({"spec":{"replicas":2}})"));
  ASSERT_TRUE(server_->remove(kRolloutApiVersion, "Rollout", "shop", "b"));

  auto w = connect();
  Response head = w->openWatch(std::string(kRollouts) + "?watch=1&resourceVersion=" + listRv);
  ASSERT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["transfer-encoding"], "chunked");
  EXPECT_EQ(head.headers["content-type"], "application/json");
  const std::vector<Json> events = w->nextEvents(3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["type"].text(), "ADDED");
  EXPECT_EQ(events[0]["object"]["metadata"]["name"].text(), "b");
  EXPECT_EQ(events[1]["type"].text(), "MODIFIED");
  EXPECT_EQ(events[1]["object"]["spec"]["replicas"].asInt(), 2);
  EXPECT_EQ(events[2]["type"].text(), "DELETED");
  EXPECT_EQ(events[2]["object"]["metadata"]["name"].text(), "b");
  EXPECT_GT(rvNumber(events[0]["object"]), std::stoll(listRv));
  EXPECT_GT(rvNumber(events[1]["object"]), rvNumber(events[0]["object"]));
  EXPECT_GT(rvNumber(events[2]["object"]), rvNumber(events[1]["object"]));
  EXPECT_EQ(events[0]["object"]["kind"].text(), "Rollout");

  // Live events follow on the same stream, also from HTTP writes.
  c->patch(std::string(kRollouts) + "/a", "application/merge-patch+json",
           R"({"spec":{"paused":true}})");
  const std::vector<Json> live = w->nextEvents(1);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0]["type"].text(), "MODIFIED");
  EXPECT_EQ(rvNumber(live[0]["object"]), server_->resourceVersion());
}

TEST_F(FakeApiServerTest, WatchFromZeroStartsWithSyntheticAdded) {
  server_->apply(rollout("b"));
  server_->apply(rollout("a"));
  server_->apply(merged(rollout("elsewhere"), R"({"metadata":{"namespace":"other"}})"));
  auto w = connect();
  ASSERT_EQ(w->openWatch(std::string(kRollouts) + "?watch=true&resourceVersion=0").status, 200);
  const std::vector<Json> initial = w->nextEvents(2);
  ASSERT_EQ(initial.size(), 2u);
  EXPECT_EQ(initial[0]["type"].text(), "ADDED");
  EXPECT_EQ(initial[0]["object"]["metadata"]["name"].text(), "a");
  EXPECT_EQ(initial[1]["object"]["metadata"]["name"].text(), "b");
  server_->apply(merged(rollout("c"), R"({"metadata":{"namespace":"other"}})"));  // filtered
  server_->apply(rollout("c"));
  const std::vector<Json> live = w->nextEvents(1);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0]["type"].text(), "ADDED");
  EXPECT_EQ(live[0]["object"]["metadata"]["namespace"].text(), "shop");
  EXPECT_EQ(live[0]["object"]["metadata"]["name"].text(), "c");

  // All namespaces: /apis/<group>/<version>/<plural>.
  auto all = connect();
  ASSERT_EQ(all->openWatch("/apis/argoproj.io/v1alpha1/rollouts?watch=1").status, 200);
  EXPECT_EQ(all->nextEvents(5).size(), 5u);
}

TEST_F(FakeApiServerTest, SelectorsFilterListsAndWatches) {
  server_->apply(merged(rollout("a"), R"({"metadata":{"labels":{"team":"x"}}})"));
  server_->apply(merged(rollout("b"), R"({"metadata":{"labels":{"team":"y"}}})"));
  auto c = connect();
  auto names = [&](const std::string& query) {
    std::vector<std::string> out;
    const Response r = c->get(std::string(kRollouts) + "?" + query);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    for (const Json& item : r.json["items"].items()) out.push_back(item["metadata"]["name"].text());
    return out;
  };
  using Names = std::vector<std::string>;
  EXPECT_EQ(names("labelSelector=team%3Dx"), Names{"a"});
  EXPECT_EQ(names("labelSelector=team%3Dx,app%3Drollout-canary"), Names{"a"});
  EXPECT_EQ(names("labelSelector=team!%3Dx"), Names{"b"});
  EXPECT_EQ(names("labelSelector=team+in+(x,y)"), (Names{"a", "b"}));
  EXPECT_EQ(names("labelSelector=!team"), Names{});
  EXPECT_EQ(names("fieldSelector=metadata.name%3Db"), Names{"b"});
  EXPECT_EQ(names("fieldSelector=metadata.namespace%3Dshop,metadata.name!%3Db"), Names{"a"});
  expectStatus(c->get(std::string(kRollouts) + "?fieldSelector=spec.replicas%3D1"), 400,
               "BadRequest");
  expectStatus(c->get(std::string(kRollouts) + "?labelSelector=team+%3D%3D%3D+x"), 400,
               "BadRequest");

  auto w = connect();
  ASSERT_EQ(w->openWatch(std::string(kRollouts) + "?watch=1&labelSelector=team%3Dx").status, 200);
  std::vector<Json> events = w->nextEvents(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["object"]["metadata"]["name"].text(), "a");
  server_->apply(merged(rollout("a"), R"({"metadata":{"labels":{"team":"y"}}})"));
  server_->apply(merged(rollout("b"), R"({"metadata":{"labels":{"team":"x"}}})"));
  events = w->nextEvents(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["type"].text(), "DELETED");  // left the selection
  EXPECT_EQ(events[0]["object"]["metadata"]["name"].text(), "a");
  EXPECT_EQ(events[1]["type"].text(), "ADDED");  // entered it
  EXPECT_EQ(events[1]["object"]["metadata"]["name"].text(), "b");
}

TEST_F(FakeApiServerTest, PaginatedListsAreConsistentSnapshots) {
  for (const char* name : {"r1", "r2", "r3", "r4", "r5"}) server_->apply(rollout(name));
  auto c = connect();
  Response page = c->get(std::string(kRollouts) + "?limit=2");
  ASSERT_EQ(page.status, 200);
  ASSERT_EQ(page.json["items"].items().size(), 2u);
  EXPECT_EQ(page.json["metadata"]["remainingItemCount"].asInt(), 3);
  const std::string listRv = page.json["metadata"]["resourceVersion"].text();
  server_->apply(rollout("r6"));  // after the snapshot
  server_->remove(kRolloutApiVersion, "Rollout", "shop", "r4");
  std::vector<std::string> names;
  for (const Json& item : page.json["items"].items())
    names.push_back(item["metadata"]["name"].text());
  while (!page.json["metadata"]["continue"].text().empty()) {
    page = c->get(std::string(kRollouts) +
                  "?limit=2&continue=" + page.json["metadata"]["continue"].text());
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_EQ(page.json["metadata"]["resourceVersion"].text(), listRv);
    for (const Json& item : page.json["items"].items()) {
      names.push_back(item["metadata"]["name"].text());
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"r1", "r2", "r3", "r4", "r5"}));
  // resourceVersion=0 is served from the watch cache, which ignores limit.
  EXPECT_EQ(
      c->get(std::string(kRollouts) + "?limit=2&resourceVersion=0").json["items"].items().size(),
      5u);
  const Response exact =
      c->get(std::string(kRollouts) + "?resourceVersionMatch=Exact&resourceVersion=" + listRv);
  EXPECT_EQ(exact.json["items"].items().size(), 5u);
  expectStatus(c->get(std::string(kRollouts) + "?resourceVersion=999999"), 504, "Timeout");
}

TEST_F(FakeApiServerTest, BookmarksCarryTheCurrentResourceVersion) {
  server_->setBookmarkInterval(std::chrono::milliseconds(100));
  server_->apply(rollout("a"));
  const std::string current = std::to_string(server_->resourceVersion());
  auto w = connect();
  ASSERT_EQ(w->openWatch(std::string(kRollouts) +
                         "?watch=1&allowWatchBookmarks=true&resourceVersion=" + current)
                .status,
            200);
  const std::optional<Json> bookmark = w->nextEvent();
  ASSERT_TRUE(bookmark.has_value());
  EXPECT_EQ((*bookmark)["type"].text(), "BOOKMARK");
  EXPECT_EQ((*bookmark)["object"]["kind"].text(), "Rollout");
  EXPECT_EQ((*bookmark)["object"]["apiVersion"].text(), kRolloutApiVersion);
  EXPECT_EQ((*bookmark)["object"]["metadata"]["resourceVersion"].text(), current);

  // sendInitialEvents (the WatchList protocol): ADDED for the state, then a
  // bookmark annotated k8s.io/initial-events-end.
  auto wl = connect();
  ASSERT_EQ(wl->openWatch(std::string(kRollouts) +
                          "?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&"
                          "resourceVersionMatch=NotOlderThan")
                .status,
            200);
  std::optional<Json> first = wl->nextEvent();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ((*first)["type"].text(), "ADDED");
  std::optional<Json> end = wl->nextEvent();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ((*end)["type"].text(), "BOOKMARK");
  EXPECT_EQ((*end)["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"].text(),
            "true");
}

TEST_F(FakeApiServerTest, CompactionExpiresOldResourceVersions) {
  server_->apply(rollout("a"));
  const std::string oldRv = std::to_string(server_->resourceVersion());
  server_->apply(rollout("b"));
  server_->compact();
  const std::string current = std::to_string(server_->resourceVersion());

  auto w = connect();
  const Response head = w->openWatch(std::string(kRollouts) + "?watch=1&resourceVersion=" + oldRv);
  ASSERT_EQ(head.status, 200);  // the error travels as an event, like a real server
  const std::optional<Json> error = w->nextEvent();
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ((*error)["type"].text(), "ERROR");
  const Json& status = (*error)["object"];
  EXPECT_EQ(status["kind"].text(), "Status");
  EXPECT_EQ(status["code"].asInt(), 410);
  EXPECT_EQ(status["reason"].text(), "Expired");
  EXPECT_EQ(status["message"].text(), "too old resource version: " + oldRv + " (" + current + ")");
  EXPECT_FALSE(w->nextEvent().has_value());  // and the stream ends
  EXPECT_EQ(w->get("/api").status, 200);     // on a connection that stays usable

  auto c = connect();
  expectStatus(
      c->get(std::string(kRollouts) + "?resourceVersionMatch=Exact&resourceVersion=" + oldRv), 410,
      "Expired");
  // A plain resourceVersion means "not older than": served from current state.
  EXPECT_EQ(c->get(std::string(kRollouts) + "?resourceVersion=" + oldRv).status, 200);

  auto fresh = connect();
  ASSERT_EQ(fresh->openWatch(std::string(kRollouts) + "?watch=1&resourceVersion=" + current).status,
            200);
  server_->apply(rollout("c"));
  const std::vector<Json> events = fresh->nextEvents(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["type"].text(), "ADDED");
}

TEST_F(FakeApiServerTest, CloseWatchesEndsStreamsCleanly) {
  auto w1 = connect();
  auto w2 = connect();
  ASSERT_EQ(w1->openWatch(std::string(kRollouts) + "?watch=1&resourceVersion=0").status, 200);
  ASSERT_EQ(w2->openWatch("/api/v1/namespaces?watch=1").status, 200);
  EXPECT_EQ(w2->nextEvents(5).size(), 5u);  // default, kube-*, shop
  server_->closeWatches();
  EXPECT_FALSE(w1->nextEvent().has_value());
  EXPECT_FALSE(w2->nextEvent().has_value());
  // Keep-alive after a watch: the same connection serves the next request.
  EXPECT_EQ(w1->get(kRollouts).status, 200);
  ASSERT_EQ(w1->openWatch(std::string(kRollouts) + "?watch=1&timeoutSeconds=1").status, 200);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(w1->nextEvent().has_value());  // timeoutSeconds ends it
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
}

TEST_F(FakeApiServerTest, HeldWatchEventsArriveInOrderAfterTheReadsSawTheWrites) {
  auto c = connect();
  const std::string rv = c->get(kRollouts).json["metadata"]["resourceVersion"].text();
  auto w = connect();
  ASSERT_EQ(w->openWatch(std::string(kRollouts) + "?watch=1&resourceVersion=" + rv).status, 200);
  server_->holdWatchEvents();
  server_->apply(rollout("a"));
  c->patch(std::string(kRollouts) + "/a", "application/merge-patch+json",
           R"({"spec":{"replicas":2}})");
  // Reads see the writes at once; the watch does not, until released.
  EXPECT_EQ(c->get(std::string(kRollouts) + "/a").json["spec"]["replicas"].asInt(), 2);
  std::atomic<bool> released{false};
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    released = true;
    server_->releaseWatchEvents();
  });
  const std::vector<Json> events = w->nextEvents(2);
  const bool afterRelease = released.load();
  release.join();
  EXPECT_TRUE(afterRelease) << "an event came through while held";
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["type"].text(), "ADDED");
  EXPECT_EQ(events[1]["type"].text(), "MODIFIED");
  EXPECT_EQ(events[1]["object"]["spec"]["replicas"].asInt(), 2);
  // Live again: the next write is sent at once.
  c->patch(std::string(kRollouts) + "/a", "application/merge-patch+json",
           R"({"spec":{"replicas":3}})");
  const std::vector<Json> live = w->nextEvents(1);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0]["object"]["spec"]["replicas"].asInt(), 3);
}

TEST_F(FakeApiServerTest, InjectedFailuresThenSuccess) {
  server_->failNext(429, 2, "1");
  auto c = connect();
  for (int i = 0; i < 2; ++i) {
    const Response r = c->get(kRollouts);
    expectStatus(r, 429, "TooManyRequests");
    EXPECT_EQ(r.headers.count("retry-after") ? r.headers.at("retry-after") : "", "1");
    EXPECT_EQ(r.json["details"]["retryAfterSeconds"].asInt(), 1);
  }
  EXPECT_EQ(c->get(kRollouts).status, 200);
  server_->failNext(503, 1);
  const Response unavailable = c->get(kRollouts);
  expectStatus(unavailable, 503, "ServiceUnavailable");
  EXPECT_EQ(unavailable.headers.count("retry-after"), 0u);
  EXPECT_EQ(c->get(kRollouts).status, 200);
}

TEST_F(FakeApiServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto c = connect();
  for (int i = 0; i < 3; ++i) {
    const Response r = c->get("/apis");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.headers.count("connection") ? r.headers.at("connection") : "", "");
  }
  EXPECT_EQ(c->post(kRollouts, rollout()).status, 201);
  EXPECT_EQ(c->get(kRollouts).json["items"].items().size(), 1u);
}

TEST_F(FakeApiServerTest, RecordsRequests) {
  auto c = connect();
  server_->clearRequests();
  const std::string body = rollout().dump();
  c->request("POST", kRollouts, body, "application/json");
  c->get(std::string(kRollouts) + "?labelSelector=app%3Dx");
  const std::vector<RecordedRequest> requests = server_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, kRollouts);
  EXPECT_EQ(requests[0].contentType, "application/json");
  EXPECT_EQ(requests[0].body, body);
  EXPECT_EQ(requests[1].method, "GET");
  EXPECT_EQ(requests[1].query, "labelSelector=app%3Dx");
  server_->clearRequests();
  EXPECT_TRUE(server_->requests().empty());
}

TEST_F(FakeApiServerTest, LeasesNeedFreshResourceVersions) {
  auto a = connect();
  auto b = connect();
  const Json lease = parse(R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease",
      "metadata":{"name":"slogate-leader"},"spec":{"holderIdentity":"a","leaseDurationSeconds":15,
      "acquireTime":"2026-01-01T00:00:00.000000Z","renewTime":"2026-01-01T00:00:00.000000Z",
      "leaseTransitions":0}})");
  const Response created = a->post(kLeases, lease);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_FALSE(created.json["metadata"].has("generation"));
  expectStatus(b->post(kLeases, merged(lease, R"({"spec":{"holderIdentity":"b"}})")), 409,
               "AlreadyExists");

  const std::string path = std::string(kLeases) + "/slogate-leader";
  const Json seenByA = a->get(path).json;
  const Json seenByB = b->get(path).json;
  const Response renewed =
      a->put(path, merged(seenByA, R"({"spec":{"renewTime":"2026-01-01T00:00:05.000000Z"}})"));
  EXPECT_EQ(renewed.status, 200) << renewed.body;
  const Response takeover =
      b->put(path, merged(seenByB, R"({"spec":{"holderIdentity":"b","leaseTransitions":1}})"));
  expectStatus(takeover, 409, "Conflict");
  expectStatus(b->put(path, merged(seenByB, R"({"metadata":{"resourceVersion":null}})")), 422,
               "Invalid");
  EXPECT_EQ(a->get(path).json["spec"]["holderIdentity"].text(), "a");
}

TEST_F(FakeApiServerTest, FinalizersDelayDeletion) {
  server_->apply(merged(rollout("a"), R"({"metadata":{"finalizers":["slogate.dev/cleanup"]}})"));
  auto w = connect();
  ASSERT_EQ(w->openWatch(std::string(kRollouts) +
                         "?watch=1&resourceVersion=" + std::to_string(server_->resourceVersion()))
                .status,
            200);
  auto c = connect();
  const std::string path = std::string(kRollouts) + "/a";
  const Response deleting = c->request("DELETE", path);
  ASSERT_EQ(deleting.status, 200) << deleting.body;
  EXPECT_FALSE(deleting.json["metadata"]["deletionTimestamp"].text().empty());
  EXPECT_EQ(deleting.json["metadata"]["generation"].asInt(), 2);
  EXPECT_EQ(c->get(path).status, 200);
  Response r =
      c->patch(path, "application/merge-patch+json", R"({"metadata":{"finalizers":null}})");
  EXPECT_EQ(r.status, 200) << r.body;
  expectStatus(c->get(path), 404, "NotFound");
  const std::vector<Json> events = w->nextEvents(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["type"].text(), "MODIFIED");
  EXPECT_EQ(events[1]["type"].text(), "DELETED");

  // Delete preconditions.
  server_->apply(rollout("b"));
  expectStatus(
      c->request("DELETE", std::string(kRollouts) + "/b",
                 R"({"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"x"}})",
                 "application/json"),
      409, "Conflict");
}

TEST_F(FakeApiServerTest, EventsInBothGroups) {
  auto c = connect();
  const Json coreEvent = parse(R"({"apiVersion":"v1","kind":"Event",
      "metadata":{"name":"checkout.1"},"involvedObject":{"kind":"Rollout","name":"checkout",
      "namespace":"shop"},"reason":"Halted","message":"budget burn","type":"Warning",
      "source":{"component":"slogate"}})");
  ASSERT_EQ(c->post("/api/v1/namespaces/shop/events", coreEvent).status, 201);
  const Json newEvent = parse(R"({"apiVersion":"events.k8s.io/v1","kind":"Event",
      "metadata":{"generateName":"checkout."},"regarding":{"kind":"Rollout","name":"checkout",
      "namespace":"shop"},"reason":"Halted","note":"budget burn","type":"Warning",
      "action":"Halt","reportingController":"slogate.dev/controller",
      "reportingInstance":"slogate-0","eventTime":"2026-01-01T00:00:00.000000Z"})");
  ASSERT_EQ(c->post("/apis/events.k8s.io/v1/namespaces/shop/events", newEvent).status, 201);
  EXPECT_EQ(c->get("/api/v1/namespaces/shop/events?fieldSelector=involvedObject.name%3Dcheckout,"
                   "source%3Dslogate")
                .json["items"]
                .items()
                .size(),
            1u);
  EXPECT_EQ(c->get("/apis/events.k8s.io/v1/namespaces/shop/events?fieldSelector="
                   "regarding.kind%3DRollout")
                .json["items"]
                .items()
                .size(),
            1u);
}

TEST_F(FakeApiServerTest, DirectAccess) {
  const Json stored = server_->apply(merged(rollout("a"), R"({"status":{"phase":"Healthy"}})"));
  EXPECT_EQ(stored["status"]["phase"].text(), "Healthy");  // apply() sets status too
  EXPECT_EQ(rv(stored), std::to_string(server_->resourceVersion()));
  EXPECT_EQ(stored["metadata"]["generation"].asInt(), 1);
  const Json again = server_->apply(merged(rollout("a"), R"({"status":{"phase":"Healthy"}})"));
  EXPECT_EQ(rv(again), rv(stored));  // unchanged: not written
  const Json changed = server_->apply(merged(rollout("a"), R"({"spec":{"replicas":1}})"));
  EXPECT_EQ(changed["metadata"]["generation"].asInt(), 2);
  EXPECT_EQ(changed["metadata"]["uid"].text(), stored["metadata"]["uid"].text());

  const std::optional<Json> got = server_->get(kRolloutApiVersion, "Rollout", "shop", "a");
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(jsonEqual(*got, changed));
  EXPECT_TRUE(server_->get(kRolloutApiVersion, "Namespace", "", "shop") == std::nullopt);
  EXPECT_TRUE(server_->get("v1", "Namespace", "", "shop").has_value());  // created by apply()
  EXPECT_EQ(server_->list(kRolloutApiVersion, "Rollout").size(), 1u);
  EXPECT_TRUE(server_->remove(kRolloutApiVersion, "Rollout", "shop", "a"));
  EXPECT_FALSE(server_->remove(kRolloutApiVersion, "Rollout", "shop", "a"));
  EXPECT_EQ(
      server_
          ->apply(parse(R"({"apiVersion":"x/v1","kind":"Nope","metadata":{"name":"n"}})"))["kind"]
          .text(),
      "Status");
}

// kubectl (a real Go client: client-go discovery, REST mapping, JSON merge
// patches for custom resources) against the fake.
std::optional<std::string> findOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe)
  if (path == nullptr) return std::nullopt;
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = dir + "/" + name;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(FakeApiServerTest, KubectlGetAndApply) {
  const std::optional<std::string> kubectl = findOnPath("kubectl");
  if (!kubectl) GTEST_SKIP() << "kubectl is not on PATH";
  std::string dir = (std::filesystem::temp_directory_path() / "slogate-kubectl-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{dir};
  {
    std::ofstream kubeconfig(dir + "/kubeconfig");
    kubeconfig << "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n"
               << "    server: " << server_->url() << "\n"
               << "    certificate-authority: " << server_->caFile() << "\n"
               << "users:\n- name: fake\n  user:\n    token: " << server_->token() << "\n"
               << "contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n"
               << "current-context: fake\n";
  }
  auto run = [&](const std::string& args, std::string* out) {
    const std::string command = "env -i PATH=\"$PATH\" HOME=" + dir + " timeout 30 " + *kubectl +
                                " --kubeconfig " + dir + "/kubeconfig --cache-dir " + dir +
                                "/cache " + args + " >" + dir + "/out 2>" + dir + "/err";
    const int rc = std::system(command.c_str());  // NOLINT(concurrency-mt-unsafe)
    *out = readFile(dir + "/out");
    return rc == 0 ? std::string() : "exit " + std::to_string(rc) + ": " + readFile(dir + "/err");
  };

  server_->apply(rollout("existing"));
  std::string out;
  std::string error = run("get rollouts.v1alpha1.argoproj.io -n shop -o json", &out);
  ASSERT_EQ(error, "") << out;
  const Json list = parse(out);
  ASSERT_EQ(list["items"].items().size(), 1u) << out;
  EXPECT_EQ(list["items"][0]["metadata"]["name"].text(), "existing");

  {
    std::ofstream file(dir + "/rollout.json");
    file << merged(rollout("applied"), R"({"metadata":{"namespace":null}})").dump();
  }
  error = run("apply -n shop -f " + dir + "/rollout.json", &out);
  ASSERT_EQ(error, "") << out;
  EXPECT_NE(out.find("rollout.argoproj.io/applied created"), std::string::npos) << out;
  std::optional<Json> applied = server_->get(kRolloutApiVersion, "Rollout", "shop", "applied");
  ASSERT_TRUE(applied.has_value());
  EXPECT_TRUE((*applied)["metadata"]["annotations"].has(
      "kubectl.kubernetes.io/last-applied-configuration"));

  // A second apply with a change goes through a JSON merge patch.
  {
    std::ofstream file(dir + "/rollout.json");
    file << merged(rollout("applied"), R"({"metadata":{"namespace":null},"spec":{"replicas":2}})")
                .dump();
  }
  server_->clearRequests();
  error = run("apply -n shop -f " + dir + "/rollout.json", &out);
  ASSERT_EQ(error, "") << out;
  EXPECT_NE(out.find("rollout.argoproj.io/applied configured"), std::string::npos) << out;
  applied = server_->get(kRolloutApiVersion, "Rollout", "shop", "applied");
  EXPECT_EQ((*applied)["spec"]["replicas"].asInt(), 2);
  EXPECT_EQ((*applied)["metadata"]["generation"].asInt(), 2);
  bool patched = false;
  for (const RecordedRequest& r : server_->requests()) {
    patched = patched || (r.method == "PATCH" && r.contentType == "application/merge-patch+json");
  }
  EXPECT_TRUE(patched);

  error = run("get rollout applied -n shop", &out);  // default output: a Table
  ASSERT_EQ(error, "") << out;
  EXPECT_NE(out.find("applied"), std::string::npos) << out;

  error = run("delete rollout applied -n shop", &out);
  ASSERT_EQ(error, "") << out;
  EXPECT_NE(out.find("deleted"), std::string::npos) << out;
  EXPECT_FALSE(server_->get(kRolloutApiVersion, "Rollout", "shop", "applied").has_value());
}

// ---------------------------------------------------------------------------
// Validating admission webhooks.

constexpr const char* kWebhookName = "rollouts.example.dev";

// The AdmissionReview a webhook answers `review` with.
std::string answer(const Json& review, bool allowed, const std::string& statusJson = "",
                   const std::vector<std::string>& warnings = {}) {
  Json response = Json::object();
  response.set("uid", review["request"]["uid"]);
  response.set("allowed", Json::boolean(allowed));
  if (!statusJson.empty()) response.set("status", parse(statusJson));
  if (!warnings.empty()) {
    Json list = Json::array();
    for (const std::string& w : warnings) list.push(Json::string(w));
    response.set("warnings", list);
  }
  Json out = Json::object();
  out.set("apiVersion", Json::string("admission.k8s.io/v1"));
  out.set("kind", Json::string("AdmissionReview"));
  out.set("response", response);
  return out.dump();
}

// A tiny HTTPS webhook (the project's HttpServer with a certificate from
// TestPki) that hands every request to `decide` and records it.
class TinyWebhook {
 public:
  using Decide =
      std::function<net::ServerResponse(const net::ServerRequest& request, const Json& review)>;

  explicit TinyWebhook(Decide decide)
      : decide_(std::move(decide)), dir_(net::testing::makeTempDir()) {
    pki_ = std::make_unique<net::testing::TestPki>(dir_);
    const net::testing::CertFiles leaf = pki_->issue("webhook", 7);
    net::ServerOptions options;
    options.certFile = leaf.certFile;
    options.keyFile = leaf.keyFile;
    options.threads = 2;
    options.log = [](const std::string&) {};
    auto server = net::HttpServer::start(options, [this](const net::ServerRequest& request) {
      Json review = Json::parse(request.body).ok() ? *Json::parse(request.body) : Json();
      {
        std::lock_guard<std::mutex> lock(mu_);
        received_.push_back(request);
      }
      return decide_(request, review);
    });
    EXPECT_TRUE(server.ok()) << server.status().message();
    if (server.ok()) server_ = std::move(*server);
  }
  ~TinyWebhook() {
    stop();
    net::testing::removeTree(dir_);
  }
  TinyWebhook(const TinyWebhook&) = delete;
  TinyWebhook& operator=(const TinyWebhook&) = delete;

  void stop() {
    if (server_) server_->stop();
  }
  std::string url() const { return server_ ? server_->url() + "/validate" : ""; }
  std::string caFile() const { return pki_->caFile(); }
  std::vector<net::ServerRequest> received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  // The AdmissionReviews received, parsed.
  std::vector<Json> reviews() const {
    std::vector<Json> out;
    for (const net::ServerRequest& r : received()) out.push_back(parse(r.body));
    return out;
  }

  // A ValidatingWebhook pointing here for argoproj.io rollouts.
  ValidatingWebhook config(std::vector<std::string> resources = {"rollouts"},
                           std::vector<std::string> operations = {"CREATE", "UPDATE"}) const {
    ValidatingWebhook w;
    w.name = kWebhookName;
    w.url = url();
    w.caFile = caFile();
    WebhookRule rule;
    rule.apiGroups = {"argoproj.io"};
    rule.apiVersions = {"v1alpha1"};
    rule.resources = std::move(resources);
    rule.operations = std::move(operations);
    w.rules = {rule};
    return w;
  }

 private:
  Decide decide_;
  std::string dir_;
  std::unique_ptr<net::testing::TestPki> pki_;
  std::unique_ptr<net::HttpServer> server_;
  mutable std::mutex mu_;
  std::vector<net::ServerRequest> received_;
};

net::ServerResponse reply(std::string body, int status = 200,
                          std::string contentType = "application/json") {
  return {status, {{"Content-Type", std::move(contentType)}}, std::move(body)};
}

// Denies a changed pod template (message "frozen", warning "w1"); allows
// everything else with the warning "looked".
net::ServerResponse templateGate(const net::ServerRequest&, const Json& review) {
  const Json& request = review["request"];
  if (request["operation"].text() == "UPDATE" &&
      !jsonEqual(request["object"]["spec"]["template"], request["oldObject"]["spec"]["template"])) {
    return reply(
        answer(review, false, R"({"code":403,"reason":"Forbidden","message":"frozen"})", {"w1"}));
  }
  return reply(answer(review, true, "", {"looked"}));
}

const char* kNewImage =
    R"({"spec":{"template":{"spec":{"containers":[{"name":"rollouts-demo","image":"argoproj/rollouts-demo:green"}]}}}})";

TEST_F(FakeApiServerTest, WebhookReviewsTheMergedObjectAndItsDenialStoresNothing) {
  TinyWebhook webhook(templateGate);
  server_->setValidatingWebhook(webhook.config());
  auto c = connect();
  ASSERT_EQ(c->post(kRollouts, rollout()).status, 201);
  const std::string path = std::string(kRollouts) + "/rollout-canary";
  const Json before = *server_->get(kRolloutApiVersion, "Rollout", "shop", "rollout-canary");

  const Response denied = c->patch(path, "application/merge-patch+json", kNewImage);
  expectStatus(denied, 403, "Forbidden");
  EXPECT_EQ(denied.json["message"].text(),
            "admission webhook \"rollouts.example.dev\" denied the request: frozen");
  EXPECT_EQ(denied.warnings, std::vector<std::string>{"299 - \"w1\""});
  EXPECT_TRUE(
      jsonEqual(*server_->get(kRolloutApiVersion, "Rollout", "shop", "rollout-canary"), before));

  // What kube-apiserver sends: the patched object and the stored one.
  ASSERT_EQ(webhook.received().size(), 2u);  // the create, then the patch
  const net::ServerRequest sent = webhook.received()[1];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.target, "/validate?timeout=10s");
  EXPECT_EQ(sent.header("Content-Type"), "application/json");
  const Json review = parse(sent.body);
  EXPECT_EQ(review["apiVersion"].text(), "admission.k8s.io/v1");
  EXPECT_EQ(review["kind"].text(), "AdmissionReview");
  const Json& req = review["request"];
  EXPECT_EQ(req["uid"].text().size(), 36u);
  EXPECT_EQ(req["kind"].dump(), R"({"group":"argoproj.io","version":"v1alpha1","kind":"Rollout"})");
  EXPECT_EQ(req["resource"].dump(),
            R"({"group":"argoproj.io","version":"v1alpha1","resource":"rollouts"})");
  EXPECT_EQ(req["requestKind"].dump(), req["kind"].dump());
  EXPECT_EQ(req["requestResource"].dump(), req["resource"].dump());
  EXPECT_FALSE(req.has("subResource"));
  EXPECT_EQ(req["name"].text(), "rollout-canary");
  EXPECT_EQ(req["namespace"].text(), "shop");
  EXPECT_EQ(req["operation"].text(), "UPDATE");
  EXPECT_EQ(req["userInfo"]["username"].text(), "kubernetes-admin");
  EXPECT_EQ(req["userInfo"]["groups"][0].text(), "system:masters");
  EXPECT_EQ(req["object"]["spec"]["template"]["spec"]["containers"][0]["image"].text(),
            "argoproj/rollouts-demo:green");
  EXPECT_EQ(req["object"]["spec"]["replicas"].asInt(), 5);  // merged, not the bare patch
  EXPECT_EQ(req["object"]["metadata"]["generation"].asInt(), 2);
  EXPECT_TRUE(jsonEqual(req["oldObject"], before));
  EXPECT_FALSE(req["dryRun"].boolValue());
  EXPECT_EQ(req["options"]["kind"].text(), "PatchOptions");
  EXPECT_EQ(req["options"]["apiVersion"].text(), "meta.k8s.io/v1");

  // Scaling keeps the template: allowed, with the webhook's warning.
  const Response scaled =
      c->patch(path, "application/merge-patch+json", R"({"spec":{"replicas":2}})");
  EXPECT_EQ(scaled.status, 200) << scaled.body;
  EXPECT_EQ(scaled.warnings, std::vector<std::string>{"299 - \"looked\""});
  EXPECT_EQ(server_->get(kRolloutApiVersion, "Rollout", "shop", "rollout-canary")
                ->
                operator[]("spec")["replicas"]
                .asInt(),
            2);
  const std::vector<WebhookCall> calls = server_->webhookCalls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_FALSE(calls[1].allowed);
  EXPECT_TRUE(calls[2].allowed);
  EXPECT_EQ(calls[2].httpStatus, 200);
  EXPECT_EQ(calls[2].warnings, std::vector<std::string>{"looked"});
  EXPECT_EQ(calls[2].review["request"]["operation"].text(), "UPDATE");
}

TEST_F(FakeApiServerTest, WebhookSeesCreateUpdateAndDeleteLikeKubeApiserver) {
  TinyWebhook webhook([](const net::ServerRequest&, const Json& review) {
    const std::string name = review["request"]["name"].text();
    if (name.rfind("denied", 0) == 0) {
      return reply(answer(review, false, R"({"code":403,"reason":"Forbidden","message":"no"})"));
    }
    return reply(answer(review, true));
  });
  server_->setValidatingWebhook(webhook.config({"rollouts"}, {"CREATE", "UPDATE", "DELETE"}));
  auto c = connect();

  const Response created = c->post(kRollouts, rollout("canary"));
  ASSERT_EQ(created.status, 201) << created.body;
  Json req = webhook.reviews().back()["request"];
  EXPECT_EQ(req["operation"].text(), "CREATE");
  EXPECT_TRUE(req["oldObject"].isNull());
  EXPECT_EQ(req["options"]["kind"].text(), "CreateOptions");
  // The object reviewed is the object stored (uid, creationTimestamp, generation).
  EXPECT_EQ(req["object"]["metadata"]["uid"].text(), created.json["metadata"]["uid"].text());
  EXPECT_EQ(req["object"]["metadata"]["creationTimestamp"].text(),
            created.json["metadata"]["creationTimestamp"].text());
  EXPECT_EQ(req["object"]["metadata"]["generation"].asInt(), 1);

  // generateName: the name reviewed is the name stored.
  const Response generated =
      c->post(kRollouts, merged(rollout(), R"({"metadata":{"name":null,"generateName":"gen-"}})"));
  ASSERT_EQ(generated.status, 201) << generated.body;
  EXPECT_EQ(webhook.reviews().back()["request"]["object"]["metadata"]["name"].text(),
            generated.json["metadata"]["name"].text());
  EXPECT_FALSE(webhook.reviews().back()["request"].has("name"));

  // PUT: UPDATE with UpdateOptions; a stale resourceVersion is 409 before admission.
  const std::size_t callsBefore = webhook.received().size();
  expectStatus(c->put(std::string(kRollouts) + "/canary",
                      merged(created.json, R"({"metadata":{"resourceVersion":"1"}})")),
               409, "Conflict");
  EXPECT_EQ(webhook.received().size(), callsBefore);
  const Response updated = c->put(std::string(kRollouts) + "/canary",
                                  merged(created.json, R"({"spec":{"replicas":1}})"));
  ASSERT_EQ(updated.status, 200) << updated.body;
  req = webhook.reviews().back()["request"];
  EXPECT_EQ(req["operation"].text(), "UPDATE");
  EXPECT_EQ(req["options"]["kind"].text(), "UpdateOptions");
  EXPECT_EQ(req["oldObject"]["spec"]["replicas"].asInt(), 5);

  // Denied creates store nothing, also when the name is taken (a denial, not 409).
  expectStatus(c->post(kRollouts, rollout("denied")), 403, "Forbidden");
  EXPECT_FALSE(server_->get(kRolloutApiVersion, "Rollout", "shop", "denied").has_value());
  server_->apply(rollout("denied"));
  const Response taken = c->post(kRollouts, rollout("denied"));
  expectStatus(taken, 403, "Forbidden");

  // DELETE: no object, the stored one as oldObject; a denied delete keeps it.
  expectStatus(c->request("DELETE", std::string(kRollouts) + "/denied"), 403, "Forbidden");
  EXPECT_TRUE(server_->get(kRolloutApiVersion, "Rollout", "shop", "denied").has_value());
  ASSERT_EQ(c->request("DELETE", std::string(kRollouts) + "/canary").status, 200);
  req = webhook.reviews().back()["request"];
  EXPECT_EQ(req["operation"].text(), "DELETE");
  EXPECT_TRUE(req["object"].isNull());
  EXPECT_EQ(req["oldObject"]["metadata"]["name"].text(), "canary");
  EXPECT_EQ(req["options"]["kind"].text(), "DeleteOptions");

  // Other resources and direct access never reach the webhook.
  const std::size_t calls = webhook.received().size();
  ASSERT_EQ(c->post(kDeployments, deployment("web")).status, 201);
  server_->apply(rollout("denied-direct"));
  EXPECT_TRUE(server_->remove(kRolloutApiVersion, "Rollout", "shop", "denied-direct"));
  EXPECT_EQ(webhook.received().size(), calls);
}

TEST_F(FakeApiServerTest, StatusWritesReachTheWebhookOnlyWhenARuleNamesThem) {
  TinyWebhook webhook([](const net::ServerRequest&, const Json& review) {
    const bool phaseDegraded = review["request"]["object"]["status"]["phase"].text() == "Degraded";
    return reply(answer(review, !phaseDegraded, R"({"code":403,"message":"not degraded"})"));
  });
  server_->apply(rollout());
  auto c = connect();
  const std::string status = std::string(kRollouts) + "/rollout-canary/status";

  server_->setValidatingWebhook(webhook.config({"rollouts"}));
  ASSERT_EQ(
      c->patch(status, "application/merge-patch+json", R"({"status":{"phase":"Degraded"}})").status,
      200);
  EXPECT_TRUE(webhook.received().empty());

  server_->setValidatingWebhook(webhook.config({"rollouts/status"}));  // same name: replaces
  const Response denied =
      c->patch(status, "application/merge-patch+json", R"({"status":{"phase":"Healthy"}})");
  EXPECT_EQ(denied.status, 200) << denied.body;  // Healthy is fine
  ASSERT_EQ(webhook.received().size(), 1u);
  const Json req = webhook.reviews().back()["request"];
  EXPECT_EQ(req["subResource"].text(), "status");
  EXPECT_EQ(req["requestSubResource"].text(), "status");
  EXPECT_EQ(req["kind"]["kind"].text(), "Rollout");
  EXPECT_EQ(req["oldObject"]["status"]["phase"].text(), "Degraded");
  expectStatus(
      c->patch(status, "application/merge-patch+json", R"({"status":{"phase":"Degraded"}})"), 403,
      "");
  EXPECT_EQ(server_->get(kRolloutApiVersion, "Rollout", "shop", "rollout-canary")
                ->
                operator[]("status")["phase"]
                .text(),
            "Healthy");
  // "rollouts/status" does not cover the main resource; "rollouts/*" covers both.
  ASSERT_EQ(c->patch(std::string(kRollouts) + "/rollout-canary", "application/merge-patch+json",
                     R"({"spec":{"paused":true}})")
                .status,
            200);
  EXPECT_EQ(webhook.received().size(), 2u);
  server_->setValidatingWebhook(webhook.config({"rollouts/*"}));
  ASSERT_EQ(c->patch(std::string(kRollouts) + "/rollout-canary", "application/merge-patch+json",
                     R"({"spec":{"paused":false}})")
                .status,
            200);
  EXPECT_EQ(webhook.received().size(), 3u);

  server_->clearValidatingWebhooks();
  ASSERT_EQ(
      c->patch(status, "application/merge-patch+json", R"({"status":{"phase":"Degraded"}})").status,
      200);
  EXPECT_EQ(webhook.received().size(), 3u);
}

TEST_F(FakeApiServerTest, DenialsAreSanitizedLikeKubeApiserver) {
  std::atomic<int> variant{0};
  TinyWebhook webhook([&variant](const net::ServerRequest&, const Json& review) {
    switch (variant.load()) {
      case 0:
        return reply(answer(review, false));  // no status at all
      case 1:
        return reply(answer(review, false, R"({"code":200,"status":"Success","reason":"Nope"})"));
      default:
        return reply(
            answer(review, false, R"({"code":422,"reason":"Invalid","message":"bad \"image\""})"));
    }
  });
  server_->setValidatingWebhook(webhook.config());
  auto c = connect();
  Response r = c->post(kRollouts, rollout());
  expectStatus(r, 400, "");
  EXPECT_EQ(r.json["message"].text(),
            "admission webhook \"rollouts.example.dev\" denied the request without explanation");
  variant = 1;
  r = c->post(kRollouts, rollout());
  expectStatus(r, 400, "Nope");
  EXPECT_EQ(r.json["message"].text(),
            "admission webhook \"rollouts.example.dev\" denied the request: Nope");
  variant = 2;
  r = c->post(kRollouts, rollout());
  expectStatus(r, 422, "Invalid");
  EXPECT_EQ(r.json["message"].text(),
            "admission webhook \"rollouts.example.dev\" denied the request: bad \"image\"");
  EXPECT_TRUE(server_->list(kRolloutApiVersion, "Rollout").empty());
}

TEST_F(FakeApiServerTest, FailurePolicyDecidesWhenTheWebhookCannotBeCalled) {
  enum class Mode { kSlow, kWrongUid, kNotJson, kServerError, kWrongKind };
  std::atomic<Mode> mode{Mode::kSlow};
  TinyWebhook webhook([&mode](const net::ServerRequest&, const Json& review) {
    switch (mode.load()) {
      case Mode::kSlow:
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        return reply(answer(review, true));
      case Mode::kWrongUid: {
        Json other = merged(review, R"({"request":{"uid":"not-the-uid"}})");
        return reply(answer(other, true));
      }
      case Mode::kNotJson:
        return reply("<html>oops</html>", 200, "text/html");
      case Mode::kServerError:
        return reply("boom", 500, "text/plain");
      case Mode::kWrongKind:
        return reply(
            merged(parse(answer(review, true)), R"({"apiVersion":"admission.k8s.io/v1beta1"})")
                .dump());
    }
    return reply("", 500);
  });
  auto c = connect();
  ValidatingWebhook config = webhook.config();
  config.timeoutSeconds = 1;
  const std::string prefix =
      "Internal error occurred: failed calling webhook \"rollouts.example.dev\": ";
  const std::string post = "failed to call webhook: Post \"" + webhook.url() + "?timeout=1s\": ";

  auto expectFailure = [&](const std::string& what) {
    config.failurePolicy = ValidatingWebhook::FailurePolicy::kFail;
    server_->setValidatingWebhook(config);
    const Response r = c->post(kRollouts, rollout());
    expectStatus(r, 500, "InternalError");
    EXPECT_EQ(r.json["message"].text().rfind(prefix, 0), 0u) << r.body;
    EXPECT_NE(r.json["message"].text().find(what), std::string::npos) << r.body;
    EXPECT_EQ(r.json["details"]["causes"][0]["message"].text(),
              r.json["message"].text().substr(std::string("Internal error occurred: ").size()));
    EXPECT_TRUE(server_->list(kRolloutApiVersion, "Rollout").empty());
    EXPECT_NE(server_->webhookCalls().back().error.find(what), std::string::npos);
    // Ignore: the failure is skipped and the create goes through.
    config.failurePolicy = ValidatingWebhook::FailurePolicy::kIgnore;
    server_->setValidatingWebhook(config);
    EXPECT_EQ(c->post(kRollouts, rollout()).status, 201);
    EXPECT_TRUE(server_->remove(kRolloutApiVersion, "Rollout", "shop", "rollout-canary"));
  };

  const auto started = std::chrono::steady_clock::now();
  expectFailure(post + "context deadline exceeded");
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_GE(elapsed, std::chrono::seconds(2));  // two calls, each cut at 1 s
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  mode = Mode::kWrongUid;
  expectFailure("received invalid webhook response: expected response.uid=\"");
  mode = Mode::kNotJson;
  expectFailure("failed to call webhook: couldn't get version/kind; json parse error");
  mode = Mode::kServerError;
  expectFailure(
      "failed to call webhook: an error on the server (\"boom\") has prevented the request from "
      "succeeding");
  mode = Mode::kWrongKind;
  expectFailure(
      "received invalid webhook response: expected webhook response of admission.k8s.io/v1, "
      "Kind=AdmissionReview, got admission.k8s.io/v1beta1, Kind=AdmissionReview");

  // A certificate the configured CA did not sign.
  config.caFile.clear();
  config.caPem = server_->caPem();
  expectFailure(post +
                "tls: failed to verify certificate: x509: certificate signed by unknown "
                "authority");

  // Nobody listening.
  config.caPem.clear();
  config.caFile = webhook.caFile();
  const std::string hostPort =
      webhook.url().substr(std::string("https://").size(), webhook.url().find("/validate") - 8);
  webhook.stop();
  expectFailure(post + "dial tcp " + hostPort + ": connect: connection refused");
}

TEST_F(FakeApiServerTest, DryRunsReachOnlyWebhooksWithoutSideEffects) {
  TinyWebhook webhook([](const net::ServerRequest&, const Json& review) {
    return reply(answer(review, true, "", {"dry: " + review["request"]["dryRun"].dump()}));
  });
  ValidatingWebhook config = webhook.config();
  config.sideEffects = "NoneOnDryRun";
  server_->setValidatingWebhook(config);
  auto c = connect();
  const Response dry = c->request("POST", std::string(kRollouts) + "?dryRun=All&fieldManager=me",
                                  rollout().dump(), "application/json");
  EXPECT_EQ(dry.status, 201) << dry.body;
  EXPECT_EQ(dry.warnings, std::vector<std::string>{"299 - \"dry: true\""});
  EXPECT_TRUE(server_->list(kRolloutApiVersion, "Rollout").empty());
  const Json req = webhook.reviews().back()["request"];
  EXPECT_TRUE(req["dryRun"].boolValue());
  EXPECT_EQ(req["options"]["dryRun"][0].text(), "All");
  EXPECT_EQ(req["options"]["fieldManager"].text(), "me");

  config.sideEffects = "Some";
  server_->setValidatingWebhook(config);
  const Response refused = c->request("POST", std::string(kRollouts) + "?dryRun=All",
                                      rollout().dump(), "application/json");
  expectStatus(refused, 400, "BadRequest");
  EXPECT_EQ(refused.json["message"].text(),
            "admission webhook \"rollouts.example.dev\" does not support dry run");
  EXPECT_EQ(webhook.received().size(), 1u);
  EXPECT_EQ(c->post(kRollouts, rollout()).status, 201);  // not a dry run: called
  EXPECT_EQ(webhook.received().size(), 2u);
}

TEST_F(FakeApiServerTest, ServesOtherRequestsWhileAWebhookIsCalled) {
  // The webhook reads the object from the fake itself before answering, and
  // meanwhile changes it once: the fake serves it (no deadlock), then
  // reviews the changed object again before storing the patch.
  std::atomic<int> calls{0};
  std::atomic<bool> touch{true};
  FakeApiServer* server = server_.get();
  TinyWebhook webhook([&](const net::ServerRequest&, const Json& review) {
    auto client = std::make_unique<HttpsClient>(*server, server->token());
    std::string error;
    EXPECT_TRUE(client->connect(&error)) << error;
    const Response current = client->get(std::string(kRollouts) + "/rollout-canary");
    EXPECT_EQ(current.status, 200);
    const int call = ++calls;
    if (touch.exchange(false)) {
      server->apply(merged(current.json, R"({"metadata":{"labels":{"touched":")" +
                                             std::to_string(call) + R"("}}})"));
    }
    return reply(answer(review, true));
  });
  server_->apply(rollout());
  server_->setValidatingWebhook(webhook.config());
  auto c = connect();
  const Response patched = c->patch(std::string(kRollouts) + "/rollout-canary",
                                    "application/merge-patch+json", R"({"spec":{"replicas":3}})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(patched.json["metadata"]["labels"]["touched"].text(), "1");
  EXPECT_EQ(patched.json["spec"]["replicas"].asInt(), 3);
  EXPECT_EQ(
      webhook.reviews().back()["request"]["oldObject"]["metadata"]["labels"]["touched"].text(),
      "1");

  // A PUT carrying the resourceVersion it read conflicts once the object
  // changed during the call: not reviewed again.
  const int before = calls.load();
  touch = true;
  const Json stale = merged(patched.json, R"({"spec":{"replicas":4}})");
  expectStatus(c->put(std::string(kRollouts) + "/rollout-canary", stale), 409, "Conflict");
  EXPECT_EQ(calls.load(), before + 1);
}

TEST_F(FakeApiServerTest, KubectlShowsWebhookDenialsAndWarnings) {
  const std::optional<std::string> kubectl = findOnPath("kubectl");
  if (!kubectl) GTEST_SKIP() << "kubectl is not on PATH";
  TinyWebhook webhook(templateGate);
  server_->apply(rollout());
  server_->setValidatingWebhook(webhook.config());
  std::string dir = (std::filesystem::temp_directory_path() / "slogate-kubectl-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{dir};
  std::ofstream(dir + "/kubeconfig")
      << "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n"
      << "    server: " << server_->url() << "\n"
      << "    certificate-authority: " << server_->caFile() << "\n"
      << "users:\n- name: fake\n  user:\n    token: " << server_->token() << "\n"
      << "contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n"
      << "current-context: fake\n";
  auto run = [&](const std::string& args, std::string* out, std::string* err) {
    const std::string command = "env -i PATH=\"$PATH\" HOME=" + dir + " timeout 30 " + *kubectl +
                                " --kubeconfig " + dir + "/kubeconfig --cache-dir " + dir +
                                "/cache " + args + " >" + dir + "/out 2>" + dir + "/err";
    const int rc = std::system(command.c_str());  // NOLINT(concurrency-mt-unsafe)
    *out = readFile(dir + "/out");
    *err = readFile(dir + "/err");
    return rc;
  };
  std::string out;
  std::string err;
  EXPECT_NE(run("patch rollouts.argoproj.io rollout-canary -n shop --type merge -p '" +
                    std::string(kNewImage) + "'",
                &out, &err),
            0);
  EXPECT_NE(err.find("Warning: w1"), std::string::npos) << err;
  EXPECT_NE(err.find("Error from server (Forbidden): admission webhook \"rollouts.example.dev\" "
                     "denied the request: frozen"),
            std::string::npos)
      << err;
  EXPECT_EQ(run("patch rollouts.argoproj.io rollout-canary -n shop --type merge -p "
                "'{\"spec\":{\"replicas\":1}}'",
                &out, &err),
            0)
      << err;
  EXPECT_NE(err.find("Warning: looked"), std::string::npos) << err;
  EXPECT_NE(out.find("rollout.argoproj.io/rollout-canary patched"), std::string::npos) << out;
}

}  // namespace
}  // namespace slogate::fakes
