// Exact numbers for the math verifier: a signed big integer of bounded size and a rational built on it.
// Answers like 2^{100} or 1267650600228229401496703205376 must compare exactly, and 1/3 + 1/6 must be
// 1/2, not 0.49999..., so the verifier does rational arithmetic instead of floating point.
// Deliberately bounded: a BigInt holds at most kMaxBits bits in a fixed array (no heap, no unbounded
// growth from hostile input like 10^{10^{10}}). Every operation that could exceed the bound returns
// nullopt, and the caller falls back to approximate arithmetic or says "not comparable".
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace aha::rewards::math {

class BigInt {
 public:
  static constexpr int kMaxLimbs = 32;  // 32 x 32-bit limbs: 1024 bits, about 308 decimal digits
  static constexpr int kMaxBits = kMaxLimbs * 32;

  BigInt() = default;
  BigInt(int64_t value);  // NOLINT(google-explicit-constructor): small literals read naturally

  // Decimal digits only (no sign, no separators); nullopt if empty, not digits, or too large.
  static std::optional<BigInt> from_decimal(std::string_view digits);

  bool is_zero() const { return size_ == 0; }
  bool is_negative() const { return negative_; }
  int bit_length() const;
  std::optional<int64_t> to_int64() const;
  long double to_long_double() const;
  std::string to_string() const;

  BigInt operator-() const;
  BigInt abs() const;
  // -1, 0, 1 like <=> on the signed values.
  static int compare(const BigInt& a, const BigInt& b);
  friend bool operator==(const BigInt& a, const BigInt& b) { return compare(a, b) == 0; }

  static std::optional<BigInt> add(const BigInt& a, const BigInt& b);
  static std::optional<BigInt> sub(const BigInt& a, const BigInt& b);
  static std::optional<BigInt> mul(const BigInt& a, const BigInt& b);
  // Truncating division (quotient rounds toward zero, remainder has the dividend's sign, like C++).
  // nullopt on division by zero.
  static std::optional<std::pair<BigInt, BigInt>> divmod(const BigInt& a, const BigInt& b);
  // Non-negative; gcd(0, 0) = 0.
  static BigInt gcd(const BigInt& a, const BigInt& b);

 private:
  std::array<uint32_t, kMaxLimbs> limbs_{};  // magnitude, little-endian; limbs_[size_..] are zero
  int size_ = 0;                             // limbs in use; 0 means zero
  bool negative_ = false;                    // never true for zero

  void trim();
  static int compare_magnitude(const BigInt& a, const BigInt& b);
  static std::optional<BigInt> add_magnitude(const BigInt& a, const BigInt& b);
  static BigInt sub_magnitude(const BigInt& a, const BigInt& b);  // requires |a| >= |b|
};

// A reduced fraction num/den with den > 0 and gcd(|num|, den) = 1; zero is 0/1.
class Rational {
 public:
  Rational() = default;
  Rational(int64_t value) : num_(value) {}  // NOLINT(google-explicit-constructor)
  // nullopt if den is zero.
  static std::optional<Rational> make(const BigInt& num, const BigInt& den);
  // A decimal literal: digits with an optional fractional part and an optional exponent, as in "12",
  // "0.25", ".5", "3.", "1.5e-3", "2E10". No sign, no separators. nullopt if malformed or too large.
  static std::optional<Rational> from_decimal(std::string_view text);

  const BigInt& num() const { return num_; }
  const BigInt& den() const { return den_; }
  bool is_zero() const { return num_.is_zero(); }
  bool is_negative() const { return num_.is_negative(); }
  bool is_integer() const { return den_ == BigInt(1); }
  long double to_long_double() const;
  std::string to_string() const;  // "3", "-7/2"

  Rational operator-() const;
  static int compare(const Rational& a, const Rational& b);
  friend bool operator==(const Rational& a, const Rational& b) {
    return a.num_ == b.num_ && a.den_ == b.den_;
  }

  static std::optional<Rational> add(const Rational& a, const Rational& b);
  static std::optional<Rational> sub(const Rational& a, const Rational& b);
  static std::optional<Rational> mul(const Rational& a, const Rational& b);
  static std::optional<Rational> div(const Rational& a, const Rational& b);  // nullopt on b == 0
  // a^exponent for an integer exponent; nullopt if 0^negative or the result would be too large.
  static std::optional<Rational> pow(const Rational& a, int64_t exponent);
  // Rounded to `digits` decimal places, halves away from zero (as Python's round on a sympy Float
  // would for the float-rounding comparison in Math-Verify).
  static std::optional<Rational> round_decimal(const Rational& a, int digits);

 private:
  BigInt num_{0};
  BigInt den_{1};
};

}  // namespace aha::rewards::math
