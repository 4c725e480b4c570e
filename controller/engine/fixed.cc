#include "engine/fixed.h"

#include <limits>

namespace slogate::engine {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

// Parses an unsigned decimal with at most `maxDecimals` fraction digits into
// value × 10^maxDecimals... scaled to Fixed::kScale.
Result<Fixed> parseScaled(std::string_view text, int maxDecimals, int shift) {
  if (text.empty()) return invalidArgument("empty number");
  const std::string_view original = text;
  bool negative = false;
  if (text.front() == '+' || text.front() == '-') {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  Uint128 value = 0;
  int intDigits = 0;
  int fracDigits = 0;
  bool seenPoint = false;
  for (const char c : text) {
    if (c == '.') {
      if (seenPoint)
        return invalidArgument("\"" + std::string(original) + "\" is not a decimal number");
      seenPoint = true;
      continue;
    }
    if (c < '0' || c > '9') {
      return invalidArgument("\"" + std::string(original) + "\" is not a decimal number");
    }
    if (seenPoint) {
      if (++fracDigits > maxDecimals) {
        return invalidArgument("\"" + std::string(original) + "\" has more than " +
                               std::to_string(maxDecimals) + " decimal places");
      }
    } else {
      ++intDigits;
    }
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > static_cast<Uint128>(kMax) * 10) {  // far past any Fixed; stop early
      return invalidArgument("\"" + std::string(original) + "\" is out of range");
    }
  }
  if (intDigits == 0 && fracDigits == 0) {
    return invalidArgument("\"" + std::string(original) + "\" is not a decimal number");
  }
  // value has fracDigits decimals; bring it to kDigits - shift decimals, then
  // the shift (percent → ratio) is a division by 10^shift that stays exact
  // because we scale to kDigits overall.
  for (int i = fracDigits; i < Fixed::kDigits - shift; ++i) {
    value *= 10;
    if (value > static_cast<Uint128>(kMax)) {
      return invalidArgument("\"" + std::string(original) + "\" is out of range");
    }
  }
  if (value > static_cast<Uint128>(kMax)) {
    return invalidArgument("\"" + std::string(original) + "\" is out of range");
  }
  const auto raw = static_cast<std::int64_t>(value);
  return Fixed::fromRaw(negative ? -raw : raw);
}

// Splits a non-negative raw value into "int.frac" with exactly kDigits
// fraction digits, then trims trailing zeros.
std::string formatRaw(std::int64_t raw) {
  const bool negative = raw < 0;
  // |INT64_MIN| does not fit; Fixed never produces it (checked ops), but be safe.
  const Uint128 magnitude =
      negative ? static_cast<Uint128>(-static_cast<Int128>(raw)) : static_cast<Uint128>(raw);
  const auto whole = static_cast<std::uint64_t>(magnitude / Fixed::kScale);
  auto frac = static_cast<std::uint64_t>(magnitude % Fixed::kScale);
  std::string out = negative && magnitude != 0 ? "-" : "";
  out += std::to_string(whole);
  if (frac != 0) {
    std::string digits(Fixed::kDigits, '0');
    for (int i = Fixed::kDigits - 1; i >= 0; --i) {
      digits[static_cast<std::size_t>(i)] = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    out += '.';
    out += digits;
  }
  return out;
}

// Compares a/b with c/d for non-negative a, c and positive b, d, exactly, by
// comparing the continued-fraction expansions (no products, so no overflow).
int compareNonNegative(Uint128 a, Uint128 b, Uint128 c, Uint128 d) {
  int sign = 1;
  for (;;) {
    const Uint128 qa = a / b;
    const Uint128 qc = c / d;
    if (qa != qc) return qa < qc ? -sign : sign;
    const Uint128 ra = a % b;
    const Uint128 rc = c % d;
    if (ra == 0 || rc == 0) {
      if (ra == rc) return 0;
      return ra == 0 ? -sign : sign;
    }
    // ra/b vs rc/d  ⇔  d/rc vs b/ra (reciprocals flip the order).
    a = b;
    b = ra;
    c = d;
    d = rc;
    sign = -sign;
  }
}

// (hi·2^64 + lo) / d for hi < d, so the quotient fits 64 bits: one hardware
// division on x86-64 (the evaluation pass divides ~20 times per SLO).
std::uint64_t divNarrow(Uint128 n, std::uint64_t d, std::uint64_t& rem) {
#if defined(__x86_64__)
  std::uint64_t q = 0;
  std::uint64_t r = 0;
  const auto hi = static_cast<std::uint64_t>(n >> 64);
  const auto lo = static_cast<std::uint64_t>(n);
  __asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(d) : "cc");
  rem = r;
  return q;
#else
  rem = static_cast<std::uint64_t>(n % d);
  return static_cast<std::uint64_t>(n / d);
#endif
}

Uint128 magnitude(Int128 v) {
  return v < 0 ? static_cast<Uint128>(-(v + 1)) + 1 : static_cast<Uint128>(v);
}

}  // namespace

std::optional<Fixed> Fixed::fromInt(std::int64_t value) {
  if (value > kMax / kScale || value < -(kMax / kScale)) return std::nullopt;
  return Fixed(value * kScale);
}

Result<Fixed> Fixed::parse(std::string_view text) {
  return parseScaled(text, kDigits, 0);
}

Result<Fixed> Fixed::parsePercent(std::string_view text) {
  return parseScaled(text, kDigits - 2, 2);
}

std::string Fixed::toString() const {
  return formatRaw(raw_);
}

std::string Fixed::toString(int decimals) const {
  if (decimals >= kDigits) return formatRaw(raw_);
  if (decimals < 0) decimals = 0;
  std::int64_t unit = 1;
  for (int i = decimals; i < kDigits; ++i) unit *= 10;
  const Int128 raw = raw_;
  const Int128 half = unit / 2;
  Int128 q = (raw < 0 ? -raw : raw) / unit;
  const Int128 r = (raw < 0 ? -raw : raw) % unit;
  if (r >= half) ++q;  // ties away from zero
  Int128 rounded = q * unit;
  if (raw < 0) rounded = -rounded;
  // Cannot round past either end of the range: keep the exact value.
  if (rounded > kMax || rounded < std::numeric_limits<std::int64_t>::min()) rounded = raw;
  return formatRaw(static_cast<std::int64_t>(rounded));
}

std::optional<Fixed> Fixed::add(Fixed a, Fixed b) {
  std::int64_t out = 0;
  if (__builtin_add_overflow(a.raw_, b.raw_, &out) ||
      out == std::numeric_limits<std::int64_t>::min()) {
    return std::nullopt;
  }
  return Fixed(out);
}

std::optional<Fixed> Fixed::sub(Fixed a, Fixed b) {
  std::int64_t out = 0;
  if (__builtin_sub_overflow(a.raw_, b.raw_, &out) ||
      out == std::numeric_limits<std::int64_t>::min()) {
    return std::nullopt;
  }
  return Fixed(out);
}

int compare(const Ratio& a, const Ratio& b) {
  const bool aNeg = a.num < 0;
  const bool bNeg = b.num < 0;
  if (aNeg != bNeg) return aNeg ? -1 : 1;
  const Uint128 an = magnitude(a.num);
  const Uint128 bn = magnitude(b.num);
  const auto ad = static_cast<Uint128>(a.den);
  const auto bd = static_cast<Uint128>(b.den);
  // Fast path: cross products fit in 128 bits when both sides are below 2^64.
  int result = 0;
  if ((an >> 64) == 0 && (bd >> 64) == 0 && (bn >> 64) == 0 && (ad >> 64) == 0) {
    const Uint128 l = an * bd;
    const Uint128 r = bn * ad;
    result = l < r ? -1 : (l > r ? 1 : 0);
  } else {
    result = compareNonNegative(an, ad, bn, bd);
  }
  return aNeg ? -result : result;
}

std::optional<Fixed> toFixed(const Ratio& r) {
  if (r.den <= 0) return std::nullopt;
  const bool negative = r.num < 0;
  const Uint128 num = magnitude(r.num);
  const auto den = static_cast<Uint128>(r.den);
  // Fast path: 64-bit operands whose rounded quotient fits (the common case
  // for burn rates and budgets); same result as the general path below.
  if ((num >> 64) == 0 && (den >> 64) == 0) {
    const auto n = static_cast<std::uint64_t>(num);
    const auto d = static_cast<std::uint64_t>(den);
    const std::uint64_t whole = n / d;
    if (whole <= static_cast<std::uint64_t>(kMax / Fixed::kScale) - 1) {
      std::uint64_t rem = 0;
      // (n mod d) × 10^9 / d < 10^9: the quotient fits 64 bits.
      std::uint64_t frac = divNarrow(static_cast<Uint128>(n % d) * Fixed::kScale, d, rem);
      if (rem >= d - rem) ++frac;
      const auto raw = static_cast<std::int64_t>(whole * Fixed::kScale + frac);
      return Fixed::fromRaw(negative ? -raw : raw);
    }
  }
  Uint128 q = num / den;
  Uint128 rem = num % den;
  if (q > static_cast<Uint128>(kMax / Fixed::kScale)) return std::nullopt;
  q *= Fixed::kScale;
  // Fraction digits: one 128-bit division when rem × kScale cannot overflow,
  // else digit by digit.
  Uint128 frac = 0;
  if ((rem >> 96) == 0) {
    const Uint128 scaled = rem * Fixed::kScale;
    frac = scaled / den;
    rem = scaled % den;
  } else {
    for (int i = 0; i < Fixed::kDigits; ++i) {
      // rem < den < 2^127, so rem × 10 may overflow: add rem ten times,
      // reducing mod den and counting the wraps (the next digit).
      Uint128 digit = 0;
      Uint128 t = 0;
      for (int k = 0; k < 10; ++k) {
        if (t >= den - rem) {  // t + rem >= den
          t -= den - rem;
          ++digit;
        } else {
          t += rem;
        }
      }
      rem = t;
      frac = frac * 10 + digit;
    }
  }
  // Ties away from zero: round up when rem/den >= 1/2.
  if (rem >= den - rem) ++frac;
  const Uint128 total = q + frac;
  if (total > static_cast<Uint128>(kMax)) return std::nullopt;
  const auto raw = static_cast<std::int64_t>(total);
  return Fixed::fromRaw(negative ? -raw : raw);
}

std::string toDecimalString(Uint128 value) {
  if (value == 0) return "0";
  std::string out;
  while (value != 0) {
    out.insert(out.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  }
  return out;
}

}  // namespace slogate::engine
