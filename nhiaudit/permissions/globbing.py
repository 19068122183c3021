"""Non-backtracking algorithms for globs over `*` (any run of characters) and `?` (one character).

Estate data is attacker-controlled: a regex translation of `s3:` + nine `*` + `a` (`.*.*...a`) backtracks
exponentially. Here a pattern is normalised (runs of `*` collapsed) and split on `*` into star-free
segments; the first is anchored at the start, the last at the end, and each middle one is taken at its
leftmost occurrence after the previous one (for globs leftmost is always optimal, so no choice is ever
revisited). A segment without `?` is found by `str.find`; one with `?` by a star-free regex (short
segments) or bit-parallel Shift-And (long ones), so the worst case is O(|value| * |segment| / 64) and
typically linear. Pattern intersection is a bit-parallel dynamic programme, O(|a| * |b| / 64).

Case folding is the caller's business: everything here compares characters exactly.
"""

from __future__ import annotations

import re
from functools import lru_cache

_STAR_RUN = re.compile(r"\*{2,}")
# `?`-segments at least this long are searched with Shift-And: a regex search costs |value| * |segment|.
_SHIFT_AND_MIN = 24


def collapse_stars(pattern: str) -> str:
    """`a**b` -> `a*b`: same language, and keeps segment counts and DP sizes proportional to real content."""
    return _STAR_RUN.sub("*", pattern) if "**" in pattern else pattern


class _Segment:
    """A star-free piece of a glob (literals and `?`) that can test or find itself in a string."""

    __slots__ = ("_any_but", "_masks", "_regex", "_top", "_wild", "size", "text")

    def __init__(self, text: str, any_but: str) -> None:
        # any_but: a character `?` must not stand for ("" = none).
        self.text = text
        self.size = len(text)
        self._any_but = any_but
        self._regex: re.Pattern[str] | None = None
        self._masks: dict[str, int] = {}
        self._wild = self._top = 0
        if "?" not in text:
            return
        if self.size < _SHIFT_AND_MIN:
            dot = f"[^{re.escape(any_but)}]" if any_but else "."
            self._regex = re.compile("".join(dot if c == "?" else re.escape(c) for c in text), re.DOTALL)
            return
        for i, c in enumerate(text):
            if c == "?":
                self._wild |= 1 << i
        for i, c in enumerate(text):
            if c != "?":
                self._masks[c] = self._masks.get(c, self._wild) | (1 << i)
        if any_but:
            self._masks[any_but] = 0  # segments never contain `any_but` (it is `*`): nothing fits it
        self._top = 1 << (self.size - 1)

    def match_at(self, s: str, pos: int) -> bool:
        """Does the segment occupy s[pos:pos + size] exactly? (Caller checks it fits.)"""
        if self._regex is not None:
            return self._regex.match(s, pos) is not None
        if self._top == 0:
            return s.startswith(self.text, pos)
        any_but = self._any_but
        return all(p == c or (p == "?" and c != any_but) for p, c in zip(self.text, s[pos:pos + self.size],
                                                                          strict=True))

    def find(self, s: str, start: int, end: int) -> int:
        """Leftmost start of the segment within s[start:end], or -1."""
        if self._regex is not None:
            m = self._regex.search(s, start, end)
            return -1 if m is None else m.start()
        if self._top == 0:
            return s.find(self.text, start, end)
        masks, wild, top = self._masks, self._wild, self._top
        state = 0  # bit i: the segment's first i + 1 symbols match the text ending here
        for i in range(start, end):
            state = ((state << 1) | 1) & masks.get(s[i], wild)
            if state & top:
                return i - self.size + 1
        return -1


class Glob:
    """A compiled glob; `fullmatch(s)` runs in one left-to-right pass without backtracking."""

    __slots__ = ("_head", "_middle", "_plain", "_tail")

    def __init__(self, pattern: str, any_but: str = "") -> None:
        pattern = collapse_stars(pattern)
        texts = pattern.split("*")
        pieces = [_Segment(p, any_but) for p in texts]
        self._head = pieces[0]
        self._tail = pieces[-1] if len(pieces) > 1 else None
        self._middle = tuple(pieces[1:-1])
        # Without `?` every segment is a plain string: the common case (`s3:Get*`), kept to str methods.
        plain = "?" not in pattern and "*" in pattern
        self._plain = (texts[0], texts[-1], tuple(texts[1:-1])) if plain else None

    def fullmatch(self, s: str) -> bool:
        if self._plain is not None:
            head_text, tail_text, middle = self._plain
            end = len(s) - len(tail_text)
            if len(head_text) > end or not s.startswith(head_text) or not s.endswith(tail_text):
                return False
            pos = len(head_text)
            for text in middle:
                found = s.find(text, pos, end)
                if found < 0:
                    return False
                pos = found + len(text)
            return True
        head, tail, n = self._head, self._tail, len(s)
        if tail is None:  # no star: the whole string is one segment
            return n == head.size and head.match_at(s, 0)
        end = n - tail.size
        if head.size > end or not head.match_at(s, 0) or not tail.match_at(s, end):
            return False
        pos = head.size
        for seg in self._middle:
            found = seg.find(s, pos, end)
            if found < 0:
                return False
            pos = found + seg.size
        return True


@lru_cache(maxsize=65536)
def compile_glob(pattern: str, any_but: str = "") -> Glob:
    return Glob(pattern, any_but)


def intersect(a: str, b: str) -> bool:
    """Is there a string matched by both globs? Exact, case-sensitive.

    f(i, j) means a[i:] and b[j:] share a match; rows i are computed from the end, each row held as an
    int whose bit j is f(i, j). A star in `a` either ends or absorbs b's next symbol, so its row is the
    suffix-OR of the next row; a star in `b` either ends or absorbs a's next symbol. With runs of stars
    collapsed, the within-row dependency of a `b` star on its right neighbour is one shift.
    """
    a, b = collapse_stars(a), collapse_stars(b)
    m = len(b)
    star = any_q = 0
    literal: dict[str, int] = {}
    for j, cb in enumerate(b):
        if cb == "*":
            star |= 1 << j
        elif cb == "?":
            any_q |= 1 << j
        else:
            literal[cb] = literal.get(cb, 0) | (1 << j)
    non_star = ((1 << m) - 1) & ~star
    nxt = 1 << m  # f(len(a), j): b[j:] is empty or a single star
    if m and b[-1] == "*":
        nxt |= 1 << (m - 1)
    for ca in reversed(a):
        if ca == "*":
            nxt = (1 << nxt.bit_length()) - 1  # f(i, j) = any f(i + 1, k) for k >= j
            continue
        fits = non_star if ca == "?" else any_q | literal.get(ca, 0)
        step = fits & (nxt >> 1)  # b[j] consumes ca, then f(i + 1, j + 1)
        nxt = step | (((step >> 1) | nxt) & star)
    return bool(nxt & 1)
