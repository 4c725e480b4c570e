#include "harness/scenarios.h"

namespace slogate::harness {

IncidentTimes incidentTimes(std::int64_t day0) {
  constexpr std::int64_t kDay = 86'400;
  constexpr std::int64_t kHour = 3'600;
  constexpr std::int64_t kMinute = 60;
  IncidentTimes t;
  t.start = day0;
  t.incidentStart = day0 + 2 * kDay + 10 * kHour;
  t.incidentEnd = t.incidentStart + 45 * kMinute;
  t.end = day0 + 3 * kDay + 12 * kHour;
  return t;
}

ServiceHistory checkoutIncident(std::int64_t day0) {
  const IncidentTimes t = incidentTimes(day0);
  ServiceHistory h("checkout", t.start, t.end);
  h.setRate(t.start, t.incidentStart, 1'000, 2);
  h.setRate(t.incidentStart, t.incidentEnd, 1'000, 100);
  h.setRate(t.incidentEnd, t.end, 1'000, 1);
  return h;
}

}  // namespace slogate::harness
