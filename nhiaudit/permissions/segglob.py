"""Path globs for GCP resource names and Azure resource ids: `*` stays within one `/`-separated segment,
`**` crosses segments, `?` is one character other than `/`.

ARNs keep IAM's `*` (any run, `/` included; see `globbing`). Estate data is hostile, so nothing here
backtracks: a pattern is tokenised (runs of two or more `*` are one `**`, a lone `*` is one `*`) and read
as an NFA whose state set is one int (bit i: the first i tokens have matched), so matching costs
O(|value| * |pattern| / 64); intersection is a dynamic programme over token pairs held as bit rows,
O(|a| * |b| / 64), with the within-row propagation through stars done by one carry (addition).

Case folding is the caller's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

_SLASH = "/"


@dataclass(frozen=True, slots=True)
class _Tokens:
    """Bit masks of a tokenised pattern; bit i stands for token i (`bits`) or position i (`rbits`)."""

    size: int
    literal: dict[str, int]  # char -> tokens that are that literal
    any_one: int  # `?`
    star: int  # `*` (no `/`)
    double: int  # `**`

    @property
    def stars(self) -> int:
        return self.star | self.double


def _tokenise(pattern: str) -> list[str]:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            j = i
            while j < n and pattern[j] == "*":
                j += 1
            out.append("*" if j - i == 1 else "**")
            i = j
            continue
        out.append(c)
        i += 1
    # `*` next to `**` is `**`; two single stars cannot be adjacent (they would be one run).
    merged: list[str] = []
    for t in out:
        if merged and t in ("*", "**") and merged[-1] in ("*", "**"):
            merged[-1] = "**"
        else:
            merged.append(t)
    return merged


@lru_cache(maxsize=65536)
def _compile(pattern: str, reverse: bool = False) -> _Tokens:
    """Masks with bit i for token i, or (reverse) bit size - i, as the intersection needs."""
    tokens = _tokenise(pattern)
    n = len(tokens)
    literal: dict[str, int] = {}
    any_one = star = double = 0
    for i, t in enumerate(tokens):
        bit = 1 << (n - i if reverse else i)
        if t == "?":
            any_one |= bit
        elif t == "*":
            star |= bit
        elif t == "**":
            double |= bit
        else:
            literal[t] = literal.get(t, 0) | bit
    return _Tokens(n, literal, any_one, star, double)


def seg_match(pattern: str, value: str) -> bool:
    """Does the path glob match the literal `value`?"""
    t = _compile(pattern)
    stars = t.stars
    state = 1
    state |= (state & stars) << 1
    for c in value:
        if c == _SLASH:
            adv = state & t.literal.get(c, 0)
            stay = state & t.double
        else:
            adv = state & (t.literal.get(c, 0) | t.any_one)
            stay = state & stars
        state = (adv << 1) | stay
        if not state:
            return False
        state |= (state & stars) << 1
    return bool((state >> t.size) & 1)


def _fill(seeds: int, carry: int) -> int:
    """R with R_k = seeds_k | (carry_k & R_(k-1)): every seed spreads upward through a run of `carry`.

    A run of carry bits right above a seed is turned to zeros by adding 1 at its bottom; the bits that
    changed are the filled ones. Runs are separated by non-carry bits, so carries never leak into the next.
    """
    x = carry & ~seeds
    starts = (seeds << 1) & x
    return seeds | (x & ~(x + starts))


@lru_cache(maxsize=262144)
def seg_intersect(a: str, b: str) -> bool:
    """Is there a string both path globs match? Exact.

    f(i, j): a's tokens from i and b's from j share a match. Row i (bits over j, position m - j, so
    that f(i, j + 1) sits one bit below f(i, j)) is computed from row i + 1 and, within the row, from
    its right neighbour through b's stars (or a's star absorbing b's next token).
    """
    ta, tb = _tokenise(a), _compile(b, reverse=True)
    m = tb.size
    b_stars = tb.stars
    b_literal_non_slash = 0
    for ch, mask in tb.literal.items():
        if ch != _SLASH:
            b_literal_non_slash |= mask
    b_non_slash_advance = b_literal_non_slash | tb.any_one
    b_advance = b_non_slash_advance | tb.literal.get(_SLASH, 0)
    row = _fill(1, b_stars)  # a exhausted: only b's trailing stars may remain (f(n, m) is bit 0)
    for tok in reversed(ta):
        nxt = row
        if tok in ("*", "**"):
            absorb = b_advance if tok == "**" else b_non_slash_advance
            row = _fill(nxt, b_stars | absorb)
            continue
        if tok == "?":
            advance, absorbed_by = b_non_slash_advance, b_stars
        elif tok == _SLASH:
            advance, absorbed_by = tb.literal.get(_SLASH, 0), tb.double
        else:
            advance, absorbed_by = tb.literal.get(tok, 0) | tb.any_one, b_stars
        seeds = (advance & (nxt << 1)) | (absorbed_by & nxt)
        row = _fill(seeds, b_stars)
    return bool((row >> m) & 1)


@lru_cache(maxsize=262144)
def seg_covers(general: str, specific: str) -> bool:
    """Does every string `specific` matches also match `general`? Sound: True means covered; False may
    be a false negative (e.g. `*?` vs `?*`), the safe direction for a Deny.

    `specific` is read as text over literals and the symbols `?`, `*`, `**`: general's `**` absorbs any
    of them, its `*` anything but `/` and `**`, its `?` one non-`/` literal or `?`.
    """
    g = _compile(general)
    stars = g.stars
    state = 1
    state |= (state & stars) << 1
    for tok in _tokenise(specific):
        if tok == "**":
            adv, stay = 0, state & g.double
        elif tok == "*":
            adv, stay = 0, state & stars
        elif tok == "?":
            adv, stay = state & g.any_one, state & stars
        elif tok == _SLASH:
            adv, stay = state & g.literal.get(tok, 0), state & g.double
        else:
            adv, stay = state & (g.literal.get(tok, 0) | g.any_one), state & stars
        state = (adv << 1) | stay
        if not state:
            return False
        state |= (state & stars) << 1
    return bool((state >> g.size) & 1)
