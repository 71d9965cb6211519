"""Python port of the parts of aha's math verifier that the `gsm8k` rule uses, for the TRL side of the
GRPO step benchmark (bench/grpo_step/trl_grpo.py), so that both trainers score completions alike.

Ported function by function, in the C++ files' order, from:
  rewards/math/math_extract.cpp    extract_answer, extract_reference, last_boxed and their helpers
  rewards/math/math_normalize.cpp  normalize_answer
  rewards/math/math_parse.cpp      the lexer and the recursive-descent parser (every production)
  rewards/math/math_eval.cpp       evaluate, collect_variables, count_plus_minus
  rewards/math/math_equiv.cpp      prepare_answer, exact_number (and is_collection, all_equalities,
                                   contains_infinity)
Where it deliberately differs:
  - Text is handled as bytes, as the C++ does: a completion is UTF-8 encoded and decoded as latin-1, so
    every character here is one byte and every length limit (kMaxScan, kMaxAnswer, the 10/70-character
    box windows, the 512-byte phrase line, ParseLimits) counts what the C++ counts.
  - Rational/BigInt (math_number.cpp) are Python's Fraction with aha's 1024-bit bound checked on each
    result, not on each intermediate product; complex long double is Python's complex (double). Both
    matter only for numbers near 2^1024, which no GSM8K answer is.
check_rewards.py compares this port with `aha score --reward gsm8k` on a case table and on real
completions; it must report no disagreement.
"""
from __future__ import annotations

import cmath
import math
import sys
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction

K_MAX_SCAN = 65536
K_MAX_ANSWER = 4096
THOUSANDS = "\x1f"  # kThousandsSeparator
NPOS = 1 << 62
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))  # 64 nested levels x ~12 frames each


def to_bytes_text(text: str) -> str:
    """A Python str as the C++ sees it: one character per UTF-8 byte."""
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


# -- rewards/ascii.h ---------------------------------------------------------------------------------
def is_digit(c: str) -> bool:
    return "0" <= c <= "9" and len(c) == 1


def is_letter(c: str) -> bool:
    return len(c) == 1 and ("a" <= c <= "z" or "A" <= c <= "Z")


def is_space(c: str) -> bool:
    return len(c) == 1 and c in " \t\n\r\f\v"


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def lowercase(s: str) -> str:  # ASCII only, as the C++ (str.lower would also fold latin-1 bytes)
    return s.translate(_ASCII_LOWER)


def lower(c: str) -> str:
    return c.translate(_ASCII_LOWER)


def _npos(i: int) -> int:
    return NPOS if i < 0 else i


def _rfind(text: str, sub: str, pos: int = NPOS) -> int:
    """std::string_view::rfind(sub, pos): the last occurrence starting at or before pos, or -1."""
    if pos >= len(text):
        return text.rfind(sub)
    return text.rfind(sub, 0, pos + len(sub))


# =====================================================================================================
# rewards/math/math_extract.cpp
# =====================================================================================================
def trim(s: str) -> str:
    return s.strip(" \t\n\r\f\v")


@dataclass
class Box:
    start: int = 0
    end: int = 0
    content: str = ""


def box_before(text: str, limit: int) -> Box | None:
    """The last \\boxed / \\fbox that starts before `limit`."""
    while limit > 0:
        boxed = _rfind(text, "\\boxed", limit - 1)
        fbox = _rfind(text, "\\fbox", limit - 1)
        if boxed != -1 and (fbox == -1 or boxed > fbox):
            start, command = boxed, 6
        elif fbox != -1:
            start, command = fbox, 5
        else:
            return None
        i = start + command
        while i < len(text) and is_space(text[i]):
            i += 1
        if i < len(text) and text[i] == "{":
            depth = 0
            j = i
            while j < len(text):
                if text[j] == "\\" and j + 1 < len(text):  # \{ and \} do not nest
                    j += 2
                    continue
                if text[j] == "{":
                    depth += 1
                if text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j < len(text):
                return Box(start, j + 1, trim(text[i + 1:j]))
            return Box(start, len(text), trim(text[i + 1:]))  # unclosed: the rest of the text
        if i > start + command and i < len(text):  # "\boxed 5": the next token
            j = i
            while j < len(text) and not is_space(text[j]) and text[j] != "$":
                j += 1
            content = text[i:j]
            if content:
                return Box(start, j, content)
        limit = start  # "\boxed" with no argument (or "\boxedx"): look further back
    return None


def few_words(between: str, limit: int) -> bool:
    words = 0
    for i, c in enumerate(between):
        if is_letter(c) and (i == 0 or not is_letter(between[i - 1])):
            words += 1
            if words > limit:
                return False
    return True


def has_separator(between: str) -> bool:
    if "," in between or ";" in between:
        return True
    low = lowercase(between)
    for word in ("and", "or"):
        hit = low.find(word)
        while hit != -1:
            before = hit == 0 or not is_letter(low[hit - 1])
            after = hit + len(word) >= len(low) or not is_letter(low[hit + len(word)])
            if before and after:
                return True
            hit = low.find(word, hit + 1)
    return False


def first_math_env(line: str) -> str | None:
    """The content of the first $...$, \\(...\\) or \\[...\\] in a line, if any."""
    dollar = _npos(line.find("$"))
    paren = _npos(line.find("\\("))
    bracket = _npos(line.find("\\["))
    first = min(dollar, paren, bracket)
    if first == NPOS:
        return None
    if first == dollar:
        open_ = dollar
        while open_ < len(line) and line[open_] == "$":
            open_ += 1
        close = line.find("$", open_)
        if close == -1:
            return trim(line[open_:])
        return trim(line[open_:close])
    closer = "\\)" if first == paren else "\\]"
    close = line.find(closer, first + 2)
    if close == -1:
        return trim(line[first + 2:])
    return trim(line[first + 2:close])


def answer_after(text: str, start: int) -> str:
    i = start
    while i < len(text) and (is_space(text[i]) or text[i] == ":" or text[i] == "*"):
        i += 1
    end = text.find("\n", i)
    if end == -1:
        end = len(text)
    line = text[i:i + min(end - i, 512)]
    math_text = first_math_env(line)
    if math_text is not None:
        return math_text
    for stop in (". ", "I hope", " I hope"):
        cut = line.find(stop)
        if cut != -1:
            line = line[:cut]
    line = trim(line)
    while line and (line[-1] == "." or line[-1] == "*"):
        line = line[:-1]
    return trim(line)


def phrase_answer(text: str) -> str | None:
    low = lowercase(text)
    best_end = NPOS
    for phrase in ("final answer is", "the answer is", "answer is", "answer:", "####"):
        hit = low.rfind(phrase)
        if hit == -1:
            continue
        end = hit + len(phrase)
        if best_end == NPOS or end > best_end:
            best_end = end
    line_a = low.rfind("\na:")  # "A: 18" at the start of a line (the GSM8K model-solution format)
    if line_a != -1:
        line_a += 3
    elif low.startswith("a:"):
        line_a = 2
    if line_a != -1 and (best_end == NPOS or line_a > best_end):
        best_end = line_a
    if best_end == NPOS:
        return None
    answer = answer_after(text, best_end)
    if not answer:
        return None
    return answer


@dataclass
class Span:
    end: int
    text: str


def last_math_env(text: str) -> Span | None:
    best = None
    dollars = [i for i, c in enumerate(text) if c == "$" and (i == 0 or text[i - 1] != "\\")]
    if len(dollars) >= 2:
        k = len(dollars) - 1
        while k > 0 and dollars[k - 1] + 1 == dollars[k]:  # "$$" closer
            k -= 1
        close = dollars[k]
        if k > 0:
            content = dollars[k - 1] + 1
            inside = trim(text[content:close])
            if inside:
                best = Span(dollars[-1] + 1, inside)
    for open_, close_ in (("\\(", "\\)"), ("\\[", "\\]")):
        c = text.rfind(close_)
        if c == -1:
            continue
        o = _rfind(text, open_, c)
        if o == -1:
            continue
        inside = trim(text[o + 2:c])
        if inside and (best is None or c + 2 > best.end):
            best = Span(c + 2, inside)
    return best


def last_number(text: str) -> Span | None:
    i = len(text)
    while i > 0 and not is_digit(text[i - 1]):
        i -= 1
    if i == 0:
        return None
    end = i

    def extend_left(frm: int) -> int:
        s = frm
        while s > 0:
            c = text[s - 1]
            if is_digit(c):
                s -= 1
            elif (c == "," or c == ".") and s >= 2 and is_digit(text[s - 2]):
                s -= 1
            else:
                break
        if s > 0 and text[s - 1] == ".":  # ".5"
            s -= 1
        return s

    start = extend_left(end)
    if start >= 2 and text[start - 1] == "/" and is_digit(text[start - 2]):
        start = extend_left(start - 1)
    if start > 0 and text[start - 1] == "-":
        start -= 1
    return Span(end, text[start:end])


@dataclass
class ExtractOptions:
    answer_open: str = "<answer>"
    answer_close: str = "</answer>"
    use_answer_tags: bool = True
    last_number_fallback: bool = True


@dataclass
class ExtractedAnswer:
    text: str
    source: str = "whole_text"


def marked_answer(scope: str) -> ExtractedAnswer | None:
    boxed = last_boxed(scope)
    if boxed is not None:
        return ExtractedAnswer(boxed, "boxed")
    phrase = phrase_answer(scope)
    if phrase is not None:
        return ExtractedAnswer(phrase, "phrase")
    return None


def scanned(text: str) -> str:
    return text[len(text) - K_MAX_SCAN:] if len(text) > K_MAX_SCAN else text


def answer_block(text: str, options: ExtractOptions) -> str | None:
    if not options.use_answer_tags or not options.answer_open or not options.answer_close:
        return None
    close = text.rfind(options.answer_close)
    if close == -1:
        return None
    open_ = text.rfind(options.answer_open, 0, close)
    if open_ == -1:
        return None
    begin = open_ + len(options.answer_open)
    if begin > close:
        return None
    return trim(text[begin:close])


def bounded(answer: ExtractedAnswer | None) -> ExtractedAnswer | None:
    if answer is None or len(answer.text) > K_MAX_ANSWER or not trim(answer.text):
        return None
    return answer


def last_boxed(text: str) -> str | None:
    box = box_before(text, len(text))
    if box is None:
        return None
    contents = deque([box.content])
    while len(contents) < 8:
        previous = box_before(text, box.start)
        if previous is None or previous.end > box.start:
            break
        between = text[previous.end:box.start]
        near = len(between) < 10
        listed = (len(between) < 70 and previous.content != contents[0] and has_separator(between)
                  and few_words(between, 3))
        if not near and not listed:
            break
        if previous.content != contents[0]:
            contents.appendleft(previous.content)
        box = previous
    return ", ".join(contents)


def extract_answer(completion: str, options: ExtractOptions = ExtractOptions()) -> ExtractedAnswer | None:
    text = scanned(completion)
    block = answer_block(text, options)
    if block is not None:
        inner = marked_answer(block)
        if inner is not None:
            return bounded(inner)
        return bounded(ExtractedAnswer(block, "answer_tag"))
    if len(text) < len(completion):
        tail_start = len(completion) - len(text)
        if answer_block(completion, options) is not None:
            return None
        if box_before(text, len(text)) is None and box_before(completion, tail_start) is not None:
            return None
    marked = marked_answer(text)
    if marked is not None:
        return bounded(marked)
    if not options.last_number_fallback:
        return None
    formula = last_math_env(text)
    number = last_number(text)
    if formula is not None and (number is None or formula.end >= number.end):
        return bounded(ExtractedAnswer(formula.text, "math_env"))
    if number is not None:
        return bounded(ExtractedAnswer(number.text, "last_number"))
    return None


def extract_reference(truth: str, options: ExtractOptions = ExtractOptions()) -> str:
    text = scanned(truth)
    block = answer_block(text, options)
    if block is not None:
        inner = marked_answer(block)
        if inner is not None:
            return inner.text
        return block
    marked = marked_answer(text)
    if marked is not None:
        return marked.text
    return trim(truth)


# =====================================================================================================
# rewards/math/math_normalize.cpp
# =====================================================================================================
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


def _fits(r: Fraction | None) -> Fraction | None:
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
    return _fits(a ** exponent)


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
    return _fits(digits * scale)


# =====================================================================================================
# rewards/math/math_expr.h and rewards/math/math_parse.cpp
# =====================================================================================================
@dataclass
class Node:
    kind: str = "Number"
    decimal_literal: bool = False
    integer_literal: bool = False
    latex_frac: bool = False
    open: str = ""
    close: str = ""
    base: int = 0
    rows: int = 0
    cols: int = 0
    height: int = 1
    value: Fraction = Fraction(0)
    name: str = ""
    args: list = field(default_factory=list)
    rels: list = field(default_factory=list)


@dataclass
class Expr:
    nodes: list = field(default_factory=list)
    root: int = -1

    def at(self, index: int) -> Node:
        return self.nodes[index]


@dataclass
class ParseLimits:
    max_chars: int = 2000
    max_depth: int = 64
    max_nodes: int = 2000
    max_height: int = 128


END, NUMBER, LETTER, COMMAND, CHAR = "End", "Number", "Letter", "Command", "Char"


@dataclass
class Token:
    type: str = END
    text: str = ""
    space_before: bool = False


def lex(s: str) -> list[Token]:
    tokens = []
    bracket_depth = 0  # ( [ \{ nesting: a bare "," is a thousands separator only outside them
    space = False
    i = 0
    while i < len(s):
        c = s[i]
        if c == " ":
            space = True
            i += 1
            continue
        token = Token(space_before=space)
        space = False
        start = i
        if is_digit(c) or (c == "." and i + 1 < len(s) and is_digit(s[i + 1])):
            token.type = NUMBER
            while i < len(s) and is_digit(s[i]):
                i += 1
            integer_digits = i - start
            plain_groups_ok = (bracket_depth == 0 and 1 <= integer_digits <= 3 and s[start] != "0"
                               and (start == 0 or (s[start - 1] != "." and s[start - 1] != ",")))
            used_plain = used_marker = False
            while (i + 3 < len(s) and (s[i] == THOUSANDS or (s[i] == "," and plain_groups_ok))
                   and is_digit(s[i + 1]) and is_digit(s[i + 2]) and is_digit(s[i + 3])
                   and (i + 4 == len(s) or not is_digit(s[i + 4]))):
                if s[i] == ",":
                    if used_marker:
                        break
                    used_plain = True
                else:
                    if used_plain:
                        break
                    used_marker = True
                i += 4
            if i + 1 < len(s) and s[i] == "." and is_digit(s[i + 1]):
                i += 1
                while i < len(s) and is_digit(s[i]):
                    i += 1
            if i + 1 < len(s) and (s[i] == "e" or s[i] == "E"):
                j = i + 1
                if j < len(s) and (s[j] == "+" or s[j] == "-"):
                    j += 1
                if j < len(s) and is_digit(s[j]):
                    while j < len(s) and is_digit(s[j]):
                        j += 1
                    if j == len(s) or not is_letter(s[j]):
                        i = j
            token.text = s[start:i]
        elif is_letter(c):
            token.type = LETTER
            token.text = c
            i += 1
        elif c == "\\":
            token.type = COMMAND
            i += 1
            if i < len(s) and is_letter(s[i]):
                while i < len(s) and is_letter(s[i]):
                    i += 1
                token.text = s[start + 1:i]
            elif i < len(s):
                token.text = s[i]
                i += 1
            else:
                token.text = ""
            if token.text == "{":
                bracket_depth += 1
            if token.text == "}":
                bracket_depth -= 1
        else:
            token.type = CHAR
            token.text = "," if c == THOUSANDS else c
            if c in "([":
                bracket_depth += 1
            if c in ")]":
                bracket_depth -= 1
            i += 1
        tokens.append(token)
    tokens.append(Token(END, "", space))
    return tokens


K_FUNCTIONS = ("sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "arccot", "sinh",
               "cosh", "tanh", "ln", "log", "exp", "lg", "sgn", "det", "arcsec", "arccsc", "coth")
K_GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta",
           "iota", "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi",
           "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi",
           "Omega", "varrho")
K_TEXT_COMMANDS = ("text", "textbf", "textit", "textrm", "textsf", "texttt", "textnormal", "mbox", "mathrm",
                   "mathbf", "mathit", "mathsf", "boldsymbol", "operatorname")
K_SHORT_UNITS = ("cm", "mm", "km", "nm", "ft", "yd", "mi", "kg", "mg", "lb", "lbs", "oz", "hr", "hrs", "min",
                 "sec", "ms", "ml", "mph", "kmh", "kph", "sq", "cu", "deg", "rs", "usd", "yr", "yrs", "wk",
                 "wks", "day", "per", "gal", "pts", "pt", "men", "cc", "dm", "kw", "eur")
K_NOT_OPERANDS = ("cdot", "times", "div", "pm", "mp", "cup", "cap", "le", "leq", "ge", "geq", "ne", "neq", "in",
                  "lt", "gt")
K_MULTIPLIERS = ("hundred", "thousand", "million", "billion", "trillion", "infinity")
K_MATRICES = ("pmatrix", "bmatrix", "matrix", "Bmatrix", "smallmatrix", "array")


class _DepthGuard:
    def __init__(self, parser):
        self.p = parser

    def __enter__(self):
        self.p.depth += 1
        if self.p.depth > self.p.limits.max_depth:
            self.p.failed = True
        return self

    def __exit__(self, *exc):
        self.p.depth -= 1
        return False


class Parser:
    def __init__(self, tokens: list[Token], limits: ParseLimits, out: Expr, depth: int):
        self.tokens = tokens
        self.pos = 0
        self.limits = limits
        self.out = out
        self.depth = depth
        self.abs_depth = 0
        self.failed = False

    def parse_all(self) -> int:
        elements = self.parse_elements()
        if self.failed or self.peek().type != END or not elements:
            return -1
        if len(elements) == 1:
            return elements[0]
        return self.add(Node(kind="List", args=elements))

    # -- tokens ----------------------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def is_char(self, c: str, ahead: int = 0) -> bool:
        t = self.peek(ahead)
        return t.type == CHAR and t.text[0] == c

    def is_command(self, name: str, ahead: int = 0) -> bool:
        t = self.peek(ahead)
        return t.type == COMMAND and t.text == name

    def next(self):
        if self.pos + 1 < len(self.tokens):
            self.pos += 1

    def accept_char(self, c: str) -> bool:
        if not self.is_char(c):
            return False
        self.next()
        return True

    def accept_command(self, name: str) -> bool:
        if not self.is_command(name):
            return False
        self.next()
        return True

    def fail(self) -> int:
        self.failed = True
        return -1

    # -- nodes -----------------------------------------------------------------------------------------
    def add(self, node: Node) -> int:
        if len(self.out.nodes) >= self.limits.max_nodes:
            return self.fail()
        node.height = 1
        for a in node.args:
            node.height = max(node.height, self.out.at(a).height + 1)
        if node.height > self.limits.max_height:
            return self.fail()
        self.out.nodes.append(node)
        return len(self.out.nodes) - 1

    def make(self, kind: str, args: list, name: str = "") -> int:
        for a in args:
            if a < 0:
                return self.fail()
        return self.add(Node(kind=kind, args=list(args), name=name))

    def number(self, value: Fraction) -> int:
        return self.add(Node(kind="Number", value=value))

    def symbol(self, name: str) -> int:
        return self.add(Node(kind="Symbol", name=name))

    def product(self, left: int, right: int) -> int:
        if left < 0 or right < 0:
            return self.fail()
        args = []
        for side in (left, right):
            n = self.out.at(side)
            if n.kind == "Mul":
                args.extend(n.args)
            else:
                args.append(side)
        return self.make("Mul", args)

    def has_variables(self, index: int) -> bool:
        n = self.out.at(index)
        if n.kind in ("Symbol", "Word", "Text"):
            return True
        return any(self.has_variables(a) for a in n.args)

    # -- grammar ---------------------------------------------------------------------------------------
    def parse_elements(self) -> list:
        elements = []
        while not self.failed:
            element = self.parse_relation()
            if element < 0:
                self.fail()
                break
            elements.append(element)
            if not self.accept_char(",") and not self.accept_char(";"):
                break
        return elements

    def peek_relation(self):
        """(relation or None, width)."""
        t = self.peek()
        if t.type == CHAR:
            then_equals = self.is_char("=", 1)
            c = t.text[0]
            if c == "=":
                return "Eq", 1
            if c == "<":
                return ("Le", 2) if then_equals else ("Lt", 1)
            if c == ">":
                return ("Ge", 2) if then_equals else ("Gt", 1)
            if c == "!":
                return ("Ne", 2) if then_equals else (None, 1)
            return None, 1
        if t.type != COMMAND:
            return None, 1
        if t.text in ("le", "leq", "leqslant"):
            return "Le", 1
        if t.text in ("ge", "geq", "geqslant"):
            return "Ge", 1
        if t.text == "lt":
            return "Lt", 1
        if t.text == "gt":
            return "Gt", 1
        if t.text in ("ne", "neq"):
            return "Ne", 1
        if t.text == "in":
            return "In", 1
        return None, 1

    def parse_relation(self) -> int:
        if self.failed:
            return -1
        first = self.parse_union()
        if first < 0:
            return self.fail()
        rel, width = self.peek_relation()
        if rel is None:
            return first
        chain = Node(kind="Relation", args=[first])
        while rel is not None:
            for _ in range(width):
                self.next()
            operand = self.parse_union()
            if operand < 0:
                return self.fail()
            chain.rels.append(rel)
            chain.args.append(operand)
            rel, width = self.peek_relation()
        return self.add(chain)

    def parse_union(self) -> int:
        first = self.parse_sum()
        if first < 0 or not self.is_command("cup"):
            return first
        parts = [first]
        while self.accept_command("cup"):
            parts.append(self.parse_sum())
        return self.make("Union", parts)

    def sum_of(self, terms: list) -> int:
        if len(terms) == 1:
            return terms[0]
        return self.make("Add", terms)

    def parse_sum(self) -> int:
        if self.failed:
            return -1
        terms = [self.parse_term()]
        if terms[0] < 0:
            return self.fail()
        while not self.failed:
            if self.accept_char("+"):
                terms.append(self.parse_term())
            elif self.is_char("-"):
                self.next()
                terms.append(self.make("Neg", [self.parse_term()]))
            elif self.is_command("pm") or self.is_command("mp"):
                minus_first = self.is_command("mp")
                self.next()
                right = self.parse_term()
                if minus_first:
                    right = self.make("Neg", [right])
                left = self.sum_of(terms)
                terms = [self.make("PlusMinus", [left, right])]
            else:
                break
            if terms[-1] < 0:
                return self.fail()
        return self.sum_of(terms)

    def starts_implicit_operand(self) -> bool:
        t = self.peek()
        if t.type in (NUMBER, LETTER):
            return True
        if t.type == CHAR:
            return t.text[0] == "(" or t.text[0] == "{" or (t.text[0] == "|" and self.abs_depth == 0)
        if t.type == COMMAND:
            if t.text in K_NOT_OPERANDS:
                return False
            if t.text in ("}", "\\", "rfloor", "rceil", "end", "rvert", "rangle", "leqslant", "geqslant"):
                return False
            return True
        return False

    def is_text_command(self, ahead: int = 0) -> bool:
        t = self.peek(ahead)
        return t.type == COMMAND and t.text in K_TEXT_COMMANDS and t.text != "operatorname"

    def peek_letter_run(self):
        run = []
        count = 0
        while self.peek(count).type == LETTER and (count == 0 or not self.peek(count).space_before):
            run.append(self.peek(count).text[0])
            count += 1
        return "".join(run), count

    def is_unit_word(self, run: str, space_before: bool) -> bool:
        if len(run) < 2:
            return False
        word = lowercase(run)
        if word in K_SHORT_UNITS:
            return True
        if len(word) >= 3 and word[-1] == "s" and word[:-1] in K_SHORT_UNITS:
            return True
        return space_before and len(word) >= 4 and word not in K_MULTIPLIERS

    def skip_unit_exponent(self):
        if not self.accept_char("^"):
            return
        if self.peek().type in (NUMBER, LETTER):
            self.next()
        elif self.accept_char("{"):
            depth = 1
            while self.peek().type != END and depth > 0:
                if self.is_char("{"):
                    depth += 1
                if self.is_char("}"):
                    depth -= 1
                self.next()

    def parse_term(self) -> int:
        if self.failed:
            return -1
        acc = self.parse_unary()
        if acc < 0:
            return self.fail()
        dropped_unit = False
        while not self.failed:
            if ((self.is_char("*") and not self.is_char("*", 1)) or self.is_command("cdot")
                    or self.is_command("times") or self.is_command("ast")):
                self.next()
                acc = self.product(acc, self.parse_unary())
            elif self.is_char("/") or self.is_command("div"):
                self.next()
                acc = self.make("Div", [acc, self.parse_unary()])
            elif self.starts_implicit_operand():
                # A unit after a quantity: "10\text{ units}", "64 square feet", "5cm".
                if self.is_text_command():
                    saved = self.pos
                    text = self.parse_primary()
                    if text >= 0 and self.out.at(text).kind == "Text":
                        self.skip_unit_exponent()
                        dropped_unit = True
                        continue
                    self.pos = saved  # mathematics in \mathrm{...}: parsed again below as a factor
                    self.failed = False
                if self.peek().type == LETTER and not self.has_variables(acc):
                    run, count = self.peek_letter_run()
                    if (dropped_unit and len(run) >= 2) or self.is_unit_word(run, self.peek().space_before):
                        for _ in range(count):
                            self.next()
                        self.skip_unit_exponent()
                        dropped_unit = True
                        continue
                if dropped_unit:
                    return self.fail()  # "5 cm x": a unit in the middle of an expression
                negated = self.out.at(acc).kind == "Neg"
                whole = self.out.at(acc).args[0] if negated else acc
                integer_left = self.out.at(whole).kind == "Number" and self.out.at(whole).integer_literal
                right = self.parse_postfix()
                if right < 0:
                    return self.fail()
                if integer_left and self.is_mixed_fraction(self.out.at(right)):
                    acc = self.make("Add", [whole, right])
                    if negated:
                        acc = self.make("Neg", [acc])
                else:
                    acc = self.product(acc, right)
            else:
                break
            if acc < 0:
                return self.fail()
        return acc

    def is_mixed_fraction(self, n: Node) -> bool:
        if n.kind != "Div" or not n.latex_frac:
            return False
        a = self.out.at(n.args[0])
        b = self.out.at(n.args[1])
        return a.kind == "Number" and a.integer_literal and b.kind == "Number" and b.integer_literal

    def parse_unary(self) -> int:
        if self.failed:
            return -1
        if not self.is_char("-") and not self.is_char("+") and not self.is_command("pm") and not self.is_command("mp"):
            return self.parse_postfix()
        with _DepthGuard(self):
            if self.failed:
                return -1
            if self.accept_char("-"):
                return self.make("Neg", [self.parse_unary()])
            if self.accept_char("+"):
                return self.parse_unary()
            if self.is_command("pm") or self.is_command("mp"):
                self.next()
                zero = self.number(Fraction(0))
                return self.make("PlusMinus", [zero, self.parse_unary()])
            return self.parse_postfix()

    def parse_postfix(self) -> int:
        base = self.parse_power()
        while base >= 0:
            if self.is_char("!") and not self.is_char("=", 1):
                self.next()
                base = self.make("Func", [base], "factorial")
            elif self.accept_char("%"):
                base = self.make("Percent", [base])
            else:
                break
            if base >= 0 and self.is_char("^"):
                base = self.parse_power_of(base)
        return base

    def at_power(self) -> bool:
        return self.is_char("^") or (self.is_char("*") and self.is_char("*", 1))

    def parse_power_of(self, base: int) -> int:
        if self.accept_char("^"):
            return self.make("Pow", [base, self.parse_exponent()])
        self.next()
        self.next()  # "**"
        return self.make("Pow", [base, self.parse_exponent()])

    def parse_power(self) -> int:
        if self.failed:
            return -1
        base = self.parse_primary()
        if base >= 0 and self.at_power():
            base = self.parse_power_of(base)
        return base

    def parse_exponent(self) -> int:
        with _DepthGuard(self):
            if self.failed:
                return -1
            if self.is_char("-") or self.is_char("+"):
                negative = self.is_char("-")
                self.next()
                exponent = self.parse_exponent()
                if negative:
                    exponent = self.make("Neg", [exponent])
                return exponent
            if self.peek().type == LETTER:
                exponent = self.symbol(lower(self.peek().text[0]))
                self.next()
            else:
                exponent = self.parse_primary()
            if exponent >= 0 and self.at_power():
                exponent = self.parse_power_of(exponent)
            return exponent

    def parse_argument(self) -> int:
        if self.failed:
            return -1
        if self.is_char("{"):
            return self.parse_primary()
        t = self.tokens[self.pos]
        if t.type == NUMBER:
            if len(t.text) == 1:
                return self.parse_primary()
            digit = t.text[0]  # the first digit is this argument, the rest stays for the next one
            t.text = t.text[1:]
            t.space_before = False
            return self.add(Node(kind="Number", value=Fraction(ord(digit) - ord("0")), integer_literal=True))
        if t.type == LETTER:
            s = self.symbol(lower(t.text[0]))
            self.next()
            return s
        if t.type == COMMAND:
            return self.parse_primary()
        return self.fail()

    def parse_number_token(self) -> int:
        text = self.peek().text
        digits = []
        decimal = False
        for c in text:
            if c == "," or c == THOUSANDS:
                continue
            if c in ".eE":
                decimal = True
            digits.append(c)
        digits = "".join(digits)
        value = rational_from_decimal(digits)
        if value is None:
            return self.fail()
        self.next()
        if not decimal and self.is_char("_"):  # "52_8": a numeral in another base
            self.next()
            base_text = ""
            if self.accept_char("{"):
                while self.peek().type == NUMBER:
                    base_text += self.peek().text
                    self.next()
                if not self.accept_char("}"):
                    return self.fail()
            elif self.peek().type == NUMBER:
                base_text = self.peek().text
                self.next()
            if (not base_text or len(base_text) > 2 or not is_digit(base_text[0])
                    or not is_digit(base_text[-1])):
                return self.fail()
            base = int(base_text[0]) if len(base_text) == 1 else int(base_text[0]) * 10 + int(base_text[1])
            if base < 2 or base > 36:
                return self.fail()
            first_nonzero = _npos(next((k for k, ch in enumerate(digits) if ch != "0"), -1))
            canonical = digits[min(first_nonzero, len(digits) - 1):]
            for c in canonical:
                if ord(c) - ord("0") >= base:
                    return self.fail()
            return self.add(Node(kind="BaseNumeral", name=canonical, base=base))
        return self.add(Node(kind="Number", value=value, decimal_literal=decimal,
                             integer_literal=not decimal and "," not in text))

    def decorate_name(self, name: str) -> str:
        if self.accept_char("_"):
            name += "_"
            if self.accept_char("{"):
                depth = 1
                while self.peek().type != END:
                    if self.is_char("{"):
                        depth += 1
                    if self.is_char("}"):
                        depth -= 1
                        if depth == 0:
                            break
                    name += self.peek().text
                    self.next()
                if not self.accept_char("}"):
                    self.fail()
            elif self.peek().type in (NUMBER, LETTER):
                name += self.peek().text[:1]
                if self.peek().type == NUMBER and len(self.peek().text) > 1:
                    self.tokens[self.pos].text = self.tokens[self.pos].text[1:]
                else:
                    self.next()
            else:
                self.fail()
        while self.accept_char("'"):
            name += "'"
        return name

    def parse_letters(self) -> int:
        run, count = self.peek_letter_run()
        low = lowercase(run)
        # A function name written in plain text: "sin x", "sqrt(2)", "log 8", and "sinx".
        for length in range(min(len(run), 6), 1, -1):
            head = low[:length]
            if (head in K_FUNCTIONS or head == "sqrt") and len(run) - length <= 1:
                for _ in range(length):
                    self.next()
                return self.parse_function(head)
        if low == "pi":
            self.next()
            self.next()
            return self.symbol("pi")
        if low in ("inf", "infinity", "infty"):
            for _ in range(count):
                self.next()
            return self.symbol("inf")
        after = self.peek(count)
        decorated = after.type == CHAR and not after.space_before and after.text[0] in "^_'"
        if count == 1 or decorated:
            self.next()
            return self.symbol(self.decorate_name(lower(run[0])))
        for _ in range(count):
            self.next()
        return self.add(Node(kind="Word", name=low))

    def parse_function(self, name: str) -> int:
        if self.failed:
            return -1
        exponent = -1
        base = -1
        for _ in range(2):
            if self.is_char("^") and exponent < 0:
                self.next()
                exponent = self.parse_exponent()
            elif name == "log" and self.is_char("_") and base < 0:
                self.next()
                base = self.parse_argument()
        if self.failed:
            return -1
        if self.is_char("(") or self.is_char("{"):
            argument = self.parse_power()
        else:
            argument = self.parse_postfix()
            while argument >= 0 and self.starts_implicit_operand() and not self.starts_function():
                argument = self.product(argument, self.parse_postfix())
        args = [argument]
        if base >= 0:
            args.append(base)
        canonical = "log10" if name == "lg" else name
        call = self.make("Func", args, canonical)
        if exponent >= 0:
            call = self.make("Pow", [call, exponent])
        return call

    def starts_function(self) -> bool:
        t = self.peek()
        return t.type == COMMAND and (t.text in K_FUNCTIONS or t.text == "sqrt")

    def raw_group(self) -> str | None:
        if not self.accept_char("{"):
            return None
        text = []
        depth = 1
        while self.peek().type != END:
            if self.is_char("{"):
                depth += 1
            if self.is_char("}"):
                depth -= 1
                if depth == 0:
                    break
            if self.peek().space_before and text:
                text.append(" ")
            if self.peek().type == COMMAND:
                text.append("\\")
            text.append(self.peek().text)
            self.next()
        if not self.accept_char("}"):
            return None
        return "".join(text)

    def parse_text_command(self, command: str) -> int:
        content = self.raw_group()
        if content is None:
            return self.fail()
        trimmed = []
        for c in content:
            if c != " " or (trimmed and trimmed[-1] != " "):
                trimmed.append(c)
        while trimmed and trimmed[-1] == " ":
            trimmed.pop()
        trimmed = "".join(trimmed)
        letters = trimmed
        if len(letters) == 3 and letters[0] == "(" and letters[-1] == ")":
            letters = letters[1:2]
        if len(letters) == 1 and is_letter(letters[0]):
            return self.symbol(lower(letters[0]))
        wordy = bool(trimmed)
        for c in trimmed:
            if not is_letter(c) and c not in " '-().":
                wordy = False
        if wordy and command == "operatorname":
            low = lowercase(trimmed)
            if low in K_FUNCTIONS:
                return self.parse_function(low)
        if wordy:
            return self.add(Node(kind="Text", name="".join(lower(c) for c in trimmed if c not in "()")))
        if not trimmed:
            return self.fail()
        inner = Parser(lex(trimmed), self.limits, self.out, self.depth + 1)
        node = inner.parse_all()
        if node < 0:
            return self.fail()
        return node

    def parse_matrix(self, environment: str) -> int:
        if environment == "array" and self.is_char("{"):
            if self.raw_group() is None:
                return self.fail()
        rows = [[]]
        while not self.failed:
            if self.is_command("end"):
                break
            if self.peek().type == END:
                return self.fail()
            cell = self.parse_relation()
            if cell < 0:
                return self.fail()
            rows[-1].append(cell)
            if self.accept_char("&"):
                continue
            if self.accept_command("\\"):
                if not self.is_command("end"):
                    rows.append([])
                continue
            if not self.is_command("end"):
                return self.fail()
        self.next()  # \end
        closing = self.raw_group()
        if closing is None or closing != environment:
            return self.fail()
        cols = len(rows[0])
        matrix = Node(kind="Matrix")
        for row in rows:
            if len(row) != cols or cols == 0:
                return self.fail()
            matrix.args.extend(row)
        matrix.rows = len(rows)
        matrix.cols = cols
        return self.add(matrix)

    def parse_bracketed(self, open_: str) -> int:
        self.next()
        elements = self.parse_elements()
        if self.failed:
            return -1
        if self.accept_char(")"):
            close = ")"
        elif self.accept_char("]"):
            close = "]"
        else:
            return self.fail()
        if len(elements) == 1:
            if (open_ == "(" and close == ")") or (open_ == "[" and close == "]"):
                return elements[0]
            return self.fail()
        return self.add(Node(kind="Seq", open=open_, close=close, args=elements))

    def parse_primary(self) -> int:
        with _DepthGuard(self):
            if self.failed:
                return -1
            t = self.peek()
            if t.type == NUMBER:
                return self.parse_number_token()
            if t.type == LETTER:
                return self.parse_letters()
            if t.type == CHAR:
                c = t.text[0]
                if c in "([":
                    return self.parse_bracketed(c)
                if c == "{":
                    self.next()
                    elements = self.parse_elements()
                    if self.failed or not self.accept_char("}"):
                        return self.fail()
                    if len(elements) == 1:
                        return elements[0]
                    return self.make("List", elements)
                if c == "|" and self.abs_depth == 0:
                    self.next()
                    self.abs_depth += 1
                    inner = self.parse_sum()
                    self.abs_depth -= 1
                    if not self.accept_char("|"):
                        return self.fail()
                    return self.make("Func", [inner], "abs")
                return self.fail()
            if t.type == COMMAND:
                return self.parse_command()
            return self.fail()

    def parse_command(self) -> int:
        name = self.peek().text
        self.next()
        if name == "frac":
            top = self.parse_argument()
            bottom = self.parse_argument()
            fraction = self.make("Div", [top, bottom])
            if fraction >= 0:
                self.out.nodes[fraction].latex_frac = True
            return fraction
        if name == "binom":
            n = self.parse_argument()
            k = self.parse_argument()
            return self.make("Func", [n, k], "binom")
        if name == "sqrt":
            index = -1
            if self.accept_char("["):
                index = self.parse_sum()
                if not self.accept_char("]"):
                    return self.fail()
            radicand = self.parse_argument()
            if index >= 0:
                return self.make("Func", [radicand, index], "root")
            return self.make("Func", [radicand], "sqrt")
        if name in K_FUNCTIONS:
            return self.parse_function(name)
        if name == "pi":
            return self.symbol("pi")
        if name in ("infty", "infin"):
            return self.symbol("inf")
        if name == "imath":
            return self.symbol("i")
        if name in K_GREEK:
            return self.symbol(self.decorate_name(name))
        if name in K_TEXT_COMMANDS:
            return self.parse_text_command(name)
        if name in ("mathbb", "mathcal", "mathfrak"):
            return self.parse_text_command("text")
        if name in ("boxed", "fbox", "overline", "bar", "hat", "vec"):
            return self.parse_argument()
        if name == "{":
            elements = []
            if not self.is_command("}"):
                elements = self.parse_elements()
            if self.failed or not self.accept_command("}"):
                return self.fail()
            return self.make("Set", elements)
        if name in ("emptyset", "varnothing"):
            return self.make("Set", [])
        if name in ("lfloor", "lceil"):
            inner = self.parse_sum()
            if not self.accept_command("rfloor" if name == "lfloor" else "rceil"):
                return self.fail()
            return self.make("Func", [inner], "floor" if name == "lfloor" else "ceil")
        if name in ("lvert", "vert"):
            inner = self.parse_sum()
            if not self.accept_command("rvert" if name == "lvert" else "vert"):
                return self.fail()
            return self.make("Func", [inner], "abs")
        if name == "langle":
            elements = self.parse_elements()
            if self.failed or not self.accept_command("rangle"):
                return self.fail()
            return self.add(Node(kind="Seq", open="<", close=">", args=elements))
        if name == "begin":
            environment = self.raw_group()
            if environment is None or environment not in K_MATRICES:
                return self.fail()
            return self.parse_matrix(environment)
        return self.fail()  # an unknown command: not something this grammar can judge


def parse_answer(normalized: str, limits: ParseLimits = ParseLimits()) -> Expr | None:
    if not normalized or len(normalized) > limits.max_chars:
        return None
    expr = Expr()
    try:
        root = Parser(lex(normalized), limits, expr, 0).parse_all()
    except RecursionError:  # the C++ bounds the depth at 64 first; Python's stack is the only other limit
        return None
    if root < 0:
        return None
    expr.root = root
    return expr


# =====================================================================================================
# rewards/math/math_eval.cpp: the evaluator, with complex double in place of complex long double
# =====================================================================================================
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
                    product = _fits(product * k)
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
                result = _fits(result * (nn - i))
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
                exact = _fits(exact + v.exact if is_sum else exact * v.exact)
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
        exact = _fits(top.exact / bottom.exact) if top.exact is not None and bottom.exact is not None else None
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
