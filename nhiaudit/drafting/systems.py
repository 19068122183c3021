"""Systems proposed from the resources that grants name (pure: resource strings in, systems out).

Grouping, simple and predictable (docs/policy.md, "Drafting a policy from the estate"):

- a resource's *family* is where it lives: an AWS service and resource type (`s3`, `dynamodb table`), a GCP
  project (names under `projects/P`) or Cloud Storage, an Azure resource group, a delegated API;
- inside a family, resources whose names extend another's at a `-`, `_`, `.` or `/` boundary
  (`acme-pii` and `acme-pii-exports`), or that a pattern's `*` covers (`acme-pii*`), form one system, named
  after the family and the shortest name;
- each system lists exactly the patterns the grants wrote, never a wider one; two systems whose patterns
  could name a common resource are merged, so no pattern of one covers another's resources.

Environment and classification are guesses from name tokens (`prod`, `pii`, ...), marked for review.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from nhiaudit.drafting.model import DraftSystem
from nhiaudit.drafting.yaml_text import slug, unique_names
from nhiaudit.permissions.gcp_names import canonical_resource, is_gcp_name
from nhiaudit.permissions.patterns import is_broad_resource, resources_intersect

MAX_RESOURCE_CHARS = 1024  # longer patterns are left out (noted): no real resource name is this long
MAX_RESOURCES_PER_SYSTEM = 100

_AI = {"bedrock", "sagemaker", "aiplatform", "ml", "microsoft.cognitiveservices",
       "microsoft.machinelearningservices", "openai"}
_DATA = {"s3", "dynamodb", "rds", "redshift", "glue", "athena", "storage", "bigquery", "spanner", "firestore",
         "sqladmin", "microsoft.storage", "microsoft.sql", "microsoft.documentdb", "es", "aoss"}
_SECRET = {"secretsmanager", "ssm", "kms", "secretmanager", "cloudkms", "microsoft.keyvault"}
_ENVIRONMENTS = {"prod": "prod", "production": "prod", "prd": "prod", "live": "prod",
                 "staging": "staging", "stage": "staging", "stg": "staging", "preprod": "staging",
                 "dev": "dev", "development": "dev", "sandbox": "dev", "test": "test", "qa": "test", "uat": "test"}
_RESTRICTED = {"pii", "customer", "customers", "personal", "finance", "financial", "ledger", "payroll", "hr",
               "health", "medical", "billing", "payment", "payments", "card", "cards", "secret", "secrets",
               "credential", "credentials", "ssn", "patient", "patients"}
_PUBLIC = {"public", "www", "assets", "static", "website", "cdn"}
_SEPARATORS = "-_./"
_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class SeenResource:
    """A resource pattern an allowing grant names, and where it was seen (for the review comment)."""

    pattern: str
    evidence: str


@dataclass(frozen=True)
class _Family:
    key: tuple[str, ...]
    label: str  # system name prefix
    service: str  # for the kind guess


def _aws_family(pattern: str) -> tuple[_Family, str] | None:
    parts = pattern.split(":", 5)
    if len(parts) != 6:
        return None
    service, resource = parts[2].lower(), parts[5]
    if service == "s3":
        return _Family(("aws", "s3"), "s3", "s3"), resource.split("/", 1)[0]
    pieces = re.split(r"[/:]", resource, maxsplit=1)
    kind = pieces[0] if len(pieces) == 2 else ""
    name = pieces[1] if len(pieces) == 2 else pieces[0]
    name = name.split("/", 1)[0] if kind else name
    label = f"{service}-{kind}" if kind else service
    return _Family(("aws", service, kind, parts[4]), slug(label, service), service), name or kind


def _gcp_family(pattern: str) -> tuple[_Family, str] | None:
    name = canonical_resource(pattern)
    bucket = re.match(r"^//storage\.googleapis\.com/projects/[^/]+/buckets/([^/]+)", name)
    if bucket:
        return _Family(("gcp", "storage"), "gcs", "storage"), bucket.group(1)
    hosted = re.match(r"^//([^./]+)\.googleapis\.com/projects/([^/]+)", name)
    if hosted:
        return _Family(("gcp", "projects", hosted.group(2)), "gcp", ""), hosted.group(2)
    scope = re.match(r"^(projects|folders|organizations)/([^/]+)", name)
    if scope:
        label = {"projects": "gcp", "folders": "gcp-folder", "organizations": "gcp-org"}[scope.group(1)]
        return _Family(("gcp", scope.group(1), scope.group(2)), label, ""), scope.group(2)
    return None


def _azure_family(pattern: str) -> tuple[_Family, str] | None:
    if pattern.startswith("delegated:"):
        app = pattern.removeprefix("delegated:").split("/", 1)[0]
        return _Family(("azure", "delegated", app.lower()), "delegated", app.lower()), app
    match = re.match(r"^/subscriptions/([^/]+)(?:/resourceGroups/([^/]+))?(?:/providers/([^/]+))?", pattern,
                     re.IGNORECASE)
    if not match:
        return None
    subscription, group, provider = match.groups()
    if group is None:
        return _Family(("azure", "subscription", subscription.lower()), "azure-subscription", ""), subscription
    return _Family(("azure", "rg", group.lower()), "azure-rg", (provider or "").lower()), group


def family_of(pattern: str) -> tuple[_Family, str] | None:
    """The family and the name a resource pattern is grouped by (None: not a resource nhiaudit groups)."""
    if pattern.startswith("arn:"):
        return _aws_family(pattern)
    if is_gcp_name(pattern):
        return _gcp_family(pattern)
    if pattern.startswith(("/subscriptions/", "delegated:")):
        return _azure_family(pattern)
    return None


def groupable(pattern: str) -> bool:
    """A pattern a system can be drafted from: not every resource (`*`), not a whole resource type of AWS
    (`arn:aws:s3:::*`, `table/*`: it would swallow every system of its kind) except AI models, where every
    model of the service (`foundation-model/*`) is the usual grant, and not absurdly long. GCP/Azure scopes
    (a project, a resource group) are kept: grouping is by them."""
    if len(pattern) > MAX_RESOURCE_CHARS or pattern == "*":
        return False
    if pattern.startswith("arn:") and is_broad_resource(pattern):
        parts = pattern.split(":", 5)
        return len(parts) == 6 and parts[2].lower() in _AI and parts[5] not in ("*", "*/*")
    return True


class _Groups:
    """Names of one family grouped by prefix at a separator, or under a pattern's `*` stem."""

    def __init__(self) -> None:
        self.roots: dict[str, str] = {}  # name -> its group's root name
        self.stems: dict[str, str] = {}  # wildcard root's literal stem -> root

    def add(self, name: str) -> str:
        if name in self.roots:
            return self.roots[name]
        root = name
        for i in range(1, len(name)):
            head = name[:i]
            if head in self.stems:
                root = self.stems[head]
                break
            if name[i] in _SEPARATORS and head in self.roots:
                root = self.roots[head]
                break
        self.roots[name] = root
        star = name.find("*")
        if root == name and star >= 0:
            self.stems[name[:star]] = name
        return root


def _tokens(text: str) -> set[str]:
    return set(_TOKEN.findall(text.lower()))


def _guess_kind(family: _Family, names: list[str]) -> str | None:
    if family.service in _AI or any("openai" in n.lower() for n in names):
        return "ai-model"
    if family.service in _SECRET:
        return "secret"
    if family.service in _DATA:
        return "data"
    return None


def _guess_environment(names: list[str]) -> tuple[str | None, str]:
    found = {_ENVIRONMENTS[t] for n in names for t in _tokens(n) if t in _ENVIRONMENTS}
    if len(found) == 1:
        value = found.pop()
        return value, f"guessed from the name ({value!r} token)"
    if found:
        return None, f"names mix environments ({', '.join(sorted(found))}): set one or split the system"
    return None, "no environment in the names: set one"


def _guess_classification(kind: str | None, names: list[str]) -> tuple[str | None, str]:
    tokens = {t for n in names for t in _tokens(n)}
    if kind == "ai-model":
        return None, ""
    if kind == "secret" or tokens & _RESTRICTED:
        why = "a secret store" if kind == "secret" else f"name mentions {sorted(tokens & _RESTRICTED)[0]!r}"
        return "restricted", f"guessed: {why}"
    if tokens & _PUBLIC:
        return "public", f"guessed: name mentions {sorted(tokens & _PUBLIC)[0]!r}"
    return "internal", "guessed (no hint in the name): confirm"


def draft_systems(seen: list[SeenResource], ai_vendors: frozenset[str] = frozenset()) -> list[DraftSystem]:
    """Group the seen resources into systems (sorted by name); see the module docstring."""
    families: dict[tuple[str, ...], _Family] = {}
    groups: dict[tuple[str, ...], _Groups] = defaultdict(_Groups)
    members: dict[tuple[tuple[str, ...], str], dict[str, list[str]]] = defaultdict(dict)
    for item in sorted(seen, key=lambda s: (len(s.pattern), s.pattern, s.evidence)):
        found = family_of(item.pattern)
        if found is None or not groupable(item.pattern):
            continue
        family, name = found
        families[family.key] = family
        root = groups[family.key].add(name)
        members[(family.key, root)].setdefault(item.pattern, []).append(item.evidence)
    clusters = _merge_overlapping([(families[key], root, patterns) for (key, root), patterns in members.items()])
    drafts = [_system(family, root, patterns, ai_vendors) for family, root, patterns in clusters]
    drafts.sort(key=lambda d: (d.name, d.resources))
    for draft, name in zip(drafts, unique_names([d.name for d in drafts]), strict=True):
        draft.name = name
    return sorted(drafts, key=lambda d: d.name)


def _merge_overlapping(
    clusters: list[tuple[_Family, str, dict[str, list[str]]]],
) -> list[tuple[_Family, str, dict[str, list[str]]]]:
    """Merge clusters whose patterns could name a common resource (a `*` spanning families, e.g.
    `arn:aws:s3:::acme*` next to `arn:aws:s3:::acme-pii`): systems must not overlap."""
    clusters.sort(key=lambda c: (c[0].key, c[1]))
    parent = list(range(len(clusters)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    wild = [i for i, (_, _, patterns) in enumerate(clusters) if any("*" in p or "?" in p for p in patterns)]
    for i in wild:
        for j in range(len(clusters)):
            if i != j and find(i) != find(j) and any(
                    resources_intersect(a, b) for a in clusters[i][2] for b in clusters[j][2]):
                parent[max(find(i), find(j))] = min(find(i), find(j))
    merged: dict[int, tuple[_Family, str, dict[str, list[str]]]] = {}
    for i, (family, root, patterns) in enumerate(clusters):
        r = find(i)
        if r not in merged:
            merged[r] = (family, root, dict(patterns))
        else:
            for pattern, evidence in patterns.items():
                merged[r][2].setdefault(pattern, []).extend(evidence)
    return [merged[k] for k in sorted(merged)]


def _system(family: _Family, root: str, patterns: dict[str, list[str]],
            ai_vendors: frozenset[str]) -> DraftSystem:
    names = [root, *patterns]
    stem = root.split("*", 1)[0].strip(_SEPARATORS)
    name = slug(f"{family.label}-{stem}", family.label) if stem else family.label
    kind = _guess_kind(family, names)
    if family.key[:2] == ("azure", "delegated") and family.service in ai_vendors:
        kind = "ai-model"
    environment, environment_why = _guess_environment([root])
    classification, classification_why = _guess_classification(kind, [root])
    resources = sorted(patterns)[:MAX_RESOURCES_PER_SYSTEM]
    evidence = sorted({e for p in resources for e in patterns[p]})
    more = f" (+{len(evidence) - 2} more)" if len(evidence) > 2 else ""
    if len(patterns) > len(resources):
        more += f"; {len(patterns) - len(resources)} more patterns left out (limit {MAX_RESOURCES_PER_SYSTEM})"
    return DraftSystem(name=name, resources=resources, evidence="; ".join(evidence[:2]) + more, kind=kind,
                       environment=environment, environment_why=environment_why, classification=classification,
                       classification_why=classification_why)
