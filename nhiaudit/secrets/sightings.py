"""Hits -> CredentialSighting records: files and commits of `--secrets-in` trees, and name/value maps of cloud
configuration (environment variables, parameters). The values themselves go no further than the detector."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from nhiaudit.inventory.model import CredentialSighting, Provider
from nhiaudit.secrets.budget import Budget
from nhiaudit.secrets.detect import Hit, scan_text
from nhiaudit.secrets.history import history_hits
from nhiaudit.secrets.walk import read_texts

MAX_VALUES = 5_000  # name/value pairs read per cloud resource
MAX_VALUE_CHARS = 64 * 1024


def sighting_of(hit: Hit, **where: object) -> CredentialSighting:
    """The record of a hit at a place (keyword arguments: CredentialSighting's location fields)."""
    return CredentialSighting(detector=hit.detector, key_id=hit.key_id, value_hash=hit.value_hash, hint=hit.hint,
                              principal=hit.principal, tenant=hit.tenant, secret_nearby=hit.secret_nearby,
                              **where)


def tree_sightings(root: Path, display: str, budget: Budget, history: bool = False) -> list[CredentialSighting]:
    """Sightings in the files of one tree (and its git history when asked). `display` is the tree as the user
    named it: locations are `display/relative path`, so reports point where the user looks."""
    out: list[CredentialSighting] = []
    for rel, text in read_texts(root, budget):
        location = _joined(display, rel)
        out.extend(sighting_of(hit, location_kind="file", location=location, line=hit.line) for hit in scan_text(text))
    if history:
        for commit, rel, hit in history_hits(root, budget):
            out.append(sighting_of(hit, location_kind="git_commit", location=_joined(display, rel), line=hit.line,
                                 commit=commit))
    return out


def _joined(display: str, rel: str) -> str:
    return (Path(display) / rel).as_posix() if display not in ("", ".") else rel


def mapping_sightings(values: Mapping[str, object] | Iterable[tuple[str, object]], *, location_kind: str,
                      location: str, provider: Provider, account: str, region: str | None,
                      prefix: str = "") -> list[CredentialSighting]:
    """Sightings in name -> value pairs (a Lambda's environment, a container's environment, a parameter). The
    pairs are read as one `NAME=value` text, so a client id in one variable is next to the secret in another;
    each hit names its variable (`field`, after `prefix`), never its value. Non-string values are skipped."""
    pairs = values.items() if isinstance(values, Mapping) else values
    names: list[str] = []
    lines: list[str] = []
    for name, value in sorted(((str(n), v) for n, v in pairs), key=lambda p: p[0])[:MAX_VALUES]:
        if not isinstance(value, str):
            continue
        flat = value[:MAX_VALUE_CHARS].replace("\r", " ").replace("\n", " ")
        names.append(name)
        lines.append(f"{name}={flat}")
    out = []
    for hit in scan_text("\n".join(lines)):
        out.append(sighting_of(hit, location_kind=location_kind, location=location, field=prefix + names[hit.line - 1],
                             provider=provider, account=account, region=region))
    return out


def sighting_order(s: CredentialSighting) -> tuple:
    """Sightings are listed by place, then credential: the same estate gives the same snapshot bytes."""
    return (s.location, s.commit or "", s.field or "", s.line or 0, s.detector, s.key_id or "", s.value_hash or "")


def scan_trees(trees: Iterable[Path], history: bool, budget: Budget | None = None
               ) -> tuple[list[CredentialSighting], list[str]]:
    """Sightings of every `--secrets-in` tree, sorted, and the warnings saying what was skipped."""
    budget = budget or Budget()
    found: list[CredentialSighting] = []
    for tree in trees:
        found.extend(tree_sightings(tree, str(tree), budget, history))
    found.sort(key=sighting_order)
    return found, budget.warnings()
