"""Python port of rewards/math/math_extract.cpp (final-answer extraction: the last answer block, boxes,
answer phrases, the last formula or number), function by function, for the gsm8k rule of the GRPO step
benchmark's TRL side. Text is a byte view (aha_text.py).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from aha_text import NPOS, npos_of, rfind_at, is_digit, is_letter, is_space, lowercase, trim

K_MAX_SCAN = 65536
K_MAX_ANSWER = 4096


@dataclass
class Box:
    start: int = 0
    end: int = 0
    content: str = ""


def box_before(text: str, limit: int) -> Box | None:
    """The last \\boxed / \\fbox that starts before `limit`."""
    while limit > 0:
        boxed = rfind_at(text, "\\boxed", limit - 1)
        fbox = rfind_at(text, "\\fbox", limit - 1)
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
    dollar = npos_of(line.find("$"))
    paren = npos_of(line.find("\\("))
    bracket = npos_of(line.find("\\["))
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
        o = rfind_at(text, open_, c)
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
