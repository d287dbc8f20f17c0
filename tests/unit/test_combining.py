"""Requests on one case arriving while another is written: written together, each with its own outcome."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from engine.casework.combining import Combiner, Pending


class _Watched(list[Pending]):
    """A queue that counts each request joining it."""

    joined = threading.Semaphore(0)

    def append(self, item: Pending) -> None:
        super().append(item)
        self.joined.release()


class _WatchedQueues(dict[object, list[Pending]]):
    def __setitem__(self, key: object, value: list[Pending]) -> None:
        super().__setitem__(key, _Watched(value))


def test_requests_queued_behind_a_writer_are_written_together_by_the_next_in_line() -> None:
    combiner = Combiner()
    combiner._queued = _WatchedQueues()  # type: ignore[assignment]
    writing, go = threading.Event(), threading.Event()
    batches: list[list[str]] = []
    answers: dict[str, object] = {}

    def write(mine: Pending, take: Callable[[], list[Pending]]) -> None:
        batch = [mine, *take()]  # what was queued when it got the case: nothing, for the first
        if mine.request == "first":
            writing.set()
            assert go.wait(10)
        batches.append([p.request for p in batch])
        for pending in batch:
            pending.settle(ValueError(pending.request) if pending.request == "bad" else pending.request.upper())

    def ask(request: str) -> None:
        try:
            answers[request] = combiner.run("case 1", request, write)
        except ValueError as refused:
            answers[request] = refused

    first = threading.Thread(target=ask, args=("first",))
    first.start()
    assert writing.wait(10)
    others = [threading.Thread(target=ask, args=(r,)) for r in ("second", "bad", "third")]
    for thread in others:
        thread.start()
    for _ in others:  # the three are queued behind the writer
        assert _Watched.joined.acquire(timeout=10)
    go.set()
    for thread in [first, *others]:
        thread.join(10)
    assert batches[0] == ["first"]
    assert len(batches) == 2 and sorted(batches[1]) == ["bad", "second", "third"], "the next wrote all three"
    assert answers["first"] == "FIRST" and answers["second"] == "SECOND" and answers["third"] == "THIRD"
    assert isinstance(answers["bad"], ValueError)
    assert combiner._queued == {}, "nobody is left writing the case"


def test_a_writer_that_fails_gives_its_error_to_itself_and_leaves_the_case_free() -> None:
    combiner = Combiner()

    def broken(mine: Pending, take: Callable[[], list[Pending]]) -> None:
        take()
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="went away"):
        combiner.run("case 1", "x", broken)
    assert combiner._queued == {}
    assert combiner.run("case 1", "y", lambda mine, take: mine.settle("written")) == "written"
