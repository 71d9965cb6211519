"""Python port of rewards/math/math_expr.h and rewards/math/math_parse.cpp: the lexer and the
recursive-descent parser of answers (every production, units, thousands separators and mixed numbers
included), for the gsm8k rule of the GRPO step benchmark's TRL side. Text is a byte view (aha_text.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from aha_math_normalize import THOUSANDS, rational_from_decimal
from aha_text import is_digit, is_letter, lower, lowercase, npos_of


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
            first_nonzero = npos_of(next((k for k, ch in enumerate(digits) if ch != "0"), -1))
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
