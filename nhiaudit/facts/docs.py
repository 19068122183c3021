"""Generated parts of docs/rules.md: the fact reference (from FACTS and SHAPES) and the shipped catalogue.

Regenerate with `python -m nhiaudit.facts.docs docs/rules.md`; a test fails when the file is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from nhiaudit.facts.schema import FACTS, SHAPES, SubjectKind

FACTS_BEGIN, FACTS_END = "<!-- facts:begin (generated) -->", "<!-- facts:end -->"
RULES_BEGIN, RULES_END = "<!-- rules:begin (generated) -->", "<!-- rules:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(value: Any) -> str:
    return f"`{json.dumps(value)}`"


def facts_markdown() -> str:
    parts: list[str] = []
    for kind in SubjectKind:
        parts += [f"### subject: {kind.value}", "", "| fact | default | description |", "|---|---|---|"]
        for name, (default, description) in FACTS[kind].items():
            parts.append(f"| `subject.{name}` | {_cell(_default(default))} | {_cell(description)} |")
        parts.append("")
        for name, keys in SHAPES.get(kind, {}).items():
            entry = "entries" if isinstance(FACTS[kind][name][0], list) else "keys"
            parts += [f"`subject.{name}` {entry}:", ""]
            parts += [f"- `{key}`: {text}" for key, text in keys.items()]
            parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def rules_markdown() -> str:
    from nhiaudit.rules_engine.loader import load_rules

    rows = ["| rule | category | severity | subject | OWASP NHI | NIST CSF 2.0 | title |",
            "|---|---|---|---|---|---|---|"]
    for compiled in sorted(load_rules(include_disabled=True), key=lambda c: (c.rule.category.value, c.rule.id)):
        r = compiled.rule
        off = " (off by default)" if not r.enabled else ""
        rows.append(f"| `{r.id}` | {r.category.value} | {r.severity.value} | {r.subject.value} | "
                    f"{', '.join(r.frameworks.owasp_nhi)} | {', '.join(r.frameworks.nist_csf)} | "
                    f"{_cell(r.title)}{off} |")
    return "\n".join(rows) + "\n"


def _replace(text: str, begin: str, end: str, body: str) -> str:
    start, stop = text.index(begin) + len(begin), text.index(end)
    return text[:start] + "\n\n" + body + "\n" + text[stop:]


def render_rules_doc(text: str) -> str:
    """The document with its generated sections brought up to date."""
    text = _replace(text, FACTS_BEGIN, FACTS_END, facts_markdown())
    return _replace(text, RULES_BEGIN, RULES_END, rules_markdown())


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "docs/rules.md")
    text = path.read_text(encoding="utf-8")
    updated = render_rules_doc(text)
    if updated != text:
        path.write_text(updated, encoding="utf-8")
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
