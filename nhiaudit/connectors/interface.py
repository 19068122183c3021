"""The contract between `--import` and each provider's export formats."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from nhiaudit import forked
from nhiaudit.errors import InputError, InputProblem, SourceLocation
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.limits import MAX_REPORTED_PROBLEMS

if TYPE_CHECKING:
    from nhiaudit.jsonshape import ShapeProblem


@dataclass(frozen=True)
class ExportFile:
    """One file given to --import, read once: its text and, when it is JSON, the parsed value."""

    path: Path
    text: str
    data: Any = None  # parsed JSON; None for non-JSON files such as a CSV report
    is_json: bool = False
    target: str | None = None  # what the file is about, from `--import TARGET=FILE` (exports that do not say)


class ExportImporter(ABC):
    """One provider's export formats. Files are detected one by one, then built together, because one
    provider's exports complement each other (e.g. a credential report adds key ages to the users
    of an authorization-details export)."""

    # format name -> how to produce the file, used in "unknown file" messages
    formats: dict[str, str] = {}

    @abstractmethod
    def detect(self, file: ExportFile) -> str | None:
        """The format name of `file`, or None when it is not one of this importer's formats."""

    @abstractmethod
    def build(self, files: list[tuple[str, ExportFile]]) -> list[Snapshot]:
        """Snapshots (e.g. one per account) from the detected files. Raises InputError naming the file."""


def location_in(file: ExportFile, path: tuple[str | int, ...]) -> SourceLocation:
    """file:line:col of the value at `path` in a JSON export (line 1 col 1 for other files)."""
    if not file.is_json:
        return SourceLocation(str(file.path), 1, 1)
    from nhiaudit.jsonlocate import locate

    line, column = locate(file.text, path)
    return SourceLocation(str(file.path), line, column)


def shape_error(file: ExportFile, kind: str, found: Sequence[ShapeProblem]) -> InputError:
    """One InputError locating each shape problem of `file` (at most MAX_REPORTED_PROBLEMS, then a count)."""
    from nhiaudit.jsonshape import format_path

    problems = [
        InputProblem(location_in(file, p.path), f"not a valid {kind} export: {format_path(p.path)}: {p.message}")
        for p in found[:MAX_REPORTED_PROBLEMS]
    ]
    if len(found) > MAX_REPORTED_PROBLEMS:
        more = len(found) - MAX_REPORTED_PROBLEMS
        problems.append(InputProblem(problems[-1].location, f"... and {more} more problem(s) in this file"))
    return InputError(problems)


T = TypeVar("T")
ShapeCheck = Callable[[str, ExportFile], "Sequence[ShapeProblem]"]  # (kind, file) -> its shape problems
# Bytes of JSON from which checking in another process pays for forking it (measured: nothing gained on 1.4 MB,
# 0.06-0.09 s of 0.55 s loading 4.6 MB).
SHAPE_CHECK_FORK_SIZE = 2 << 20


def built_when_shaped(files: Sequence[tuple[str, ExportFile]], problems: ShapeCheck, build: Callable[[], T]) -> T:
    """`build()` of `files`, provided every value the transforms read has the type they expect: else the
    InputError locating each problem of the first file with any. From SHAPE_CHECK_FORK_SIZE of JSON, the
    check runs in another process while this one builds (it takes a fifth of a large export's loading), and
    a shape problem then wins over whatever the build made of the malformed data, result or error; less is
    checked first. Either way, a malformed file gives the same error."""

    def first_problem() -> tuple[int, Sequence[ShapeProblem]] | None:
        for index, (kind, file) in enumerate(files):
            found = problems(kind, file)
            if found:
                return index, found
        return None

    def raise_problem(problem: tuple[int, Sequence[ShapeProblem]] | None) -> None:
        if problem is not None:
            kind, file = files[problem[0]]
            raise shape_error(file, kind, problem[1])

    size = sum(len(file.text) for _, file in files if file.is_json)
    with forked.beside(first_problem, size >= SHAPE_CHECK_FORK_SIZE) as problem:
        try:
            built = build()
        except Exception:
            raise_problem(problem())
            raise
        raise_problem(problem())
    return built


def import_detail(files: Sequence[str], lacking: Sequence[str]) -> str:
    """A source's detail for an import: the files read and what the import lacks (and what that costs)."""
    text = f"imported {', '.join(Path(f).name for f in files)}"
    return text + (f"; not imported: {'; '.join(lacking)}" if lacking else "")
