// Bounded big integers and rationals (rewards/math/math_number.h): exactness past 64 bits, Knuth division,
// and the size bound that keeps hostile answers like 10^{10^{10}} from growing without limit.
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>

#include "rewards/math/math_number.h"

using aha::rewards::math::BigInt;
using aha::rewards::math::Rational;

namespace {

std::string int128_string(__int128 v) {
  if (v == 0) return "0";
  const bool negative = v < 0;
  unsigned __int128 m = negative ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
  std::string s;
  while (m > 0) {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(m % 10)));
    m /= 10;
  }
  return negative ? "-" + s : s;
}

BigInt big(const std::string& decimal) {
  const bool negative = !decimal.empty() && decimal[0] == '-';
  BigInt value = *BigInt::from_decimal(negative ? decimal.substr(1) : decimal);
  return negative ? -value : value;
}

}  // namespace

// Guards the schoolbook multiply and Algorithm D against an independent 128-bit reference: a carry or
// a qhat correction bug shows up as a wrong digit within a few thousand random pairs.
TEST_CASE("BigInt arithmetic matches __int128 on random operands", "[math][number]") {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 5000; ++trial) {
    const int shift_a = static_cast<int>(rng() % 63), shift_b = static_cast<int>(rng() % 62) + 1;
    const int64_t a = static_cast<int64_t>(rng() >> shift_a) * (rng() % 2 ? 1 : -1);
    int64_t b = static_cast<int64_t>(rng() >> shift_b) * (rng() % 2 ? 1 : -1);
    if (b == 0) b = 3;
    INFO(a << " and " << b);
    CHECK(BigInt::add(a, b)->to_string() == int128_string(static_cast<__int128>(a) + b));
    CHECK(BigInt::sub(a, b)->to_string() == int128_string(static_cast<__int128>(a) - b));
    const __int128 product = static_cast<__int128>(a) * b;
    CHECK(BigInt::mul(a, b)->to_string() == int128_string(product));
    // 128-bit by 64-bit division exercises the multi-limb path of Algorithm D.
    const auto qr = BigInt::divmod(*BigInt::mul(a, b), BigInt(b / 7 == 0 ? 7 : b / 7));
    const __int128 d = b / 7 == 0 ? 7 : b / 7;
    REQUIRE(qr);
    CHECK(qr->first.to_string() == int128_string(product / d));
    CHECK(qr->second.to_string() == int128_string(product % d));
  }
}

TEST_CASE("BigInt division by multi-limb divisors reconstructs the dividend", "[math][number]") {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 300; ++trial) {
    std::string da = std::to_string(rng() % 9 + 1), db = std::to_string(rng() % 9 + 1);
    const int la = static_cast<int>(rng() % 250) + 1, lb = static_cast<int>(rng() % 120) + 1;
    for (int k = 0; k < la; ++k) da.push_back(static_cast<char>('0' + rng() % 10));
    for (int k = 0; k < lb; ++k) db.push_back(static_cast<char>('0' + rng() % 10));
    const BigInt a = big(da), b = big(db);
    const auto qr = BigInt::divmod(a, b);
    REQUIRE(qr);
    INFO(da << " / " << db);
    CHECK(BigInt::compare(qr->second, b) < 0);
    CHECK(!qr->second.is_negative());
    CHECK(*BigInt::add(*BigInt::mul(qr->first, b), qr->second) == a);
  }
}

TEST_CASE("BigInt decimal round trip, gcd and the size bound", "[math][number]") {
  const std::string digits = "123456789012345678901234567890123456789";
  CHECK(big(digits).to_string() == digits);
  CHECK(big("-" + digits).to_string() == "-" + digits);
  CHECK(big("000").to_string() == "0");
  CHECK(BigInt::gcd(big("1267650600228229401496703205376"), big("1180591620717411303424")).to_string() ==
        "1180591620717411303424");  // 2^100 and 2^70
  CHECK(BigInt::gcd(0, 0).is_zero());
  CHECK(BigInt(INT64_MIN).to_string() == "-9223372036854775808");
  CHECK(BigInt(INT64_MIN).to_int64() == INT64_MIN);
  CHECK_FALSE(BigInt::from_decimal(std::string(400, '9')));  // past 1024 bits: refused, not wrapped
  CHECK_FALSE(BigInt::from_decimal("12a"));
  CHECK_FALSE(BigInt::from_decimal(""));
  CHECK_FALSE(BigInt::divmod(5, 0));
  const BigInt near_limit = Rational::pow(2, 1000)->num();
  CHECK(near_limit.bit_length() == 1001);
  CHECK_FALSE(BigInt::mul(near_limit, near_limit));
}

TEST_CASE("Rational arithmetic is exact and reduced", "[math][number]") {
  const Rational third = *Rational::div(1, 3), sixth = *Rational::div(1, 6);
  CHECK(Rational::add(third, sixth)->to_string() == "1/2");
  CHECK(Rational::sub(sixth, third)->to_string() == "-1/6");
  CHECK(Rational::mul(third, 3)->to_string() == "1");
  CHECK(Rational::div(*Rational::make(2, -4), 3)->to_string() == "-1/6");
  CHECK_FALSE(Rational::div(1, 0));
  CHECK_FALSE(Rational::make(1, 0));
  CHECK(Rational::compare(third, sixth) > 0);
  CHECK(Rational::compare(-third, sixth) < 0);
  CHECK(Rational::pow(2, 100)->to_string() == "1267650600228229401496703205376");
  CHECK(Rational::pow(*Rational::div(2, 3), -2)->to_string() == "9/4");
  CHECK(Rational::pow(-1, 1000000001)->to_string() == "-1");
  CHECK_FALSE(Rational::pow(0, -1));
  CHECK_FALSE(Rational::pow(10, 10000000000LL));  // refused up front, not computed
  CHECK_FALSE(Rational::pow(2, 2000));
}

TEST_CASE("Rational decimal literals and rounding", "[math][number]") {
  CHECK(Rational::from_decimal("0.25")->to_string() == "1/4");
  CHECK(Rational::from_decimal(".5")->to_string() == "1/2");
  CHECK(Rational::from_decimal("3.")->to_string() == "3");
  CHECK(Rational::from_decimal("1.5e-3")->to_string() == "3/2000");
  CHECK(Rational::from_decimal("2E10")->to_string() == "20000000000");
  CHECK(Rational::from_decimal("0000000000000000000000000000000000000000000000000007")->to_string() == "7");
  CHECK_FALSE(Rational::from_decimal("1e999999"));
  CHECK_FALSE(Rational::from_decimal("1e"));
  CHECK_FALSE(Rational::from_decimal("1.2.3"));
  CHECK_FALSE(Rational::from_decimal("-1"));
  CHECK(Rational::round_decimal(*Rational::div(1, 3), 6)->to_string() == "333333/1000000");
  CHECK(Rational::round_decimal(*Rational::div(2, 3), 6)->to_string() == "666667/1000000");
  CHECK(Rational::round_decimal(*Rational::from_decimal("0.0000005"), 6)->to_string() == "1/1000000");
  CHECK(Rational::round_decimal(-*Rational::from_decimal("2.5"), 0)->to_string() == "-3");
  CHECK(Rational::from_decimal("3.14159")->to_long_double() == Approx(3.14159));
}
