#include "kube/workqueue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "kube/client.h"
#include "kube/rollout.h"
#include "net/http_client.h"

namespace slogate::kube {
namespace {

TEST(WorkQueue, DeduplicatesQueuedKeys) {
  WorkQueue q;
  q.add("a");
  q.add("b");
  q.add("a");
  EXPECT_EQ(q.length(), 2u);
  EXPECT_EQ(q.get(), "a");
  EXPECT_EQ(q.get(), "b");
  EXPECT_EQ(q.length(), 0u);
}

TEST(WorkQueue, AKeyBeingProcessedIsRequeuedOnDoneNotHandedOut) {
  WorkQueue q;
  q.add("a");
  ASSERT_EQ(q.get(), "a");
  q.add("a");  // changed while processing
  EXPECT_EQ(q.length(), 0u) << "must not be handed to a second worker";
  q.done("a");
  EXPECT_EQ(q.length(), 1u);
  EXPECT_EQ(q.get(), "a");
  q.done("a");
  EXPECT_EQ(q.length(), 0u);
}

TEST(WorkQueue, NeverTwoWorkersOnOneKey) {
  WorkQueue q;
  std::atomic<int> active{0};
  std::atomic<bool> overlap{false};
  std::atomic<int> processed{0};
  std::vector<std::thread> workers;
  workers.reserve(4);
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto k = q.get()) {
        if (active.fetch_add(1) != 0) overlap = true;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        active.fetch_sub(1);
        ++processed;
        q.done(*k);
      }
    });
  }
  for (int i = 0; i < 500; ++i) q.add("same");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  q.shutDown();
  for (auto& t : workers) t.join();
  EXPECT_FALSE(overlap.load());
  EXPECT_GE(processed.load(), 1);
  EXPECT_LT(processed.load(), 500);  // coalesced
}

TEST(WorkQueue, AddAfterAndRateLimit) {
  WorkQueue q;
  const auto start = WorkQueue::Clock::now();
  q.addAfter("late", std::chrono::milliseconds(50));
  EXPECT_EQ(q.length(), 0u);
  EXPECT_EQ(q.get(), "late");
  EXPECT_GE(WorkQueue::Clock::now() - start, std::chrono::milliseconds(45));
  q.done("late");
  q.addRateLimited("x");
  q.addRateLimited("x");
  EXPECT_EQ(q.failures("x"), 2);
  q.forget("x");
  EXPECT_EQ(q.failures("x"), 0);
  q.shutDown();
  EXPECT_EQ(q.get(), std::nullopt);
}

Json parse(const char* text) {
  auto j = Json::parse(text);
  EXPECT_TRUE(j.ok()) << j.status().message();
  return *j;
}

TEST(Rollout, ProgressFromStatus) {
  // Shapes as Argo Rollouts writes them (status.observedGeneration is a string there).
  const Json updating = parse(R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout",
    "metadata":{"name":"checkout","namespace":"shop","generation":3},
    "spec":{"replicas":5,"strategy":{"canary":{"steps":[{"setWeight":20},{"pause":{}}]}}},
    "status":{"currentPodHash":"6b7c9d","stableRS":"5f8d7c","phase":"Progressing",
              "observedGeneration":"3","currentStepIndex":1}})");
  RolloutProgress p = rolloutProgress(updating);
  EXPECT_TRUE(p.updateInProgress);
  EXPECT_EQ(p.revision, "6b7c9d");
  EXPECT_EQ(p.phase, "Progressing");
  EXPECT_FALSE(p.paused);
  EXPECT_FALSE(p.aborted);

  const Json stable = parse(R"({"spec":{"paused":true},"status":{"currentPodHash":"5f8d7c",
    "stableRS":"5f8d7c","phase":"Healthy","abort":true}})");
  p = rolloutProgress(stable);
  EXPECT_FALSE(p.updateInProgress);
  EXPECT_TRUE(p.paused);
  EXPECT_TRUE(p.aborted);
  EXPECT_FALSE(rolloutProgress(parse("{}")).updateInProgress);
}

TEST(KubeClient, StatusObjectsMapToCodes) {
  const std::string body =
      R"j({"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 5 (9)","reason":"Expired","code":410})j";
  Status s = statusFromResponse(410, body, "GET /x");
  EXPECT_EQ(s.code(), Code::kExpired);
  EXPECT_EQ(s.message(), "GET /x: HTTP 410: too old resource version: 5 (9)");
  EXPECT_EQ(statusFromResponse(409, "{}", "PUT").code(), Code::kConflict);
  EXPECT_EQ(statusFromResponse(404, "", "GET").code(), Code::kNotFound);
  EXPECT_EQ(statusFromResponse(403, "", "GET").code(), Code::kPermissionDenied);
  EXPECT_EQ(statusFromResponse(401, "", "GET").code(), Code::kPermissionDenied);
  EXPECT_EQ(statusFromResponse(429, "", "GET").code(), Code::kUnavailable);
  EXPECT_EQ(statusFromResponse(500, "", "GET").code(), Code::kUnavailable);
  EXPECT_EQ(retryAfterSeconds(Status(Code::kUnavailable, "x (retry after 7 s)")), 7);
  EXPECT_EQ(retryAfterSeconds(Status(Code::kUnavailable, "x")), std::nullopt);
}

// Streams a fixed watch body in 7-byte pieces.
class FeedHttp final : public net::HttpClient {
 public:
  explicit FeedHttp(std::string body) : body_(std::move(body)) {}
  Result<net::HttpResponse> send(const net::HttpRequest&) override {
    return unavailable("watches only");
  }
  Result<int> stream(const net::HttpRequest&, const net::StreamHandler& handler,
                     net::Cancel*) override {
    handler.onHeaders(200, {});
    for (std::size_t at = 0; at < body_.size(); at += 7) {
      if (!handler.onData(std::string_view(body_).substr(at, 7))) break;
    }
    return 200;
  }

 private:
  std::string body_;
};

Status watchBody(const std::string& body, std::vector<std::string>& types) {
  KubeClient client({}, std::make_unique<FeedHttp>(body), std::make_unique<FeedHttp>(body));
  return client.watch(
      {"argoproj.io", "v1alpha1", "rollouts", "Rollout", true}, "shop", {},
      [&](const WatchEvent& ev) {
        types.push_back(ev.type);
        return true;
      },
      nullptr);
}

TEST(KubeClient, WatchDecoderPassesTheFiveTypesAndRefusesOthers) {
  std::vector<std::string> types;
  const std::string good =
      "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n\r\n"
      "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\n"
      "{\"type\":\"DELETED\",\"object\":{}}\n";
  EXPECT_TRUE(watchBody(good, types).isOk());
  EXPECT_EQ(types, (std::vector<std::string>{"ADDED", "BOOKMARK", "DELETED"}));

  types.clear();
  Status st = watchBody(good + "{\"type\":\"ADDDED\",\"object\":{}}\n", types);
  EXPECT_EQ(st.code(), Code::kInternal);
  EXPECT_NE(st.message().find("type \"ADDDED\""), std::string::npos) << st.message();
  EXPECT_EQ(types.size(), 3U);

  types.clear();
  st = watchBody("{\"type\":\"MODIFIED\",\"object\":[1]}\n", types);
  EXPECT_EQ(st.code(), Code::kInternal);
  EXPECT_TRUE(types.empty());

  types.clear();
  st = watchBody(
      "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,"
      "\"message\":\"too old\"}}\n",
      types);
  EXPECT_EQ(st.code(), Code::kExpired);
}

TEST(Resource, Paths) {
  EXPECT_EQ(resources::kRollout.objectPath("shop", "checkout"),
            "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout");
  EXPECT_EQ(resources::kSlo.collectionPath(""),
            "/apis/slogate.dev/v1alpha1/servicelevelobjectives");
  EXPECT_EQ(resources::kEvent.collectionPath("shop"), "/api/v1/namespaces/shop/events");
  EXPECT_EQ(resources::kLease.apiVersion(), "coordination.k8s.io/v1");
}

}  // namespace
}  // namespace slogate::kube
