"""Load rule files (one YAML document per rule), validate them and compile their CEL once.

A file that holds only `id:` with `enabled:` and/or `severity:` is an override of a rule loaded before it (a
shipped rule, or one from an earlier --rules directory), not a rule of its own: see docs/rules.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from nhiaudit.errors import InputError, InputProblem, SourceLocation
from nhiaudit.facts.schema import unknown_fact_references
from nhiaudit.limits import MAX_RULE_BYTES, read_text_limited
from nhiaudit.rules_engine.cel_core import cel_core
from nhiaudit.rules_engine.model import Rule, RuleOverride
from nhiaudit.yaml_guard import YamlTooLarge, check_expansion, yaml_error_location

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: same safety, faster
MAX_RULE_NODES = 50_000
MAX_RULE_DEPTH = 32
OVERRIDE_KEYS = frozenset({"id", "enabled", "severity"})


def shipped_rules_dir() -> Path:
    """The rules shipped with nhiaudit (the top-level `rules/`, linked into the package as shipped_rules)."""
    return Path(__file__).resolve().parents[1] / "shipped_rules"


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    when: Any  # cel.Program
    for_each: Any | None
    evidence: dict[str, Any]
    severity_overrides: list[tuple[Any, str]]


def _key_lines(node: yaml.Node) -> dict[str, tuple[int, int]]:
    """Line/column of each top-level key, for error messages."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): (k.start_mark.line + 1, k.start_mark.column + 1) for k, _ in node.value}


def _parse_rule_yaml(text: str, path: Path) -> tuple[Any, dict[str, tuple[int, int]]]:
    """Safe-load one rule document, bounded: aliases may not expand past MAX_RULE_NODES (parameters and test
    subjects reach CEL, which copies them as trees) and nesting stays shallow."""
    loader = _SAFE_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        check_expansion(node, MAX_RULE_NODES, MAX_RULE_DEPTH, "rule file")
        return loader.construct_document(node), _key_lines(node)
    except yaml.YAMLError as exc:
        line, col, message = yaml_error_location(exc, text)
        raise InputError.single(path, message, line, col) from None
    except YamlTooLarge as exc:
        raise InputError.single(path, exc.message, *exc.position) from None
    except RecursionError:
        raise InputError.single(path, f"rule file nesting is deeper than {MAX_RULE_DEPTH} levels") from None
    finally:
        loader.dispose()


def _compile(expr: str, problems: list[InputProblem], where: SourceLocation, what: str) -> Any | None:
    try:
        return cel_core().compile(expr)
    except (ValueError, RuntimeError) as exc:
        first = str(exc).splitlines()[0]
        problems.append(InputProblem(where, f"{what}: CEL does not compile: {first}"))
        return None


def compile_rule(rule: Rule, lines: dict[str, tuple[int, int]], file: str) -> CompiledRule:
    problems: list[InputProblem] = []

    def loc(key: str) -> SourceLocation:
        line, col = lines.get(key, (1, 1))
        return SourceLocation(file, line, col)

    expressions = [("when", rule.when), *([("for_each", rule.for_each)] if rule.for_each else [])]
    expressions += [("evidence", e) for e in rule.evidence.values()]
    expressions += [("severity_overrides", o.when) for o in rule.severity_overrides]
    for key, expr in expressions:
        for ref in unknown_fact_references(rule.subject, expr):
            problems.append(InputProblem(loc(key), f"{key}: unknown fact {ref} for subject '{rule.subject}' "
                                         "(see `nhiaudit rules facts`)"))
    when = _compile(rule.when, problems, loc("when"), "when")
    for_each = _compile(rule.for_each, problems, loc("for_each"), "for_each") if rule.for_each else None
    evidence = {k: _compile(v, problems, loc("evidence"), f"evidence.{k}") for k, v in rule.evidence.items()}
    overrides = [(_compile(o.when, problems, loc("severity_overrides"), "severity_overrides"), o.severity)
                 for o in rule.severity_overrides]
    if problems:
        raise InputError(problems)
    return CompiledRule(rule, when, for_each, evidence, overrides)


def _validation_problems(exc: ValidationError, path: Path, lines: dict[str, tuple[int, int]],
                         data: dict[Any, Any]) -> list[InputProblem]:
    """One problem per wrong field; the missing ones together on one line, with the override hint when the
    file names an id (nine "Field required" lines helped nobody)."""
    problems, missing = [], []
    for err in exc.errors():
        top = str(err["loc"][0]) if err["loc"] else ""
        if err["type"] == "missing" and len(err["loc"]) == 1:
            missing.append(top)
            continue
        line, col = lines.get(top, (1, 1))
        where = ".".join(str(p) for p in err["loc"])
        problems.append(InputProblem(SourceLocation(str(path), line, col), f"{where}: {err['msg']}"))
    if missing:
        hint = ("; to change only whether a rule runs or its severity, give just `id:` with `enabled:` and/or "
                "`severity:`" if "id" in data else "")
        problems.insert(0, InputProblem(SourceLocation(str(path)),
                                        f"missing required field(s): {', '.join(missing)}{hint}"))
    return problems


def _is_override(data: dict[Any, Any]) -> bool:
    return "id" in data and set(map(str, data)) <= OVERRIDE_KEYS


def _read_rule_file(path: Path) -> CompiledRule | tuple[RuleOverride, SourceLocation]:
    """A full rule (compiled), or an override with where it was written."""
    text = read_text_limited(path, MAX_RULE_BYTES, "rule file")
    data, lines = _parse_rule_yaml(text, path)
    if not isinstance(data, dict):
        raise InputError.single(path, "a rule file must be a YAML mapping")
    model: type[Rule] | type[RuleOverride] = RuleOverride if _is_override(data) else Rule
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise InputError(_validation_problems(exc, path, lines, data)) from None
    if isinstance(parsed, RuleOverride):
        return parsed, SourceLocation(str(path), *lines.get("id", (1, 1)))
    object.__setattr__(parsed, "__pydantic_private__", {"_source_file": str(path)})
    return compile_rule(parsed, lines, str(path))


def load_rule_file(path: Path) -> CompiledRule:
    loaded = _read_rule_file(path)
    if isinstance(loaded, tuple):
        raise InputError([InputProblem(loaded[1], "an override (only `id`, `enabled`, `severity`) changes a "
                                       "rule loaded before it; it is not a rule of its own")])
    return loaded


def apply_override(compiled: CompiledRule, override: RuleOverride) -> CompiledRule:
    """The rule with the override's fields. A severity replaces the rule's conditional severity overrides
    too: "severity: low" means every finding of the rule is low."""
    update: dict[str, Any] = {}
    if override.enabled is not None:
        update["enabled"] = override.enabled
    if override.severity is not None:
        update["severity"] = override.severity
        update["severity_overrides"] = []
    if not update:
        return compiled
    rule = compiled.rule.model_copy(update=update)  # keeps the private source file
    overrides = [] if override.severity is not None else compiled.severity_overrides
    return replace(compiled, rule=rule, severity_overrides=overrides)


def rule_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise InputError.single(directory, "rules directory not found")
    return sorted(p for p in directory.glob("*.y*ml") if p.is_file())


def load_rules(extra_dirs: list[Path] | None = None, include_shipped: bool = True,
               include_disabled: bool = False) -> list[CompiledRule]:
    """Shipped rules, then user rules; a user rule with a shipped rule's id replaces it. Rules with
    `enabled: false` are left out unless `include_disabled` (docs, `rules list/show/test`)."""
    problems: list[InputProblem] = []
    by_id: dict[str, CompiledRule] = {}
    seen_in: dict[str, str] = {}
    for directory in _distinct_dirs(([shipped_rules_dir()] if include_shipped else []) + list(extra_dirs or [])):
        try:
            files = rule_files(directory)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        local: set[str] = set()
        overrides: list[tuple[RuleOverride, SourceLocation]] = []
        for path in files:
            try:
                loaded = _read_rule_file(path)
            except InputError as exc:
                problems.extend(exc.problems)
                continue
            if isinstance(loaded, tuple):
                overrides.append(loaded)
                continue
            rid = loaded.rule.id
            if rid in local:
                problems.append(InputProblem(SourceLocation(str(path)), f"duplicate rule id {rid} "
                                             f"(also in {seen_in[rid]})"))
                continue
            local.add(rid)
            seen_in[rid] = str(path)
            by_id[rid] = loaded
        problems.extend(_apply_overrides(by_id, overrides))
    if problems:
        raise InputError(problems)
    return [r for r in by_id.values() if include_disabled or r.rule.enabled]


def _distinct_dirs(dirs: list[Path]) -> list[Path]:
    """Each directory once, in order: `--rules rules` in a checkout is the shipped directory itself, and
    loading it twice reported every problem twice."""
    seen: set[str] = set()
    distinct = []
    for directory in dirs:
        key = os.path.realpath(directory)
        if key not in seen:
            seen.add(key)
            distinct.append(directory)
    return distinct


def _apply_overrides(by_id: dict[str, CompiledRule],
                     overrides: list[tuple[RuleOverride, SourceLocation]]) -> list[InputProblem]:
    """Apply a directory's overrides to the rules loaded so far (its own full rules included)."""
    from nhiaudit.rules_engine.selection import did_you_mean

    problems, done = [], {}
    for override, where in overrides:
        if override.id in done:
            problems.append(InputProblem(where, f"duplicate override of {override.id} (also in {done[override.id]})"))
        elif override.id not in by_id:
            problems.append(InputProblem(where, f"override of an unknown rule {override.id!r}"
                                         f"{did_you_mean(override.id, by_id)}"))
        else:
            done[override.id] = where.file
            by_id[override.id] = apply_override(by_id[override.id], override)
    return problems
