"""The privilege-escalation catalogue (rules/data/privilege_escalation.yaml): techniques as data."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nhiaudit.errors import InputError, InputProblem, SourceLocation
from nhiaudit.inventory.model import Provider
from nhiaudit.limits import MAX_RULE_BYTES, read_text_limited


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetSpec(_Strict):
    """Whose privileges a technique yields, selected by the resources of the `via` action's grant."""

    type: Literal["passed_role", "principal", "workload"]
    via: str = Field(min_length=1, description="The action whose allowed resources select the targets.")
    service: str | None = Field(None, description="passed_role: the service principal the role must trust.")
    kinds: tuple[str, ...] = Field((), description="principal: identity kinds that can be targets.")
    workload_kinds: tuple[str, ...] = Field((), description="workload: workload kinds whose identity is a target.")

    @model_validator(mode="after")
    def _complete(self) -> TargetSpec:
        if self.type == "passed_role" and not self.service:
            raise ValueError("a passed_role target needs `service`")
        if self.type == "principal" and not self.kinds:
            raise ValueError("a principal target needs `kinds`")
        if self.type == "workload" and not self.workload_kinds:
            raise ValueError("a workload target needs `workload_kinds`")
        return self


class Technique(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    title: str = Field(min_length=1)
    requires: tuple[str, ...] = Field(min_length=1, description="Every action must be allowed.")
    resources: dict[str, str] = Field(default_factory=dict, description="action -> resource it must be allowed on")
    target: TargetSpec | None = None
    how: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Technique:
        if self.target and self.target.via not in self.requires:
            raise ValueError(f"target.via {self.target.via} is not in requires")
        unknown = set(self.resources) - set(self.requires)
        if unknown:
            raise ValueError(f"resources name actions not in requires: {sorted(unknown)}")
        return self


class EscalationCatalogue(_Strict):
    by_provider: dict[Provider, tuple[Technique, ...]]

    def techniques(self, provider: Provider) -> tuple[Technique, ...]:
        return self.by_provider.get(provider, ())

    def actions(self) -> frozenset[str]:
        return frozenset(a for ts in self.by_provider.values() for t in ts for a in t.requires)


def default_catalogue_path() -> Path:
    from nhiaudit.rules_engine.loader import shipped_rules_dir

    return shipped_rules_dir() / "data" / "privilege_escalation.yaml"


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=4)
def technique_lines(text: str) -> dict[tuple[str, int], int]:
    """(provider, index) -> 1-based line of each technique, for error messages."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    out: dict[tuple[str, int], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(value, yaml.SequenceNode):
                for i, item in enumerate(value.value):
                    out[(key.value, i)] = item.start_mark.line + 1
    return out


def load_escalation_catalogue(path: Path | None = None) -> EscalationCatalogue:
    source = path or default_catalogue_path()
    text = read_text_limited(source, MAX_RULE_BYTES, "privilege-escalation catalogue")
    try:
        data = yaml.load(text, Loader=_LOADER) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError.single(source, f"YAML syntax error: {getattr(exc, 'problem', exc)}",
                                mark.line + 1 if mark else 1, mark.column + 1 if mark else 1) from None
    if not isinstance(data, dict):
        raise InputError.single(source, "the catalogue must map providers to lists of techniques")
    problems: list[InputProblem] = []
    by_provider: dict[Provider, tuple[Technique, ...]] = {}
    seen: set[str] = set()
    for provider, entries in data.items():
        try:
            prov = Provider(provider)
        except ValueError:
            problems.append(InputProblem(SourceLocation(str(source)), f"unknown provider {provider!r}"))
            continue
        techniques = []
        for i, entry in enumerate(entries or []):
            try:
                technique = Technique.model_validate(entry)
            except ValidationError as exc:
                loc = SourceLocation(str(source), technique_lines(text).get((provider, i), 1))
                for err in exc.errors():
                    where = ".".join(str(p) for p in (provider, i, *err["loc"]))
                    problems.append(InputProblem(loc, f"{where}: {err['msg']}"))
                continue
            if technique.id in seen:
                problems.append(InputProblem(SourceLocation(str(source), technique_lines(text).get((provider, i), 1)),
                                             f"duplicate technique id {technique.id}"))
            seen.add(technique.id)
            techniques.append(technique)
        by_provider[prov] = tuple(techniques)
    if problems:
        raise InputError(problems)
    return EscalationCatalogue(by_provider=by_provider)
