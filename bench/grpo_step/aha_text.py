"""The text view and ASCII helpers that aha's reward ports share (rewards/ascii.h and the small scans of
rewards/math/math_extract.cpp), for the TRL side of the GRPO step benchmark.

Text is handled as bytes, as the C++ does: a completion is UTF-8 encoded and decoded as latin-1, so every
character here is one byte and every length limit the C++ counts in bytes (kMaxScan, kMaxAnswer, the
10/70-character box windows, the 512-byte phrase line, ParseLimits) counts the same here.
"""
from __future__ import annotations

import sys

NPOS = 1 << 62
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))  # the parser: 64 nested levels x ~12 frames each


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


def npos_of(i: int) -> int:
    return NPOS if i < 0 else i


def rfind_at(text: str, sub: str, pos: int = NPOS) -> int:
    """std::string_view::rfind(sub, pos): the last occurrence starting at or before pos, or -1."""
    if pos >= len(text):
        return text.rfind(sub)
    return text.rfind(sub, 0, pos + len(sub))


def trim(s: str) -> str:
    return s.strip(" \t\n\r\f\v")
