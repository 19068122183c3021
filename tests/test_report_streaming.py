"""JSON and SARIF reports are written piece by piece, with the bytes of rendering them whole."""

from __future__ import annotations

import errno
import functools
import json
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
import report_factory

from nhiaudit.atomic_write import write_chunks_atomic, write_pieces
from nhiaudit.cli.outputs import write_output
from nhiaudit.inventory.snapshot import load_snapshot
from nhiaudit.report import Report
from nhiaudit.reporters import RenderContext, get_reporter
from nhiaudit.reporters.json_stream import BATCH, SkeletonError, list_pieces, spliced
from nhiaudit.reporters.sarif import build_sarif
from nhiaudit.scan import run_scan
from nhiaudit.textsafe import json_safe

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo"
AS_OF = date(2026, 11, 28)


def _whole_json(report: Report) -> str:
    """The JSON report as it was rendered before streaming: one string."""
    return json_safe(report.model_dump_json(indent=2)) + "\n"


def _whole_sarif(report: Report, context: RenderContext) -> str:
    return json_safe(json.dumps(build_sarif(report, context), indent=2, ensure_ascii=False)) + "\n"


def _context(tmp_path: Path) -> RenderContext:
    return RenderContext(sarif_root=tmp_path, fallback_artifact="snapshot.json")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from generate_estate import generate
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    snapshot, policy_text = generate(600, n_policies=60, n_accounts=2)
    policy = tmp_path_factory.mktemp("synthetic") / "policy.yaml"
    policy.write_text(policy_text, encoding="utf-8")
    return {
        "demo": run_scan(load_snapshot(DEMO / "snapshot.json"), DEMO / "policy.yaml", [], AS_OF).report,
        "synthetic": run_scan(snapshot, policy, [], AS_OF).report,
        "factory": report_factory.demo_report(),
    }


@pytest.mark.parametrize("which", ["demo", "synthetic", "factory"])
def test_streamed_reports_have_the_bytes_of_whole_ones(which: str, reports: dict[str, Report],
                                                       tmp_path: Path) -> None:
    report = reports[which]
    assert report.findings  # the lists are spliced in, not left out
    context = _context(tmp_path)
    chunks = list(get_reporter("json").chunks(report, context))
    # A piece per batch of elements, never one string; the synthetic report's findings fill several batches.
    assert len(chunks) > len(report.findings) // BATCH + 2
    assert which != "synthetic" or len(report.findings) > 2 * BATCH
    assert "".join(chunks) == _whole_json(report)
    assert get_reporter("json").render(report, context) == _whole_json(report)
    expected = _whole_sarif(report, _context(tmp_path))
    assert "".join(get_reporter("sarif").chunks(report, context)) == expected
    assert get_reporter("sarif").render(report, _context(tmp_path)) == expected


def test_empty_lists_and_hostile_text_stream_identically(tmp_path: Path) -> None:
    hostile = ('a\n  "findings": [],\n "x" \u202e\u200b\x7f\x85 \\ é 😀 \ud800 \x00\x01\x08\x0c\x1f\t\r'
               '\u2028\u2029\ufeff </script> \n      "results": []')
    clean = hostile.replace("\ud800", "")  # pydantic encodes this one; the surrogate takes the fallback
    findings = [report_factory.finding(message=hostile), report_factory.finding(name='q"\n  "findings": []'),
                report_factory.finding(message=clean, name=clean)]
    for report in (report_factory.report([]), report_factory.report(findings, policy_file=hostile)):
        assert "".join(get_reporter("json").chunks(report, _context(tmp_path))) == _whole_json_fallback(report)
        assert "".join(get_reporter("sarif").chunks(report, _context(tmp_path))) == \
            _whole_sarif(report, _context(tmp_path))


def _whole_json_fallback(report: Report) -> str:
    """Before streaming: pydantic's JSON, or the json module's for text pydantic cannot encode."""
    try:
        return _whole_json(report)
    except ValueError:
        return json_safe(json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False)) + "\n"


def test_spliced_refuses_a_skeleton_without_the_list() -> None:
    with pytest.raises(SkeletonError):
        list(spliced('{\n  "other": []\n}', [("findings", 2, list_pieces([1], json.dumps, 2))]))


def test_write_output_streams_to_a_file_and_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out" / "report.json"
    write_output(iter(["{", "\n", "}"]), target)
    assert target.read_text(encoding="utf-8") == "{\n}\n"  # a final newline is added, as for text
    write_output(iter(["a", "", "b\n"]), None)
    assert capsys.readouterr().out == "a b\n".replace(" ", "")


def test_a_failure_while_rendering_leaves_the_target_and_is_not_an_output_error(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old\n", encoding="utf-8")

    def pieces():
        yield "new"
        raise OSError(5, "a bug in a reporter, not the disk")

    with pytest.raises(OSError, match="a bug in a reporter"):
        write_output(pieces(), target)
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary file left behind


def test_write_chunks_atomic_in_place_for_non_regular_files(tmp_path: Path) -> None:
    write_chunks_atomic(Path(os.devnull), iter(["x" * 100_000, "é"]))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_chunks_atomic(fifo, iter(["ab", "cé"]))
        assert os.read(reader, 100) == "abcé".encode()
    finally:
        os.close(reader)


def test_pieces_are_written_while_the_next_ones_are_made() -> None:
    made_third = threading.Event()
    written: list[bytes] = []

    def write(data: bytes) -> None:
        # Written in this thread, the first piece would wait here for a piece not yet asked for.
        assert made_third.wait(10), "the first piece was written before the next ones were made"
        written.append(data)

    def pieces() -> Iterator[str]:
        yield "a"
        yield "é"
        made_third.set()
        yield "c"

    write_pieces(write, pieces())
    assert b"".join(written) == "aéc".encode()
    assert not [t for t in threading.enumerate() if t.name == "nhiaudit-writer"]  # the writer has ended


def test_one_piece_is_written_by_the_calling_thread() -> None:
    writers: list[threading.Thread] = []
    write_pieces(lambda data: writers.append(threading.current_thread()), iter(["whole"]))
    assert writers == [threading.current_thread()]


def test_a_failed_write_is_raised_here_and_stops_the_pieces() -> None:
    made: list[int] = []

    def pieces() -> Iterator[str]:
        for n in range(1000):
            made.append(n)
            yield "x" * 1000

    with pytest.raises(OSError) as raised:
        write_chunks_atomic(Path("/dev/full"), pieces())  # a device: written in place, every write fails
    assert raised.value.errno == errno.ENOSPC
    assert len(made) <= 10  # at most what was queued when the first write failed, and the next one


def test_a_narrow_table_builds_trees_and_blocks_in_the_process_printing_them(reports: dict[str, Report],
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The two processes printing a long table share the building of its trees and finding blocks, and get
    blocks alike (a block and its blank line are one renderable): each builds about half of each kind."""
    from nhiaudit.reporters import table

    built: Counter[str] = Counter()
    for name in ("_path_tree", "finding_block"):
        original = getattr(table, name)
        monkeypatch.setattr(table, name, functools.partial(_counted, built, name, original))

    def render(jobs: str) -> tuple[str, dict[str, int]]:
        """The table and what this process built for it (a forked child's count stays in the child)."""
        monkeypatch.setenv("NHIAUDIT_JOBS", jobs)
        built.clear()
        text = table.TableReporter(width=80, color=False).render(reports["synthetic"], RenderContext())
        return text, dict(built)

    (serial, every), (parallel, here) = render("1"), render("2")
    assert serial == parallel
    assert every["_path_tree"] > 20 and every["finding_block"] > 20
    for name, count in here.items():
        assert every[name] / 3 < count < every[name] * 2 / 3, (name, count, every[name])


def _counted(built: Counter[str], name: str, original: Callable[..., object], *args: object) -> object:
    built[name] += 1
    return original(*args)


def test_a_large_table_is_rendered_in_two_processes_as_rich_tree_would(reports: dict[str, Report],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A long table's renderables are printed alternately by a forked child (forked.alternately), and
    FastTree's trees print the text of Rich's own Tree, narrow (trees alone) and wide (trees in panels)."""
    import rich.tree

    from nhiaudit import forked
    from nhiaudit.reporters import table

    report = reports["synthetic"]
    context = RenderContext()
    started = []
    start = forked.ForkedWork.start.__func__

    def counted(cls, work):
        started.append(work)
        return start(cls, work)

    monkeypatch.setattr(forked.ForkedWork, "start", classmethod(counted))
    monkeypatch.setenv("NHIAUDIT_JOBS", "2")
    for width in (80, 140):
        for color in (False, True):
            fast = table.TableReporter(width=width, color=color).render(report, context)
            with monkeypatch.context() as rich_only:
                rich_only.setattr(table, "FastTree", rich.tree.Tree)
                assert table.TableReporter(width=width, color=color).render(report, context) == fast
    assert started  # the narrow table is long enough to be printed in two processes
