"""Long report lists are rendered in two processes (forked.alternately), with the bytes of one."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import report_factory

from nhiaudit import forked
from nhiaudit.findings import Severity
from nhiaudit.reporters import RenderContext, get_reporter
from nhiaudit.reporters.json_stream import BATCH
from nhiaudit.reporters.sarif import build_sarif
from nhiaudit.textsafe import json_safe

PARTS = list(range(2 * forked.MIN_ALTERNATE_PARTS + 1))

pytestmark = pytest.mark.skipif(not forked.can_fork(), reason="forked rendering is Linux-only")


@pytest.fixture(autouse=True)
def two_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(forked.JOBS_ENV, "2")


def _by_pid(part: int) -> str:
    return f"{os.getpid()}:{part}"


def test_odd_parts_come_from_a_child_in_order() -> None:
    texts = list(forked.alternately(_by_pid, PARTS))
    assert [t.split(":")[1] for t in texts] == [str(p) for p in PARTS]
    pids = {i % 2: set() for i in (0, 1)}
    for index, text in enumerate(texts):
        pids[index % 2].add(int(text.split(":")[0]))
    assert pids[0] == {os.getpid()}
    assert len(pids[1]) == 1 and pids[1] != {os.getpid()}


def test_one_job_or_few_parts_render_here(monkeypatch: pytest.MonkeyPatch) -> None:
    here = [_by_pid(p) for p in PARTS]
    assert list(forked.alternately(_by_pid, PARTS[: forked.MIN_ALTERNATE_PARTS - 1])) == \
        here[: forked.MIN_ALTERNATE_PARTS - 1]
    monkeypatch.setenv(forked.JOBS_ENV, "1")
    assert list(forked.alternately(_by_pid, PARTS)) == here


def test_a_failing_child_leaves_its_parts_to_this_process() -> None:
    parent = os.getpid()

    def render(part: int) -> str:
        if os.getpid() != parent and part >= 5:
            raise RuntimeError("the child fails from part 5 on")
        return f"<{part}>"

    assert list(forked.alternately(render, PARTS)) == [f"<{p}>" for p in PARTS]


def test_an_error_is_raised_here_as_rendering_alone_raises_it() -> None:
    def render(part: int) -> str:
        if part == 7:
            raise ValueError("part 7 cannot be rendered")
        return str(part)

    pieces = forked.alternately(render, PARTS)
    assert [next(pieces) for _ in range(7)] == [str(p) for p in range(7)]
    with pytest.raises(ValueError, match="part 7"):
        next(pieces)


def test_a_child_whose_parts_are_not_wanted_is_ended() -> None:
    pids: list[int] = []

    def render(part: int) -> str:
        return f"{os.getpid()}:{part}" + "x" * (1 << 16)  # each part fills the pipe: the child waits

    pieces = forked.alternately(render, PARTS)
    next(pieces)
    pids.append(int(next(pieces).split(":")[0]))
    pieces.close()
    with pytest.raises(ChildProcessError):
        os.waitpid(pids[0], os.WNOHANG)  # already reaped: ended, not left behind


def _policy_file(index: int) -> str:
    if index == BATCH + 5:  # in the second batch only: rendered by the child
        return "/seen-by-the-child/policy.yaml"
    return "/elsewhere/policy.yaml" if index % 3 else "policy.yaml"


def _report(count: int):
    findings = [report_factory.finding(name=f"role-{i:05d}", message=f"r{i} \u202e é 😀",
                                       severity=[Severity.HIGH, Severity.LOW][i % 2], policy_file=_policy_file(i))
                for i in range(count)]
    return report_factory.report(findings)


def test_reports_rendered_in_two_processes_have_the_bytes_of_one(tmp_path: Path) -> None:
    report = _report(BATCH * forked.MIN_ALTERNATE_PARTS + 3)
    whole = json_safe(report.model_dump_json(indent=2)) + "\n"
    assert "".join(get_reporter("json").chunks(report, RenderContext(sarif_root=tmp_path))) == whole
    streamed = RenderContext(sarif_root=tmp_path)
    sarif = "".join(get_reporter("sarif").chunks(report, streamed))
    alone = RenderContext(sarif_root=tmp_path)
    assert sarif == json_safe(json.dumps(build_sarif(report, alone), indent=2, ensure_ascii=False)) + "\n"
    # Warnings about result locations are recorded by this process, once each, in the results' order.
    assert streamed.warnings == alone.warnings
    assert any("/seen-by-the-child/policy.yaml" in w for w in streamed.warnings)


def test_terminal_text_printed_in_two_processes_is_that_of_one(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    from rich.rule import Rule
    from rich.text import Text
    from rich.tree import Tree

    from nhiaudit.cli.console import _printed, render_text
    from nhiaudit.reporters.table import TableReporter

    tree = Tree(Text("who: a role [x]", style="bold"))
    tree.add(Text("reaches: " + "prod-db " * 12, style="red"))
    renderables = [Rule("integration: x"), tree, Text("plain  \n", style="dim"), "[bold]markup[/bold]"] * 6
    report = _report(3 * forked.MIN_ALTERNATE_PARTS)  # narrow: a block per finding outside an access path
    table = TableReporter(width=80, color=True)
    assert len(table._renderables(report, wide=False)) >= 2 * forked.MIN_ALTERNATE_PARTS
    texts = {}
    for jobs in ("2", "1"):
        monkeypatch.setenv(forked.JOBS_ENV, jobs)
        texts[jobs] = [render_text(renderables, color=color, width=width, parallel=True)
                       for color in (True, False) for width in (40, 100)]
        texts[jobs].append(table.render(report, RenderContext(sarif_root=tmp_path)))
    assert texts["2"] == texts["1"]
    one_console = ["\n".join(line.rstrip(" ") for line in _printed(renderables, color, width, "standard").split("\n"))
                   for color in (True, False) for width in (40, 100)]
    assert texts["1"][:4] == one_console  # printing each renderable on its own changes nothing
