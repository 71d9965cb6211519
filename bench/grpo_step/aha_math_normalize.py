"""Python port of rewards/math/math_normalize.cpp (normalize_answer: LaTeX noise out) and of the bounded
rationals of rewards/math/math_number.cpp (Python's Fraction, with BigInt's 1024-bit bound checked on each
result rather than on each intermediate product; only numbers near 2^1024 could tell the difference), for
the gsm8k rule of the GRPO step benchmark's TRL side. Text is a byte view (aha_text.py).
"""
from __future__ import annotations

from fractions import Fraction

from aha_text import NPOS, is_digit, is_letter, is_space, lower, to_bytes_text

THOUSANDS = "\x1f"  # kThousandsSeparator


def replace_command(s: str, name: str, to: str) -> str:
    """Replaces the command \\name (not when it is the prefix of a longer command, \\left vs \\leftarrow)."""
    if name not in s:
        return s
    out = []
    pos = 0
    hit = s.find(name)
    while hit != -1:
        end = hit + len(name)
        whole = end >= len(s) or not is_letter(s[end]) or not is_letter(name[-1])
        out.append(s[pos:hit])
        out.append(to if whole else name)
        pos = end
        hit = s.find(name, pos)
    out.append(s[pos:])
    return "".join(out)


def skip_group(s: str, open_: int) -> int:
    depth = 0
    i = open_
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        if s[i] == "{":
            depth += 1
        if s[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return NPOS


def remove_command_with_group(s: str, name: str) -> str:
    hit = s.find(name)
    while hit != -1:
        open_ = hit + len(name)
        while open_ < len(s) and s[open_] == " ":
            open_ += 1
        end = skip_group(s, open_) if open_ < len(s) and s[open_] == "{" else NPOS
        if end == NPOS:
            s = s[:hit] + s[hit + len(name):]
        else:
            s = s[:hit] + s[end:]
        hit = s.find(name, hit)
    return s


def replace_conjunctions(s: str) -> str:
    for command in ("\\text{", "\\mbox{", "\\textrm{"):
        hit = s.find(command)
        while hit != -1:
            end = skip_group(s, hit + len(command) - 1)
            if end == NPOS:
                break
            word = "".join(lower(s[i]) for i in range(hit + len(command), end - 1) if not is_space(s[i]))
            if word == "and" or word == "or":
                s = s[:hit] + " and " + s[end:]
            hit = s.find(command, hit + 1)
    out: list[str] = []
    i = 0
    while i < len(s):
        length = 0
        if s.startswith("and", i):
            length = 3
        if s.startswith("or", i):
            length = 2
        boundary_before = i == 0 or (not is_letter(s[i - 1]) and s[i - 1] != "\\")
        boundary_after = i + length >= len(s) or not is_letter(s[i + length])
        if length > 0 and boundary_before and boundary_after and i > 0:
            while out and out[-1] == " ":
                out.pop()
            if out and out[-1] == ",":
                out.pop()
            out.append(",")
            i += length
            continue
        out.append(s[i])
        i += 1
    return "".join(out)


def remove_spacing(s: str) -> str:
    out = []
    i = 0
    while i < len(s):
        if s[i] == "~":
            out.append(" ")
        elif s[i] == "\\" and i + 1 < len(s):
            c = s[i + 1]
            if c == "!":
                i += 1
            elif c in ",;: ":
                out.append(" ")
                i += 1
            else:
                out.append(s[i])
                out.append(c)
                i += 1
        else:
            out.append(s[i])
        i += 1
    return "".join(out)


def replace_percent_words(s: str) -> str:
    for text in ("\\text{percent}", "\\text{ percent}", "\\%"):
        s = s.replace(text, "%")
    out: list[str] = []
    i = 0
    while i < len(s):
        length = 0
        for word in ("percentage", "percent", "pct"):
            if s.startswith(word, i):
                length = len(word)
                break
        boundary = (length > 0 and (i == 0 or not is_letter(s[i - 1]))
                    and (i + length >= len(s) or not is_letter(s[i + length])))
        if boundary:
            while out and out[-1] == " ":
                out.pop()
            out.append("%")
            i += length
            continue
        out.append(s[i])
        i += 1
    return "".join(out)


_UNICODE = [(to_bytes_text(a), b) for a, b in [
    ("\u2212", "-"), ("\u00d7", "\\times "), ("\u00f7", "\\div "), ("\u00b7", "\\cdot "), ("\u22c5", "\\cdot "),
    ("\u221a", "\\sqrt"), ("\u03c0", "\\pi "), ("\u221e", "\\infty "), ("\u2264", "\\le "), ("\u2265", "\\ge "),
    ("\u2260", "\\ne "), ("\u00b1", "\\pm "), ("\u222a", "\\cup "), ("\u00b0", ""), ("\u00a0", " "),
    ("\u2013", "-"), ("\u2061", ""),
]]


def normalize_answer(answer: str) -> str:
    s = answer[:16384]
    for frm, to in _UNICODE:
        s = s.replace(frm, to)
    # A doubled backslash before a command is an escaping accident; inside matrices "\\" is the row separator.
    if "matrix" not in s and "array" not in s:
        s = "".join(s[i] for i in range(len(s))
                    if not (s[i] == "\\" and i + 2 < len(s) and s[i + 1] == "\\" and is_letter(s[i + 2])))
    hit = s.find(",\\!")
    while hit != -1:
        end = hit + 3
        while end < len(s) and s[end] == " ":
            end += 1
        s = s[:hit] + THOUSANDS + s[end:]
        hit = s.find(",\\!", hit)
    s = s.replace("{,}", THOUSANDS)
    hit = s.find("\\,")
    while hit != -1:  # a thin space between digit groups: "1\,000"
        digits_around = (hit > 0 and is_digit(s[hit - 1]) and hit + 5 <= len(s) and is_digit(s[hit + 2])
                         and is_digit(s[hit + 3]) and is_digit(s[hit + 4])
                         and (hit + 5 == len(s) or not is_digit(s[hit + 5])))
        if digits_around:
            s = s[:hit] + THOUSANDS + s[hit + 2:]
        hit = s.find("\\,", hit + 1)

    s = remove_spacing(s)
    for name in ("\\quad", "\\qquad"):
        s = replace_command(s, name, " ")
    for name in ("\\displaystyle", "\\textstyle", "\\limits", "\\nolimits"):
        s = replace_command(s, name, "")
    s = s.replace("\\left.", "").replace("\\right.", "")
    for name in ("\\left", "\\right", "\\bigl", "\\bigr", "\\Bigl", "\\Bigr", "\\biggl", "\\biggr", "\\Biggl",
                 "\\Biggr", "\\big", "\\Big", "\\bigg", "\\Bigg"):
        s = replace_command(s, name, "")
    s = s.replace("\\$", "").replace("$", "")
    for delimiter in ("\\(", "\\)", "\\[", "\\]"):
        s = s.replace(delimiter, " ")
    for name in ("\\dfrac", "\\tfrac", "\\cfrac"):
        s = replace_command(s, name, "\\frac")
    for name in ("\\dbinom", "\\tbinom"):
        s = replace_command(s, name, "\\binom")
    for degree in ("^{\\circ}", "^\\circ", "^{\\degree}", "\\degree"):
        s = s.replace(degree, "")
    s = replace_command(s, "\\circ", "")
    s = s.replace("\\%", "%")
    approx = s.find("\\approx")
    if approx != -1 and approx > 0:
        s = s[:approx]
    s = remove_command_with_group(s, "\\pmod")
    for name in ("\\ldots", "\\cdots", "\\dots", "\\dotsc", "\\dotsb"):
        s = replace_command(s, name, "")
    for empty in ("\\text{}", "\\text{ }", "\\mbox{}", "\\mathrm{}"):
        s = s.replace(empty, "")
    s = replace_conjunctions(s)
    s = replace_percent_words(s)

    out: list[str] = []
    for c in s:
        if is_space(c):
            if out and out[-1] != " ":
                out.append(" ")
        else:
            out.append(c)
    while out and out[-1] in (" ", ".", "\\", ","):
        out.pop()
    first = 0
    while first < len(out) and out[first] == " ":
        first += 1
    return "".join(out[first:])


# =====================================================================================================
# rewards/math/math_number.cpp: Rational as Fraction, bounded like BigInt (kMaxBits = 1024)
# =====================================================================================================
K_MAX_BITS = 1024


def fits_bound(r: Fraction | None) -> Fraction | None:
    if r is None or abs(r.numerator).bit_length() > K_MAX_BITS or r.denominator.bit_length() > K_MAX_BITS:
        return None
    return r


def rational_pow(a: Fraction, exponent: int) -> Fraction | None:
    if exponent == 0:
        return Fraction(1)
    if a == 0:
        return Fraction(0) if exponent > 0 else None
    if exponent < 0:
        return rational_pow(1 / a, -exponent)
    if abs(a.numerator) == 1 and a.denominator == 1:
        return Fraction(-1) if a < 0 and exponent % 2 == 1 else Fraction(1)
    bits = max(abs(a.numerator).bit_length() - 1, a.denominator.bit_length() - 1)
    if bits > 0 and exponent > K_MAX_BITS // bits + 1:
        return None
    if bits == 0 and exponent > K_MAX_BITS:
        return None
    return fits_bound(a ** exponent)


def rational_from_decimal(text: str) -> Fraction | None:
    mantissa = []
    fraction_digits = 0
    seen_point = False
    i = 0
    while i < len(text):
        c = text[i]
        if "0" <= c <= "9":
            mantissa.append(c)
            if seen_point:
                fraction_digits += 1
        elif c == "." and not seen_point:
            seen_point = True
        else:
            break
        i += 1
    if not mantissa:
        return None
    exponent = 0
    if i < len(text):
        if text[i] not in "eE":
            return None
        i += 1
        negative = False
        if i < len(text) and text[i] in "+-":
            negative = text[i] == "-"
            i += 1
        if i == len(text):
            return None
        while i < len(text):
            if not "0" <= text[i] <= "9":
                return None
            exponent = exponent * 10 + ord(text[i]) - ord("0")
            if exponent > 100000:
                return None
            i += 1
        if negative:
            exponent = -exponent
    digits = int("".join(mantissa))
    if digits.bit_length() > K_MAX_BITS:
        return None
    if digits == 0:
        return Fraction(0)
    scale = rational_pow(Fraction(10), exponent - fraction_digits)
    if scale is None:
        return None
    return fits_bound(digits * scale)
