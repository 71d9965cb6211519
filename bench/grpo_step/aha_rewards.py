"""aha's reward rules `format`, `accuracy` and `gsm8k`, ported to Python for the TRL side of the GRPO step
benchmark, and wrapped as TRL reward functions. Each function names the C++ file it mirrors; the ports
follow them statement by statement. Text is compared as UTF-8 bytes, as the C++ does (aha_text.py).

A rubric in aha is Σ weight·score with each rule's score in [0, 1]; a rule that throws on a bad ground
truth scores 0 for that completion (rewards/rubric.cpp). TRL sums reward functions with `reward_weights`,
so the weights go to GRPOConfig.reward_weights, and each function here returns the unweighted score.
"""
from __future__ import annotations

from dataclasses import dataclass

from aha_math_eval import PreparedAnswer, exact_number, prepare_answer
from aha_math_extract import ExtractOptions, extract_answer, extract_reference
from aha_math_normalize import rational_from_decimal
from aha_math_parse import Expr
from aha_text import is_digit, to_bytes_text

WHITESPACE = " \t\n\r\f\v"


# -- rewards/tags.h, rewards/tags.cpp ------------------------------------------------------------------
@dataclass
class Tags:
    think_open: str = "<think>"
    think_close: str = "</think>"
    answer_open: str = "<answer>"
    answer_close: str = "</answer>"


def trim_whitespace(text: str) -> str:
    return text.strip(WHITESPACE)


def is_all_whitespace(text: str) -> bool:
    return all(c in WHITESPACE for c in text)


def count_occurrences(text: str, needle: str) -> int:
    """Occurrences of needle in text, overlapping ones included."""
    n = 0
    pos = text.find(needle)
    while pos != -1:
        n += 1
        pos = text.find(needle, pos + 1)
    return n


# -- rewards/format.cpp --------------------------------------------------------------------------------
def format_score(completion: str, tags: Tags = Tags()) -> float:
    text = trim_whitespace(to_bytes_text(completion))
    for tag in (tags.think_open, tags.think_close, tags.answer_open, tags.answer_close):
        if count_occurrences(text, tag) != 1:
            return 0.0
    if not text.startswith(tags.think_open) or not text.endswith(tags.answer_close):
        return 0.0
    think_close = text.find(tags.think_close)
    after_think = think_close + len(tags.think_close)
    answer_open = text.find(tags.answer_open)
    answer_begin = answer_open + len(tags.answer_open)
    answer_end = len(text) - len(tags.answer_close)
    # Order checks also reject tags that overlap each other (possible only with custom tags).
    if think_close < len(tags.think_open) or answer_open < after_think or answer_begin > answer_end:
        return 0.0
    if not is_all_whitespace(text[after_think:answer_open]):
        return 0.0
    if is_all_whitespace(text[answer_begin:answer_end]):
        return 0.0
    return 1.0


# -- rewards/accuracy.cpp ------------------------------------------------------------------------------
def last_answer_block(completion: str, tags: Tags) -> str | None:
    close = completion.rfind(tags.answer_close)
    if close == -1:
        return None
    open_ = completion.rfind(tags.answer_open, 0, close)
    if open_ == -1:
        return None
    begin = open_ + len(tags.answer_open)
    if begin > close:  # the two tags overlap (only possible with custom tags)
        return None
    return trim_whitespace(completion[begin:close])


def canonical_integer(text: str) -> str | None:
    text = trim_whitespace(text)
    negative = False
    if text and text[0] in "+-":
        negative = text[0] == "-"
        text = text[1:]
    if not text:
        return None
    if any(not "0" <= c <= "9" for c in text):
        return None
    stripped = text.lstrip("0")
    if not stripped:
        return "0"
    return ("-" if negative else "") + stripped


def accuracy_score(completion: str, answer: str, tags: Tags = Tags()) -> float:
    truth = canonical_integer(to_bytes_text(answer))
    if truth is None:
        raise ValueError(f"accuracy: ground truth '{answer}' is not an integer; this rule compares integers only")
    block = last_answer_block(to_bytes_text(completion), tags)
    if block is None:
        return 0.0
    given = canonical_integer(block)
    return 1.0 if given is not None and given == truth else 0.0


# -- rewards/gsm8k.cpp ---------------------------------------------------------------------------------
def numbers_in(text: str) -> list:
    """The plain decimal numbers in a text ("1,000", "-3.5", ".5"), as exact values."""
    numbers = []
    i = 0
    while i < len(text):
        starts = is_digit(text[i]) or (text[i] == "." and i + 1 < len(text) and is_digit(text[i + 1]))
        if not starts:
            i += 1
            continue
        negative = i > 0 and text[i - 1] == "-" and (i < 2 or not is_digit(text[i - 2]))
        digits = []
        j = i
        while j < len(text):
            c = text[j]
            if is_digit(c):
                digits.append(c)
            elif (c == "," and j + 3 < len(text) and is_digit(text[j + 1]) and is_digit(text[j + 2])
                  and is_digit(text[j + 3]) and (j + 4 == len(text) or not is_digit(text[j + 4]))
                  and "." not in digits):
                pass  # a thousands separator: "1,000"
            elif c == "." and j + 1 < len(text) and is_digit(text[j + 1]) and "." not in digits:
                digits.append(c)
            else:
                break
            j += 1
        value = rational_from_decimal("".join(digits))
        if value is not None:
            numbers.append(-value if negative else value)
        if len(numbers) > 64:
            break
        i = j
    return numbers


def as_number(answer: str):
    """An answer that is one number, possibly dressed: "$1,000", "18 dollars", "\\boxed{18}", "50%"."""
    prepared = prepare_answer(answer)
    if prepared.expr is not None and prepared.expr.at(prepared.expr.root).kind == "Percent":
        inner = Expr(prepared.expr.nodes, prepared.expr.at(prepared.expr.root).args[0])
        return exact_number(PreparedAnswer(prepared.normalized, inner))
    return exact_number(prepared)


def gsm8k_reference(truth: str):
    return as_number(extract_reference(truth))


def gsm8k_prediction(completion: str, options=ExtractOptions()):
    answer = extract_answer(completion, options)
    if answer is None:
        return None
    value = as_number(answer.text)
    if value is not None:
        return value
    numbers = numbers_in(answer.text)
    if len(numbers) == 1:
        return numbers[0]
    return None


def gsm8k_score(completion: str, answer: str) -> float:
    truth = gsm8k_reference(to_bytes_text(answer))
    if truth is None:
        raise ValueError(f"gsm8k: the ground truth '{answer[:200]}' has no number "
                         "(expected '#### 72', 'A: 72' or '72')")
    given = gsm8k_prediction(to_bytes_text(completion))
    return 1.0 if given is not None and given == truth else 0.0


# -- TRL reward functions ------------------------------------------------------------------------------
RULES = {
    "format": lambda completion, answer: format_score(completion),
    "accuracy": accuracy_score,
    "gsm8k": gsm8k_score,
}


def _completion_text(completion) -> str:
    # Plain-text prompts give plain-text completions; a conversational dataset would give messages.
    return completion if isinstance(completion, str) else completion[-1]["content"]


def trl_reward_function(rule: str):
    """A TRL reward function (prompts, completions, answer=..., **kwargs) -> [score] for one aha rule.
    A rule that raises on a bad ground truth scores 0, as in aha's rubric."""
    score = RULES[rule]

    def reward(prompts, completions, answer, **kwargs):
        out = []
        for completion, truth in zip(completions, answer, strict=True):
            try:
                out.append(score(_completion_text(completion), truth))
            except ValueError:
                out.append(0.0)
        return out

    reward.__name__ = rule
    return reward
