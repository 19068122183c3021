"""Credential shapes in text: the inventory's credentials only (AWS access keys, GCP service-account keys, Entra
client secrets), found by bounded patterns.

A hit never holds a secret value. It names the credential by its public identifier (the access key id, the
service-account key's `private_key_id`) or, for a value that is itself the secret (an Entra client secret, an
AWS secret access key found without its key id), by `sha256:` + the first 12 hex digits of its SHA-256. An Entra
secret also keeps its first three characters, which Microsoft Graph shows every reader as the credential's
`hint` (that is how the hit is matched to the inventory).

Every pattern is a literal or a fixed-width class followed by quantifiers with an upper bound, and none nests
a quantifier in another, so Python's matcher does bounded work at each position: linear in the text
(tests/test_secrets_detect.py throws hostile input at it). Patterns run over the whole text; line numbers come
from a bisect over the newline offsets.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

# Detector kinds (CredentialSighting.detector).
AWS_ACCESS_KEY_ID = "aws_access_key_id"
AWS_SECRET_ACCESS_KEY = "aws_secret_access_key"
GCP_SERVICE_ACCOUNT_KEY = "gcp_service_account_key"
AZURE_CLIENT_SECRET = "azure_client_secret"
DETECTORS = (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, GCP_SERVICE_ACCOUNT_KEY, AZURE_CLIENT_SECRET)

HASH_HEX = 12  # hex digits of the SHA-256 kept for a secret value
NEAR_LINES = 10  # a key id's secret half, a client id next to a client secret: within this many lines

# AKIA (long-term user key) / ASIA (STS session key) + 16 characters. AWS documents base32 ([A-Z2-7]); moto
# and older examples use any digit, so [A-Z0-9] is accepted (no extra false positives of note).
# The start of the id is checked outside the pattern: a leading look-behind would defeat the prefix scan.
_AWS_KEY_ID = re.compile(r"(A[KS]IA[A-Z0-9]{16})(?![A-Za-z0-9])")
_SEP = r"""[ \t]{0,8}["']?[ \t]{0,8}(?:=|:|=>|:=)[ \t]{0,8}["']?"""
# Keyword patterns run on the text with ASCII letters lowered (same offsets; values are read from the original):
# a case-insensitive alternation would defeat the matcher's prefix scan and cost several times as much.
_AWS_SECRET = re.compile(
    r"(?:aws_?secret_?(?:access_?)?key|secret_?access_?key)" + _SEP + r"([a-z0-9/+]{40})(?![a-z0-9/+=])")
# A service-account key file (JSON, possibly escaped inside a string: a key pasted into an env variable).
_Q = r'\\{0,2}"'
_GCP_KEY_ID = re.compile(_Q + r"private_key_id" + _Q + r"[ \t]{0,8}:[ \t]{0,8}" + _Q + r"([0-9a-f]{40})" + _Q)
_GCP_CLIENT_EMAIL = re.compile(
    _Q + r"client_email" + _Q + r"[ \t]{0,8}:[ \t]{0,8}" + _Q + r"([A-Za-z0-9._%+-]{1,100}@[A-Za-z0-9.-]{1,200})" + _Q)
_GCP_TYPE = re.compile(_Q + r"type" + _Q + r"[ \t]{0,8}:[ \t]{0,8}" + _Q + r"service_account" + _Q)
_GCP_PRIVATE_KEY = re.compile(r"-----BEGIN (?:RSA )?PRIVATE KEY-----")
# Entra client secrets made since 2021: 3 characters (Graph's `hint`), a digit, `Q~`, 31 to 34 more.
_SECRET_CHARS = r"A-Za-z0-9_~.\-"
_ENTRA_SECRET = re.compile(
    rf"(?<![{_SECRET_CHARS}])([{_SECRET_CHARS}]{{3}}[0-9]Q~[{_SECRET_CHARS}]{{31,34}})(?![{_SECRET_CHARS}])")
# Older secrets have no shape: an assignment to a client-secret name is the hint.
_CLIENT_SECRET = re.compile(
    r"client[_-]?secret" + _SEP  # also AZURE_CLIENT_SECRET, ARM_CLIENT_SECRET
    + r"""([^\s"'`,;<>{}$%]{16,200})""")
_GUID = r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
_CLIENT_ID = re.compile(r"(?:client[_-]?id|app_?id)" + _SEP + _GUID)  # also AZURE_CLIENT_ID, ARM_CLIENT_ID
_TENANT_ID = re.compile(r"tenant[_-]?id" + _SEP + _GUID)
_CLIENT_ID_WORDS = ("client_id", "clientid", "client-id", "app_id", "appid")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
# Values that name a secret rather than hold one.
_PLACEHOLDER = re.compile(r"(?i)^(?:x+|\*+|\.+|-+|_+|changeme|change_me|placeholder|example|your[_-]?\w*|"
                          r"redacted|secret|none|null|todo|xxx\w*)$")


@dataclass(frozen=True)
class Hit:
    """One credential-shaped value: where (1-based line) and which credential, never the value."""

    detector: str
    line: int
    key_id: str | None = None  # public identifier: access key id, private_key_id
    value_hash: str | None = None  # "sha256:" + 12 hex digits of a secret value
    hint: str | None = None  # Entra: the secret's first three characters (Graph's `hint`)
    principal: str | None = None  # GCP client_email, Azure client id (appId)
    tenant: str | None = None  # Azure tenant id next to the client secret
    secret_nearby: bool = False  # the secret half of a key id is written next to it


def value_hash(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_HEX]


class _Lines:
    def __init__(self, text: str) -> None:
        self._starts = [m.end() for m in re.finditer("\n", text)]

    def of(self, offset: int) -> int:
        return bisect.bisect_right(self._starts, offset) + 1


def _nearest(found: Sequence[tuple[int, str]], line: int) -> str | None:
    """The value found nearest to `line`, within NEAR_LINES (ties: the earlier one). `found` is in text order,
    so this is a bisection, not a scan (a hostile text may hold thousands of each)."""
    i = bisect.bisect_left(found, line, key=lambda item: item[0])
    best = None
    for j in (i - 1, i):
        if 0 <= j < len(found):
            distance = abs(found[j][0] - line)
            if distance <= NEAR_LINES and (best is None or distance < best[0]):
                best = (distance, found[j][1])
    return best[1] if best else None


def scan_text(text: str) -> list[Hit]:
    """Every credential-shaped value of `text`, sorted by line and detector."""
    lines = _Lines(text)
    lower = text.translate(_ASCII_LOWER)
    hits: list[Hit] = []
    hits.extend(_aws_hits(text, lower, lines))
    hits.extend(_gcp_hits(text, lines))
    hits.extend(_azure_hits(text, lower, lines))
    return sorted(set(hits), key=lambda h: (h.line, h.detector, h.key_id or "", h.value_hash or ""))


def _aws_hits(text: str, lower: str, lines: _Lines) -> Iterable[Hit]:
    found = _AWS_SECRET.finditer(lower) if "secret" in lower else ()
    secrets = [(lines.of(m.start(1)), value_hash(text[m.start(1):m.end(1)])) for m in found]
    key_lines: list[tuple[int, str]] = []
    for m in _AWS_KEY_ID.finditer(text) if "AKIA" in text or "ASIA" in text else ():
        if m.start() > 0 and text[m.start() - 1].isascii() and text[m.start() - 1].isalnum():
            continue
        line = lines.of(m.start(1))
        key_lines.append((line, m.group(1)))
        yield Hit(AWS_ACCESS_KEY_ID, line, key_id=m.group(1), secret_nearby=_nearest(secrets, line) is not None)
    # A secret access key with no key id near it is reported by its hash (it cannot be joined to a key).
    for line, digest in secrets:
        if _nearest(key_lines, line) is None:
            yield Hit(AWS_SECRET_ACCESS_KEY, line, value_hash=digest)


def _gcp_hits(text: str, lines: _Lines) -> Iterable[Hit]:
    if "private_key_id" not in text:
        return
    emails = [(lines.of(m.start(1)), m.group(1)) for m in _GCP_CLIENT_EMAIL.finditer(text)]
    typed = [(lines.of(m.start()), "service_account") for m in _GCP_TYPE.finditer(text)]
    keys = [(lines.of(m.start()), "key") for m in _GCP_PRIVATE_KEY.finditer(text)]
    for m in _GCP_KEY_ID.finditer(text):
        line = lines.of(m.start(1))
        email = _nearest(emails, line)
        if email is None and _nearest(typed, line) is None:
            continue  # a 40-hex `private_key_id` alone is not clearly a service-account key
        yield Hit(GCP_SERVICE_ACCOUNT_KEY, line, key_id=m.group(1), principal=email,
                  secret_nearby=_nearest(keys, line) is not None)


def _azure_hits(text: str, lower: str, lines: _Lines) -> Iterable[Hit]:
    searches = [(_ENTRA_SECRET, text)] if "Q~" in text else []
    if "secret" in lower:
        searches.append((_CLIENT_SECRET, lower))
    if not searches:
        return
    clients = [(lines.of(m.start(1)), m.group(1)) for m in _CLIENT_ID.finditer(lower)] if any(
        word in lower for word in _CLIENT_ID_WORDS) else []
    tenants = [(lines.of(m.start(1)), m.group(1)) for m in _TENANT_ID.finditer(lower)] if "tenant" in lower else []
    seen: dict[tuple[int, str], Hit] = {}
    for pattern, searched in searches:
        for m in pattern.finditer(searched):
            value = text[m.start(1):m.end(1)]
            entra = _ENTRA_SECRET.fullmatch(value) is not None
            if pattern is _CLIENT_SECRET and (_PLACEHOLDER.match(value) or not (entra or _looks_random(value))):
                continue
            line = lines.of(m.start(1))
            hit = Hit(AZURE_CLIENT_SECRET, line, value_hash=value_hash(value),
                      hint=value[:3] if entra else None,
                      principal=_nearest(clients, line), tenant=_nearest(tenants, line))
            seen.setdefault((line, hit.value_hash or ""), hit)
    yield from seen.values()


def _looks_random(value: str) -> bool:
    """A shapeless secret: mixed classes and not an identifier or a reference (`os.environ[...]`, a URL)."""
    if "(" in value or "[" in value or "://" in value or value.startswith(("@", "#")):
        return False
    classes = sum(1 for test in (str.isupper, str.islower, str.isdigit) if any(test(c) for c in value))
    return classes >= 2 and len(set(value)) >= 8


def at_lines(hits: Iterable[Hit], line_map: Sequence[int]) -> list[Hit]:
    """Hits of a text made of selected lines (a diff's added lines), renumbered to the original lines."""
    return [replace(h, line=line_map[h.line - 1]) for h in hits if 0 < h.line <= len(line_map)]
