"""Reuse and environments: which integrations an identity serves, which environments it belongs to,
and which systems of another environment it reaches."""

from __future__ import annotations

import re
from typing import Any

from nhiaudit.facts.context import ENVIRONMENT_TAG_KEYS
from nhiaudit.graph.model import AccessLevel
from nhiaudit.graph.reach import SystemReach
from nhiaudit.inventory.model import Identity, Workload
from nhiaudit.policy.model import Integration
from nhiaudit.work_counter import count

_RANK = {level.value: level.rank for level in AccessLevel}
INTEGRATION_TAG_KEYS = ("integration", "Integration", "nhiaudit:integration")
_SPLIT = re.compile(r"[,;/+\s]+")


def workload_integration(workload: Workload) -> str:
    return next((workload.tags[k] for k in INTEGRATION_TAG_KEYS if workload.tags.get(k)), "")


def served_integrations(integrations: list[Integration], workloads: list[Workload]) -> list[str]:
    """Integrations that list the identity, plus those its workloads are tagged for."""
    names = {i.name for i in integrations}
    names.update(n for n in (workload_integration(w) for w in workloads) if n)
    return sorted(names)


def tag_environments(tags: dict[str, str]) -> list[str]:
    return [v for k in ENVIRONMENT_TAG_KEYS if tags.get(k) for v in _SPLIT.split(tags[k].strip().lower()) if v]


def environment_sources(identity: Identity, integrations: list[Integration],
                        workloads: list[Workload]) -> tuple[dict[str, str], ...]:
    """Every place that assigns the identity an environment: its tags, its integrations, its workloads.
    (Tuples of flat dicts: the garbage collector need not track them, which matters at 100k identities.)"""
    count("reuse.per_identity", len(integrations) + len(workloads))
    out = [{"environment": env, "source": "tag"} for env in tag_environments(identity.tags)]
    out += [{"environment": i.environment.lower(), "source": f"integration {i.name}"}
            for i in integrations if i.environment]
    out += [{"environment": env, "source": f"workload {w.kind}:{w.name}"}
            for w in workloads for env in tag_environments(w.tags)]
    return tuple(out)


def environment_crossing(entry: dict[str, Any], environments: list[str]) -> bool:
    """A reached system of a declared environment the identity does not belong to."""
    return bool(entry["environment"]) and bool(environments) and entry["environment"] not in environments


def add_crossing(crossings: dict[str, dict[str, Any]], entry: dict[str, Any], reach: SystemReach) -> None:
    """Group crossings per foreign environment: systems, highest access, and the path to the first one."""
    env = entry["environment"]
    current = crossings.get(env)
    if current is None:
        crossings[env] = {"environment": env, "systems": (entry["system"],), "access": entry["access"],
                          "via_chain": reach.via_chain, "path": tuple(reach.path_text()), "key": env}
        return
    current["systems"] += (entry["system"],)
    if _RANK[entry["access"]] > _RANK[current["access"]]:
        current["access"] = entry["access"]
    current["via_chain"] = current["via_chain"] or reach.via_chain
