"""A drafted written policy before it becomes YAML: every entry with the evidence a reviewer checks."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DraftSystem:
    name: str
    resources: list[str]  # exactly the patterns seen in grants, sorted
    evidence: str  # which statement(s) of which identity named them
    kind: str | None = None
    environment: str | None = None
    environment_why: str = ""
    classification: str | None = None
    classification_why: str = ""


@dataclass
class DraftIdentity:
    id: str
    why: str  # how it calls AI models (a statement, a grant, or a chain)


@dataclass
class DraftReach:
    """One system an integration reaches today, and the first grant (or path) that lets it."""

    system: str
    access: str
    evidence: str


@dataclass
class DraftIntegration:
    name: str
    grouped_by: str  # "tag integration=x" or "identity role/x"
    identities: list[DraftIdentity]
    environment: str | None = None
    environment_why: str = ""
    owner: str | None = None
    owner_why: str = ""
    may_reach: list[DraftReach] = field(default_factory=list)
    static_keys: str | None = None  # "forbidden" when none of its identities holds an active static key
    static_keys_why: str = ""
    session: tuple[int, str] | None = None  # (minutes, role name): the longest role session allowed today
    unscoped: list[str] = field(default_factory=list)  # grants on every resource: no system drafted for them


@dataclass
class DraftSetting:
    key: str
    value: int | bool | str
    why: str


@dataclass
class Draft:
    credentials: list[DraftSetting]
    systems: list[DraftSystem]
    integrations: list[DraftIntegration]
    notes: list[str] = field(default_factory=list)  # caps hit, identities left out, and why
