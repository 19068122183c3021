"""Render an explanation or a --can-reach answer as a Rich tree (table), JSON or Markdown."""

from __future__ import annotations

import io
import json
import shutil

from rich.console import Console

from nhiaudit.explain.formats import ExplainFormat
from nhiaudit.explain.markdown import can_reach_markdown, explanation_markdown
from nhiaudit.explain.model import CanReach, Explanation
from nhiaudit.explain.tree import can_reach_tree, explanation_tree
from nhiaudit.textsafe import json_safe, terminal_safe, utf8_safe


def _rich(renderable: object, color: bool, width: int | None) -> str:
    buffer = io.StringIO()
    width = width or (shutil.get_terminal_size((120, 24)).columns if color else 120)
    console = Console(file=buffer, width=width, force_terminal=color, no_color=not color, highlight=False,
                      soft_wrap=False)
    console.print(renderable)
    # Data was escaped when the tree was built; without colour, escape anything that slipped through too.
    return buffer.getvalue() if color else terminal_safe(buffer.getvalue(), keep_newlines=True)


def render(result: Explanation | CanReach, fmt: ExplainFormat | str, color: bool = False,
           width: int | None = None) -> str:
    fmt = ExplainFormat(fmt)
    if fmt is ExplainFormat.JSON:
        return json_safe(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    if isinstance(result, Explanation):
        return utf8_safe(explanation_markdown(result)) if fmt is ExplainFormat.MARKDOWN else \
            _rich(explanation_tree(result), color, width)
    if fmt is ExplainFormat.MARKDOWN:
        return utf8_safe(can_reach_markdown(result))
    return _rich(can_reach_tree(result), color, width)
