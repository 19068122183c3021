"""The further exports of the newer families, per account: those that say what they are about (trails, event
selectors, list-access-keys, ECS task definitions) and those that do not (bucket policies, trail status, Bedrock
logging), imported as TARGET=FILE."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.labelled_aws.model import Estate


def _dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=4) + "\n", encoding="utf-8")


def write_exports(estate: Estate, out: Path, files: dict[str, list[str]]) -> dict[str, list[str]]:
    """Write the files under aws/<account>/ (read with the directory) and aws/<account>/targeted/ (not read
    with it: a directory import is not recursive); adds them to `files`; returns each account's TARGET=FILE
    arguments (paths relative to `out`)."""
    imports: dict[str, list[str]] = {a.id: [] for a in estate.accounts}
    for f in sorted(estate.files, key=lambda f: (f.account.id, f.name)):
        folder = out / "aws" / f.account.id
        path = folder / "targeted" / f.name if f.target else folder / f.name
        if path.exists():
            raise ValueError(f"two exports named {path}")
        _dump(path, f.data)
        files[f.account.id].append(str(path.relative_to(out)))
        if f.target:
            imports[f.account.id].append(f"{f.target}={path.relative_to(out)}")
    return imports
