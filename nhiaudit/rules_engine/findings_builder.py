"""Turn rule violations into findings: identity, integration, policy location, fingerprint, exceptions."""

from __future__ import annotations

from datetime import date
from typing import Any

from nhiaudit.facts.policy_entries import exception_covers
from nhiaudit.facts.schema import SubjectKind
from nhiaudit.findings import (
    FileLocation,
    Finding,
    FindingStatus,
    IdentityRef,
    PolicyLocation,
    fingerprint,
)
from nhiaudit.inventory.model import Identity
from nhiaudit.packing import constructed
from nhiaudit.permissions.patterns import glob_match
from nhiaudit.policy.model import WrittenPolicy
from nhiaudit.rules_engine.engine import Violation
from nhiaudit.rules_engine.model import Rule


def _subject_identity_id(kind: SubjectKind, subject: dict[str, Any]) -> str | None:
    if kind is SubjectKind.IDENTITY:
        return subject["id"]
    if kind is SubjectKind.CREDENTIAL:
        return subject["identity"]["id"]
    if kind is SubjectKind.EXCEPTION:
        return subject["identity"]
    if kind is SubjectKind.BINDING:
        return subject["pattern"]
    if kind is SubjectKind.SIGHTING:
        return subject["identity"]["id"] or None
    return None


def _integrations(kind: SubjectKind, subject: dict[str, Any], item: dict[str, Any] | None) -> list[str]:
    """The integrations a finding is about: one when known, every binding one otherwise."""
    if item and item.get("integration"):
        return [item["integration"]]
    if kind is SubjectKind.INTEGRATION:
        return [subject["name"]]
    if kind is SubjectKind.BINDING:
        return [subject["integration"]]
    if kind is SubjectKind.IDENTITY:
        return list(subject["integrations"])
    if kind in (SubjectKind.CREDENTIAL, SubjectKind.SIGHTING):
        return list(subject["identity"]["integrations"])
    return []


def _file_location(subject: dict[str, Any]) -> FileLocation | None:
    """A sighting in a scanned tree points at its file and line (SARIF, GitLab Code Quality)."""
    if subject["location_kind"] not in ("file", "git_commit") or not subject["line"]:
        return None
    return FileLocation(file=subject["location"], line=subject["line"], commit=subject["commit"] or None)


class FindingsBuilder:
    def __init__(self, policy: WrittenPolicy, identities: dict[str, Identity], as_of: date) -> None:
        self._policy = policy
        self._identities = identities
        self._as_of = as_of
        self._integration_index = {i.name: n for n, i in enumerate(policy.integrations)}
        self._source_file = policy.source_file  # a pydantic private attribute: slow to read per finding
        self._rule_frameworks: dict[str, dict[str, list[str]]] = {}
        self._rule_remediation: dict[str, str | None] = {}
        # fingerprint -> the GCP member a `principal` finding is about (it has no identity): exceptions match it.
        self._principals: dict[str, str] = {}
        # One (frozen) reference per identity, shared by all its findings: a large estate has tens of thousands.
        self._refs: dict[str, IdentityRef] = {}
        self._locations: dict[tuple[Any, ...], PolicyLocation] = {}

    def _location(self, subject: dict[str, Any], item: dict[str, Any] | None,
                  integration: str | None) -> PolicyLocation | None:
        if not self._source_file:
            return None
        path = (item or {}).get("policy_path") or subject.get("policy_path")
        if path:
            key: tuple[Any, ...] = ("path", *path)
        elif integration in self._integration_index:
            key = ("integration", integration)
        elif (system := (item or {}).get("system")) and system in self._policy.systems:
            key = ("system", system)
        else:
            key = ("policy",)
        # One (frozen) location per policy entry, shared by its findings.
        hit = self._locations.get(key)
        if hit is None:
            hit = self._locations[key] = self._new_location(key)
        return hit

    def _new_location(self, key: tuple[Any, ...]) -> PolicyLocation:
        kind, *rest = key
        if kind == "path":
            entry = f"{rest[0]}:{rest[1]}" if len(rest) > 1 else str(rest[0])
            return PolicyLocation(file=self._source_file, line=self._policy.line_of(*rest), entry=entry)
        if kind == "integration":
            idx = self._integration_index[rest[0]]
            return PolicyLocation(file=self._source_file, line=self._policy.line_of("integrations", idx),
                                  entry=f"integration:{rest[0]}")
        if kind == "system":
            return PolicyLocation(file=self._source_file, line=self._policy.line_of("systems", rest[0]),
                                  entry=f"system:{rest[0]}")
        return PolicyLocation(file=self._source_file, line=1, entry="policy")

    def _identity_ref(self, identity: Identity | None) -> IdentityRef | None:
        if identity is None:
            return None
        ref = self._refs.get(identity.id)
        if ref is None:
            ref = self._refs[identity.id] = IdentityRef(id=identity.id, provider=identity.provider.value,
                                                        account=identity.account, kind=identity.kind.value,
                                                        name=identity.name)
        return ref

    def _frameworks(self, rule: Rule) -> dict[str, list[str]]:
        """One mapping per rule, shared by its findings (nothing changes a finding's frameworks)."""
        hit = self._rule_frameworks.get(rule.id)
        if hit is None:
            hit = self._rule_frameworks[rule.id] = {k: list(v) for k, v in rule.frameworks.model_dump().items() if v}
        return hit

    def _remediation(self, rule: Rule) -> str | None:
        """The first paragraph of the rule's remediation, on one line."""
        if rule.id not in self._rule_remediation:
            self._rule_remediation[rule.id] = " ".join(rule.remediation.strip().split("\n\n")[0].split()) or None
        return self._rule_remediation[rule.id]

    def build(self, v: Violation) -> Finding:
        rule = v.rule.rule
        kind = rule.subject
        identity_id = _subject_identity_id(kind, v.subject)
        identity = self._identities.get(identity_id) if identity_id else None
        integrations = _integrations(kind, v.subject, v.item)
        integration = integrations[0] if len(integrations) == 1 else None
        credential_id = v.subject["id"] if kind is SubjectKind.CREDENTIAL else None
        file_location = None
        if kind is SubjectKind.SIGHTING:
            credential_id = v.subject["credential"]["id"] or v.subject["key_id"] or None
            file_location = _file_location(v.subject)
        item_key = None
        if v.item is not None:
            item_key = str(v.item.get("key") or v.item.get("system") or v.item.get("id") or sorted(v.item.items()))
        subject_key = v.subject.get("name") if kind is SubjectKind.INTEGRATION else None
        if kind is SubjectKind.EXCEPTION:
            subject_key = f"{v.subject['rule']}|{v.subject['expires']}"
        if kind is SubjectKind.SIGHTING:
            subject_key = v.subject["key"]
        evidence = dict(v.evidence)
        if v.item is not None and not evidence:
            evidence = {k: val for k, val in v.item.items() if k != "policy_path"}
        finding_print = fingerprint(rule.id, identity_id, credential_id, item_key, subject_key)
        if kind is SubjectKind.PRINCIPAL:
            self._principals[finding_print] = str(v.subject["principal"])
        elif kind is SubjectKind.SIGHTING and identity is None:  # excepted by the key id (or hash) seen
            self._principals[finding_print] = str(v.subject["id"])
        # Not validated: every field is typed here (tests/test_finding_records.py re-validates all findings of
        # the demo and the labelled estate); validation was a tenth of the analysis of a large estate.
        return constructed(
            Finding, rule_id=rule.id, title=rule.title, category=rule.category, severity=v.severity,
            identity=self._identity_ref(identity), credential_id=credential_id, integration=integration,
            message=v.message, evidence=evidence,
            frameworks=self._frameworks(rule),
            remediation=self._remediation(rule),
            fingerprint=finding_print,
            # Several integrations: point at the first one's entry rather than the top of the file.
            policy_location=self._location(v.subject, v.item, integrations[0] if integrations else None),
            file_location=file_location,
        )

    def apply_exceptions(self, findings: list[Finding]) -> list[Finding]:
        """Mark findings covered by an unexpired exception as excepted (expired ones no longer apply)."""
        active = [(i, e) for i, e in enumerate(self._policy.exceptions) if e.expires >= self._as_of]
        if not active:
            return findings
        out = []
        for finding in findings:
            # An identity's finding matches by its id; a GCP principal's (no identity) by the member as
            # bindings name it (`user:contractor@gmail.com`, `allUsers`).
            # An Azure identity's also by its appId (policy_entries.exception_covers).
            ident = self._identities.get(finding.identity.id) if finding.identity else None
            target = finding.identity.id if finding.identity else self._principals.get(finding.fingerprint)
            for i, exc in active:
                if exc.rule not in (finding.rule_id, finding.category.value):
                    continue
                if ident is not None:
                    if not exception_covers(exc.identity, ident):
                        continue
                elif target is None or not glob_match(exc.identity, target):
                    continue
                if exc.credential and exc.credential != finding.credential_id:
                    continue
                finding = finding.model_copy(update={
                    "status": FindingStatus.EXCEPTED,
                    "status_reason": f"policy exception #{i + 1} (owner {exc.owner}, until {exc.expires}): "
                                     f"{exc.reason}",
                })
                break
            out.append(finding)
        return out
