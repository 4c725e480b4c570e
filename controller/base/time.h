// time.h — instants as Unix seconds: RFC 3339 parsing and printing.
//
// The CLI takes TIME as RFC 3339 ("2026-11-22T04:00:00Z", offsets and
// fractions allowed) or Unix seconds ("1795838400"); verdicts print UTC with
// a Z. Pure functions over the proleptic Gregorian calendar; no time zone
// database (calendar windows get theirs elsewhere).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace slogate {

// "2026-11-22T04:00:00Z" for 1795838400. Whole seconds.
std::string formatRfc3339(std::int64_t unixSeconds);

// RFC 3339 (a fraction of a second is dropped, offsets applied) or an integer
// number of Unix seconds. Errors name the text and what is wrong.
Result<std::int64_t> parseTime(std::string_view text);

// Days since 1970-01-01 for a civil date, and back (H. Hinnant's algorithms).
std::int64_t daysFromCivil(std::int64_t year, unsigned month, unsigned day);
void civilFromDays(std::int64_t days, std::int64_t& year, unsigned& month, unsigned& day);

}  // namespace slogate
