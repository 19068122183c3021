"""forked.beside: work moved to a forked child while this process goes on must give what it gives here: its
value, its error, and, when the child is lost, the value computed here after all."""

from __future__ import annotations

import os
import threading

import pytest

from nhiaudit import forked

pytestmark = pytest.mark.skipif(not forked.can_fork(), reason="forks: Linux only")


@pytest.fixture(autouse=True)
def _may_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(forked.JOBS_ENV, "2")
    monkeypatch.setattr(forked, "only_thread", lambda: True)  # whatever other tests left running


def test_the_work_runs_in_a_child_while_the_block_runs() -> None:
    here = os.getpid()
    with forked.beside(os.getpid, worth_forking=True) as result:
        during = os.getpid()
        pid = result()
    assert during == here
    assert pid != here  # done by the child
    assert result() == pid  # asked again: the same answer, not a second wait


def test_a_childs_error_is_raised_here() -> None:
    def fails() -> None:
        raise ValueError("checked in the child")

    with forked.beside(fails, worth_forking=True) as result, pytest.raises(ValueError, match="in the child"):
        result()


def test_a_lost_child_has_its_work_done_here() -> None:
    here = os.getpid()

    def dies_in_a_child() -> int:
        if os.getpid() != here:
            os._exit(9)  # killed before it could answer
        return os.getpid()

    with forked.beside(dies_in_a_child, worth_forking=True) as result:
        assert result() == here


def test_a_child_never_asked_is_ended() -> None:
    started: list[forked.ForkedWork[object]] = []
    real_start = forked.ForkedWork.start

    def spy(work):  # type: ignore[no-untyped-def]
        started.append(real_start(work))
        return started[-1]

    def sleeps() -> None:
        import time

        time.sleep(60)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(forked.ForkedWork, "start", staticmethod(spy))
        with pytest.raises(KeyError), forked.beside(sleeps, worth_forking=True):
            raise KeyError("the block failed first")
    assert started and started[0].done
    with pytest.raises(ChildProcessError):
        os.waitpid(started[0].pid, os.WNOHANG)  # reaped


@pytest.mark.parametrize("reason", ["not worth it", "one process asked for", "another thread runs"])
def test_otherwise_the_work_runs_here_before_the_block(monkeypatch: pytest.MonkeyPatch, reason: str) -> None:
    worth = reason != "not worth it"
    if reason == "one process asked for":
        monkeypatch.setenv(forked.JOBS_ENV, "1")
    if reason == "another thread runs":
        monkeypatch.setattr(forked, "only_thread", lambda: threading.active_count() == 1)
        blocker = threading.Event()
        thread = threading.Thread(target=blocker.wait, daemon=True)
        thread.start()
    order: list[str] = []
    here = os.getpid()

    def work() -> int:
        order.append("work")
        return os.getpid()

    try:
        with forked.beside(work, worth_forking=worth) as result:
            order.append("block")
            assert result() == here
    finally:
        if reason == "another thread runs":
            blocker.set()
            thread.join()
    assert order == ["work", "block"]
