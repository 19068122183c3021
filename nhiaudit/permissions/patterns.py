"""IAM-style glob patterns: `*` matches any run of characters (including `:` and `/`), `?` one character.
GCP resource names and Azure resource ids are path globs instead (`segglob`: `*` within one segment,
`**` across segments).

Actions compare case-insensitively (AWS, GCP and Azure all treat action names that way); resources
compare case-sensitively, except Azure resource ids (they start with `/`), which Azure treats
case-insensitively. Everything here is pure and memoised: evaluation calls these functions for
the same few thousand pattern pairs millions of times. Patterns come from attacker-controlled estate
data, so no function here may be super-linear in a way a pattern can exploit: matching never
backtracks (`globbing`), and runs of `*` are collapsed before any work proportional to pattern size.
"""

from __future__ import annotations

import re
from functools import lru_cache

from nhiaudit.permissions.globbing import Glob, collapse_stars, compile_glob, intersect
from nhiaudit.permissions.segglob import seg_covers, seg_intersect

WILDCARDS = frozenset("*?")


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def _fold(text: str) -> str:
    """Lower-case without changing the length (a few characters, e.g. `İ`, lower to two): `?` stays one."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


@lru_cache(maxsize=262144)
def glob_match(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    """Does `pattern` match the literal string `value`? Linear-time, no backtracking (see `globbing`)."""
    if not has_wildcard(pattern):
        return pattern == value if case_sensitive else _fold(pattern) == _fold(value)
    if pattern == "*":
        return True
    if case_sensitive:
        return compile_glob(pattern).fullmatch(value)
    return _folded_glob(pattern).fullmatch(_fold(value))


@lru_cache(maxsize=65536)
def _folded_glob(pattern: str) -> Glob:
    return compile_glob(_fold(pattern))


def _literal_edges_compatible(a: str, b: str, case_sensitive: bool) -> bool:
    """Cheap necessary condition for intersection: the literal prefixes (and suffixes) agree."""
    for x, y in ((a, b), (a[::-1], b[::-1])):
        for ca, cb in zip(x, y, strict=False):
            if ca == "*" or cb == "*":
                break
            if ca == "?" or cb == "?":
                continue
            if ca != cb and (case_sensitive or ca.lower() != cb.lower()):
                return False
    return True


@lru_cache(maxsize=262144)
def globs_intersect(a: str, b: str, case_sensitive: bool = True) -> bool:
    """Is there a string matched by both glob patterns `a` and `b`?

    Exact: dynamic programming over suffix pairs, bit-parallel over `b` (`globbing.intersect`). A star
    either ends (skip it) or absorbs the other side's next symbol; when both sides are at a star,
    letting either one end is enough (the other can absorb what the first would have matched).
    """
    if a == b or a == "*" or b == "*":
        return True
    if not has_wildcard(a):
        return glob_match(b, a, case_sensitive)
    if not has_wildcard(b):
        return glob_match(a, b, case_sensitive)
    if not _literal_edges_compatible(a, b, case_sensitive):
        return False
    if not case_sensitive:
        a, b = _fold(a), _fold(b)
    return intersect(a, b)


@lru_cache(maxsize=262144)
def glob_covers(general: str, specific: str, case_sensitive: bool = True) -> bool:
    """Does every string matched by `specific` also match `general`?

    Exact when `general` is `*`, a literal, or `prefix*`, and when the two are equal or `specific`
    is a literal. Otherwise a sound approximation: True means covered; False may be a false
    negative (e.g. `?*` vs `*?`). Callers use it where a false negative is the safe direction
    (a Deny that is not proven to cover a resource does not remove access).
    """
    if general == "*" or general == specific:
        return True
    if not has_wildcard(specific):
        return glob_match(general, specific, case_sensitive)
    if not has_wildcard(general):
        return False
    if not case_sensitive:
        general, specific = _fold(general), _fold(specific)
    # `specific` is read as text over literals plus the symbols `*` and `?`: general's `*` may absorb
    # anything (symbols included), general's `?` one literal or `?`, never a `*` (which could stand for
    # zero or several characters).
    return compile_glob(general, "*").fullmatch(collapse_stars(specific))


# --- helpers with the case rules of the two pattern kinds -------------------------------------------------


def action_matches(pattern: str, action: str) -> bool:
    return glob_match(pattern, action, False)


def actions_intersect(a: str, b: str) -> bool:
    return globs_intersect(a, b, False)


def action_covers(general: str, specific: str) -> bool:
    return glob_covers(general, specific, False)


def _azure_id(r: str) -> bool:
    return r.startswith("/") and not r.startswith("//")


def _resource_case_sensitive(a: str, b: str) -> bool:
    # Azure treats resource ids case-insensitively; GCP names (`//host/...`, `projects/...`) are exact.
    return not (_azure_id(a) or _azure_id(b))


_PATH_PREFIXES = ("/", "projects/", "folders/", "organizations/")


def _path_names(a: str, b: str) -> bool:
    """GCP names and Azure ids use path globs (`*` within a segment, `**` across; see `segglob`)."""
    return a != "*" and b != "*" and (a.startswith(_PATH_PREFIXES) or b.startswith(_PATH_PREFIXES))


@lru_cache(maxsize=262144)
def resources_intersect(a: str, b: str) -> bool:
    """Can the two resource patterns name a common resource?

    Two full ARNs (six fields) are compared field by field: real partitions, services, regions and
    accounts never contain `:`, so a `*` in those fields stays inside its field. Without this, the
    template `arn:*:ssm:*:*:document/*` would "overlap" `arn:aws:s3:::bucket*` (the star after
    `bucket` could spell `:ssm:...`). Anything else uses plain IAM glob semantics.
    """
    cs = _resource_case_sensitive(a, b)
    if _path_names(a, b):
        return seg_intersect(a, b) if cs else seg_intersect(_fold(a), _fold(b))
    if a.startswith("arn:") and b.startswith("arn:"):
        fa, fb = a.split(":", 5), b.split(":", 5)
        if len(fa) == 6 and len(fb) == 6:
            return all(globs_intersect(x, y, cs) for x, y in zip(fa, fb, strict=True))
    return globs_intersect(a, b, cs)


@lru_cache(maxsize=262144)
def resource_covers(general: str, specific: str) -> bool:
    cs = _resource_case_sensitive(general, specific)
    if general == "*":
        return True
    if _path_names(general, specific):
        return seg_covers(general, specific) if cs else seg_covers(_fold(general), _fold(specific))
    return glob_covers(general, specific, cs)


@lru_cache(maxsize=65536)
def widen_variables(pattern: str) -> str:
    """Replace IAM policy variables (`${aws:username}`) by `*`: the widest value they can take."""
    if "${" not in pattern:
        return pattern
    # A scan instead of the regex `\$\{[^}]*\}`, which is quadratic on many `${` without a `}`.
    out, pos = [], 0
    while (start := pattern.find("${", pos)) >= 0:
        end = pattern.find("}", start + 2)
        if end < 0:  # no `}` after this `${`, so none after any later one either
            break
        out.append(pattern[pos:start])
        out.append("*")
        pos = end + 1
    out.append(pattern[pos:])
    return "".join(out)


def has_variable(pattern: str) -> bool:
    return "${" in pattern


_CLOUD_SCOPE = re.compile(
    r"^(?://cloudresourcemanager\.googleapis\.com/)?(projects|folders|organizations)/[^/]+(/\*\*?)?$"
    r"|^/subscriptions/[^/]+(/resourceGroups/[^/]+)?(/\*\*?)?$"
    r"|^/providers/Microsoft\.Management/managementGroups/[^/]+(/\*\*?)?$|^/(\*\*?)?$",
    re.IGNORECASE,
)
_TYPE_SPLIT = re.compile(r"[/:]")


@lru_cache(maxsize=65536)
def is_broad_resource(resource: str) -> bool:
    """`*`, a whole resource type (`arn:aws:iam::1:role/*`, `arn:aws:s3:::*`), or a GCP/Azure
    project / folder / organization / subscription / resource-group / management-group scope."""
    if resource == "*":
        return True
    if not resource.startswith("arn:"):
        return _CLOUD_SCOPE.match(resource) is not None
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return has_wildcard(resource)
    res = parts[5]
    if res in ("*", "*/*"):
        return True
    if parts[2] == "s3":  # bucket names have no type prefix: only `*` is broad
        return False
    pieces = _TYPE_SPLIT.split(res, maxsplit=1)
    return len(pieces) == 2 and pieces[1] == "*"
