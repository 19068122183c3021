"""The baseline file: the open findings a team accepted, one minimal entry each.

An entry holds what matching and review need (fingerprint, rule, identity, first-seen date, an optional
reason) and nothing else: no escalation paths, key ids or messages end up in the repository. The file is
YAML (or JSON for a `.json` name), sorted, with no clock in it, so the same findings give the same bytes.

It is user input when read back: every value is checked, and each problem names `file:line:col`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from nhiaudit.errors import InputError, InputProblem, SourceLocation
from nhiaudit.findings import Finding, FindingStatus
from nhiaudit.limits import MAX_REPORTED_PROBLEMS

BASELINE_VERSION = 1
MAX_BASELINE_ENTRIES = 500_000
MAX_YAML_BASELINE_BYTES = 128 * 1024 * 1024  # YAML parses far slower than JSON: a tighter bound
MAX_YAML_BASELINE_NODES = 16 * MAX_BASELINE_ENTRIES  # an entry is ~13 nodes; bounds alias expansion too
_MAX_LENGTH = {"rule_id": 200, "identity": 2048, "integration": 500, "reason": 2000}
_FINGERPRINT = re.compile(r"[0-9a-f]{32}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ENTRY_KEYS = ("fingerprint", "rule_id", "identity", "integration", "first_seen", "reason")
_REQUIRED = ("fingerprint", "rule_id", "first_seen")

_HEADER = (
    "# nhiaudit baseline: open findings accepted on their first-seen date. `nhiaudit scan --baseline FILE`\n"
    "# marks them baselined (they never fail the run). Change it with `nhiaudit baseline update FILE`.\n"
)

DocPath = tuple[str | int, ...]
_BAD = object()  # a value already reported as a problem
Locator = Callable[[DocPath], tuple[int, int]]


@dataclass(frozen=True)
class BaselineEntry:
    """One accepted finding; files list them by rule, then identity (sort_key)."""

    rule_id: str
    identity: str | None
    fingerprint: str
    first_seen: date
    integration: str | None = None  # only for findings without an identity, so a reviewer knows what it is
    reason: str | None = None

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"fingerprint": self.fingerprint, "rule_id": self.rule_id,
                               "identity": self.identity}
        if self.identity is None and self.integration is not None:
            doc["integration"] = self.integration
        doc["first_seen"] = self.first_seen
        if self.reason is not None:
            doc["reason"] = self.reason
        return doc

    def sort_key(self) -> tuple[str, str, str]:
        return self.rule_id, self.identity or "", self.fingerprint


@dataclass(frozen=True)
class Baseline:
    """Entries sorted by rule and identity; `legacy`: read from a full JSON report (the older format)."""

    entries: tuple[BaselineEntry, ...]
    legacy: bool = False

    @classmethod
    def of(cls, entries: Iterable[BaselineEntry], legacy: bool = False) -> Baseline:
        return cls(tuple(sorted(entries, key=BaselineEntry.sort_key)), legacy)

    def by_fingerprint(self) -> dict[str, BaselineEntry]:
        return {e.fingerprint: e for e in self.entries}


def accepted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings a baseline may hold: not excepted ones, whose exception must fail again once it expires."""
    unique: dict[str, Finding] = {}
    for f in findings:
        if f.status != FindingStatus.EXCEPTED:
            unique.setdefault(f.fingerprint, f)
    return list(unique.values())


def entry_for(finding: Finding, first_seen: date, reason: str | None = None) -> BaselineEntry:
    identity = finding.identity.id if finding.identity else None
    return BaselineEntry(rule_id=finding.rule_id, identity=identity, fingerprint=finding.fingerprint,
                         first_seen=first_seen, integration=None if identity else finding.integration,
                         reason=reason)


def render_baseline(baseline: Baseline, as_json: bool) -> str:
    """The file's text. ASCII only (other characters escaped): a bidi override or an invisible character in
    an identity name cannot disguise an entry in a reviewed diff."""
    doc = {"baseline_version": BASELINE_VERSION, "findings": [e.to_doc() for e in baseline.entries]}
    if as_json:
        return json.dumps(doc, indent=2, ensure_ascii=True, default=date.isoformat) + "\n"
    import yaml

    class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        def ignore_aliases(self, data: Any) -> bool:  # no `&id001` anchors for the shared date
            return True

    body = yaml.dump(doc, Dumper=Dumper, sort_keys=False, allow_unicode=False, width=1_000_000,
                     default_flow_style=False)
    return _HEADER + body


def wants_json(path: Path) -> bool:
    return path.suffix.lower() == ".json"


# --- reading -----------------------------------------------------------------------------------------


def is_baseline_document(data: object) -> bool:
    return isinstance(data, dict) and "baseline_version" in data


def baseline_from_data(data: object, file: str, locate: Locator) -> Baseline:
    """Check a parsed baseline document (JSON or YAML data) and build it; InputError lists every problem
    (at most MAX_REPORTED_PROBLEMS), each at its line and column."""
    checker = _Checker(file, locate)
    entries = checker.document(data)
    if checker.problems:
        raise InputError(sorted(checker.problems, key=lambda p: (p.location.line, p.location.column)))
    return Baseline.of(entries)


class _TooMany(Exception):
    """Enough problems collected: the rest would only bury the first ones."""


class _Checker:
    def __init__(self, file: str, locate: Locator) -> None:
        self.file, self.locate = file, locate
        self.problems: list[InputProblem] = []

    def problem(self, path: DocPath, message: str) -> None:
        line, col = self.locate(path)
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        self.problems.append(InputProblem(SourceLocation(self.file, line, col),
                                          f"{where}: {message}" if where else message))
        if len(self.problems) >= MAX_REPORTED_PROBLEMS:
            raise _TooMany

    def document(self, data: object) -> list[BaselineEntry]:
        try:
            return self._document(data)
        except _TooMany:
            return []

    def _document(self, data: object) -> list[BaselineEntry]:
        if not isinstance(data, dict):
            self.problem((), "a baseline is a mapping with `baseline_version` and `findings`")
            return []
        for key in data:
            if key not in ("baseline_version", "findings"):
                self.problem((key,), "unknown key (a baseline has `baseline_version` and `findings`)")
        version = data.get("baseline_version")
        if version != BASELINE_VERSION or isinstance(version, bool):
            self.problem(("baseline_version",), f"baseline_version {version!r}; this nhiaudit reads "
                                                f"{BASELINE_VERSION}")
        items = data.get("findings", [])
        if items is None:
            items = []
        if not isinstance(items, list):
            self.problem(("findings",), "must be a list of entries")
            return []
        if len(items) > MAX_BASELINE_ENTRIES:
            self.problem(("findings",), f"{len(items)} entries; the limit is {MAX_BASELINE_ENTRIES}")
            return []
        entries: list[BaselineEntry] = []
        first_at: dict[str, int] = {}
        for i, item in enumerate(items):
            entry = self._entry(item, ("findings", i))
            if entry is None:
                continue
            if entry.fingerprint in first_at:
                line = self.locate(("findings", first_at[entry.fingerprint]))[0]
                self.problem(("findings", i, "fingerprint"), f"duplicate fingerprint (first at line {line})")
                continue
            first_at[entry.fingerprint] = i
            entries.append(entry)
        return entries

    def _entry(self, item: object, path: DocPath) -> BaselineEntry | None:
        if not isinstance(item, dict):
            self.problem(path, "an entry is a mapping with fingerprint, rule_id, identity and first_seen")
            return None
        ok = True
        for key in item:
            if key not in _ENTRY_KEYS:
                self.problem((*path, key), f"unknown key (an entry has {', '.join(_ENTRY_KEYS)})")
                ok = False
        for key in _REQUIRED:
            if item.get(key) is None:
                self.problem(path, f"`{key}` is required")
                ok = False
        fingerprint = item.get("fingerprint")
        if fingerprint is not None and (not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint)):
            self.problem((*path, "fingerprint"), "expected 32 lowercase hexadecimal characters")
            ok = False
        texts = {key: self._text(item, key, path) for key in _MAX_LENGTH}
        seen = item.get("first_seen")
        first_seen = None if seen is None else self._date(seen, (*path, "first_seen"))
        if not ok or first_seen is None or _BAD in texts.values() or not isinstance(fingerprint, str):
            return None
        values: dict[str, str | None] = {k: v for k, v in texts.items() if isinstance(v, str)}
        return BaselineEntry(rule_id=values["rule_id"] or "", identity=values.get("identity") or None,
                             fingerprint=fingerprint, first_seen=first_seen,
                             integration=values.get("integration") or None,
                             reason=values.get("reason") or None)

    def _text(self, item: dict[str, Any], key: str, path: DocPath) -> object:
        """The string value, None when absent or null, _BAD when bad (reported)."""
        value = item.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem((*path, key), f"expected a string, got {type(value).__name__}")
            return _BAD
        if len(value) > _MAX_LENGTH[key]:
            self.problem((*path, key), f"longer than {_MAX_LENGTH[key]} characters")
            return _BAD
        if key == "rule_id" and not value.strip():
            self.problem((*path, key), "must not be empty")
            return _BAD
        return value

    def _date(self, value: object, path: DocPath) -> date | None:
        if isinstance(value, date):
            return value
        if isinstance(value, str) and _DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.problem(path, f"expected a date as YYYY-MM-DD, got {str(value)[:40]!r}")
        return None
