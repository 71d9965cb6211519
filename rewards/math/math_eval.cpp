// Exact-where-possible evaluation of answer expressions (see math_eval.h).
#include "rewards/math/math_eval.h"

#include <algorithm>
#include <cmath>

namespace aha::rewards::math {
namespace {

constexpr long double kPi = 3.141592653589793238462643383279502884L;
constexpr long double kEuler = 2.718281828459045235360287471352662498L;
constexpr int64_t kMaxExactExponent = 100000;  // beyond this Rational::pow refuses anyway

bool finite(Complex z) {
  return std::isfinite(z.real()) && std::isfinite(z.imag());
}
bool is_real(Complex z) {
  return z.imag() == 0;
}

Value from_exact(const Rational& r) {
  Value v;
  v.defined = true;
  v.exact = r;
  v.approx = Complex(r.to_long_double(), 0);
  if (!finite(v.approx)) v.defined = false;
  return v;
}

Value from_approx(Complex z) {
  Value v;
  v.defined = finite(z);
  v.approx = z;
  return v;
}

Value from(std::optional<Rational> exact, Complex approx) {
  if (exact) return from_exact(*exact);
  return from_approx(approx);
}

std::optional<int64_t> exact_integer(const Value& v) {
  if (!v.exact || !v.exact->is_integer()) return std::nullopt;
  return v.exact->num().to_int64();
}

// r with r^q == n for 0 <= n < 2^62, if there is one.
std::optional<int64_t> integer_root(int64_t n, int64_t q) {
  if (n < 2) return n;
  const auto guess = static_cast<int64_t>(std::llround(std::pow(static_cast<long double>(n), 1.0L / q)));
  for (int64_t r = std::max<int64_t>(guess - 1, 0); r <= guess + 1; ++r) {
    const std::optional<Rational> power = Rational::pow(Rational(r), q);
    if (power && *power == Rational(n)) return r;
  }
  return std::nullopt;
}

// The rational q-th root of x when it is one (\sqrt{4} = 2, \sqrt[3]{-8/27} = -2/3); small values only.
std::optional<Rational> exact_root(const Rational& x, int64_t q) {
  if (q < 1 || q > 64) return std::nullopt;
  if (q == 1) return x;
  const bool negative = x.is_negative();
  if (negative && q % 2 == 0) return std::nullopt;
  const std::optional<int64_t> num = x.num().abs().to_int64();
  const std::optional<int64_t> den = x.den().to_int64();
  if (!num || !den || *num >= (int64_t{1} << 62) || *den >= (int64_t{1} << 62)) return std::nullopt;
  const std::optional<int64_t> a = integer_root(*num, q), b = integer_root(*den, q);
  if (!a || !b) return std::nullopt;
  return Rational::div(Rational(negative ? -*a : *a), Rational(*b));
}

// x^(1/q) on the reals when x < 0 and q is odd, otherwise the principal complex root.
Complex real_or_principal_root(Complex x, int64_t q) {
  if (is_real(x) && x.real() < 0 && q % 2 == 1) return Complex(-std::pow(-x.real(), 1.0L / q), 0);
  if (is_real(x) && x.real() >= 0) return Complex(std::pow(x.real(), 1.0L / q), 0);
  return std::pow(x, Complex(1.0L / q, 0));
}

Complex integer_power(Complex base, int64_t exponent) {
  if (is_real(base)) return Complex(std::pow(base.real(), static_cast<long double>(exponent)), 0);
  Complex result(1, 0);
  const bool invert = exponent < 0;
  uint64_t e = invert ? ~static_cast<uint64_t>(exponent) + 1 : static_cast<uint64_t>(exponent);
  for (Complex b = base; e > 0; e >>= 1) {
    if (e & 1) result *= b;
    b *= b;
  }
  return invert ? Complex(1, 0) / result : result;
}

Value power_unchecked(const Value& base, const Value& exponent);

// A non-zero base never gives 0: a zero result is an underflow, which says nothing about equality.
Value power(const Value& base, const Value& exponent) {
  Value v = power_unchecked(base, exponent);
  if (v.defined && !v.exact && v.approx == Complex(0, 0) && base.approx != Complex(0, 0)) return {};
  return v;
}

Value power_unchecked(const Value& base, const Value& exponent) {
  if (const std::optional<int64_t> e = exact_integer(exponent)) {
    if (base.approx == Complex(0, 0) && *e < 0) return {};
    if (base.exact) {
      // Past the exact bound the float would only say 0 or infinity: (1/2)^{10^9} is not 0.
      const std::optional<Rational> exact = Rational::pow(*base.exact, *e);
      if (!exact) return {};
      return from_exact(*exact);
    }
    return from_approx(integer_power(base.approx, *e));
  }
  if (exponent.exact && base.exact) {  // a rational power p/q of a rational
    const std::optional<int64_t> p = exponent.exact->num().to_int64();
    const std::optional<int64_t> q = exponent.exact->den().to_int64();
    if (p && q && *q <= 64 && *p <= kMaxExactExponent && *p >= -kMaxExactExponent) {
      std::optional<Rational> exact;
      if (const std::optional<Rational> root = exact_root(*base.exact, *q)) {
        exact = Rational::pow(*root, *p);
        if (!exact) return {};
      }
      const Complex root_approx = real_or_principal_root(base.approx, *q);
      return from(exact, integer_power(root_approx, *p));
    }
  }
  if (base.approx == Complex(0, 0)) return exponent.approx.real() > 0 ? from_exact(Rational(0)) : Value{};
  if (is_real(base.approx) && base.approx.real() > 0 && is_real(exponent.approx))
    return from_approx(Complex(std::pow(base.approx.real(), exponent.approx.real()), 0));
  return from_approx(std::pow(base.approx, exponent.approx));
}

std::optional<Rational> floor_of(const Rational& x, bool ceiling) {
  const std::optional<std::pair<BigInt, BigInt>> qr = BigInt::divmod(x.num(), x.den());
  if (!qr) return std::nullopt;
  BigInt q = qr->first;  // truncated toward zero
  if (!qr->second.is_zero()) {
    if (!ceiling && x.is_negative()) q = *BigInt::sub(q, BigInt(1));
    if (ceiling && !x.is_negative()) q = *BigInt::add(q, BigInt(1));
  }
  return Rational::make(q, BigInt(1));
}

Value factorial(const Value& x) {
  const std::optional<int64_t> n = exact_integer(x);
  if (n) {
    if (*n < 0) return {};
    std::optional<Rational> product = Rational(1);
    for (int64_t k = 2; k <= *n && product; ++k) product = Rational::mul(*product, Rational(k));
    if (product) return from_exact(*product);
    return {};  // past 1024 bits: too large to compare meaningfully
  }
  if (!is_real(x.approx)) return {};
  return from_approx(Complex(std::tgamma(x.approx.real() + 1), 0));
}

Value binomial(const Value& n, const Value& k) {
  const std::optional<int64_t> nn = exact_integer(n), kk = exact_integer(k);
  if (!nn || !kk) return {};
  if (*kk < 0 || *kk > *nn) return from_exact(Rational(0));
  const int64_t steps = std::min(*kk, *nn - *kk);
  if (steps > 2000) return {};
  std::optional<Rational> result = Rational(1);
  for (int64_t i = 0; i < steps && result; ++i) {
    result = Rational::mul(*result, Rational(*nn - i));
    if (result) result = Rational::div(*result, Rational(i + 1));
  }
  if (!result) return {};
  return from_exact(*result);
}

Value apply(const std::string& name, const std::vector<Value>& args) {
  const Value& x = args[0];
  const Complex z = x.approx;
  if (name == "sqrt") {
    std::optional<Rational> exact;
    if (x.exact) exact = exact_root(*x.exact, 2);
    return from(exact, is_real(z) && z.real() >= 0 ? Complex(std::sqrt(z.real()), 0) : std::sqrt(z));
  }
  if (name == "root") {
    const std::optional<int64_t> q = exact_integer(args[1]);
    if (!q || *q < 1 || *q > 64) return from_approx(std::pow(z, Complex(1, 0) / args[1].approx));
    std::optional<Rational> exact;
    if (x.exact) exact = exact_root(*x.exact, *q);
    return from(exact, real_or_principal_root(z, *q));
  }
  if (name == "abs") {
    if (x.exact) return from_exact(x.exact->is_negative() ? -*x.exact : *x.exact);
    return from_approx(Complex(std::abs(z), 0));
  }
  if (name == "floor" || name == "ceil") {
    if (x.exact) {
      if (const std::optional<Rational> f = floor_of(*x.exact, name == "ceil")) return from_exact(*f);
      return {};
    }
    if (!is_real(z)) return {};
    return from_approx(Complex(name == "ceil" ? std::ceil(z.real()) : std::floor(z.real()), 0));
  }
  if (name == "factorial") return factorial(x);
  if (name == "binom") return binomial(args[0], args[1]);
  if (name == "sgn") {
    if (!is_real(z)) return {};
    return from_exact(Rational(z.real() > 0 ? 1 : z.real() < 0 ? -1 : 0));
  }
  if (name == "log") {
    if (z == Complex(0, 0)) return {};
    const Complex base = args.size() > 1 ? args[1].approx : Complex(10, 0);
    if (base == Complex(1, 0) || base == Complex(0, 0)) return {};
    return from_approx(std::log(z) / std::log(base));
  }
  if (z == Complex(0, 0) && (name == "ln" || name == "log10")) return {};
  if (name == "ln") return from_approx(std::log(z));
  if (name == "log10") return from_approx(std::log(z) / std::log(Complex(10, 0)));
  if (name == "exp") return from_approx(std::exp(z));
  if (name == "sin") return from_approx(std::sin(z));
  if (name == "cos") return from_approx(std::cos(z));
  if (name == "tan") return from_approx(std::tan(z));
  if (name == "cot") return from_approx(Complex(1, 0) / std::tan(z));
  if (name == "sec") return from_approx(Complex(1, 0) / std::cos(z));
  if (name == "csc") return from_approx(Complex(1, 0) / std::sin(z));
  if (name == "arcsin") return from_approx(std::asin(z));
  if (name == "arccos") return from_approx(std::acos(z));
  if (name == "arctan") return from_approx(std::atan(z));
  if (name == "arccot") return from_approx(std::atan(Complex(1, 0) / z));
  if (name == "arcsec") return from_approx(std::acos(Complex(1, 0) / z));
  if (name == "arccsc") return from_approx(std::asin(Complex(1, 0) / z));
  if (name == "sinh") return from_approx(std::sinh(z));
  if (name == "cosh") return from_approx(std::cosh(z));
  if (name == "tanh") return from_approx(std::tanh(z));
  if (name == "coth") return from_approx(Complex(1, 0) / std::tanh(z));
  return {};  // det and anything else: not something a scalar comparison can use
}

const Complex* lookup(const EvalContext& context, const std::string& name) {
  if (!context.variables) return nullptr;
  for (const auto& [variable, value] : *context.variables)
    if (variable == name) return &value;
  return nullptr;
}

}  // namespace

Value evaluate(const Expr& expr, int index, EvalContext& context) {
  if (--context.budget < 0) return {};
  const Node& n = expr.at(index);
  switch (n.kind) {
    case Kind::Number:
      return from_exact(n.value);
    case Kind::Symbol: {
      if (n.name == "pi") return from_approx(Complex(kPi, 0));
      if (n.name == "e") return from_approx(Complex(kEuler, 0));
      if (n.name == "i") return from_approx(Complex(0, 1));
      const Complex* value = lookup(context, n.name);
      return value ? from_approx(*value) : Value{};
    }
    case Kind::Word: {
      Complex product(1, 0);
      for (char letter : n.name) {
        const Complex* value = lookup(context, std::string(1, letter));
        if (!value) return {};
        product *= *value;
      }
      return from_approx(product);
    }
    case Kind::Text: {
      const Complex* value = lookup(context, "text:" + n.name);
      return value ? from_approx(*value) : Value{};
    }
    case Kind::Add:
    case Kind::Mul: {
      const bool sum = n.kind == Kind::Add;
      std::optional<Rational> exact = Rational(sum ? 0 : 1);
      Complex approx(sum ? 0 : 1, 0);
      for (int a : n.args) {
        const Value v = evaluate(expr, a, context);
        if (!v.defined) return {};
        approx = sum ? approx + v.approx : approx * v.approx;
        if (exact && v.exact) {
          exact = sum ? Rational::add(*exact, *v.exact) : Rational::mul(*exact, *v.exact);
        } else {
          exact.reset();
        }
      }
      return from(exact, approx);
    }
    case Kind::Div: {
      const Value top = evaluate(expr, n.args[0], context);
      const Value bottom = evaluate(expr, n.args[1], context);
      if (!top.defined || !bottom.defined || bottom.approx == Complex(0, 0)) return {};
      if (bottom.exact && bottom.exact->is_zero()) return {};
      std::optional<Rational> exact;
      if (top.exact && bottom.exact) exact = Rational::div(*top.exact, *bottom.exact);
      return from(exact, top.approx / bottom.approx);
    }
    case Kind::Pow: {
      const Value base = evaluate(expr, n.args[0], context);
      const Value exponent = evaluate(expr, n.args[1], context);
      if (!base.defined || !exponent.defined) return {};
      return power(base, exponent);
    }
    case Kind::Neg: {
      const Value v = evaluate(expr, n.args[0], context);
      if (!v.defined) return {};
      std::optional<Rational> exact;
      if (v.exact) exact = -*v.exact;
      return from(exact, -v.approx);
    }
    case Kind::Percent: {
      const Value v = evaluate(expr, n.args[0], context);
      if (!v.defined) return {};
      std::optional<Rational> exact;
      if (v.exact) exact = Rational::div(*v.exact, Rational(100));
      return from(exact, v.approx / 100.0L);
    }
    case Kind::PlusMinus: {
      const bool minus = (context.plus_minus_signs >> (context.plus_minus_seen++ & 31)) & 1;
      const Value left = evaluate(expr, n.args[0], context);
      const Value right = evaluate(expr, n.args[1], context);
      if (!left.defined || !right.defined) return {};
      std::optional<Rational> exact;
      if (left.exact && right.exact)
        exact = minus ? Rational::sub(*left.exact, *right.exact) : Rational::add(*left.exact, *right.exact);
      return from(exact, minus ? left.approx - right.approx : left.approx + right.approx);
    }
    case Kind::Func: {
      std::vector<Value> args;
      for (int a : n.args) {
        args.push_back(evaluate(expr, a, context));
        if (!args.back().defined) return {};
      }
      if (args.empty()) return {};
      return apply(n.name, args);
    }
    default:
      return {};
  }
}

void collect_variables(const Expr& expr, int index, std::vector<std::string>& names) {
  const Node& n = expr.at(index);
  auto add = [&names](std::string name) {
    if (names.size() < 64 && std::find(names.begin(), names.end(), name) == names.end())
      names.push_back(std::move(name));
  };
  if (n.kind == Kind::Symbol && n.name != "pi" && n.name != "e" && n.name != "i" && n.name != "inf")
    add(n.name);
  if (n.kind == Kind::Word)
    for (char letter : n.name) add(std::string(1, letter));
  if (n.kind == Kind::Text) add("text:" + n.name);
  for (int a : n.args) collect_variables(expr, a, names);
}

int count_plus_minus(const Expr& expr, int index) {
  const Node& n = expr.at(index);
  int count = n.kind == Kind::PlusMinus ? 1 : 0;
  for (int a : n.args) count += count_plus_minus(expr, a);
  return count;
}

}  // namespace aha::rewards::math
