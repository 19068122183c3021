"""Parallel analysis (nhiaudit/forked.py): a large estate's identities and credentials are split across forked
workers. The report must be byte-identical whatever the number of workers, a worker's error must surface as
the same error, and a worker that dies must cost time, never findings."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.one_account_estate import authorization_details, credential_report  # noqa: E402
from nhiaudit import analysis, forked  # noqa: E402
from nhiaudit.connectors.imports import import_files  # noqa: E402
from nhiaudit.policy.model import EMPTY_POLICY  # noqa: E402
from nhiaudit.rules_engine.loader import load_rules  # noqa: E402

pytestmark = pytest.mark.skipif(not forked.can_fork(), reason="parallel analysis forks: Linux only")
_GENERATED = re.compile(rb'"generated_at": "[^"]*"')
AS_OF = "2026-11-28"


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("one-account")
    (folder / "authorization-details.json").write_text(json.dumps(authorization_details(1100, 450, 120)))
    (folder / "credential-report.csv").write_text(credential_report(1100))
    return folder


def _scan(estate: Path, out: Path, jobs: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NHIAUDIT_JOBS": jobs}
    return subprocess.run([sys.executable, "-m", "nhiaudit", "scan", "--import", str(estate), "--as-of", AS_OF,
                           "--format", "json", "--output", str(out), "--fail-on", "none", "-q"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def test_report_is_the_same_bytes_with_one_two_or_three_workers(estate: Path, tmp_path: Path) -> None:
    reports = {}
    for jobs in ("1", "2", "3"):
        out = tmp_path / f"report-{jobs}.json"
        result = _scan(estate, out, jobs)
        assert result.returncode == 0, result.stderr
        reports[jobs] = _GENERATED.sub(b'"generated_at": ""', out.read_bytes())
    assert reports["1"] == reports["2"] == reports["3"]
    assert json.loads(reports["1"])["summary"]["findings"] > 100  # the estate has something to split


@pytest.mark.parametrize("value", ["0", "two", "-1", "65"])
def test_a_bad_worker_count_is_a_usage_error(estate: Path, tmp_path: Path, value: str) -> None:
    result = _scan(estate, tmp_path / "r.json", value)
    assert result.returncode == 2
    assert "NHIAUDIT_JOBS" in result.stderr and "Traceback" not in result.stderr


def _findings(estate: Path) -> list[str]:
    result = analysis.analyse(import_files([estate]), EMPTY_POLICY, date.fromisoformat(AS_OF), load_rules([]))
    return [f.model_dump_json() for f in result.findings] + [p.model_dump_json() for p in result.access_paths]


def test_workers_that_die_cost_time_not_findings(estate: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NHIAUDIT_JOBS", "1")
    alone = _findings(estate)
    monkeypatch.setenv("NHIAUDIT_JOBS", "3")
    monkeypatch.setattr(analysis, "MIN_IDENTITIES_PER_JOB", 1)
    monkeypatch.setattr(forked, "_run_child", lambda work, fd: os._exit(9))  # every worker dies at once
    assert _findings(estate) == alone


def test_a_large_estate_is_split_and_gives_what_one_process_gives(estate: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NHIAUDIT_JOBS", "1")
    alone = _findings(estate)
    started = []
    start = forked.ForkedWork.start.__func__

    def counted(cls, work):
        started.append(work)
        return start(cls, work)

    monkeypatch.setattr(forked.ForkedWork, "start", classmethod(counted))
    monkeypatch.setenv("NHIAUDIT_JOBS", "3")
    assert _findings(estate) == alone
    # 1,550 identities: three shares of at least 500, in each of the three forked stages (the graph's reach
    # edges, the permission profiles, the per-subject facts and rules): two children each.
    assert len(started) == 6


def test_a_worker_error_is_raised_in_the_parent() -> None:
    def fail() -> None:
        raise ValueError("rule x failed on y")

    with pytest.raises(ValueError, match="rule x failed on y"):
        forked.ForkedWork.start(fail).result()


def test_a_worker_killed_before_its_result_is_lost_not_fatal() -> None:
    worker = forked.ForkedWork.start(lambda: os.kill(os.getpid(), signal.SIGKILL))
    with pytest.raises(forked.WorkerLost):
        worker.result()


def test_uncollected_workers_are_ended_when_the_parent_fails() -> None:
    started: list[forked.ForkedWork] = []
    with pytest.raises(RuntimeError), forked.Tasks(lambda task: time.sleep(60), 4, 3) as tasks:
        started.extend(worker for worker, _ in tasks._workers)
        raise RuntimeError("the parent's own work failed")
    assert len(started) == 2
    for worker in started:
        with pytest.raises(ChildProcessError):
            os.waitpid(worker.pid, os.WNOHANG)  # already reaped: no zombie, no orphan left running


def test_chunks_keep_order_and_balance() -> None:
    assert forked.chunks(list(range(7)), 3) == [[0, 1, 2], [3, 4], [5, 6]]
    assert forked.chunks([], 2) == [[], []]
    assert [n for run in forked.chunks(list(range(1001)), 4) for n in run] == list(range(1001))


def test_a_task_queue_gives_each_task_to_exactly_one_process() -> None:
    queue = forked.TaskQueue(500)

    def take_all() -> list[int]:
        taken = []
        while (task := queue.take()) is not None:
            taken.append(task)
            time.sleep(0.0005)  # both children and this process take while the others do
        return taken

    workers = [forked.ForkedWork.start(take_all) for _ in range(2)]
    mine = take_all()
    theirs = [worker.result() for worker in workers]
    queue.close()
    everything = mine + [task for taken in theirs for task in taken]
    assert sorted(everything) == list(range(500))  # none lost, none taken twice
    assert all(taken for taken in theirs)  # the children really took some
    with pytest.raises(ValueError):
        forked.TaskQueue(forked.TaskQueue.MAX_TASKS + 1)


def test_profiles_begun_beside_the_graph_are_ended_when_the_analysis_fails(
        estate: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Profile workers start before the trust edges: an error in between must not leave them running."""
    started: list[forked.ForkedWork] = []
    start = forked.ForkedWork.start.__func__

    def counted(cls, work):
        started.append(start(cls, work))
        return started[-1]

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the trust edges failed")

    monkeypatch.setattr(forked.ForkedWork, "start", classmethod(counted))
    monkeypatch.setattr("nhiaudit.graph.build.act_as_edges", fail)
    monkeypatch.setenv("NHIAUDIT_JOBS", "2")
    with pytest.raises(RuntimeError, match="trust edges failed"):
        _findings(estate)
    assert started  # the profile worker had begun
    for worker in started:
        with pytest.raises(ChildProcessError):
            os.waitpid(worker.pid, os.WNOHANG)  # reaped: no orphan left running


def test_an_estate_without_credentials_is_split_too(estate: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of credentials are tasks too: none at all must make no empty task list fail."""
    snapshot = import_files([estate]).model_copy(update={"credentials": []})
    monkeypatch.setenv("NHIAUDIT_JOBS", "2")
    split = analysis.analyse(snapshot, EMPTY_POLICY, date.fromisoformat(AS_OF), load_rules([]))
    monkeypatch.setenv("NHIAUDIT_JOBS", "1")
    alone = analysis.analyse(snapshot, EMPTY_POLICY, date.fromisoformat(AS_OF), load_rules([]))
    assert [f.fingerprint for f in split.findings] == [f.fingerprint for f in alone.findings]
    assert split.findings and not any(f.credential_id for f in split.findings)


def test_a_worker_killed_after_taking_tasks_loses_no_result() -> None:
    """A worker dies holding tasks it took from the queue: this process does them, every result is there."""
    parent = os.getpid()

    def do(task: int) -> int:
        if os.getpid() != parent and task >= 3:
            os.kill(os.getpid(), signal.SIGKILL)  # taken from the queue, never done
        time.sleep(0.001)
        return task * task

    assert forked.run_tasks(do, 40, 3) == [task * task for task in range(40)]


def test_a_child_s_results_are_taken_in_between_this_process_s_tasks() -> None:
    """Each result of a child crosses over as soon as it is done, and is decoded here before this process's
    last task, not all after it."""
    parent = os.getpid()
    events: list[str] = []

    def do(task: int) -> int:
        time.sleep(0.03 if os.getpid() == parent else 0.005)
        events.append("do")  # recorded in this process only: the child has its own copy
        return task

    def decode(result: int) -> int:
        events.append("decode")
        return result

    assert forked.run_tasks(do, 60, 2, decode=decode) == list(range(60))
    last_do = len(events) - 1 - events[::-1].index("do")
    assert "decode" in events[:last_do]
    assert events.count("decode") + events.count("do") == 60  # each task done or taken in once


def test_an_error_in_a_child_s_task_is_raised_here() -> None:
    parent = os.getpid()

    def do(task: int) -> int:
        if os.getpid() != parent:
            raise ValueError(f"rule x failed on task {task}")
        time.sleep(0.05)
        return task

    with pytest.raises(ValueError, match="rule x failed on task"):
        forked.run_tasks(do, 20, 2)


def test_results_go_through_a_temporary_file_where_memfd_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*args: object) -> int:
        raise PermissionError(1, "memfd_create is not allowed here")

    monkeypatch.setattr(os, "memfd_create", refused, raising=False)
    assert forked.run_tasks(lambda task: task * 3, 30, 2) == [task * 3 for task in range(30)]
