"""Is an identity used by a person or by software? An explainable answer: human, nhi or unknown.

`classify` is a pure function of the identity, its credentials, the trusts naming it, the workloads running
as it, the integrations listing it and what the written policy says; it never looks at permissions. The
first step that decides wins:

1. **policy** (`source: policy`): listed under an integration's `identities` -> nhi; matched by the
   top-level `humans:` list -> human. Listed in both -> nhi (an integration is software), with both reasons.
2. **tag** (`source: tag`): `defaults.classification.tags` maps a tag key to the values meaning human and
   the values meaning nhi (keys and values compared case-insensitively, values trimmed). Built in, when the
   policy does not set it: `kind: {human: [human, person], nhi: [workload, service, bot, machine]}`.
   Tags pointing both ways decide nothing: their reasons are kept and the next steps decide.
3. **kind** (`source: kind`): AWS roles, GCP service accounts, Azure service principals, managed
   identities and applications -> nhi; except AWS roles people sign in to: IAM Identity Center roles (path
   `/aws-reserved/sso.amazonaws.com/` or name `AWSReservedSSO_*`) and roles trusted only by SAML
   providers -> human.
4. **workload** (`source: signals`): a workload runs as it -> nhi.
5. **signals** (`source: signals`, IAM users only), see `user_signals`. Signals of one side only decide;
   signals of both sides, or none, leave the identity `unknown` (`source: signals` or `none`).

Names are attacker-controlled: they are read once, character by character, up to MAX_NAME_CHARS (no
regular expression), and only words nhiaudit itself knows are quoted back in reasons.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nhiaudit.inventory.model import (
    STATIC_CREDENTIAL_TYPES,
    Credential,
    HumanUse,
    Identity,
    IdentityKind,
    Trust,
    TrustKind,
    Workload,
)
from nhiaudit.policy.model import WrittenPolicy

HUMAN, NHI, UNKNOWN = "human", "nhi", "unknown"
MAX_NAME_CHARS = 256  # IAM user names are at most 64; anything longer is not read further
MAX_SHOWN = 64  # longest estate value (a service name) quoted in a reason

# Whole name tokens typical of software. Names are split on every non-alphanumeric character (`.-_@`, ...),
# on camelCase and acronym boundaries and between letters and digits (`svc01` -> `svc`, `01`), lower-cased.
# Chosen so a person's name or initials cannot match: no short words people are called (`sa`, `chef`),
# nothing a human account is also named after (`admin`, `test`, `audit`, `ops`).
NHI_NAME_TOKENS = frozenset({
    # what it is
    "bot", "bots", "robot", "svc", "service", "services", "srv", "daemon", "machine", "system", "sys",
    "app", "application", "api", "agent", "integration", "automation", "automated", "noreply", "nhi",
    # what it does
    "ci", "cd", "cicd", "deploy", "deployer", "deployment", "pipeline", "etl", "elt", "sync", "syncer",
    "runner", "job", "jobs", "batch", "cron", "scheduler", "worker", "lambda", "scanner", "crawler",
    "scraper", "backup", "monitor", "monitoring", "metrics", "logger", "logging", "exporter", "importer",
    "loader", "uploader", "ingest", "ingestion", "replication", "replicator", "webhook", "smtp", "sftp",
    # the tools that typically hold keys
    "terraform", "tf", "jenkins", "github", "gitlab", "bitbucket", "circleci", "travis", "argocd",
    "spinnaker", "ansible", "packer", "airflow", "dbt", "k8s", "kubernetes", "eks", "ecs", "ec2", "docker",
    "prometheus", "grafana", "datadog", "splunk", "newrelic", "sentry", "pagerduty", "snowflake",
})

# The tag rule used when the policy sets no `defaults.classification.tags`.
BUILTIN_CLASSIFICATION_TAGS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "kind": {"human": ("human", "person"), "nhi": ("workload", "service", "bot", "machine")},
}

SSO_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"
SSO_ROLE_PREFIX = "AWSReservedSSO_"
_KIND_NHI = {
    IdentityKind.ROLE: "an IAM role",
    IdentityKind.SERVICE_ACCOUNT: "a GCP service account",
    IdentityKind.SERVICE_PRINCIPAL: "an Entra ID service principal",
    IdentityKind.MANAGED_IDENTITY: "an Azure managed identity",
    IdentityKind.APPLICATION: "an Entra ID application",
}


@dataclass(frozen=True)
class Classification:
    cls: str  # human | nhi | unknown
    source: str  # policy | tag | kind | signals | none
    reasons: tuple[str, ...]

    def as_fact(self) -> dict[str, Any]:
        """The `subject.classification` fact."""
        return {"class": self.cls, "source": self.source, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class TagRules:
    """`defaults.classification.tags`, prepared once per scan: casefolded key -> (human values, nhi values)."""

    by_key: Mapping[str, tuple[frozenset[str], frozenset[str]]]

    @classmethod
    def from_policy(cls, policy: WrittenPolicy) -> TagRules:
        configured = policy.defaults.classification.tags
        if configured is None:
            raw: Iterable[tuple[str, Iterable[str], Iterable[str]]] = (
                (k, v["human"], v["nhi"]) for k, v in BUILTIN_CLASSIFICATION_TAGS.items())
        else:
            raw = ((k, v.human, v.nhi) for k, v in configured.items())
        by_key: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        for key, human, nhi in raw:
            old_h, old_n = by_key.get(_fold(key), (frozenset(), frozenset()))
            by_key[_fold(key)] = (old_h | {_fold(v) for v in human}, old_n | {_fold(v) for v in nhi})
        return cls(by_key)


def _fold(text: str) -> str:
    return text.strip().casefold()


def _shown(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


# --- names -----------------------------------------------------------------------------------------------


def name_tokens(name: str) -> list[str]:
    """`CIDeployer-svc01` -> [ci, deployer, svc, 01]: one pass over at most MAX_NAME_CHARS characters."""
    text = name[:MAX_NAME_CHARS]
    tokens: list[str] = []
    current: list[str] = []
    prev = ""  # class of the previous character: l(ower), u(pper), d(igit); "" after a separator
    for i, ch in enumerate(text):
        if ch.isdigit():
            kind = "d"
        elif ch.isalpha():
            kind = "u" if ch.isupper() else "l"
        else:
            if current:
                tokens.append("".join(current).lower())
                current = []
            prev = ""
            continue
        nxt = text[i + 1] if i + 1 < len(text) else ""
        boundary = bool(current) and (
            (kind == "d") != (prev == "d")  # letters | digits
            or (prev == "l" and kind == "u")  # camel | Case
            or (prev == "u" and kind == "u" and nxt.isalpha() and nxt.islower())  # CI | Deployer
        )
        if boundary:
            tokens.append("".join(current).lower())
            current = []
        current.append(ch)
        prev = kind
    if current:
        tokens.append("".join(current).lower())
    return tokens


def _email_local_part(name: str) -> str | None:
    """The local part when the name is an e-mail address (`a.b@acme.example`), else None."""
    local, at, domain = name.partition("@")
    if not at or not local or "@" in domain:
        return None
    labels = domain.split(".")
    if len(labels) < 2 or not all(label and label.replace("-", "").isalnum() for label in labels):
        return None
    return local


def _first_last(name: str) -> bool:
    """`alice.patel`, `j.smith`, `mary-jane.van.dyke`: 2 to 4 alphabetic parts separated by dots."""
    parts = name.split(".")
    return 2 <= len(parts) <= 4 and all(p and p.replace("-", "").replace("'", "").isalpha() for p in parts)


def name_signal(name: str) -> tuple[str, str] | None:
    """(side, reason) from the shape of a name: a software word (nhi), else an e-mail address or a
    first.last name (human). A person-shaped name holding a software word (`deploy.bot`) is software."""
    text = name[:MAX_NAME_CHARS]
    local = _email_local_part(text)
    words = [t for t in dict.fromkeys(name_tokens(local if local is not None else text)) if t in NHI_NAME_TOKENS]
    if words:
        return NHI, "name has the software word(s) " + ", ".join(words[:3])
    if local is not None:
        return HUMAN, "name is an e-mail address"
    if _first_last(text):
        return HUMAN, "name is shaped like first.last"
    return None


# --- steps -----------------------------------------------------------------------------------------------


def _tag_votes(identity: Identity, rules: TagRules) -> tuple[list[str], list[str]]:
    human: list[str] = []
    nhi: list[str] = []
    for key, value in sorted(identity.tags.items()):
        hit = rules.by_key.get(_fold(key))
        if hit is None:
            continue
        folded = _fold(value)
        # Only values the policy names are quoted back, so the reason holds no unbounded estate text.
        if folded in hit[0]:
            human.append(f"tag {_fold(key)}={folded}")
        if folded in hit[1]:
            nhi.append(f"tag {_fold(key)}={folded}")
    return human, nhi


def human_sign_in_role(identity: Identity, trusts: Sequence[Trust]) -> str | None:
    """Why an AWS role is one people sign in to (IAM Identity Center, SAML federation), or None."""
    if identity.attributes.get("path", "").startswith(SSO_ROLE_PATH) or identity.name.startswith(SSO_ROLE_PREFIX):
        return "an IAM Identity Center (SSO) role people sign in to"
    acting = [t for t in trusts if t.kind is not TrustKind.OWNER]
    if acting and all(t.kind is TrustKind.FEDERATED and ":saml-provider/" in t.principal for t in acting):
        providers = sorted({t.principal.rsplit("/", 1)[-1] for t in acting})
        return "trusted only by SAML provider(s) " + ", ".join(_shown(p) for p in providers[:3])
    return None


def _kind_step(identity: Identity, trusts: Sequence[Trust]) -> Classification | None:
    if identity.kind is IdentityKind.ROLE:
        human = human_sign_in_role(identity, trusts)
        if human:
            return Classification(HUMAN, "kind", (human,))
    what = _KIND_NHI.get(identity.kind)
    return Classification(NHI, "kind", (what,)) if what else None


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _days_ago(now: datetime, when: datetime) -> str:
    days = max(0, (now - _aware(when)).days)
    return "today" if days == 0 else ("1 day ago" if days == 1 else f"{days} days ago")


def _key_use(cred: Credential, now: datetime) -> str:
    label = cred.type.value.replace("_", " ")
    if cred.last_used is None:
        return f"active {label} never used"
    service = f" by {_shown(cred.last_used_service)}" if cred.last_used_service else ""
    return f"{label} used{service} {_days_ago(now, cred.last_used)}"


def user_signals(identity: Identity, credentials: Sequence[Credential],
                 now: datetime) -> tuple[list[str], list[str]]:
    """(human reasons, nhi reasons) of an IAM user.

    nhi: a software word in the name; an active static credential and no console password (how software
    uses IAM users). human: an e-mail or first.last name; an active MFA device; a console password and no
    active static credential (how people use IAM users).

    A console password next to an active key is no signal either way: people with a CLI key and software
    someone also signs in with both look like that, and the second is exactly what `human-use-of-nhi`
    reports, so counting the password (or its use) as human would make that rule cancel itself.
    """
    human: list[str] = []
    nhi: list[str] = []
    by_name = name_signal(identity.name)
    if by_name:
        (human if by_name[0] == HUMAN else nhi).append(by_name[1])
    use = identity.human_use or HumanUse()
    keys = [c for c in credentials if c.type in STATIC_CREDENTIAL_TYPES and c.managed_by == "user" and c.active]
    # The most recently used key tells best what the user is for.
    keys.sort(key=lambda c: c.id)
    keys.sort(key=lambda c: _aware(c.last_used) if c.last_used else now.replace(year=1), reverse=True)
    if use.mfa_active:
        human.append("MFA device active")
    if use.console_password and not keys:
        used = f"used {_days_ago(now, use.password_last_used)}" if use.password_last_used else "never used"
        human.append(f"console password ({used}) and no active access key")
    elif keys and not use.console_password:
        nhi.append(f"{_key_use(keys[0], now)}, no console password")
    return human, nhi


def classify(identity: Identity, credentials: Sequence[Credential], trusts: Sequence[Trust],
             workloads: Sequence[Workload], integrations: Sequence[str], tag_rules: TagRules, now: datetime,
             humans: Sequence[str] = ()) -> Classification:
    """Human, nhi or unknown, with the step that decided and why (module docstring).

    `integrations`: names of the integrations listing the identity; `humans`: the `humans:` entries of the
    policy matching it (both resolved once per scan by the policy's identity matcher); `trusts`: the trust
    records naming it as the identity acted as.
    """
    listed = [f"listed under integration {_shown(name)}" for name in integrations[:3]]
    if len(integrations) > 3:
        listed.append(f"and {len(integrations) - 3} more integration(s)")
    people = [f"listed under humans: {_shown(entry)}" for entry in humans[:1]]
    if listed:
        return Classification(NHI, "policy", tuple(listed + people))
    if people:
        return Classification(HUMAN, "policy", tuple(people))

    human_tags, nhi_tags = _tag_votes(identity, tag_rules)
    if human_tags and not nhi_tags:
        return Classification(HUMAN, "tag", tuple(human_tags))
    if nhi_tags and not human_tags:
        return Classification(NHI, "tag", tuple(nhi_tags))
    conflict = (f"conflicting tags: {', '.join(human_tags)} (human), {', '.join(nhi_tags)} (nhi)",) \
        if human_tags else ()

    by_kind = _kind_step(identity, trusts)
    if by_kind is not None:
        return Classification(by_kind.cls, by_kind.source, conflict + by_kind.reasons)
    if workloads:
        first = workloads[0]
        return Classification(NHI, "signals", (*conflict, f"{_shown(first.kind)} {_shown(first.name)} runs as it"))
    if identity.kind is not IdentityKind.USER:
        return Classification(UNKNOWN, "none", conflict or ("no policy entry, tag or kind decides",))

    human, nhi = user_signals(identity, credentials, now)
    if human and not nhi:
        return Classification(HUMAN, "signals", (*conflict, *human))
    if nhi and not human:
        return Classification(NHI, "signals", (*conflict, *nhi))
    if human:
        return Classification(UNKNOWN, "signals", (*conflict, *(f"human: {r}" for r in human),
                                                   *(f"nhi: {r}" for r in nhi)))
    return Classification(UNKNOWN, "none", (*conflict, "no policy entry, tag or signal decides"))
