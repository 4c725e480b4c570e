// time_zone_loader.h — IANA time zones by name, read from the system's zoneinfo.
//
// `UTC` and `Etc/UTC` need no file. Other names are read from $TZDIR, else
// /usr/share/zoneinfo (the Debian package tzdata; the container image ships
// it). Names are checked before any path is built: letters, digits and
// `/ _ - +` only, no `..` component, no leading `/`. Zones are cached by name
// for the life of the process and shared by every SLO that names them.
//
// Thread safety: loadTimeZone may be called from any thread.
#pragma once

#include <memory>
#include <string_view>

#include "base/result.h"
#include "base/time_zone.h"

namespace slogate::config {

// The zone, or kInvalidArgument naming it and why ("unknown time zone").
Result<std::shared_ptr<const TimeZone>> loadTimeZone(std::string_view name);

}  // namespace slogate::config
