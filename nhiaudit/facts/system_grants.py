"""The grants behind an identity's reach to a system: which identity holds them (the end of a chain) and
which statements allow it. One view for the facts that judge grants (require_conditions), the policy
draft's review comments, and anything that rewrites grants."""

from __future__ import annotations

from dataclasses import dataclass

from nhiaudit.facts.context import FactContext
from nhiaudit.facts.memo import memo
from nhiaudit.graph.model import identity_node
from nhiaudit.permissions.results import Reach, StatementEvidence


@dataclass(frozen=True)
class SystemGrant:
    """How `identity_id` reaches `system`: through `holder` (itself, or the identity at the end of its
    shortest chain), whose `statements` allow it; `delegated` names a delegated grant instead."""

    identity_id: str
    system: str
    access: str
    holder: str
    path: tuple[str, ...]
    statements: tuple[StatementEvidence, ...]
    delegated: str | None = None

    @property
    def first_reason(self) -> str:
        if self.statements:
            return self.statements[0].reason
        return self.delegated or (self.path[-1] if self.path else "")


def _direct_grants(ctx: FactContext) -> dict[tuple[str, str], Reach | str]:
    """(identity id, system) -> the permission result (or delegated grant text) of its direct edge."""
    out: dict[tuple[str, str], Reach | str] = {}
    for identity_id, system, _key, _level, reason, source in ctx.estate.reach_edges:
        if isinstance(source, Reach):
            out[(identity_id, system)] = source
        else:
            out.setdefault((identity_id, system), reason)
    return out


def system_grant(ctx: FactContext, identity_id: str, system: str) -> SystemGrant | None:
    """The grant behind the identity's reach to the system (None: it does not reach it)."""
    found = ctx.reach.reach(identity_id, system)
    if found is None:
        return None
    holder_node = found.hops[-1].source
    holder = holder_node.removeprefix(identity_node(""))
    direct = memo(ctx, "direct_grants", lambda: _direct_grants(ctx)).get((holder, system))
    statements = direct.statements if isinstance(direct, Reach) else ()
    delegated = direct if isinstance(direct, str) else None
    return SystemGrant(identity_id=identity_id, system=system, access=found.access.value, holder=holder,
                       path=tuple(found.path_text()), statements=statements, delegated=delegated)
