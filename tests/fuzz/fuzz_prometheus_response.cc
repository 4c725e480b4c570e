// fuzz_prometheus_response — prometheus::decodeResponse (prometheus/client.h)
// on arbitrary bodies, then prometheus::eventCount and compareValue
// (prometheus/reader.h) on every sample value it returns.
//
// Input: byte 0 picks the HTTP status (200, 400, 422, 500, 503 by value mod
// 5); the rest is the response body.
//
// Properties checked (abort on violation):
//   * no crash, no exception;
//   * a 4xx/5xx status never decodes to a result; an error has a message;
//   * result shape: scalar/string results hold one unlabelled series with one
//     sample, vector series one sample each;
//   * sample times: `timestamp` is the literal's whole seconds (truncated) and
//     `millis` the same instant in milliseconds, exactly, sign included;
//   * eventCount(v) = n means v is within 0.5 of n (checked exactly with
//     compareValue for decimal values);
//   * compareValue(v, t) agrees with Fixed order whenever v is itself a Fixed
//     literal, compareValue(t.toString(), t) == 0, and compareValue is
//     monotonic in t.
//
// Known-bug switch: SLOGATE_FUZZ_KNOWN_BUGS=prom-negative-millis skips only the
// sign check of `millis` for timestamps in (-1, 0) (see the report that came
// with this harness).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "engine/fixed.h"
#include "prometheus/client.h"
#include "prometheus/reader.h"

namespace {

using slogate::engine::Fixed;
namespace prom = slogate::prometheus;

constexpr int kStatuses[] = {200, 400, 422, 500, 503};
constexpr std::size_t kMaxValuesChecked = 64;

[[noreturn]] void fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr,
               "fuzz_prometheus_response: INVARIANT VIOLATED: %s\n  detail: %s\n  body: %.*s\n",
               what, detail.c_str(), static_cast<int>(input.size()), input.data());
  std::abort();
}

bool knownBug(std::string_view tag) {
  static const std::string known = [] {
    const char* v = std::getenv("SLOGATE_FUZZ_KNOWN_BUGS");
    return "," + std::string(v != nullptr ? v : "") + ",";
  }();
  return known.find("," + std::string(tag) + ",") != std::string::npos;
}

const std::vector<Fixed>& thresholds() {
  static const std::vector<Fixed> kThresholds = [] {
    std::vector<Fixed> t;
    for (const char* s : {"0", "0.5", "-0.5", "1", "-1", "0.9", "0.000000001", "-0.000000001",
                          "100", "12345.678", "9223372036.854775807", "-9223372036.854775807"}) {
      t.push_back(*Fixed::parse(s));
    }
    std::sort(t.begin(), t.end());  // ascending: compareValue must not increase along it
    return t;
  }();
  return kThresholds;
}

int sign(int v) {
  return v < 0 ? -1 : (v > 0 ? 1 : 0);
}

void checkValue(const std::string& v, std::string_view body) {
  // compareValue against thresholds in increasing order: monotonic, and exact
  // against Fixed when v is a Fixed literal.
  const auto asFixed = Fixed::parse(v);
  std::optional<int> previous;
  Fixed previousT;
  for (const Fixed t : thresholds()) {
    const auto c = prom::compareValue(v, t);
    if (asFixed && (!c || sign(*c) != (*asFixed < t ? -1 : (*asFixed > t ? 1 : 0)))) {
      fail("compareValue disagrees with Fixed order", body, v + " vs " + t.toString());
    }
    if (c && previous && t > previousT && sign(*c) > sign(*previous)) {
      fail("compareValue is not monotonic in the threshold", body,
           v + " vs " + previousT.toString() + " and " + t.toString());
    }
    if (c) {
      previous = c;
      previousT = t;
    }
  }
  if (asFixed) {
    const auto self = prom::compareValue(asFixed->toString(), *asFixed);
    if (!self || *self != 0) fail("compareValue(t.toString(), t) != 0", body, v);
  }

  // eventCount rounds to the nearest whole event.
  const auto n = prom::eventCount(v);
  if (n && *n < 1'000'000'000) {
    const auto whole = Fixed::fromInt(static_cast<std::int64_t>(*n));
    const Fixed slack = Fixed::fromRaw(500'001'000);  // 0.5 and a hair for double rounding
    const auto lo = prom::compareValue(v, *Fixed::sub(*whole, slack));
    const auto hi = prom::compareValue(v, *Fixed::add(*whole, slack));
    if (lo && hi && (*lo < 0 || *hi > 0)) {
      fail("eventCount is not the nearest whole number", body, v + " -> " + std::to_string(*n));
    }
  }
}

// Expected (seconds, millis) of a JSON number literal as parseTimestamp should
// read it; nullopt when it is not a plain [-]digits[.digits] literal.
struct Instant {
  std::int64_t seconds;
  std::int64_t millis;
};
std::optional<Instant> expectedInstant(const std::string& literal) {
  const bool negative = !literal.empty() && literal[0] == '-';
  const std::string body = negative ? literal.substr(1) : literal;
  const auto dot = body.find('.');
  const std::string whole = body.substr(0, dot);
  std::string frac = dot == std::string::npos ? "" : body.substr(dot + 1);
  if (whole.empty() || whole.size() > 14 || frac.size() > 9 ||
      whole.find_first_not_of("0123456789") != std::string::npos ||
      frac.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  frac.resize(3, '0');
  const std::int64_t s = std::stoll(whole);
  const std::int64_t ms = s * 1000 + std::stoll(frac);
  return Instant{negative ? -s : s, negative ? -ms : ms};
}

void checkSamples(const prom::QueryResult& r, const slogate::Json& doc, std::string_view body,
                  std::size_t& checked) {
  // Walk the JSON alongside the decoded result to recover each time literal.
  const slogate::Json& result = doc["data"]["result"];
  for (std::size_t si = 0; si < r.series.size(); ++si) {
    const prom::Series& s = r.series[si];
    for (std::size_t k = 0; k < s.samples.size(); ++k) {
      const prom::Sample& sample = s.samples[k];
      const slogate::Json* pair = nullptr;
      if (r.type == prom::QueryResult::Type::kScalar ||
          r.type == prom::QueryResult::Type::kString) {
        pair = &result;
      } else if (r.type == prom::QueryResult::Type::kVector) {
        pair = &result[si]["value"];
      } else {
        pair = &result[si]["values"][k];
      }
      const std::string& literal = (*pair)[std::size_t{0}].text();
      if ((*pair)[std::size_t{1}].text() != sample.value) {
        fail("sample value differs from the body", body, sample.value);
      }
      if (const auto want = expectedInstant(literal)) {
        if (sample.timestamp != want->seconds) {
          fail("sample timestamp is not the literal's whole seconds", body,
               literal + " -> " + std::to_string(sample.timestamp));
        }
        const bool signOnly = sample.millis == -want->millis && want->seconds == 0;
        if (sample.millis != want->millis && !(signOnly && knownBug("prom-negative-millis"))) {
          fail("sample millis is not the literal's instant", body,
               literal + " -> " + std::to_string(sample.millis) + " ms, want " +
                   std::to_string(want->millis));
        }
      }
      if (checked++ < kMaxValuesChecked) checkValue(sample.value, body);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int status = kStatuses[data[0] % 5];
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  slogate::Result<prom::QueryResult> r = slogate::internalError("not run");
  try {
    r = prom::decodeResponse(status, body);
  } catch (const std::exception& e) {
    fail("decodeResponse threw", body, e.what());
  } catch (...) {
    fail("decodeResponse threw a non-std exception", body, "");
  }

  if (!r) {
    if (r.status().message().empty()) fail("error without a message", body, "");
  } else {
    if (status >= 400)
      fail("an HTTP error status decoded to a result", body, std::to_string(status));
    using Type = prom::QueryResult::Type;
    if (r->type == Type::kScalar || r->type == Type::kString) {
      if (r->series.size() != 1 || r->series[0].samples.size() != 1 ||
          !r->series[0].labels.empty()) {
        fail("scalar/string result is not one unlabelled sample", body, "");
      }
    }
    if (r->type == Type::kVector) {
      for (const auto& s : r->series) {
        if (s.samples.size() != 1) fail("vector series without exactly one sample", body, "");
      }
    }
    auto doc = slogate::Json::parse(body);
    if (!doc) fail("decoded a body that is not JSON", body, doc.status().message());
    std::size_t checked = 0;
    checkSamples(*r, *doc, body, checked);
  }

  // The reader's value functions on the raw body too (short bodies only).
  if (body.size() <= 64) checkValue(std::string(body), body);
  return 0;
}
