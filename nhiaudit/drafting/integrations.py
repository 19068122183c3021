"""Which identities a drafted policy declares, and how they are grouped into integrations.

AI-capable means what the undeclared-AI rules mean, so the draft declares exactly what they would report:
an identity with explicit AI permissions or an AI vendor grant (ai-undeclared), or one that reaches such an
identity through role assumption / impersonation and has no AI access of its own (ai-undeclared-via-chain).
Disabled identities and identities whose only AI access is a full `*` (reported as overbroad, not as
shadow AI) are left out.

Grouping (predictable): the identity's own tag `integration` / `app` / `application` (also
`nhiaudit:integration`), else the one `integration` tag all its workloads carry, else the identity alone,
named after it; only when that gives more integrations than the draft's limit, untagged identities of one
account and kind that share a name stem (`invoice-bot-prod-07` -> `invoice-bot`) form one integration.
The integration name is the tag value or identity name as it is, so findings that compare workload tags
with integration names agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nhiaudit.drafting.model import DraftIdentity
from nhiaudit.drafting.yaml_text import clip, unique_names
from nhiaudit.facts.context import FactContext
from nhiaudit.facts.escalation import estate_analysis
from nhiaudit.facts.identity import ai_access
from nhiaudit.facts.reuse import workload_integration
from nhiaudit.inventory.model import Identity

_STEM_SPLIT = re.compile(r"[^a-z0-9]+")
_ENV_WORDS = frozenset({"prod", "production", "prd", "staging", "stage", "stg", "dev", "development", "test", "qa",
                        "uat", "sandbox", "live"})
GROUP_TAG_KEYS = ("integration", "Integration", "nhiaudit:integration", "app", "App", "application",
                  "Application")
MAX_NAME_CHARS = 200


@dataclass
class IdentityGroup:
    name: str
    grouped_by: str
    identities: list[tuple[Identity, DraftIdentity]]
    from_tag: bool


def ai_identities(ctx: FactContext) -> list[tuple[Identity, DraftIdentity]]:
    """The identities the undeclared-AI rules would report with an empty policy, with how each calls AI."""
    analysis = estate_analysis(ctx)
    out = []
    for identity in sorted(ctx.estate.identities.values(), key=lambda i: i.id):
        if identity.disabled:
            continue
        access = ai_access(ctx, identity)
        explicit = [a for a in access if not a["wildcard_only"]]
        if explicit:
            out.append((identity, DraftIdentity(identity.id, f"calls AI models: {explicit[0]['reason']}")))
            continue
        if access:  # AI only through `*`: overbroad, not declared shadow AI
            continue
        found = analysis.ai_chains.path(identity.id)
        if found is not None:
            target, hops = found
            name = ctx.estate.identities[target].name
            out.append((identity, DraftIdentity(
                identity.id, f"calls AI models as {name} ({len(hops)} hop(s)): {hops[0]}")))
    return out


def _group_key(ctx: FactContext, identity: Identity) -> tuple[str, str] | None:
    for key in GROUP_TAG_KEYS:
        value = identity.tags.get(key, "").strip()
        if value:
            return value, f"tag {key}={value}"
    tagged = {workload_integration(w) for w in ctx.workloads_by_identity.get(identity.id, [])} - {""}
    if len(tagged) == 1:
        value = tagged.pop()
        return value, f"its workloads' tag integration={value}"
    return None


def name_stem(name: str) -> str:
    """`invoice-bot-prod-07` -> `invoice-bot`: the name without trailing numbers and environment words."""
    parts = [p for p in _STEM_SPLIT.split(name.lower().split("@", 1)[0]) if p]
    while len(parts) > 1 and (parts[-1].isdigit() or parts[-1] in _ENV_WORDS):
        parts.pop()
    stem = "-".join(parts)
    return stem.rstrip("0123456789") or stem


def _by_stem(alone: list[IdentityGroup]) -> list[IdentityGroup]:
    """Untagged identities of one account and kind sharing a name stem, as one group."""
    merged: dict[tuple[str, str, str], IdentityGroup] = {}
    accounts: dict[tuple[str, str], set[str]] = {}
    for group in alone:
        identity = group.identities[0][0]
        stem = name_stem(identity.name) or identity.name
        key = (stem, identity.kind.value, identity.account)
        if key not in merged:
            merged[key] = IdentityGroup(stem, f"name stem {stem!r} ({identity.kind.value}s of account "
                                        f"{identity.account}; more integrations than the draft's limit)", [], False)
            accounts.setdefault(key[:2], set()).add(identity.account)
        merged[key].identities.extend(group.identities)
    for (stem, kind, account), group in merged.items():  # one stem in several accounts: the account says which
        name = f"{stem}-{kind}" if len({k for k in merged if k[0] == stem}) > len(accounts[(stem, kind)]) else stem
        group.name = clip(f"{name}-{account}" if len(accounts[(stem, kind)]) > 1 else name, MAX_NAME_CHARS)
    return list(merged.values())


def group_identities(ctx: FactContext, picked: list[tuple[Identity, DraftIdentity]],
                     limit: int | None = None) -> list[IdentityGroup]:
    """Integrations for the picked identities, sorted by name (see the module docstring). With more groups
    than `limit`, untagged identities are grouped harder: by account, kind and name stem."""
    by_tag: dict[str, IdentityGroup] = {}
    alone: list[IdentityGroup] = []
    for identity, draft in picked:
        key = _group_key(ctx, identity)
        if key is None:
            alone.append(IdentityGroup(clip(identity.name, MAX_NAME_CHARS) or identity.id[:MAX_NAME_CHARS],
                                       f"identity {identity.kind.value} {identity.name}", [(identity, draft)],
                                       False))
            continue
        value, how = key
        group = by_tag.setdefault(value, IdentityGroup(clip(value, MAX_NAME_CHARS), how, [], True))
        group.identities.append((identity, draft))
    tagged = sorted(by_tag.values(), key=lambda g: g.name)
    if limit is not None and len(tagged) + len(alone) > limit:
        alone = _by_stem(alone)
    alone.sort(key=lambda g: (g.name, g.identities[0][0].id))
    groups = tagged + alone  # tag names first: they keep their exact value when a name is wanted twice
    for group, name in zip(groups, unique_names([g.name for g in groups]), strict=True):
        group.name = name
    for group in groups:
        group.identities.sort(key=lambda pair: pair[0].id)
    return sorted(groups, key=lambda g: g.name)
