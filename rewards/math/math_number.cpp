// Bounded big integers and rationals (see math_number.h). Division is Knuth's Algorithm D (TAOCP vol. 2,
// 4.3.1) in the form of Hacker's Delight's divmnu, on 32-bit limbs with 64-bit intermediates.
#include "rewards/math/math_number.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>

namespace aha::rewards::math {
namespace {

constexpr uint64_t kBase = uint64_t{1} << 32;

// q[0..m-n] = u / v and r[0..n-1] = u % v for magnitudes u (m limbs) and v (n >= 2 limbs, top non-zero),
// m >= n.
void divide_knuth(uint32_t* q, uint32_t* r, const uint32_t* u, const uint32_t* v, int m, int n) {
  const int s = std::countl_zero(v[n - 1]);  // normalise so the divisor's top bit is set
  uint32_t vn[BigInt::kMaxLimbs];
  uint32_t un[BigInt::kMaxLimbs + 1];
  for (int i = n - 1; i > 0; --i)
    vn[i] = static_cast<uint32_t>((uint64_t{v[i]} << s) | (uint64_t{v[i - 1]} >> (32 - s)));
  vn[0] = static_cast<uint32_t>(uint64_t{v[0]} << s);
  un[m] = static_cast<uint32_t>(uint64_t{u[m - 1]} >> (32 - s));
  for (int i = m - 1; i > 0; --i)
    un[i] = static_cast<uint32_t>((uint64_t{u[i]} << s) | (uint64_t{u[i - 1]} >> (32 - s)));
  un[0] = static_cast<uint32_t>(uint64_t{u[0]} << s);

  for (int j = m - n; j >= 0; --j) {
    const uint64_t numerator = (uint64_t{un[j + n]} << 32) | un[j + n - 1];
    uint64_t qhat = numerator / vn[n - 1];
    uint64_t rhat = numerator - qhat * vn[n - 1];
    while (qhat >= kBase || qhat * vn[n - 2] > ((rhat << 32) | un[j + n - 2])) {
      --qhat;
      rhat += vn[n - 1];
      if (rhat >= kBase) break;
    }
    // Multiply and subtract qhat * vn from un[j .. j+n].
    int64_t borrow = 0;
    for (int i = 0; i < n; ++i) {
      const uint64_t product = qhat * vn[i];
      const int64_t t =
          static_cast<int64_t>(un[i + j]) - borrow - static_cast<int64_t>(product & 0xFFFFFFFFu);
      un[i + j] = static_cast<uint32_t>(t);
      borrow = static_cast<int64_t>(product >> 32) - (t >> 32);
    }
    const int64_t t = static_cast<int64_t>(un[j + n]) - borrow;
    un[j + n] = static_cast<uint32_t>(t);
    q[j] = static_cast<uint32_t>(qhat);
    if (t < 0) {  // qhat was one too large (rare): add the divisor back
      --q[j];
      uint64_t carry = 0;
      for (int i = 0; i < n; ++i) {
        const uint64_t sum = uint64_t{un[i + j]} + vn[i] + carry;
        un[i + j] = static_cast<uint32_t>(sum);
        carry = sum >> 32;
      }
      un[j + n] = static_cast<uint32_t>(un[j + n] + carry);
    }
  }
  for (int i = 0; i < n - 1; ++i)
    r[i] = static_cast<uint32_t>((uint64_t{un[i]} >> s) | (uint64_t{un[i + 1]} << (32 - s)));
  r[n - 1] = static_cast<uint32_t>(uint64_t{un[n - 1]} >> s);
}

}  // namespace

BigInt::BigInt(int64_t value) {
  negative_ = value < 0;
  const uint64_t magnitude = negative_ ? ~static_cast<uint64_t>(value) + 1 : static_cast<uint64_t>(value);
  limbs_[0] = static_cast<uint32_t>(magnitude);
  limbs_[1] = static_cast<uint32_t>(magnitude >> 32);
  size_ = 2;
  trim();
}

void BigInt::trim() {
  while (size_ > 0 && limbs_[size_ - 1] == 0) --size_;
  if (size_ == 0) negative_ = false;
}

std::optional<BigInt> BigInt::from_decimal(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  BigInt result;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    // result = result * 10 + digit, limb by limb.
    uint64_t carry = static_cast<uint64_t>(c - '0');
    for (int i = 0; i < result.size_; ++i) {
      const uint64_t v = uint64_t{result.limbs_[i]} * 10 + carry;
      result.limbs_[i] = static_cast<uint32_t>(v);
      carry = v >> 32;
    }
    if (carry) {
      if (result.size_ == kMaxLimbs) return std::nullopt;
      result.limbs_[result.size_++] = static_cast<uint32_t>(carry);
    }
  }
  result.trim();
  return result;
}

int BigInt::bit_length() const {
  if (size_ == 0) return 0;
  return (size_ - 1) * 32 + (32 - std::countl_zero(limbs_[size_ - 1]));
}

std::optional<int64_t> BigInt::to_int64() const {
  if (size_ == 0) return 0;
  if (size_ > 2) return std::nullopt;
  const uint64_t magnitude = uint64_t{limbs_[0]} | (size_ > 1 ? uint64_t{limbs_[1]} << 32 : 0);
  if (!negative_) {
    if (magnitude > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(magnitude);
  }
  if (magnitude > static_cast<uint64_t>(INT64_MAX) + 1) return std::nullopt;
  return static_cast<int64_t>(~magnitude + 1);
}

long double BigInt::to_long_double() const {
  long double value = 0;
  for (int i = size_ - 1; i >= 0; --i) value = value * 4294967296.0L + limbs_[i];
  return negative_ ? -value : value;
}

std::string BigInt::to_string() const {
  if (size_ == 0) return "0";
  BigInt rest = abs();
  std::string digits;
  while (rest.size_ > 0) {  // peel off 9 decimal digits at a time
    uint64_t remainder = 0;
    for (int i = rest.size_ - 1; i >= 0; --i) {
      const uint64_t v = (remainder << 32) | rest.limbs_[i];
      rest.limbs_[i] = static_cast<uint32_t>(v / 1000000000u);
      remainder = v % 1000000000u;
    }
    rest.trim();
    for (int k = 0; k < 9; ++k) {
      digits.push_back(static_cast<char>('0' + remainder % 10));
      remainder /= 10;
      if (rest.size_ == 0 && remainder == 0) break;
    }
  }
  if (negative_) digits.push_back('-');
  std::reverse(digits.begin(), digits.end());
  return digits;
}

BigInt BigInt::operator-() const {
  BigInt result = *this;
  if (result.size_ > 0) result.negative_ = !result.negative_;
  return result;
}

BigInt BigInt::abs() const {
  BigInt result = *this;
  result.negative_ = false;
  return result;
}

int BigInt::compare_magnitude(const BigInt& a, const BigInt& b) {
  if (a.size_ != b.size_) return a.size_ < b.size_ ? -1 : 1;
  for (int i = a.size_ - 1; i >= 0; --i)
    if (a.limbs_[i] != b.limbs_[i]) return a.limbs_[i] < b.limbs_[i] ? -1 : 1;
  return 0;
}

int BigInt::compare(const BigInt& a, const BigInt& b) {
  if (a.negative_ != b.negative_) return a.negative_ ? -1 : 1;
  const int magnitude = compare_magnitude(a, b);
  return a.negative_ ? -magnitude : magnitude;
}

std::optional<BigInt> BigInt::add_magnitude(const BigInt& a, const BigInt& b) {
  BigInt result;
  const int n = std::max(a.size_, b.size_);
  uint64_t carry = 0;
  for (int i = 0; i < n; ++i) {
    const uint64_t sum = uint64_t{a.limbs_[i]} + b.limbs_[i] + carry;
    result.limbs_[i] = static_cast<uint32_t>(sum);
    carry = sum >> 32;
  }
  result.size_ = n;
  if (carry) {
    if (n == kMaxLimbs) return std::nullopt;
    result.limbs_[result.size_++] = 1;
  }
  return result;
}

BigInt BigInt::sub_magnitude(const BigInt& a, const BigInt& b) {
  BigInt result;
  int64_t borrow = 0;
  for (int i = 0; i < a.size_; ++i) {
    int64_t diff = static_cast<int64_t>(a.limbs_[i]) - b.limbs_[i] - borrow;
    borrow = diff < 0;
    if (diff < 0) diff += static_cast<int64_t>(kBase);
    result.limbs_[i] = static_cast<uint32_t>(diff);
  }
  result.size_ = a.size_;
  result.trim();
  return result;
}

std::optional<BigInt> BigInt::add(const BigInt& a, const BigInt& b) {
  if (a.negative_ == b.negative_) {
    std::optional<BigInt> sum = add_magnitude(a, b);
    if (sum) {
      sum->negative_ = a.negative_;
      sum->trim();
    }
    return sum;
  }
  const int order = compare_magnitude(a, b);
  if (order == 0) return BigInt();
  BigInt diff = order > 0 ? sub_magnitude(a, b) : sub_magnitude(b, a);
  diff.negative_ = order > 0 ? a.negative_ : b.negative_;
  diff.trim();
  return diff;
}

std::optional<BigInt> BigInt::sub(const BigInt& a, const BigInt& b) {
  return add(a, -b);
}

std::optional<BigInt> BigInt::mul(const BigInt& a, const BigInt& b) {
  if (a.size_ == 0 || b.size_ == 0) return BigInt();
  if (a.bit_length() + b.bit_length() > kMaxBits + 1) return std::nullopt;
  uint32_t product[2 * kMaxLimbs] = {};
  for (int i = 0; i < a.size_; ++i) {
    uint64_t carry = 0;
    for (int j = 0; j < b.size_; ++j) {
      const uint64_t v = uint64_t{a.limbs_[i]} * b.limbs_[j] + product[i + j] + carry;
      product[i + j] = static_cast<uint32_t>(v);
      carry = v >> 32;
    }
    product[i + b.size_] = static_cast<uint32_t>(carry);
  }
  int n = a.size_ + b.size_;
  while (n > 0 && product[n - 1] == 0) --n;
  if (n > kMaxLimbs) return std::nullopt;
  BigInt result;
  std::copy(product, product + n, result.limbs_.begin());
  result.size_ = n;
  result.negative_ = a.negative_ != b.negative_;
  result.trim();
  return result;
}

std::optional<std::pair<BigInt, BigInt>> BigInt::divmod(const BigInt& a, const BigInt& b) {
  if (b.size_ == 0) return std::nullopt;
  BigInt quotient, remainder;
  if (compare_magnitude(a, b) < 0) {
    remainder = a;
  } else if (b.size_ == 1) {
    uint64_t rest = 0;
    for (int i = a.size_ - 1; i >= 0; --i) {
      const uint64_t v = (rest << 32) | a.limbs_[i];
      quotient.limbs_[i] = static_cast<uint32_t>(v / b.limbs_[0]);
      rest = v % b.limbs_[0];
    }
    quotient.size_ = a.size_;
    remainder.limbs_[0] = static_cast<uint32_t>(rest);
    remainder.size_ = 1;
  } else {
    divide_knuth(quotient.limbs_.data(), remainder.limbs_.data(), a.limbs_.data(), b.limbs_.data(), a.size_,
                 b.size_);
    quotient.size_ = a.size_ - b.size_ + 1;
    remainder.size_ = b.size_;
  }
  quotient.negative_ = a.negative_ != b.negative_;
  remainder.negative_ = a.negative_;
  quotient.trim();
  remainder.trim();
  return std::make_pair(quotient, remainder);
}

BigInt BigInt::gcd(const BigInt& a, const BigInt& b) {
  BigInt x = a.abs(), y = b.abs();
  while (!y.is_zero()) {
    if (x.size_ <= 2 && y.size_ <= 2) {  // both fit in 64 bits: finish in machine words
      const uint64_t g = std::gcd(uint64_t{x.limbs_[0]} | uint64_t{x.limbs_[1]} << 32,
                                  uint64_t{y.limbs_[0]} | uint64_t{y.limbs_[1]} << 32);
      BigInt result;
      result.limbs_[0] = static_cast<uint32_t>(g);
      result.limbs_[1] = static_cast<uint32_t>(g >> 32);
      result.size_ = 2;
      result.trim();
      return result;
    }
    BigInt r = divmod(x, y)->second;
    x = y;
    y = r;
  }
  return x;
}

// ---------------------------------------------------------------------------------------------------

namespace {

BigInt exact_quotient(const BigInt& a, const BigInt& b) {
  return BigInt::divmod(a, b)->first;
}

}  // namespace

std::optional<Rational> Rational::make(const BigInt& num, const BigInt& den) {
  if (den.is_zero()) return std::nullopt;
  Rational r;
  const BigInt g = BigInt::gcd(num, den);
  r.num_ = exact_quotient(num, g);
  r.den_ = exact_quotient(den, g);
  if (r.den_.is_negative()) {
    r.num_ = -r.num_;
    r.den_ = -r.den_;
  }
  return r;
}

std::optional<Rational> Rational::from_decimal(std::string_view text) {
  std::string mantissa;
  size_t i = 0;
  int fraction_digits = 0;
  bool seen_point = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      mantissa.push_back(c);
      if (seen_point) ++fraction_digits;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      break;
    }
  }
  if (mantissa.empty()) return std::nullopt;
  int64_t exponent = 0;
  if (i < text.size()) {
    if (text[i] != 'e' && text[i] != 'E') return std::nullopt;
    ++i;
    bool negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
    if (i == text.size()) return std::nullopt;
    for (; i < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      exponent = exponent * 10 + (text[i] - '0');
      if (exponent > 100000) return std::nullopt;  // far beyond what 1024 bits can hold either way
    }
    if (negative) exponent = -exponent;
  }
  // Leading zeros cost nothing but limbs; drop them so "0000...1" is not rejected as too large.
  const size_t first = mantissa.find_first_not_of('0');
  mantissa = first == std::string::npos ? "0" : mantissa.substr(first);
  const std::optional<BigInt> digits = BigInt::from_decimal(mantissa);
  if (!digits) return std::nullopt;
  if (digits->is_zero()) return Rational();
  const std::optional<Rational> scale = pow(Rational(10), exponent - fraction_digits);
  if (!scale) return std::nullopt;
  return mul(*make(*digits, BigInt(1)), *scale);
}

long double Rational::to_long_double() const {
  return num_.to_long_double() / den_.to_long_double();
}

std::string Rational::to_string() const {
  return is_integer() ? num_.to_string() : num_.to_string() + "/" + den_.to_string();
}

Rational Rational::operator-() const {
  Rational r = *this;
  r.num_ = -r.num_;
  return r;
}

int Rational::compare(const Rational& a, const Rational& b) {
  if (a.den_ == b.den_) return BigInt::compare(a.num_, b.num_);
  const std::optional<BigInt> left = BigInt::mul(a.num_, b.den_);
  const std::optional<BigInt> right = BigInt::mul(b.num_, a.den_);
  if (left && right) return BigInt::compare(*left, *right);
  const long double x = a.to_long_double(), y = b.to_long_double();  // only past 1024 bits
  return x < y ? -1 : x > y ? 1 : 0;
}

std::optional<Rational> Rational::add(const Rational& a, const Rational& b) {
  if (a.den_ == b.den_) {
    const std::optional<BigInt> num = BigInt::add(a.num_, b.num_);
    if (!num) return std::nullopt;
    return make(*num, a.den_);
  }
  const std::optional<BigInt> left = BigInt::mul(a.num_, b.den_);
  const std::optional<BigInt> right = BigInt::mul(b.num_, a.den_);
  const std::optional<BigInt> den = BigInt::mul(a.den_, b.den_);
  if (!left || !right || !den) return std::nullopt;
  const std::optional<BigInt> num = BigInt::add(*left, *right);
  if (!num) return std::nullopt;
  return make(*num, *den);
}

std::optional<Rational> Rational::sub(const Rational& a, const Rational& b) {
  return add(a, -b);
}

std::optional<Rational> Rational::mul(const Rational& a, const Rational& b) {
  // Cross-reduce first so the intermediate products stay as small as the result.
  const BigInt g1 = BigInt::gcd(a.num_, b.den_);
  const BigInt g2 = BigInt::gcd(b.num_, a.den_);
  const BigInt one(1);
  const BigInt an = g1.is_zero() ? a.num_ : exact_quotient(a.num_, g1);
  const BigInt bd = g1.is_zero() ? b.den_ : exact_quotient(b.den_, g1);
  const BigInt bn = g2.is_zero() ? b.num_ : exact_quotient(b.num_, g2);
  const BigInt ad = g2.is_zero() ? a.den_ : exact_quotient(a.den_, g2);
  const std::optional<BigInt> num = BigInt::mul(an, bn);
  const std::optional<BigInt> den = BigInt::mul(ad, bd);
  if (!num || !den) return std::nullopt;
  return make(*num, *den);
}

std::optional<Rational> Rational::div(const Rational& a, const Rational& b) {
  if (b.is_zero()) return std::nullopt;
  Rational inverse;
  inverse.num_ = b.den_;
  inverse.den_ = b.num_;
  if (inverse.den_.is_negative()) {
    inverse.num_ = -inverse.num_;
    inverse.den_ = -inverse.den_;
  }
  return mul(a, inverse);
}

std::optional<Rational> Rational::pow(const Rational& a, int64_t exponent) {
  if (exponent == 0) return Rational(1);
  if (a.is_zero()) return exponent > 0 ? std::optional<Rational>(Rational()) : std::nullopt;
  if (exponent < 0) {
    const std::optional<Rational> inverse = div(Rational(1), a);
    if (!inverse || exponent == INT64_MIN) return std::nullopt;
    return pow(*inverse, -exponent);
  }
  const bool unit = a.num_.abs() == BigInt(1) && a.is_integer();
  if (unit) return (a.is_negative() && exponent % 2 == 1) ? Rational(-1) : Rational(1);
  // Refuse before computing anything when the result cannot fit: |num| or den >= 2 grows by at least one
  // bit per factor.
  const int64_t bits = std::max(a.num_.bit_length() - 1, a.den_.bit_length() - 1);
  if (bits > 0 && exponent > BigInt::kMaxBits / bits + 1) return std::nullopt;
  if (bits == 0 && exponent > BigInt::kMaxBits) return std::nullopt;
  Rational result(1), base = a;
  for (int64_t e = exponent;;) {
    if (e & 1) {
      const std::optional<Rational> next = mul(result, base);
      if (!next) return std::nullopt;
      result = *next;
    }
    e >>= 1;
    if (e == 0) break;
    const std::optional<Rational> squared = mul(base, base);
    if (!squared) return std::nullopt;
    base = *squared;
  }
  return result;
}

std::optional<Rational> Rational::round_decimal(const Rational& a, int digits) {
  const std::optional<Rational> scale = pow(Rational(10), digits);
  if (!scale) return std::nullopt;
  const std::optional<Rational> scaled = mul(a.is_negative() ? -a : a, *scale);
  if (!scaled) return std::nullopt;
  // floor(x + 1/2) = (2 num + den) div (2 den) for x = num/den >= 0.
  const std::optional<BigInt> twice = BigInt::mul(scaled->num_, BigInt(2));
  const std::optional<BigInt> twice_den = BigInt::mul(scaled->den_, BigInt(2));
  if (!twice || !twice_den) return std::nullopt;
  const std::optional<BigInt> top = BigInt::add(*twice, scaled->den_);
  if (!top) return std::nullopt;
  const BigInt rounded = BigInt::divmod(*top, *twice_den)->first;
  const std::optional<Rational> result = make(a.is_negative() ? -rounded : rounded, scale->num_);
  return result;
}

}  // namespace aha::rewards::math
