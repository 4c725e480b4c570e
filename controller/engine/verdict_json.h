// verdict_json.h — the verdict as SPEC §2 JSON, and as text for people.
//
// One function renders every verdict slogate prints or serves (CLI, the
// analysis endpoint, status), so they cannot drift apart. Numbers come from
// Fixed values: no exponent, up to 9 decimal places; `null` for a window
// without events.
//
// Thread safety: pure functions.
#pragma once

#include <string>

#include "engine/verdict.h"

namespace slogate::engine {

// One line of JSON, no trailing newline:
// {"namespace":…,"slo":…,"evaluatedAt":…,"decision":…,"reasons":[…],"frozen":…,"indicators":{…}}
std::string verdictJson(const Verdict& verdict);

// A few lines for a terminal: decision, reasons, per-indicator budget and burns.
std::string verdictText(const Verdict& verdict);

}  // namespace slogate::engine
