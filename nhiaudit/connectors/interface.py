"""The contract between `--import` and each provider's export formats."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nhiaudit.inventory.snapshot import Snapshot


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
