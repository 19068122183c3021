"""SARIF 2.1.0 for GitHub code scanning (see docs/reports.md for the mapping).

Every result points at the line of the written policy the finding is about, so alerts land on
the file the CI job watches; the cloud identity is the logical location.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import quote

from pydantic_core import PydanticSerializationError, to_json

from nhiaudit import __version__
from nhiaudit.findings import Finding, FindingStatus, Severity
from nhiaudit.report import Report
from nhiaudit.reporters.interface import RenderContext, Reporter, RuleDoc, rule_docs
from nhiaudit.reporters.json_stream import list_pieces, spliced
from nhiaudit.reporters.locations import Place, PolicyLocator
from nhiaudit.textsafe import json_safe

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"

# Inside GitHub's bands: >9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
LEVEL: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub rejects more than 20 tags per rule and shows only the first 10.
MAX_TAGS_PER_RULE = 10
PLACEHOLDER_ARTIFACT = "nhiaudit"
FRAMEWORK_NAMES = {
    "owasp_nhi": "OWASP Non-Human Identities Top 10 (2025)",
    "nist_csf": "NIST CSF 2.0",
}
_CATEGORY_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")
# SARIF 2.1.0 §3.11.6: in a plain-text message `[text](target)` is an embedded link; literal brackets
# (role paths such as /[/x]/, names with `[x](http://evil)`) are escaped with a backslash.
_SARIF_BRACKET = re.compile(r"([\[\]])")


class SarifReporter(Reporter):
    def render(self, report: Report, context: RenderContext) -> str:
        return "".join(self.chunks(report, context))

    def chunks(self, report: Report, context: RenderContext) -> Iterator[str]:
        # The document without results, then a batch of results at a time (json_stream): the bytes of
        # json.dumps(build_sarif(...), indent=2), without holding every result dict or the whole text.
        skeleton, findings, result = _sarif_parts(report, context)
        text = json.dumps(skeleton, indent=2, ensure_ascii=False)
        pieces = list_pieces(findings, lambda run: _json_text([result(f) for f in run]), RESULTS_INDENT,
                             parallel=True)
        for piece in spliced(text, [("results", RESULTS_INDENT, pieces)]):
            yield json_safe(piece)
        yield "\n"


# Column of the run's "results" key: {"runs": [{"results": ...}]}.
RESULTS_INDENT = 6


def _json_text(value: list[dict[str, Any]]) -> str:
    """json.dumps(value, indent=2, ensure_ascii=False), at the speed of pydantic's Rust encoder (same
    layout and escapes for plain dicts, lists, strings, ints and booleans; the json module's encoder with
    `indent` is pure Python, 5x slower)."""
    try:
        return to_json(value, indent=2).decode("utf-8")
    except PydanticSerializationError:  # a lone surrogate: the json module writes it, json_safe replaces it
        return json.dumps(value, indent=2, ensure_ascii=False)


def build_sarif(report: Report, context: RenderContext) -> dict[str, Any]:
    skeleton, findings, result = _sarif_parts(report, context)
    skeleton["runs"][0]["results"] = [result(f) for f in findings]
    return skeleton


def _sarif_parts(report: Report, context: RenderContext
                 ) -> tuple[dict[str, Any], Sequence[Finding], Callable[[Finding], dict[str, Any]]]:
    """The SARIF document with an empty `results` list, the findings to put there and the result of one.
    Every warning about the results' locations is recorded here, in the order of the results, so that they
    can be made in any order, and in a forked child (json_stream.list_pieces)."""
    docs = rule_docs(report, context)
    findings = _capped(report.findings, context)
    descriptors = _descriptor_keys(docs, findings)
    rule_index = {key: i for i, key in enumerate(descriptors)}
    locator = PolicyLocator(report, context, "SARIF", "code scanning")
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if notifications := _notifications(report, context, len(findings)):
        invocation["toolExecutionNotifications"] = notifications
    run: dict[str, Any] = {
        "tool": {"driver": _driver(report, [(docs[r], severity) for r, severity in descriptors])},
        "automationDetails": {"id": sarif_category(report, context)},
        "invocations": [invocation],
        "results": [],
        "properties": {
            "asOf": report.as_of.isoformat(),
            "generatedAt": report.generated_at.isoformat(),
            "reportSchemaVersion": report.schema_version,
            "collectionComplete": report.collection.complete,
            "unknownActions": report.collection.unknown_actions,
        },
    }
    for finding in findings:
        _place(finding, locator)

    def result(finding: Finding) -> dict[str, Any]:
        return _result(finding, rule_index[finding.rule_id, finding.severity],
                       descriptor_id(docs[finding.rule_id], finding.severity), locator, context)

    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}, findings, result


def descriptor_id(doc: RuleDoc, severity: Severity) -> str:
    """`admin-access` at the rule's documented severity, `admin-access/critical` at another one. Rule ids
    cannot contain `/`, so a variant never collides with a rule."""
    return doc.id if severity == doc.severity else f"{doc.id}/{severity}"


def _descriptor_keys(docs: dict[str, RuleDoc], findings: list[Finding]) -> list[tuple[str, Severity]]:
    """(rule id, severity) of every descriptor: each rule at its documented severity, plus each other
    severity a finding of the rule has. GitHub reads `security-severity` from the descriptor only, so a
    finding raised to critical needs a descriptor that says critical. Ordered by rule id, the documented
    severity first, then the variants from most to least severe."""
    keys = {(rule_id, doc.severity) for rule_id, doc in docs.items()}
    keys |= {(f.rule_id, f.severity) for f in findings}
    return sorted(keys, key=lambda k: (k[0], k[1] != docs[k[0]].severity, -k[1].rank))


def sarif_category(report: Report, context: RenderContext) -> str:
    """automationDetails.id: `nhiaudit/<provider>/<account>/` for one account, `nhiaudit/multi/` otherwise.

    The trailing slash makes the whole id the code scanning category (GitHub treats the part after
    the last slash as a run id), matching what upload-sarif's `category` input would produce.
    """
    if context.sarif_category:
        return context.sarif_category.strip("/") + "/"
    pairs = {
        (str(s.get("provider") or ""), str(s.get("account") or ""))
        for s in report.collection.sources
        if s.get("provider") and s.get("account")
    }
    if not pairs:
        pairs = {(f.identity.provider, f.identity.account) for f in report.findings if f.identity}
    if len(pairs) != 1:
        return "nhiaudit/multi/"
    provider, account = next(iter(pairs))
    return f"nhiaudit/{_CATEGORY_UNSAFE.sub('_', provider)}/{_CATEGORY_UNSAFE.sub('_', account)}/"


def _capped(findings: list[Finding], context: RenderContext) -> list[Finding]:
    limit = context.max_sarif_results
    if len(findings) <= limit:
        return findings
    # Keep what matters most: open findings first, then by severity; report order otherwise.
    ranked = sorted(findings, key=lambda f: (f.status != FindingStatus.OPEN, -f.severity.rank))
    context.warn(
        f"SARIF: {len(findings)} findings exceed GitHub's limit of {limit} results per run; "
        f"kept the {limit} most severe open ones (the JSON report has all of them)"
    )
    return ranked[:limit]


def _notifications(report: Report, context: RenderContext, kept: int) -> list[dict[str, Any]]:
    notes = [
        {
            "level": "warning",
            "message": {
                "text": f"collection incomplete: {issue.provider} {issue.account}: {issue.operation}: "
                f"{issue.message}" + (f" (missing: {issue.missing})" if issue.missing else "")
            },
        }
        for issue in report.collection.errors
    ]
    notes += [
        {"level": "warning", "message": {"text": _SARIF_BRACKET.sub(r"\\\1", w.message)}}
        for w in report.collection.warnings
    ]
    if kept < len(report.findings):
        notes.append(
            {
                "level": "warning",
                "message": {"text": f"results capped at {kept} of {len(report.findings)} findings"},
            }
        )
    return notes


def _driver(report: Report, docs: list[tuple[RuleDoc, Severity]]) -> dict[str, Any]:
    version = report.tool.get("version") or __version__
    driver: dict[str, Any] = {
        "name": report.tool.get("name") or "nhiaudit",
        "version": version,
        "semanticVersion": version,
        "rules": [_rule(doc, severity) for doc, severity in docs],
    }
    info = report.tool.get("information_uri") or report.tool.get("url")
    if info and info.startswith(("https://", "http://")):
        driver["informationUri"] = info
    return driver


def _rule(doc: RuleDoc, severity: Severity) -> dict[str, Any]:
    """The rule's descriptor at `severity`: its documented one, or a variant for findings at another one
    (same documentation, its own id, level and security-severity)."""
    tags: list[str] = []
    for tag in ("security", doc.category, *(i for ids in doc.frameworks.values() for i in ids)):
        if tag and tag not in tags:
            tags.append(tag)
    rule: dict[str, Any] = {
        "id": descriptor_id(doc, severity),
        "name": "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", doc.id) if part) or doc.id,
        "shortDescription": {"text": doc.title or doc.id},
        "fullDescription": {"text": doc.description or doc.title or doc.id},
        "help": {"text": _help_text(doc), "markdown": _help_markdown(doc)},
        "defaultConfiguration": {"level": LEVEL[severity]},
        "properties": {
            "tags": tags[:MAX_TAGS_PER_RULE],
            "security-severity": SECURITY_SEVERITY[severity],
            "category": doc.category,
            "frameworks": {k: list(v) for k, v in doc.frameworks.items()},
        },
    }
    if severity != doc.severity:
        rule["properties"]["rule"] = doc.id  # the nhiaudit rule this variant reports for
        rule["properties"]["severity"] = str(severity)
    help_uri = doc.help_uri or next((r for r in doc.references if r.startswith("https://")), None)
    if help_uri and help_uri.startswith(("https://", "http://")):
        rule["helpUri"] = help_uri
    return rule


def _sections(doc: RuleDoc, markdown: bool = False) -> list[tuple[str, str]]:
    example = doc.example
    if markdown and "\n" in example and "```" not in example:
        example = f"```\n{example}\n```"  # multi-line examples are code (policy or rule YAML)
    return [
        (title, body)
        for title, body in (
            ("What it does", doc.description),
            ("Why it matters", doc.rationale),
            ("How to fix", doc.remediation),
            ("Example", example),
        )
        if body
    ]


def _frameworks_lines(doc: RuleDoc) -> list[str]:
    return [f"{FRAMEWORK_NAMES.get(k, k)}: {', '.join(v)}" for k, v in doc.frameworks.items() if v]


def _help_text(doc: RuleDoc) -> str:
    parts = [doc.title or doc.id]
    parts += [f"{title}:\n{body}" for title, body in _sections(doc)]
    if doc.references:
        parts.append("References:\n" + "\n".join(f"- {r}" for r in doc.references))
    if frameworks := _frameworks_lines(doc):
        parts.append("Frameworks:\n" + "\n".join(f"- {line}" for line in frameworks))
    return "\n\n".join(parts)


def _help_markdown(doc: RuleDoc) -> str:
    parts = [f"**{doc.title or doc.id}** (`{doc.id}`, {doc.severity}, {doc.category or 'uncategorised'})"]
    parts += [f"### {title}\n\n{body}" for title, body in _sections(doc, markdown=True)]
    if doc.references:
        refs = (f"- <{r}>" if "://" in r else f"- {r}" for r in doc.references)
        parts.append("### References\n\n" + "\n".join(refs))
    if frameworks := _frameworks_lines(doc):
        parts.append("### Frameworks\n\n" + "\n".join(f"- {line}" for line in frameworks))
    return "\n\n".join(parts)


def _place(finding: Finding, locator: PolicyLocator) -> Place | None:
    place = locator.place(finding)
    if place is None:
        locator.context.warn(
            "SARIF: no policy file or fallback artifact; results point at the placeholder path "
            f"'{PLACEHOLDER_ARTIFACT}'"
        )
    return place


def _physical(finding: Finding, locator: PolicyLocator) -> dict[str, Any]:
    place = _place(finding, locator)
    if place is None:
        return {"artifactLocation": {"uri": PLACEHOLDER_ARTIFACT}, "region": {"startLine": 1}}
    return {"artifactLocation": {"uri": quote(place.path, safe="/-._~@")}, "region": {"startLine": place.line}}


def _logical_locations(finding: Finding) -> list[dict[str, Any]]:
    if finding.identity is not None:
        ident = finding.identity
        return [{"name": ident.name, "fullyQualifiedName": ident.id, "kind": "resource"}]
    if finding.policy_location is not None:
        entry = finding.policy_location.entry
        return [{"name": entry.split(":", 1)[-1], "fullyQualifiedName": entry, "kind": "object"}]
    if finding.integration:
        return [{"name": finding.integration, "fullyQualifiedName": f"integration:{finding.integration}",
                 "kind": "object"}]
    return []


def _message(finding: Finding) -> str:
    text = finding.message
    ident = finding.identity
    if ident is not None and ident.id not in text and ident.name not in text:
        text += f" (identity {ident.id})"
    return _SARIF_BRACKET.sub(r"\\\1", text)


def _result(finding: Finding, index: int, rule_id: str, locator: PolicyLocator,
            context: RenderContext) -> dict[str, Any]:
    location: dict[str, Any] = {"physicalLocation": _physical(finding, locator)}
    if logical := _logical_locations(finding):
        location["logicalLocations"] = logical
    properties: dict[str, Any] = {
        "rule": finding.rule_id,
        "severity": str(finding.severity),
        "category": str(finding.category),
        "status": str(finding.status),
        "fingerprint": finding.fingerprint,
    }
    if finding.identity is not None:
        properties["identity"] = finding.identity.model_dump()
    if finding.integration:
        properties["integration"] = finding.integration
    if finding.credential_id:
        properties["credentialId"] = finding.credential_id
    if finding.file_location is not None and finding.file_location.commit:
        properties["commit"] = finding.file_location.commit
    if finding.frameworks:
        properties["frameworks"] = finding.frameworks
    result: dict[str, Any] = {
        "ruleId": rule_id,
        "ruleIndex": index,
        "level": LEVEL[finding.severity],
        "message": {"text": _message(finding)},
        "locations": [location],
        "partialFingerprints": {"primaryLocationLineHash": finding.fingerprint},
        "properties": properties,
    }
    if context.baseline is not None and finding.status != FindingStatus.EXCEPTED:
        result["baselineState"] = "unchanged" if finding.status == FindingStatus.BASELINED else "new"
    if finding.status == FindingStatus.EXCEPTED:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted",
             "justification": finding.status_reason or "excepted in the written policy"}
        ]
    return result
