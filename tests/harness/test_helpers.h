// test_helpers.h — small helpers the integration tests share (header only;
// for gtest binaries): parseJson() and eventually().
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

}  // namespace slogate::harness
