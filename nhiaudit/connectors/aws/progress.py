"""Per-account progress on stderr: a bar and one line per account on a terminal, nothing otherwise.
Collection issues are printed as warnings unless the console is quiet (they also land in the snapshot)."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from nhiaudit.connectors.counting import RequestCounter
from nhiaudit.inventory.snapshot import Snapshot
from nhiaudit.textsafe import markup_safe


class _RequestsColumn(ProgressColumn):
    """Requests sent so far (read at each refresh): movement within an account, not only between accounts."""

    def __init__(self, requests: RequestCounter) -> None:
        super().__init__()
        self._requests = requests

    def render(self, task: Task) -> Text:
        count = self._requests.total
        return Text(f"{count} request{'' if count == 1 else 's'}", style="dim")


class AccountProgress:
    def __init__(self, console: Console, total: int, label: str = "[bold]AWS[/bold] accounts",
                 requests: RequestCounter | None = None) -> None:
        self.console = console
        self.requests = requests
        self.label = label
        # is_interactive, not is_terminal: FORCE_COLOR makes a CI log a "terminal" but nobody watches a bar.
        self.interactive = console.is_interactive and not console.quiet
        self._progress: Progress | None = None
        self._task = None
        self.total = total

    def __enter__(self) -> AccountProgress:
        if self.interactive:
            self._progress = Progress(
                TextColumn(self.label),
                BarColumn(),
                MofNCompleteColumn(),
                *([_RequestsColumn(self.requests)] if self.requests is not None else []),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("collect", total=self.total)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def done(self, account: str, name: str | None, snapshot: Snapshot) -> None:
        label = f"{account} ({name})" if name else account
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)
            detail = snapshot.sources[0].detail if snapshot.sources else ""
            mark = "[yellow]![/yellow]" if snapshot.collection_issues else "[green]✓[/green]"
            self.console.print(
                f"{mark} {markup_safe(label)}: {len(snapshot.identities)} identities, "
                f"{len(snapshot.credentials)} credentials, {len(snapshot.workloads)} workloads "
                f"[dim]{markup_safe(detail or '')}[/dim]"
            )
        if not self.console.quiet:
            for issue in snapshot.collection_issues:
                self.console.print(
                    f"[yellow]warning[/yellow]: {markup_safe(label)}: {markup_safe(issue.operation)} failed "
                    f"({markup_safe(issue.message)}); missing: {markup_safe(issue.missing or 'unknown')}"
                )
