"""Typed exceptions per layer. Only the CLI turns them into messages and exit codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SourceLocation:
    """A place in a user-supplied file; line and column are 1-based."""

    file: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class InputProblem:
    location: SourceLocation
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class NhiauditError(Exception):
    """Base of every error nhiaudit raises on purpose."""


@dataclass
class InputError(NhiauditError):
    """User input (policy, snapshot, rule file, export) is invalid. Exit status 2."""

    problems: list[InputProblem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)

    @classmethod
    def single(cls, file: str | Path, message: str, line: int = 1, column: int = 1) -> InputError:
        return cls([InputProblem(SourceLocation(str(file), line, column), message)])


class UsageError(NhiauditError):
    """Bad combination of command-line options. Exit status 2."""


class CollectionError(NhiauditError):
    """A connector could not collect at all (e.g. no credentials). Exit status 3."""


class OutputError(NhiauditError):
    """An output (a file or stdout) could not be written. Exit status 2, or 141 for a broken pipe; findings
    (1) still win, because they are known before anything is written."""

    def __init__(self, target: str, reason: str, *, broken_pipe: bool = False) -> None:
        super().__init__(f"cannot write {target}: {reason}")
        self.target, self.reason, self.broken_pipe = target, reason, broken_pipe
