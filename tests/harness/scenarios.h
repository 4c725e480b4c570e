// scenarios.h — shipped synthetic histories shared by tests and `make demo`.
//
// checkoutIncident: three and a half days of the "checkout" service at 1,000
// requests a minute, against the 99.5% objective of
// tests/fixtures/slo/demo-checkout.yaml (1-day window: 7,200 errors of
// budget a day). Days 0 and 1 are healthy: 2 errors a minute (burn 0.4,
// budget remaining 0.6). On day 2 at 10:00 a bad revision fails 10% of the
// requests for 45 minutes (burn 20): the 1h/5m rule fires at 10:43
// (rollback), and the day's errors pass 7,200 (freeze). Afterwards 1 error a
// minute (burn 0.2): as the noisier minutes of day 1 leave the window the
// budget climbs above 0 at 11:42 (still frozen: not above unfreezeAbove
// 0.05) and above 0.05 at 17:43 (approve). On day 3 from 10:00 the
// incident itself leaves the window.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "harness/history.h"

namespace slogate::harness {

struct IncidentTimes {
  std::int64_t start = 0;          // history start (day 0, 00:00)
  std::int64_t incidentStart = 0;  // day 2, 10:00
  std::int64_t incidentEnd = 0;    // day 2, 10:45
  std::int64_t end = 0;            // day 3, 12:00 (last sample)
};

// The times for a history whose day 0 starts at `day0` (a multiple of 86400).
IncidentTimes incidentTimes(std::int64_t day0);

// The history (ServiceHistory "checkout") of the incident.
ServiceHistory checkoutIncident(std::int64_t day0);

}  // namespace slogate::harness
