#include "engine/fixed.h"

#include <gtest/gtest.h>

#include <boost/multiprecision/cpp_int.hpp>
#include <limits>
#include <random>

namespace slogate::engine {
namespace {

using boost::multiprecision::cpp_int;

TEST(Fixed, ParsesExactly) {
  EXPECT_EQ(Fixed::parse("0.999")->raw(), 999'000'000);
  EXPECT_EQ(Fixed::parse("14.4")->raw(), 14'400'000'000);
  EXPECT_EQ(Fixed::parse("-0.000000001")->raw(), -1);
  EXPECT_EQ(Fixed::parse("+7")->raw(), 7'000'000'000);
  EXPECT_EQ(Fixed::parse(".5")->raw(), 500'000'000);
  EXPECT_EQ(Fixed::parse("5.")->raw(), 5'000'000'000);
  EXPECT_EQ(Fixed::parse("9223372036.854775807")->raw(), std::numeric_limits<std::int64_t>::max());
}

TEST(Fixed, ParsesPercentIntoRatio) {
  EXPECT_EQ(Fixed::parsePercent("99.9")->raw(), 999'000'000);
  EXPECT_EQ(Fixed::parsePercent("99.999")->raw(), 999'990'000);
  EXPECT_EQ(Fixed::parsePercent("99.9999999")->raw(), 999'999'999);
  EXPECT_EQ(Fixed::parsePercent("50")->raw(), 500'000'000);
}

TEST(Fixed, RejectsWhatItCannotRepresentExactly) {
  for (const char* bad : {"", "-", ".", "1e-3", "abc", "1.2.3", " 1", "1 ", "0x10", "1,5",
                          "9223372036.854775808", "99999999999"}) {
    EXPECT_FALSE(Fixed::parse(bad).ok()) << bad;
  }
  const auto tooPrecise = Fixed::parse("0.1234567891");
  ASSERT_FALSE(tooPrecise.ok());
  EXPECT_EQ(tooPrecise.status().message(), "\"0.1234567891\" has more than 9 decimal places");
  EXPECT_FALSE(Fixed::parsePercent("99.99999999").ok());  // 8 places of percent = 10 of ratio
}

TEST(Fixed, PrintsShortestWithoutExponent) {
  EXPECT_EQ(Fixed::fromRaw(0).toString(), "0");
  EXPECT_EQ(Fixed::fromRaw(1).toString(), "0.000000001");
  EXPECT_EQ(Fixed::fromRaw(-1).toString(), "-0.000000001");
  EXPECT_EQ(Fixed::fromRaw(14'400'000'000).toString(), "14.4");
  EXPECT_EQ(Fixed::fromRaw(-2'000'000'000).toString(), "-2");
  EXPECT_EQ(Fixed::fromRaw(std::numeric_limits<std::int64_t>::max()).toString(),
            "9223372036.854775807");
}

TEST(Fixed, RoundsForDisplayTiesAwayFromZero) {
  EXPECT_EQ(Fixed::fromRaw(233'333'333).toString(4), "0.2333");
  EXPECT_EQ(Fixed::fromRaw(250'000'000).toString(1), "0.3");
  EXPECT_EQ(Fixed::fromRaw(-250'000'000).toString(1), "-0.3");
  EXPECT_EQ(Fixed::fromRaw(249'999'999).toString(1), "0.2");
  EXPECT_EQ(Fixed::fromRaw(999'950'000).toString(4), "1");
  EXPECT_EQ(Fixed::fromRaw(-40'000'000).toString(1), "0");
}

TEST(Fixed, CheckedArithmetic) {
  const Fixed max = Fixed::fromRaw(std::numeric_limits<std::int64_t>::max());
  EXPECT_FALSE(Fixed::add(max, Fixed::fromRaw(1)).has_value());
  EXPECT_EQ(Fixed::sub(kOne, Fixed::fromRaw(1))->raw(), 999'999'999);
  EXPECT_FALSE(Fixed::fromInt(9'223'372'037).has_value());
  EXPECT_EQ(Fixed::fromInt(-3)->raw(), -3'000'000'000);
}

TEST(Ratio, ComparesExactlyAtTheEdge) {
  // 7/30 (default 3d factor for a 7d window) against its rounded forms.
  const Ratio factor{7, 30};
  EXPECT_EQ(compare(factor, Ratio{233'333'333, 1'000'000'000}), 1);
  EXPECT_EQ(compare(factor, Ratio{233'333'334, 1'000'000'000}), -1);
  EXPECT_EQ(compare(factor, Ratio{14, 60}), 0);
  EXPECT_EQ(compare(Ratio{-1, 3}, Ratio{1, 1'000'000}), -1);
  EXPECT_EQ(compare(Ratio{0, 5}, Ratio{0, 7}), 0);
  // Beyond 64 bits: exact via continued fractions.
  const Int128 big = static_cast<Int128>(1) << 100;
  EXPECT_EQ(compare(Ratio{big + 1, big}, Ratio{big, big - 1}), -1);
  EXPECT_EQ(compare(Ratio{big, big}, Ratio{3, 3}), 0);
  EXPECT_EQ(compare(Ratio{-(big + 1), big}, Ratio{-big, big - 1}), 1);
}

cpp_int toCpp(Int128 v) {
  const bool neg = v < 0;
  auto mag = neg ? static_cast<Uint128>(-(v + 1)) + 1 : static_cast<Uint128>(v);
  cpp_int out = static_cast<std::uint64_t>(mag >> 64);
  out <<= 64;
  out += static_cast<std::uint64_t>(mag);
  return neg ? cpp_int(-out) : out;
}

// Reference rounding: nearest billionth, ties away from zero.
cpp_int roundedBillionths(const cpp_int& num, const cpp_int& den) {
  const cpp_int scaled = abs(num) * Fixed::kScale;
  cpp_int q = scaled / den;
  const cpp_int r = scaled % den;
  if (2 * r >= den) ++q;
  return num < 0 ? cpp_int(-q) : q;
}

TEST(Ratio, RandomAgainstMultiprecision) {
  std::mt19937_64 rng(20261122);
  for (int i = 0; i < 200'000; ++i) {
    // Mix magnitudes: small, 64-bit and 120-bit operands.
    const int bits = (i % 3 == 0) ? 20 : (i % 3 == 1 ? 63 : 120);
    auto draw = [&](bool positive) {
      Int128 v =
          (static_cast<Int128>(rng()) << 64 | rng()) & ((static_cast<Int128>(1) << bits) - 1);
      if (positive && v == 0) v = 1;
      if (!positive && (rng() & 1)) v = -v;
      return v;
    };
    const Ratio a{draw(false), draw(true)};
    const Ratio b{draw(false), draw(true)};
    const cpp_int l = toCpp(a.num) * toCpp(b.den);
    const cpp_int r = toCpp(b.num) * toCpp(a.den);
    const int want = l < r ? -1 : (l > r ? 1 : 0);
    ASSERT_EQ(compare(a, b), want) << i;

    const cpp_int rounded = roundedBillionths(toCpp(a.num), toCpp(a.den));
    const auto got = toFixed(a);
    if (rounded > std::numeric_limits<std::int64_t>::max() ||
        rounded < -std::numeric_limits<std::int64_t>::max()) {
      EXPECT_FALSE(got.has_value()) << i;
    } else {
      ASSERT_TRUE(got.has_value()) << i;
      EXPECT_EQ(cpp_int(got->raw()), rounded) << i;
    }
  }
}

TEST(Ratio, ToFixedTiesAwayFromZero) {
  EXPECT_EQ(toFixed(Ratio{1, 2'000'000'000})->raw(), 1);
  EXPECT_EQ(toFixed(Ratio{-1, 2'000'000'000})->raw(), -1);
  EXPECT_EQ(toFixed(Ratio{1, 2'000'000'001})->raw(), 0);
  EXPECT_EQ(toFixed(Ratio{2, 3})->raw(), 666'666'667);
  EXPECT_FALSE(toFixed(Ratio{static_cast<Int128>(1) << 100, 1}).has_value());
}

}  // namespace
}  // namespace slogate::engine

namespace slogate::engine {
namespace {

// Found by fuzz_fixed_duration: rounding near the bottom of the range must
// not flip the sign.
TEST(Fixed, RoundingAtTheBottomOfTheRangeKeepsTheSign) {
  const Fixed f = *Fixed::parse("-9223372036.854775807");
  EXPECT_EQ(f.toString(0), "-9223372036.854775807");
  EXPECT_EQ(f.toString(4), "-9223372036.854775807");
  EXPECT_EQ(Fixed::fromRaw(-1'500'000'000).toString(0), "-2");
}

}  // namespace
}  // namespace slogate::engine
