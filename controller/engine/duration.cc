#include "engine/duration.h"

namespace slogate::engine {
namespace {

constexpr Minutes kMaxDuration = 3660 * kDay;  // ten years and change

Minutes unitLength(char unit) {
  switch (unit) {
    case 'w':
      return kWeek;
    case 'd':
      return kDay;
    case 'h':
      return kHour;
    case 'm':
      return kMinute;
    default:
      return 0;
  }
}

}  // namespace

Result<Minutes> parseDuration(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return invalidArgument("\"" + std::string(text) + "\" is not a duration: " + why);
  };
  if (text.empty()) return bad("empty");
  Minutes total = 0;
  Minutes lastUnit = 0;  // length of the previous unit; units must decrease
  std::size_t i = 0;
  while (i < text.size()) {
    Minutes value = 0;
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      value = value * 10 + (text[i] - '0');
      if (value > kMaxDuration) return bad("longer than 10 years");
      ++i;
    }
    if (i == start) return bad("expected digits, e.g. 30d, 1h30m");
    if (i == text.size()) return bad("missing unit (m, h, d or w)");
    const Minutes unit = unitLength(text[i]);
    if (unit == 0) return bad(std::string("unknown unit '") + text[i] + "' (use m, h, d or w)");
    if (lastUnit != 0 && unit >= lastUnit) return bad("units must go from large to small");
    lastUnit = unit;
    ++i;
    total += value * unit;
    if (total > kMaxDuration) return bad("longer than 10 years");
  }
  if (total <= 0) return bad("must be longer than zero");
  return total;
}

std::string formatDuration(Minutes length) {
  if (length <= 0) return "0m";
  std::string out;
  if (length % kWeek == 0) return std::to_string(length / kWeek) + "w";
  for (const auto& [unit, suffix] :
       {std::pair{kDay, 'd'}, std::pair{kHour, 'h'}, std::pair{kMinute, 'm'}}) {
    if (length >= unit) {
      out += std::to_string(length / unit);
      out += suffix;
      length %= unit;
    }
  }
  return out;
}

}  // namespace slogate::engine
