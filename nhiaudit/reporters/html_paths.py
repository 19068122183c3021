"""Access paths as the HTML report draws them: the report's hop texts parsed back into edges.

A report hop reads `SOURCE -[KIND(:ACCESS)]-> TARGET: REASON` (graph/reach.py, facts/chains.py). Node ids
normally hold no spaces, but a name may hold anything, so a hop's target is confirmed against what is known
(the next hop starts with it; the last one ends at `system:NAME`) before the plain split is used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from nhiaudit.report import AccessPath

_HOP = re.compile(r"(?P<src>\S+) -\[(?P<kind>[^\]]*)\]-> (?P<dst>\S+): (?P<reason>.*)", re.DOTALL)
# Worst first: an edge on several paths takes the colour of the worst verdict it leads to.
VERDICT_ORDER = ("must_not_reach", "not_in_may_reach", "undeclared", "allowed")
VERDICT_LABEL = {"must_not_reach": "must not reach", "not_in_may_reach": "not in may_reach",
                 "undeclared": "undeclared", "allowed": "allowed"}


@dataclass(frozen=True)
class Hop:
    source: str  # node id: identity:ID, system:NAME, principal:ARN, ...
    kind: str  # can_assume, can_impersonate, can_reach:read, ...
    target: str
    reason: str


@dataclass(frozen=True)
class Route:
    """One reachable system of one access path, with its hops in order."""

    identity: str
    system: str
    access: str
    verdict: str
    hops: tuple[Hop, ...]


def routes(path: AccessPath) -> list[Route]:
    out = []
    for reach in path.reachable_systems:
        system = str(reach.get("system") or "")
        texts = [str(t) for t in reach.get("path") or ()]
        out.append(Route(identity=path.identity, system=system, access=str(reach.get("access") or ""),
                         verdict=str(reach.get("verdict") or ""),
                         hops=parse_hops(texts, f"identity:{path.identity}", f"system:{system}")))
    return out


def parse_hops(texts: Sequence[str], start: str, end: str) -> tuple[Hop, ...]:
    hops: list[Hop] = []
    source = start
    for i, text in enumerate(texts):
        following = texts[i + 1] if i + 1 < len(texts) else None
        hop = _known(text, source, following, end) or _plain(text)
        hops.append(hop)
        source = hop.target
    return tuple(hops)


def _known(text: str, source: str, following: str | None, end: str) -> Hop | None:
    """The hop when its source is `source` and its target is `end` (last hop) or starts the next hop."""
    if not text.startswith(source + " -["):
        return None
    rest = text[len(source) + 3:]
    kind, sep, rest = rest.partition("]-> ")
    if not sep:
        return None
    candidates = [end] if following is None else [
        rest[:i] for i in range(len(rest)) if rest.startswith(": ", i) and following.startswith(rest[:i] + " -[")]
    for target in candidates:
        if rest.startswith(target + ": "):
            return Hop(source, kind, target, rest[len(target) + 2:])
    return None


def _plain(text: str) -> Hop:
    match = _HOP.fullmatch(text)
    if match is None:  # not a hop text: keep it whole as the reason of an unnamed step
        return Hop("?", "?", "?", text)
    return Hop(match["src"], match["kind"], match["dst"], match["reason"])


def worst(verdicts: Sequence[str]) -> str:
    """The worst known verdict ("" for none: only known ones become class names)."""
    ranked = [v for v in VERDICT_ORDER if v in verdicts]
    return ranked[0] if ranked else ""


def node_label(node: str, names: dict[str, str]) -> str:
    """A short label for a node id: the identity's name, the system's name, `any principal of ACCOUNT`."""
    kind, _, rest = node.partition(":")
    if kind == "identity":
        return names.get(rest) or _last_segment(rest)
    if kind == "system":
        return rest
    if kind == "principal":
        root, _, klass = rest.partition("#")
        account = root.split(":")[4] if root.count(":") >= 5 else root
        return f"any principal of {account}" + (" (some callers)" if klass else "")
    return node


def _last_segment(ident: str) -> str:
    return re.split(r"[/:]", ident.rstrip("/"))[-1] or ident
