"""`enforce --check DIR`: do the committed guardrails still match the ones the policy and estate give today?

Compared: `nhiaudit-enforce.json` by its guardrails and tags (not the verification, which describes the
estate, nor anything else), `nhiaudit-enforce.tf` byte for byte. At least one of them must be in DIR."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path

from nhiaudit.enforce.formats import EnforceFormat
from nhiaudit.enforce.model import EnforcePlan
from nhiaudit.enforce.render_json import guardrails_data
from nhiaudit.enforce.render_terraform import render_terraform
from nhiaudit.errors import InputError, UsageError
from nhiaudit.textsafe import terminal_safe

MAX_FILE_BYTES = 16 * 1024 * 1024  # a committed guardrail file is small; refuse to read a huge one
_DIFF_LINES = 60


@dataclass(frozen=True)
class Divergence:
    file: str
    details: tuple[str, ...]


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError.single(path, f"larger than {MAX_FILE_BYTES:,} bytes: not a guardrail file")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError.single(path, f"cannot read it: {exc}") from None


def _json_divergence(path: Path, plan: EnforcePlan) -> tuple[str, ...]:
    try:
        committed = json.loads(_read(path))
    except ValueError as exc:
        raise InputError.single(path, f"not valid JSON: {exc}") from None
    fresh = guardrails_data(plan)
    if not isinstance(committed, dict):
        return ("not an `nhiaudit enforce --format json` document",)
    old, new = committed.get("guardrails") or {}, fresh["guardrails"]
    if not isinstance(old, dict):
        return ("its `guardrails` is not an object",)
    details = [f"guardrail {terminal_safe(n)}: {'added' if n not in old else 'removed' if n not in new else 'changed'}"
               for n in sorted(set(old) | set(new)) if old.get(n) != new.get(n)]
    if committed.get("tags") != fresh["tags"]:
        details.append("tag assignments changed")
    return tuple(details)


def _text_divergence(path: Path, fresh: str) -> tuple[str, ...]:
    committed = _read(path)
    if committed == fresh:
        return ()
    diff = list(difflib.unified_diff(committed.splitlines(), fresh.splitlines(), "committed", "generated",
                                     lineterm="", n=1))
    shown = [terminal_safe(line) for line in diff[:_DIFF_LINES]]
    return tuple(shown + ([f"... (+{len(diff) - _DIFF_LINES} more diff lines)"] if len(diff) > _DIFF_LINES else []))


def check_directory(directory: Path, plan: EnforcePlan) -> list[Divergence]:
    json_file = directory / EnforceFormat.JSON.file_name
    tf_file = directory / EnforceFormat.TERRAFORM.file_name
    if not directory.is_dir():
        raise UsageError(f"--check {directory}: not a directory")
    if not json_file.exists() and not tf_file.exists():
        raise UsageError(f"--check {directory}: neither {json_file.name} nor {tf_file.name} is there "
                         "(write them with --output-dir first)")
    out = []
    if json_file.exists() and (details := _json_divergence(json_file, plan)):
        out.append(Divergence(json_file.name, details))
    if tf_file.exists() and (details := _text_divergence(tf_file, render_terraform(plan))):
        out.append(Divergence(tf_file.name, details))
    return out
