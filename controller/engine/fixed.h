// fixed.h — Fixed: the engine's decimal number, and Ratio: an exact fraction.
//
// Every number slogate shows (objectives, burn rates, budget remaining) is a
// Fixed: a signed 64-bit count of billionths (9 decimal places, range about
// ±9.2e9). Parsing is exact ("99.9" is 999/1000 of a percent, no binary
// rounding), printing never uses exponent notation, and every operation that
// could overflow is checked.
//
// Decisions never compare rounded numbers. They compare Ratios — exact
// fractions of 128-bit integers — so a burn rate "exactly at" a factor such as
// 0.2333… (7d window, 3d rule) compares equal, never above. A Ratio becomes a
// Fixed only for display, with the one rounding rule of the engine:
//
//   ROUNDING: to the nearest billionth, ties away from zero.
//
//   Fixed f = *Fixed::parse("0.25");          // raw() == 250'000'000
//   Ratio burn{bad * Fixed::kScale, total * budgetRaw};
//   if (compare(burn, factor) > 0) ...         // exact
//   Fixed shown = *toFixed(burn);              // rounded, for the verdict
//
// Thread safety: value types.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace slogate::engine {

// GCC/Clang builtins; __extension__ keeps -Wpedantic quiet about them.
__extension__ using Int128 = __int128;
__extension__ using Uint128 = unsigned __int128;

class Fixed {
 public:
  static constexpr int kDigits = 9;                      // decimal places
  static constexpr std::int64_t kScale = 1'000'000'000;  // 10^kDigits

  constexpr Fixed() = default;
  static constexpr Fixed fromRaw(std::int64_t raw) { return Fixed(raw); }
  // Whole number; nullopt when it does not fit.
  static std::optional<Fixed> fromInt(std::int64_t value);

  // Parses "[+-]digits[.digits]" exactly; at most kDigits decimal places, no
  // exponent, no spaces. The error names what is wrong, not the field (the
  // caller knows the field).
  static Result<Fixed> parse(std::string_view text);

  // Parses a percentage ("99.9") into a ratio (0.999): at most kDigits - 2
  // decimal places.
  static Result<Fixed> parsePercent(std::string_view text);

  constexpr std::int64_t raw() const { return raw_; }

  // Shortest exact decimal: "0.999", "-2", "14.4". Never an exponent.
  std::string toString() const;
  // Rounded to at most `decimals` places (ties away from zero), trailing
  // zeros dropped: toString(2) of 0.2333333 is "0.23".
  std::string toString(int decimals) const;

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads defaulted <=>
  friend constexpr auto operator<=>(Fixed a, Fixed b) = default;

  // Checked arithmetic: nullopt on overflow.
  static std::optional<Fixed> add(Fixed a, Fixed b);
  static std::optional<Fixed> sub(Fixed a, Fixed b);

 private:
  constexpr explicit Fixed(std::int64_t raw) : raw_(raw) {}
  std::int64_t raw_ = 0;  // value × kScale
};

inline constexpr Fixed kZero = Fixed::fromRaw(0);
inline constexpr Fixed kOne = Fixed::fromRaw(Fixed::kScale);

// An exact fraction num/den with den > 0, not necessarily reduced. The engine
// keeps numerators and denominators below 2^125 so that products of a Ratio
// with small factors stay exact; `compare` is exact for any values.
struct Ratio {
  Int128 num = 0;  // numerator, any sign
  Int128 den = 1;  // denominator, > 0
};

inline Ratio toRatio(Fixed f) {
  return {f.raw(), Fixed::kScale};
}

// Exact three-way comparison: -1, 0 or 1. Never overflows.
int compare(const Ratio& a, const Ratio& b);

// num/den rounded to the nearest billionth, ties away from zero; nullopt when
// the result does not fit a Fixed.
std::optional<Fixed> toFixed(const Ratio& r);

// Decimal digits of an unsigned 128-bit integer ("0" for zero).
std::string toDecimalString(Uint128 value);

}  // namespace slogate::engine
