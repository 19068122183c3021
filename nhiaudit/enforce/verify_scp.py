"""Verification of the AI-invocation SCP by re-analysis, with the evaluator's SCP caps (permissions/guardrails.py).

The copy of the snapshot holds the generated SCP attached at the root of every organisation the snapshot records
(next to what is attached there already: a root with no SCP recorded gets AWS's FullAWSAccess too, as AWS attaches
it when SCPs are enabled; an organisation whose SCP type is recorded as disabled has it enabled in the copy, and
the check says so). AWS accounts of the estate that no recorded organisation places are put in one synthetic
organisation whose root holds FullAWSAccess and the SCP: the check assumes they will be member accounts where the
SCP is attached, and says so. Each identity the plan tags gets its `nhiaudit:integration` tag in the copy.

Asserted on the re-analysis, with only the SCP and the tags applied (the boundaries have their own checks):
- every undeclared-AI finding of an AWS identity closes (a remaining one fails the check: in the management
  account, or a service-linked role, neither of which an SCP limits). A shadow identity that calls AI through a
  role chain is judged by AWS as the role at the chain's end: when that one is declared and tagged, the SCP
  lets it pass, so `ai-undeclared-via-chain` findings that stay are listed apart (no SCP can close them);
- every declared AWS identity of an integration allowed an AI model that can call AI models today still can
  (`broken` otherwise: the check fails). Access to `may_reach` systems the SCP lowers (a role chain through an
  undeclared identity it now stops) is `lost` and fails the check, as for boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from nhiaudit.analysis import Analysis, analyse
from nhiaudit.enforce.aws_scp import ai_integrations, tag_assignments
from nhiaudit.enforce.model import INTEGRATION_TAG, AccessChange, Guardrail, GuardrailCheck
from nhiaudit.enforce.verify import as_policy, level
from nhiaudit.facts.identity import ai_access
from nhiaudit.findings import Finding
from nhiaudit.inventory.model import Provider, Statement
from nhiaudit.inventory.organization import SCP, AwsOrganization, OrgAccount, OrgPolicy
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.policy.model import WrittenPolicy
from nhiaudit.rules_engine.loader import CompiledRule

UNDECLARED_AI = "undeclared-ai-identity"
VIA_CHAIN_RULE = "ai-undeclared-via-chain"
THROUGH_DECLARED = ("the SCP judges the identity at the chain's end, tagged as declared or one SCPs do not limit: "
                    "limit who can assume it, or give this one a boundary without sts:AssumeRole")
GENERATED_SCP_ID = "p-nhiaudit-enforce"
FULL_ACCESS_ID = "p-FullAWSAccess"
SYNTHETIC_ORG = "o-nhiaudit-assumed"
SYNTHETIC_ROOT = "r-nhiaudit-assumed"
_FULL_ACCESS = (Statement(effect="Allow", actions=("*",), resources=("*",)),)
_LISTED = 10


def _full_access(org_id: str, targets: tuple[str, ...]) -> OrgPolicy:
    arn = f"arn:aws:organizations::aws:policy/service_control_policy/{FULL_ACCESS_ID}"
    return OrgPolicy(id=FULL_ACCESS_ID, arn=arn,
                     name="FullAWSAccess", type=SCP, aws_managed=True, statements=_FULL_ACCESS, targets=targets)


def _generated(guardrail: Guardrail, org_id: str, targets: tuple[str, ...]) -> OrgPolicy:
    return OrgPolicy(id=GENERATED_SCP_ID, arn=f"arn:aws:organizations:::policy/{org_id}/{GENERATED_SCP_ID}",
                     name=guardrail.name, type=SCP, statements=as_policy(guardrail).statements, targets=targets)


def _with_scp(org: AwsOrganization, guardrail: Guardrail, notes: list[str]) -> AwsOrganization:
    roots = tuple(sorted({a.parents[0] for a in org.accounts if a.parents}))
    if not roots:
        notes.append(f"organisation {org.id}: no account's place is recorded, so the SCP could not be attached")
        return org
    policies = list(org.policies)
    bare = tuple(r for r in roots if not any(p.type == SCP and r in p.targets for p in policies))
    if bare:
        full = next((p for p in policies if p.id == FULL_ACCESS_ID), None)
        if full is None:
            policies.append(_full_access(org.id, bare))
        else:
            policies = [p.model_copy(update={"targets": tuple(sorted({*p.targets, *bare}))}) if p is full else p
                        for p in policies]
    policies.append(_generated(guardrail, org.id, roots))
    enabled = org.enabled_types
    if enabled is not None and SCP not in enabled:
        notes.append(f"organisation {org.id}: SCPs are not enabled; checked as if they were (enable them first)")
        enabled = tuple(sorted({*enabled, SCP}))
    notes.append(f"the SCP attached at the root of organisation {org.id} ({', '.join(roots)})")
    return org.model_copy(update={"policies": tuple(sorted(policies, key=lambda p: p.id)), "enabled_types": enabled})


def with_scp(snapshot: Snapshot, guardrail: Guardrail, tags: dict[str, str]) -> tuple[Snapshot, list[str]]:
    """A copy of the snapshot with the SCP attached and the tags applied, and what was assumed to do so."""
    notes: list[str] = []
    orgs = [_with_scp(o, guardrail, notes) for o in snapshot.aws_organizations]
    # A management account is never limited, whether or not its place is recorded.
    placed = {a.account for o in snapshot.aws_organizations for a in o.accounts} | {
        o.management_account for o in snapshot.aws_organizations if o.management_account}
    loose = sorted({i.account for i in snapshot.identities if i.provider is Provider.AWS} - placed)
    if loose:
        accounts = tuple(OrgAccount(account=a, parents=(SYNTHETIC_ROOT,)) for a in loose)
        orgs.append(AwsOrganization(id=SYNTHETIC_ORG, enabled_types=(SCP,), accounts=accounts, policies=(
            _full_access(SYNTHETIC_ORG, (SYNTHETIC_ROOT,)), _generated(guardrail, SYNTHETIC_ORG, (SYNTHETIC_ROOT,)))))
        shown = ", ".join(loose[:_LISTED]) + (f" (+{len(loose) - _LISTED} more)" if len(loose) > _LISTED else "")
        notes.append(f"account(s) {shown} in no recorded organisation: taken as member accounts with the SCP "
                     "attached at their root")
    identities = [i.model_copy(update={"tags": {**i.tags, INTEGRATION_TAG: tags[i.id]}}) if i.id in tags else i
                  for i in snapshot.identities]
    return snapshot.model_copy(update={"identities": identities, "aws_organizations": orgs}), notes


def _management_notes(snapshot: Snapshot, before: Analysis) -> list[str]:
    managers = {o.management_account for o in snapshot.aws_organizations if o.management_account}
    declared = sorted(iid for iid in before.estate.bindings
                      if (i := before.estate.identities.get(iid)) is not None and i.provider is Provider.AWS
                      and i.account in managers)
    if not declared:
        return []
    return [f"SCPs never limit the management account: {', '.join(declared[:_LISTED])} "
            f"{'is' if len(declared) == 1 else 'are'} declared there and not limited by it either way"]


def _undeclared_ai(findings: list[Finding]) -> dict[str, Finding]:
    return {f.fingerprint: f for f in findings if f.category.value == UNDECLARED_AI and f.identity is not None
            and f.identity.provider == Provider.AWS.value}


def _text(f: Finding) -> str:
    return f"{f.rule_id}: {f.message}"


@dataclass(frozen=True)
class ScpVerification:
    """The `ScpVerifier` of verify.py: analyses the estate again with the SCP and the tags applied."""

    as_of: date
    rules: list[CompiledRule]

    def __call__(self, snapshot: Snapshot, policy: WrittenPolicy, guardrail: Guardrail,
                 before: Analysis) -> GuardrailCheck:
        tags = {t.identity_id: t.value for t in tag_assignments(policy, before.estate.bindings,
                                                                 before.estate.identities)}
        applied, notes = with_scp(snapshot, guardrail, tags)
        notes += _management_notes(snapshot, before)
        after = analyse(applied, policy, self.as_of, self.rules)
        old, new = _undeclared_ai(before.findings), _undeclared_ai(after.findings)
        shadow = sorted({f.identity.id for f in old.values() if f.identity is not None})
        models = sorted(n for n, s in policy.systems.items() if (s.kind or "").lower() == "ai-model")
        removed = [AccessChange(iid, system, *_change(before, after, iid, system)) for iid in shadow
                   for system in models if _lowered(before, after, iid, system)]
        return GuardrailCheck(
            guardrail=guardrail.name, closed=tuple(sorted(_text(f) for k, f in old.items() if k not in new)),
            remaining=tuple(sorted(_text(f) for f in new.values() if f.rule_id != VIA_CHAIN_RULE)),
            unclosable=tuple(sorted(f"{_text(f)} ({THROUGH_DECLARED})" for f in new.values()
                                    if f.rule_id == VIA_CHAIN_RULE)),
            removed=tuple(removed), lost=tuple(_lost(policy, before, after)),
            broken=tuple(_broken(policy, before, after)),
            note="; ".join(notes) or None)


def _aws_declared(policy: WrittenPolicy, before: Analysis) -> list[tuple[str, list[str]]]:
    return [(iid, sorted(set(names))) for iid, names in sorted(before.estate.bindings.items())
            if (i := before.estate.identities.get(iid)) is not None and i.provider is Provider.AWS]


def _lost(policy: WrittenPolicy, before: Analysis, after: Analysis) -> list[AccessChange]:
    """Access of declared identities to their may_reach systems the SCP lowers (a chain through an undeclared
    identity the SCP now stops, for instance)."""
    by_name = {i.name: i for i in policy.integrations}
    out = []
    for iid, names in _aws_declared(policy, before):
        entries = [by_name[n] for n in names if n in by_name]
        may = sorted({s for i in entries for s in i.may_reach if not any(s in j.must_not_reach for j in entries)})
        out += [AccessChange(iid, system, *_change(before, after, iid, system)) for system in may
                if _lowered(before, after, iid, system)]
    return out


def _broken(policy: WrittenPolicy, before: Analysis, after: Analysis) -> list[str]:
    """Declared identities of integrations allowed an AI model that could call one before and cannot after."""
    allowed = set(ai_integrations(policy))
    out = []
    for iid, names in _aws_declared(policy, before):
        now = after.estate.identities.get(iid)
        if not allowed & set(names) or now is None:
            continue
        if ai_access(before.context, before.estate.identities[iid]) and not ai_access(after.context, now):
            out.append(f"{iid} ({', '.join(sorted(allowed & set(names)))}) can no longer call AI models")
    return out


def _lowered(before: Analysis, after: Analysis, identity_id: str, system: str) -> bool:
    was, was_rank, _ = level(before, identity_id, system)
    _, now_rank, _ = level(after, identity_id, system)
    return was is not None and now_rank < was_rank


def _change(before: Analysis, after: Analysis, identity_id: str,
            system: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    was, _, chain = level(before, identity_id, system)
    now, _, _ = level(after, identity_id, system)
    return was, now, chain
