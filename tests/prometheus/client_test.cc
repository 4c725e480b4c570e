#include "prometheus/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <fstream>

namespace slogate::prometheus {
namespace {

using ::testing::HasSubstr;

// A transport that answers from a script and records what it was sent.
class ScriptedTransport final : public net::HttpClient {
 public:
  std::deque<Result<net::HttpResponse>> answers;
  std::vector<net::HttpRequest> sent;

  // net::HttpClient
  Result<net::HttpResponse> send(const net::HttpRequest& request) override {
    sent.push_back(request);
    if (answers.empty()) return unavailable("script exhausted");
    auto a = std::move(answers.front());
    answers.pop_front();
    return a;
  }
  Result<int> stream(const net::HttpRequest& /*request*/, const net::StreamHandler& /*handler*/,
                     net::Cancel* /*cancel*/) override {
    return internalError("the Prometheus client does not stream");
  }
};

net::HttpResponse response(int status, std::string body, net::Headers headers = {}) {
  return net::HttpResponse{status, std::move(headers), std::move(body)};
}

struct Fixture {
  ScriptedTransport* transport = nullptr;
  std::vector<std::chrono::milliseconds> sleeps;
  std::unique_ptr<QueryClient> client;

  explicit Fixture(ClientOptions options = {}) {
    auto t = std::make_unique<ScriptedTransport>();
    transport = t.get();
    if (options.url.empty()) options.url = "http://prom:9090";
    options.sleep = [this](std::chrono::milliseconds d) { sleeps.push_back(d); };
    client = makeClient(options, std::move(t));
  }
};

TEST(PrometheusClient, QueryRangeDecodesMatrixAndSendsAForm) {
  Fixture f;
  f.transport->answers.emplace_back(
      response(200, R"({"status":"success","data":{"resultType":"matrix",
    "result":[{"metric":{"service":"a"},"values":[[1700000040,"12"],[1700000100,"NaN"],[1700000160.5,"+Inf"]]}]}})"));
  auto r = f.client->queryRange("sum(increase(x{a=\"b c\"}[1m]))", 1700000040, 1700000160, 60);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->type, QueryResult::Type::kMatrix);
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_EQ(r->series[0].labels[0], (std::pair<std::string, std::string>{"service", "a"}));
  ASSERT_EQ(r->series[0].samples.size(), 3u);
  EXPECT_EQ(r->series[0].samples[0].timestamp, 1700000040);
  EXPECT_EQ(r->series[0].samples[0].value, "12");
  EXPECT_EQ(r->series[0].samples[1].value, "NaN");
  EXPECT_EQ(r->series[0].samples[2].millis, 1700000160500);
  ASSERT_EQ(f.transport->sent.size(), 1u);
  const net::HttpRequest& req = f.transport->sent[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/api/v1/query_range");
  EXPECT_EQ(req.body,
            "query=sum%28increase%28x%7Ba%3D%22b%20c%22%7D%5B1m%5D%29%29&start=1700000040&end="
            "1700000160&step=60");
}

TEST(PrometheusClient, VectorScalarAndWarnings) {
  Fixture f;
  f.transport->answers.emplace_back(response(200, R"({"status":"success","warnings":["partial"],
    "data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"3"]},
                                            {"metric":{"x":"1"},"value":[1700000000,"-Inf"]}]}})"));
  f.transport->answers.emplace_back(response(
      200, R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"0.5"]}})"));
  auto v = f.client->query("up", 1700000000);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->type, QueryResult::Type::kVector);
  EXPECT_EQ(v->series.size(), 2u);
  EXPECT_EQ(v->warnings, std::vector<std::string>{"partial"});
  auto s = f.client->query("0.5", 1700000000);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->type, QueryResult::Type::kScalar);
  EXPECT_EQ(s->series[0].samples[0].value, "0.5");
  EXPECT_EQ(f.transport->sent[0].target, "/api/v1/query");
  EXPECT_EQ(f.transport->sent[0].body, "query=up&time=1700000000");
}

TEST(PrometheusClient, ErrorBodiesAreSurfacedVerbatimWithoutRetry) {
  Fixture f;
  f.transport->answers.emplace_back(response(
      400,
      R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \"}\""})"));
  auto r = f.client->query("up}", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "prometheus bad_data: 1:5: parse error: unexpected \"}\"");
  EXPECT_EQ(f.transport->sent.size(), 1u);
  EXPECT_TRUE(f.sleeps.empty());
}

TEST(PrometheusClient, RetriesServerErrorsWithJitteredBackoffThenSucceeds) {
  Fixture f;
  f.transport->answers.emplace_back(response(503, "Service Unavailable"));
  f.transport->answers.emplace_back(unavailable("connection refused"));
  f.transport->answers.emplace_back(
      response(200, R"({"status":"success","data":{"resultType":"vector","result":[]}})"));
  auto r = f.client->query("up", 1);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->series.empty());
  EXPECT_EQ(f.transport->sent.size(), 3u);
  EXPECT_EQ(f.client->requests(), 3u);
  ASSERT_EQ(f.sleeps.size(), 2u);
  // Default backoff 200 ms doubling, full jitter in [cap/2, cap].
  EXPECT_GE(f.sleeps[0].count(), 100);
  EXPECT_LE(f.sleeps[0].count(), 200);
  EXPECT_GE(f.sleeps[1].count(), 200);
  EXPECT_LE(f.sleeps[1].count(), 400);
}

TEST(PrometheusClient, GivesUpAfterMaxAttemptsAndHonoursRetryAfter) {
  ClientOptions o;
  o.maxAttempts = 3;
  Fixture f(o);
  f.transport->answers.emplace_back(response(429, "slow down", {{"Retry-After", "2"}}));
  f.transport->answers.emplace_back(
      response(500, R"({"status":"error","errorType":"internal","error":"boom"})"));
  f.transport->answers.emplace_back(response(502, "<html>bad gateway</html>"));
  f.transport->answers.emplace_back(response(200, "never reached"));
  auto r = f.client->query("up", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("(after 3 attempts)"));
  EXPECT_THAT(r.status().message(), HasSubstr("not JSON"));
  EXPECT_EQ(f.transport->sent.size(), 3u);
  ASSERT_EQ(f.sleeps.size(), 2u);
  EXPECT_EQ(f.sleeps[0], std::chrono::milliseconds(2000));
}

TEST(PrometheusClient, AuthHeadersAndPathPrefix) {
  ClientOptions o;
  o.url = "https://mimir.example/prometheus/";
  o.basicUser = "user";
  o.basicPassword = "pa:ss";
  o.headers = {{"X-Scope-OrgID", "team-a"}};
  Fixture f(o);
  f.transport->answers.emplace_back(
      response(200, R"({"status":"success","data":{"resultType":"vector","result":[]}})"));
  ASSERT_TRUE(f.client->query("up", 1).ok());
  const net::HttpRequest& req = f.transport->sent[0];
  EXPECT_EQ(req.target, "/prometheus/api/v1/query");
  const auto has = [&](const std::string& k, const std::string& v) {
    return std::find(req.headers.begin(), req.headers.end(), std::pair{k, v}) != req.headers.end();
  };
  EXPECT_TRUE(has("X-Scope-OrgID", "team-a"));
  EXPECT_TRUE(has("Authorization", "Basic dXNlcjpwYTpzcw=="));
  EXPECT_TRUE(has("Content-Type", "application/x-www-form-urlencoded"));
}

TEST(PrometheusClient, BearerTokenFileIsReadPerRequest) {
  const std::string path = ::testing::TempDir() + "/token";
  { std::ofstream(path) << "first\n"; }
  ClientOptions o;
  o.bearerTokenFile = path;
  Fixture f(o);
  for (int i = 0; i < 2; ++i) {
    f.transport->answers.emplace_back(
        response(200, R"({"status":"success","data":{"resultType":"vector","result":[]}})"));
  }
  ASSERT_TRUE(f.client->query("up", 1).ok());
  { std::ofstream(path) << "second"; }
  ASSERT_TRUE(f.client->query("up", 1).ok());
  const auto auth = [&](std::size_t i) {
    for (const auto& [k, v] : f.transport->sent[i].headers) {
      if (k == "Authorization") return v;
    }
    return std::string();
  };
  EXPECT_EQ(auth(0), "Bearer first");
  EXPECT_EQ(auth(1), "Bearer second");
}

TEST(PrometheusClient, MalformedSuccessBodies) {
  for (
      const char* body :
      {R"({"status":"success","data":{"resultType":"vector","result":{}}})",
       R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,2]]}]}})",
       R"({"status":"success","data":{"resultType":"bogus","result":[]}})", R"({"status":"weird"})",
       R"([1,2,3])",
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"1"]}]}})"}) {
    auto r = decodeResponse(200, body);
    EXPECT_FALSE(r.ok()) << body;
    if (!r.ok()) {
      EXPECT_THAT(r.status().message(), HasSubstr("malformed")) << body;
    }
  }
}

}  // namespace
}  // namespace slogate::prometheus

namespace slogate::prometheus {
namespace {

// Found by fuzz_prometheus_response: the sign of a time in (-1, 0).
TEST(PrometheusClient, MillisKeepTheSignOfSmallNegativeTimes) {
  auto r = decodeResponse(
      200,
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[-0.2,"1"]}]}})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->series[0].samples[0].millis, -200);
}

}  // namespace
}  // namespace slogate::prometheus
