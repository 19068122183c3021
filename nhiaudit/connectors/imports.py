"""`--import FILE`: read provider export files, detect each file's format from its content, and build
one snapshot from all of them. `--import TARGET=FILE` says what an export is about when it does not say
it itself (a GCP get-iam-policy output); `--import DIR` imports every export in a directory."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from nhiaudit.connectors.interface import ExportFile, ExportImporter
from nhiaudit.errors import InputError
from nhiaudit.inventory.snapshot import Snapshot, merge_snapshots
from nhiaudit.jsonlocate import MAX_JSON_DEPTH, first_too_deep, line_column, lone_surrogate_escape
from nhiaudit.limits import MAX_IMPORT_BYTES, read_text_limited


def _importers() -> list[ExportImporter]:
    from nhiaudit.connectors.aws.exports import AwsExportImporter  # lazy: only the import path needs it
    from nhiaudit.connectors.azure.exports import AzureExportImporter
    from nhiaudit.connectors.gcp.exports import GcpExportImporter

    return [AwsExportImporter(), GcpExportImporter(), AzureExportImporter()]


_DIRECTORY_SUFFIXES = (".json", ".csv")


def expand_import_paths(paths: list[Path]) -> list[tuple[Path, str | None]]:
    """(file, TARGET or None) for every --import argument: `FILE`, `TARGET=FILE`, `DIR` or `TARGET=DIR`
    (a directory: its *.json and *.csv files, sorted by name, not recursively). A path that exists is a
    path even if it contains `=`."""
    from nhiaudit.connectors.aws.audit_exports import check_target as aws_audit_target
    from nhiaudit.connectors.aws.org_exports import check_target as aws_org_target
    from nhiaudit.connectors.aws.resource_exports import target_problem as aws_resource_target
    from nhiaudit.connectors.azure.exports import check_target as azure_target
    from nhiaudit.connectors.gcp.export_routes import check_target

    out: list[tuple[Path, str | None]] = []
    for path in paths:
        target: str | None = None
        text = str(path)
        if "=" in text and not os.path.lexists(text):
            target, _, rest = text.partition("=")
            problem = check_target(target) if azure_target(target) else None  # Azure TARGETs are GUIDs
            problem = problem if aws_org_target(target) else None  # AWS Organizations policy, root and OU ids
            if target.startswith("arn:") or target.isdigit():  # AWS: a resource ARN or an account id
                problem = aws_resource_target(target)
            if problem is not None and aws_audit_target(target) is not None:  # AWS: a region or a trail
                raise InputError.single(path, f"not found; and as TARGET=FILE: {problem}, or for Azure a GUID, "
                                              "or for AWS a resource ARN, a region or a CloudTrail trail")
            path = Path(rest)
        if path.is_dir():
            files = sorted(p for p in path.iterdir()
                           if p.is_file() and p.suffix.lower() in _DIRECTORY_SUFFIXES and not p.name.startswith("."))
            if not files:
                raise InputError.single(path, "directory holds no export files (*.json, *.csv)")
            out.extend((f, target) for f in files)
        else:
            out.append((path, target))
    return out


def read_export(path: Path) -> ExportFile:
    """Read and parse one file. JSON duplicate keys: the last one wins, as in the AWS CLI and SDKs that
    write these files (and in live collection, which parses replies the same way)."""
    text = read_text_limited(path, MAX_IMPORT_BYTES, "import file")
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped.startswith(("{", "[")):
        return ExportFile(path=path, text=text)
    offset = len(text) - len(stripped)  # positions below are in the file as written
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and stripped.startswith("{"):
            return _read_ndjson(path, text)  # `gcloud asset export` writes one JSON object a line
        line, column = line_column(text, offset + exc.pos)
        raise InputError.single(path, f"not valid JSON: {exc.msg}", line, column) from None
    except RecursionError:
        # Python's parser gives up near 1,000 levels. Fields nhiaudit reads have fixed, shallow shapes, so
        # deeper values can only sit in fields it ignores; only what the parser cannot read is refused.
        deep = first_too_deep(text, MAX_JSON_DEPTH)
        line, column = line_column(text, deep if deep is not None else offset)
        raise InputError.single(
            path, f"JSON nested too deeply to read (more than {MAX_JSON_DEPTH} levels here)", line, column
        ) from None
    bad = lone_surrogate_escape(text)
    if bad is not None:
        line, column = line_column(text, bad)
        raise InputError.single(
            path, f"{text[bad:bad + 6]} is half of a UTF-16 surrogate pair: not valid Unicode text", line, column
        )
    return ExportFile(path=path, text=text, data=data, is_json=True)


def _read_ndjson(path: Path, text: str) -> ExportFile:
    """Newline-delimited JSON objects as a list. `text` becomes the same list written as a JSON array
    with every line where it was (a `[` before the first line, `,` after each object line, `]` at the
    end), so problems found later are located on the right line (on line 1, one column further on)."""
    items, lines = [], text.split("\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line.lstrip("\ufeff"))
        except (json.JSONDecodeError, RecursionError) as exc:
            column = exc.colno if isinstance(exc, json.JSONDecodeError) else 1
            message = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply to read"
            raise InputError.single(path, f"not valid JSON (one object a line): {message}", number, column) from None
        if not isinstance(item, dict):
            raise InputError.single(path, "newline-delimited JSON: expected one object a line", number, 1)
        items.append(item)
    last = max(i for i, line in enumerate(lines) if line.strip())
    array = [("[" if i == 0 else "") + line + ("]" if i == last else "," if line.strip() else "")
             for i, line in enumerate(lines)]
    return ExportFile(path=path, text="\n".join(array), data=items, is_json=True)


def _looks_like_snapshot(file: ExportFile) -> bool:
    return isinstance(file.data, dict) and "schema_version" in file.data and "identities" in file.data


def import_files(paths: list[Path]) -> Snapshot:
    from nhiaudit.connectors.azure.export_app_diag import keeps_empty as azure_keeps_empty

    importers = _importers()
    detected: dict[int, list[tuple[str, ExportFile]]] = {}
    named = {str(p) for p in paths}
    for path, target in expand_import_paths(paths):
        file = read_export(path)
        if file.data == [] and (target is not None or str(path) not in named) and not azure_keeps_empty(target):
            continue  # gcloud prints [] for every empty list: in a directory or with TARGET, it is nothing
        if target is not None:
            file = dataclasses.replace(file, target=target)
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
