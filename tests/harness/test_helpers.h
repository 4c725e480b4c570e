// test_helpers.h — small helpers the integration tests share (header only;
// for gtest binaries): parseJson(), eventually() and checkoutRollout().
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "base/json.h"

namespace slogate::harness {

// The JSON value of `text`; a (non-fatal) test failure showing the text when
// it is not JSON, and then a null Json.
inline Json parseJson(const std::string& text) {
  auto j = Json::parse(text);
  EXPECT_TRUE(j.ok()) << text;
  return j.ok() ? *j : Json();
}

// Calls `pred` every `poll` until it returns true (true) or `limit` has passed
// (then whatever one last call returns).
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(15),
                std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(poll);
  }
  return pred();
}

// The Argo Rollout shop/checkout as the gate tests serve it: 3 replicas, one
// container whose image tag is `podHash`, status.currentPodHash `podHash`,
// stableRS rev1, phase Progressing; `statusExtra` is appended inside status
// (e.g. R"(,"observedGeneration":"2")").
inline Json checkoutRollout(const std::string& podHash, const std::string& statusExtra = "") {
  return parseJson(
      R"({"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"checkout","namespace":"shop"},
      "spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"app","image":"app:)" +
      podHash + R"("}]}}},"status":{"currentPodHash":")" + podHash +
      R"(","stableRS":"rev1","phase":"Progressing")" + statusExtra + "}}");
}

}  // namespace slogate::harness
