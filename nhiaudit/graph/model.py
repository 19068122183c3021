"""Node and edge vocabulary of the estate graph. Every edge carries a kind and a human reason."""

from __future__ import annotations

from enum import StrEnum


class NodeKind(StrEnum):
    IDENTITY = "identity"
    CREDENTIAL = "credential"
    WORKLOAD = "workload"
    SYSTEM = "system"
    INTEGRATION = "integration"
    EXTERNAL_PRINCIPAL = "external_principal"  # a trusted principal outside the inventory ("*", other account)
    ACCOUNT_PRINCIPAL = "account_principal"  # "any principal of account A with permission" (AWS root trust)


class EdgeKind(StrEnum):
    AUTHENTICATES = "authenticates"  # credential -> identity
    CAN_ASSUME = "can_assume"  # identity -> identity (AWS role assumption)
    CAN_IMPERSONATE = "can_impersonate"  # identity -> identity (GCP token creator, Entra owner)
    CAN_REACH = "can_reach"  # identity -> system, with an access level
    RUNS_AS = "runs_as"  # workload -> identity
    BOUND_TO = "bound_to"  # integration -> identity
    TRUSTED_BY = "trusted_by"  # external principal -> identity (risky trust, for display)


ACT_AS_EDGES = frozenset({EdgeKind.CAN_ASSUME, EdgeKind.CAN_IMPERSONATE})


class AccessLevel(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _ACCESS_RANK[self]


_ACCESS_RANK = {AccessLevel.READ: 1, AccessLevel.WRITE: 2, AccessLevel.ADMIN: 3}


def identity_node(identity_id: str) -> str:
    return f"identity:{identity_id}"


def credential_node(identity_id: str, credential_id: str) -> str:
    return f"credential:{identity_id}:{credential_id}"


def workload_node(workload_id: str) -> str:
    return f"workload:{workload_id}"


def system_node(name: str) -> str:
    return f"system:{name}"


def integration_node(name: str) -> str:
    return f"integration:{name}"


def external_node(principal: str) -> str:
    return f"external:{principal}"


def account_principal_node(root_arn: str) -> str:
    return f"principal:{root_arn}"
