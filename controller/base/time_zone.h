// time_zone.h — IANA time zones from TZif data, for calendar SLO windows.
//
// libstdc++ 12 has no std::chrono::tzdb, so slogate reads the system's zone
// files itself. This header is pure: TimeZone is built from TZif bytes
// (RFC 8536, versions 1–4) or a POSIX TZ rule string, and answers two
// questions — the UTC offset at an instant, and the first instant at which
// the local clock reads a given local time. Reading the files is the loader's
// job (config/time_zone_loader.h).
//
//   TimeZone berlin = *TimeZone::fromTzif("Europe/Berlin", bytes);
//   berlin.offsetAt(1774746000);                 // 7200 (CEST)
//   berlin.firstInstantAtOrAfter(localMidnight); // the UTC instant it starts
//
// Instants past the last transition of the table follow the file's footer
// rule (e.g. "CET-1CEST,M3.5.0,M10.5.0/3"), as zic's "slim" files require.
// Leap-second ("right/") zones are refused: slogate counts in POSIX time.
//
// Thread safety: immutable after construction; share freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace slogate {

// A POSIX TZ rule (the footer of a TZif file): standard offset and, when the
// zone observes daylight saving time, its offset and the yearly switch rules.
struct PosixTzRule {
  // When in a year a switch happens: a date form and a local time of day.
  struct When {
    enum class Form { kJulian1, kJulian0, kMonthWeekDay };  // Jn, n, Mm.w.d
    Form form = Form::kMonthWeekDay;
    int day = 0;                  // Jn: 1..365; n: 0..365; M: weekday 0 (Sunday)..6
    int month = 0;                // M form: 1..12
    int week = 0;                 // M form: 1..5 (5 = the last)
    std::int64_t seconds = 7200;  // local time of day, −167h..167h
  };
  std::int64_t stdOffset = 0;  // seconds east of UTC
  bool hasDst = false;
  std::int64_t dstOffset = 0;
  When start;  // DST starts (in local standard time)
  When end;    // DST ends (in local daylight time)

  static Result<PosixTzRule> parse(std::string_view text);
  std::int64_t offsetAt(std::int64_t utcSeconds) const;
  // The UTC instants DST starts and ends in `year`.
  std::int64_t startIn(std::int64_t year) const;
  std::int64_t endIn(std::int64_t year) const;
};

class TimeZone {
 public:
  // Coordinated Universal Time (no file needed).
  static TimeZone utc();

  // Parses TZif bytes; `name` is used in messages and kept as the zone's name.
  // Errors say what is malformed; nothing is trusted from the counts.
  static Result<TimeZone> fromTzif(std::string name, std::string_view bytes);

  // A zone defined by a POSIX TZ rule alone ("UTC0", "EST5EDT,M3.2.0,M11.1.0").
  static Result<TimeZone> fromPosix(std::string name, std::string_view rule);

  const std::string& name() const { return name_; }

  // Seconds east of UTC at the instant (local = utc + offset).
  std::int64_t offsetAt(std::int64_t utcSeconds) const;

  // The earliest instant at which the local clock reads `localSeconds` or
  // later: the instant itself when the local time exists, the end of the gap
  // when a switch skips it, the first of two when a switch repeats it.
  std::int64_t firstInstantAtOrAfter(std::int64_t localSeconds) const;

 private:
  struct Transition {
    std::int64_t at = 0;      // UTC seconds; the offset applies from here on
    std::int64_t offset = 0;  // seconds east of UTC
  };
  TimeZone() = default;
  // Instants in (from, to] where the offset may change, ascending.
  std::vector<std::int64_t> changesBetween(std::int64_t from, std::int64_t to) const;

  std::string name_;
  std::int64_t initialOffset_ = 0;       // before the first transition
  std::vector<Transition> transitions_;  // ascending `at`
  std::optional<PosixTzRule> footer_;    // after the last transition
};

}  // namespace slogate
