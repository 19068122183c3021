"""`--import FILE`: read provider export files, detect each file's format from its content, and build
one snapshot from all of them."""

from __future__ import annotations

import json
from pathlib import Path

from nhiaudit.connectors.interface import ExportFile, ExportImporter
from nhiaudit.errors import InputError
from nhiaudit.inventory.snapshot import Snapshot, merge_snapshots
from nhiaudit.limits import MAX_IMPORT_BYTES, read_text_limited


def _importers() -> list[ExportImporter]:
    from nhiaudit.connectors.aws.exports import AwsExportImporter  # lazy: only the import path needs it

    return [AwsExportImporter()]


def read_export(path: Path) -> ExportFile:
    text = read_text_limited(path, MAX_IMPORT_BYTES, "import file")
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped.startswith(("{", "[")):
        return ExportFile(path=path, text=text)
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        offset = len(text) - len(stripped)  # line/column of the error in the file as written
        line = text.count("\n", 0, offset + exc.pos) + 1
        column = offset + exc.pos - (text.rfind("\n", 0, offset + exc.pos) + 1) + 1
        raise InputError.single(path, f"not valid JSON: {exc.msg}", line, column) from None
    return ExportFile(path=path, text=text, data=data, is_json=True)


def _looks_like_snapshot(file: ExportFile) -> bool:
    return isinstance(file.data, dict) and "schema_version" in file.data and "identities" in file.data


def import_files(paths: list[Path]) -> Snapshot:
    importers = _importers()
    detected: dict[int, list[tuple[str, ExportFile]]] = {}
    for path in paths:
        file = read_export(path)
        if _looks_like_snapshot(file):
            raise InputError.single(
                path, "this is an nhiaudit snapshot: pass it with --snapshot, not --import"
            )
        for index, importer in enumerate(importers):
            kind = importer.detect(file)
            if kind is not None:
                detected.setdefault(index, []).append((kind, file))
                break
        else:
            known = "; ".join(f"{name} ({how})" for imp in importers for name, how in imp.formats.items())
            raise InputError.single(path, f"unrecognised export file. Supported: {known}")
    snapshots = [s for index, files in detected.items() for s in importers[index].build(files)]
    return merge_snapshots(snapshots) if snapshots else Snapshot()
