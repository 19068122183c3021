"""Where a finding lands in the repository, for the CI formats that annotate files (SARIF, GitLab Code Quality).

Findings are about cloud identities, not source files, so they point at the written policy: the line of the
entry the finding is about, else line 1 of the policy file, else line 1 of the run's fallback artifact (the
snapshot). A leaked credential found in a `--secrets-in` tree points at its file and line instead. Paths are
relative to the report root: `--sarif-root`, else the git work tree above the cwd.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nhiaudit.findings import Finding
from nhiaudit.report import Report
from nhiaudit.reporters.interface import RenderContext


@dataclass(frozen=True)
class Place:
    """A file (posix path relative to the root, unencoded) and a 1-based line."""

    path: str
    line: int


def default_report_root(start: Path) -> Path:
    """The git work tree containing `start` (where code scanning and GitLab resolve paths), else `start`."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return start


class PolicyLocator:
    """Turns policy file paths into paths relative to the report root; warns (once per file) about files
    outside it, which the CI view (`viewer`) cannot show. `label` names the format in those warnings."""

    def __init__(self, report: Report, context: RenderContext, label: str, viewer: str) -> None:
        self.context = context
        self.label = label
        self.viewer = viewer
        self.root = (context.sarif_root or default_report_root(Path.cwd())).resolve()
        policy_file = context.policy.source_file if context.policy is not None else ""
        default = policy_file or report.policy_file or context.fallback_artifact
        self.default_file = str(default) if default else None
        self._paths: dict[str, str] = {}

    def relative(self, file: str) -> str:
        if file not in self._paths:
            self._paths[file] = self._relative(file)
        return self._paths[file]

    def _relative(self, file: str) -> str:
        path = Path(file)
        path = (path if path.is_absolute() else Path.cwd() / path).resolve()
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            self.context.warn(
                f"{self.label}: {file} is outside the {self.label} root {self.root}; {self.viewer} cannot show "
                "it (run from the repository or pass --sarif-root)"
            )
            return Path(os.path.relpath(path, self.root)).as_posix()

    def place(self, finding: Finding) -> Place | None:
        """The file line the finding is about (a leaked credential in a `--secrets-in` tree), else its policy line,
        else line 1 of the default file; None when the run has no file at all."""
        written = finding.file_location
        if written is not None and written.file:
            return Place(self.relative(written.file), max(1, written.line))
        where = finding.policy_location
        if where is not None and where.file:
            return Place(self.relative(where.file), max(1, where.line))
        if self.default_file:
            return Place(self.relative(self.default_file), 1)
        return None
