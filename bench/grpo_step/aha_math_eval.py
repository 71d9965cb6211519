"""Python port of rewards/math/math_eval.cpp (evaluate, collect_variables, count_plus_minus; complex
double in place of complex long double) and of the parts of rewards/math/math_equiv.cpp that the gsm8k rule
uses (prepare_answer, exact_number), for the GRPO step benchmark's TRL side.
"""
from __future__ import annotations

import cmath
import math
from dataclasses import dataclass
from fractions import Fraction

from aha_math_normalize import fits_bound, normalize_answer, rational_pow
from aha_math_parse import Expr, Node, parse_answer


K_PI = math.pi
K_EULER = math.e
K_MAX_EXACT_EXPONENT = 100000


@dataclass
class Value:
    defined: bool = False
    exact: Fraction | None = None
    approx: complex = 0j


def _finite(z: complex) -> bool:
    return math.isfinite(z.real) and math.isfinite(z.imag)


def _to_float(r: Fraction) -> float:
    try:
        return float(r)
    except OverflowError:  # long double holds 2^1024; double does not
        return math.inf if r > 0 else -math.inf


def from_exact(r: Fraction) -> Value:
    # Every Fraction here is bounded to 1024 bits, which a long double holds: always defined.
    return Value(True, r, complex(_to_float(r), 0))


def from_approx(z: complex) -> Value:
    return Value(_finite(z), None, z)


def from_(exact: Fraction | None, approx: complex) -> Value:
    return from_exact(exact) if exact is not None else from_approx(approx)


def _exact_integer(v: Value) -> int | None:
    if v.exact is None or v.exact.denominator != 1:
        return None
    n = v.exact.numerator
    return n if -(1 << 63) <= n < (1 << 63) else None


def _integer_root(n: int, q: int) -> int | None:
    if n < 2:
        return n
    guess = round(float(n) ** (1.0 / q))
    for r in range(max(guess - 1, 0), guess + 2):
        if rational_pow(Fraction(r), q) == n:
            return r
    return None


def _exact_root(x: Fraction, q: int) -> Fraction | None:
    if q < 1 or q > 64:
        return None
    if q == 1:
        return x
    negative = x < 0
    if negative and q % 2 == 0:
        return None
    num, den = abs(x.numerator), x.denominator
    if num >= (1 << 62) or den >= (1 << 62):
        return None
    a, b = _integer_root(num, q), _integer_root(den, q)
    if a is None or b is None:
        return None
    return Fraction(-a if negative else a, b)


def _real_or_principal_root(x: complex, q: int) -> complex:
    if x.imag == 0 and x.real < 0 and q % 2 == 1:
        return complex(-((-x.real) ** (1.0 / q)), 0)
    if x.imag == 0 and x.real >= 0:
        return complex(x.real ** (1.0 / q), 0)
    return x ** complex(1.0 / q, 0)


def _integer_power(base: complex, exponent: int) -> complex:
    try:
        if base.imag == 0:
            return complex(math.pow(base.real, float(exponent)), 0)
        return base ** exponent
    except (OverflowError, ZeroDivisionError, ValueError):
        return complex(math.inf, 0)


def _power_unchecked(base: Value, exponent: Value) -> Value:
    e = _exact_integer(exponent)
    if e is not None:
        if base.approx == 0 and e < 0:
            return Value()
        if base.exact is not None:
            exact = rational_pow(base.exact, e)
            if exact is None:
                return Value()
            return from_exact(exact)
        return from_approx(_integer_power(base.approx, e))
    if exponent.exact is not None and base.exact is not None:  # a rational power p/q of a rational
        p, q = exponent.exact.numerator, exponent.exact.denominator
        if q <= 64 and -K_MAX_EXACT_EXPONENT <= p <= K_MAX_EXACT_EXPONENT:
            exact = None
            root = _exact_root(base.exact, q)
            if root is not None:
                exact = rational_pow(root, p)
                if exact is None:
                    return Value()
            return from_(exact, _integer_power(_real_or_principal_root(base.approx, q), p))
    if base.approx == 0:
        return from_exact(Fraction(0)) if exponent.approx.real > 0 else Value()
    try:
        if base.approx.imag == 0 and base.approx.real > 0 and exponent.approx.imag == 0:
            return from_approx(complex(math.pow(base.approx.real, exponent.approx.real), 0))
        return from_approx(base.approx ** exponent.approx)
    except (OverflowError, ZeroDivisionError, ValueError):
        return Value()


def _power(base: Value, exponent: Value) -> Value:
    v = _power_unchecked(base, exponent)
    if v.defined and v.exact is None and v.approx == 0 and base.approx != 0:
        return Value()
    return v


def _floor_of(x: Fraction, ceiling: bool) -> Fraction:
    return Fraction(math.ceil(x) if ceiling else math.floor(x))


def _apply(name: str, args: list) -> Value:
    x = args[0]
    z = x.approx
    try:
        if name == "sqrt":
            exact = _exact_root(x.exact, 2) if x.exact is not None else None
            return from_(exact, complex(math.sqrt(z.real), 0) if z.imag == 0 and z.real >= 0 else cmath.sqrt(z))
        if name == "root":
            q = _exact_integer(args[1])
            if q is None or q < 1 or q > 64:
                return from_approx(z ** (1 / args[1].approx))
            exact = _exact_root(x.exact, q) if x.exact is not None else None
            return from_(exact, _real_or_principal_root(z, q))
        if name == "abs":
            if x.exact is not None:
                return from_exact(abs(x.exact))
            return from_approx(complex(abs(z), 0))
        if name in ("floor", "ceil"):
            if x.exact is not None:
                return from_exact(_floor_of(x.exact, name == "ceil"))
            if z.imag != 0:
                return Value()
            return from_approx(complex(math.ceil(z.real) if name == "ceil" else math.floor(z.real), 0))
        if name == "factorial":
            n = _exact_integer(x)
            if n is not None:
                if n < 0:
                    return Value()
                product = Fraction(1)
                for k in range(2, n + 1):
                    product = fits_bound(product * k)
                    if product is None:
                        return Value()
                return from_exact(product)
            if z.imag != 0:
                return Value()
            return from_approx(complex(math.gamma(z.real + 1), 0))
        if name == "binom":
            nn, kk = _exact_integer(args[0]), _exact_integer(args[1])
            if nn is None or kk is None:
                return Value()
            if kk < 0 or kk > nn:
                return from_exact(Fraction(0))
            steps = min(kk, nn - kk)
            if steps > 2000:
                return Value()
            result = Fraction(1)
            for i in range(steps):
                result = fits_bound(result * (nn - i))
                if result is None:
                    return Value()
                result = result / (i + 1)
            return from_exact(result)
        if name == "sgn":
            if z.imag != 0:
                return Value()
            return from_exact(Fraction(1 if z.real > 0 else -1 if z.real < 0 else 0))
        if name == "log":
            if z == 0:
                return Value()
            base = args[1].approx if len(args) > 1 else complex(10, 0)
            if base == 1 or base == 0:
                return Value()
            return from_approx(cmath.log(z) / cmath.log(base))
        if z == 0 and name in ("ln", "log10"):
            return Value()
        functions = {
            "ln": cmath.log, "log10": cmath.log10, "exp": cmath.exp, "sin": cmath.sin, "cos": cmath.cos,
            "tan": cmath.tan, "cot": lambda w: 1 / cmath.tan(w), "sec": lambda w: 1 / cmath.cos(w),
            "csc": lambda w: 1 / cmath.sin(w), "arcsin": cmath.asin, "arccos": cmath.acos, "arctan": cmath.atan,
            "arccot": lambda w: cmath.atan(1 / w), "arcsec": lambda w: cmath.acos(1 / w),
            "arccsc": lambda w: cmath.asin(1 / w), "sinh": cmath.sinh, "cosh": cmath.cosh, "tanh": cmath.tanh,
            "coth": lambda w: 1 / cmath.tanh(w)}
        if name in functions:
            return from_approx(functions[name](z))
    except (OverflowError, ZeroDivisionError, ValueError):
        return Value()
    return Value()  # det and anything else


def evaluate(expr: Expr, index: int, budget: list) -> Value:
    budget[0] -= 1
    if budget[0] < 0:
        return Value()
    n = expr.at(index)
    k = n.kind
    if k == "Number":
        return from_exact(n.value)
    if k == "Symbol":
        if n.name == "pi":
            return from_approx(complex(K_PI, 0))
        if n.name == "e":
            return from_approx(complex(K_EULER, 0))
        if n.name == "i":
            return from_approx(1j)
        return Value()  # no variables are bound in exact_number
    if k in ("Word", "Text"):
        return Value()
    if k in ("Add", "Mul"):
        is_sum = k == "Add"
        exact = Fraction(0 if is_sum else 1)
        approx = complex(0 if is_sum else 1, 0)
        for a in n.args:
            v = evaluate(expr, a, budget)
            if not v.defined:
                return Value()
            approx = approx + v.approx if is_sum else approx * v.approx
            if exact is not None and v.exact is not None:
                exact = fits_bound(exact + v.exact if is_sum else exact * v.exact)
            else:
                exact = None
        return from_(exact, approx)
    if k == "Div":
        top = evaluate(expr, n.args[0], budget)
        bottom = evaluate(expr, n.args[1], budget)
        if not top.defined or not bottom.defined or bottom.approx == 0:
            return Value()
        if bottom.exact is not None and bottom.exact == 0:
            return Value()
        exact = fits_bound(top.exact / bottom.exact) if top.exact is not None and bottom.exact is not None else None
        return from_(exact, top.approx / bottom.approx)
    if k == "Pow":
        base = evaluate(expr, n.args[0], budget)
        exponent = evaluate(expr, n.args[1], budget)
        if not base.defined or not exponent.defined:
            return Value()
        return _power(base, exponent)
    if k == "Neg":
        v = evaluate(expr, n.args[0], budget)
        if not v.defined:
            return Value()
        return from_(-v.exact if v.exact is not None else None, -v.approx)
    if k == "Percent":
        v = evaluate(expr, n.args[0], budget)
        if not v.defined:
            return Value()
        return from_(v.exact / 100 if v.exact is not None else None, v.approx / 100.0)
    if k == "Func":
        args = []
        for a in n.args:
            args.append(evaluate(expr, a, budget))
            if not args[-1].defined:
                return Value()
        if not args:
            return Value()
        return _apply(n.name, args)
    return Value()  # PlusMinus never reaches here (exact_number refuses it); collections do not evaluate


def collect_variables(expr: Expr, index: int, names: list):
    n = expr.at(index)

    def add(name):
        if len(names) < 64 and name not in names:
            names.append(name)

    if n.kind == "Symbol" and n.name not in ("pi", "e", "i", "inf"):
        add(n.name)
    if n.kind == "Word":
        for letter in n.name:
            add(letter)
    if n.kind == "Text":
        add("text:" + n.name)
    for a in n.args:
        collect_variables(expr, a, names)


def count_plus_minus(expr: Expr, index: int) -> int:
    n = expr.at(index)
    return (1 if n.kind == "PlusMinus" else 0) + sum(count_plus_minus(expr, a) for a in n.args)


# =====================================================================================================
# rewards/math/math_equiv.cpp: prepare_answer and exact_number
# =====================================================================================================
def is_collection(kind: str) -> bool:
    return kind in ("List", "Set", "Seq", "Union")


def contains_infinity(expr: Expr, index: int) -> bool:
    n = expr.at(index)
    if n.kind == "Symbol" and n.name == "inf":
        return True
    return any(contains_infinity(expr, a) for a in n.args)


def all_equalities(relation: Node) -> bool:
    return all(r in ("Eq", "In") for r in relation.rels)


@dataclass
class PreparedAnswer:
    normalized: str
    expr: Expr | None


def prepare_answer(answer: str) -> PreparedAnswer:
    normalized = normalize_answer(answer)
    return PreparedAnswer(normalized, parse_answer(normalized))


def exact_number(answer: PreparedAnswer) -> Fraction | None:
    if answer.expr is None:
        return None
    expr = answer.expr
    root = expr.root
    if expr.at(root).kind == "Relation" and all_equalities(expr.at(root)) and expr.at(root).rels[0] == "Eq":
        root = expr.at(root).args[-1]  # "x = 27" answers 27
    kind = expr.at(root).kind
    if is_collection(kind) or kind in ("Relation", "Matrix"):
        return None
    names: list = []
    collect_variables(expr, root, names)
    if names or count_plus_minus(expr, root) > 0 or contains_infinity(expr, root):
        return None
    value = evaluate(expr, root, [100000])
    if not value.defined or value.exact is None:
        return None
    return value.exact
