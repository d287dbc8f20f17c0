"""Lining competitors up without sleeping: units of work that wait at a barrier, or hold a case until told."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from engine.casework.services import Services

POSTGRES = os.environ.get("SCR_TEST_DATABASE") == "postgresql"


class _Opened:
    """A unit of work whose first read (of a task or of due timers) runs `after_read` once it has answered."""

    def __init__(self, inner: Any, after_read: Callable[[], None] | None, before: Callable[[], None] | None) -> None:
        self.inner, self.after_read, self.before = inner, after_read, before

    def __enter__(self) -> Any:
        if self.before is not None:
            self.before()
        opened = self.inner.__enter__()
        if self.after_read is not None:
            done = [False]
            for repository, method in ((opened.tasks, "get"), (opened.timers, "claim_due")):
                original = getattr(repository, method)

                def first_read(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                    answer = _original(*args, **kwargs)
                    if not done[0]:
                        done[0] = True
                        self.after_read()  # type: ignore[misc]
                    return answer
                setattr(repository, method, first_read)
        return opened

    def __exit__(self, *args: object) -> None:
        self.inner.__exit__(*args)


class AtOnce:
    """Units of work that line up `parties` threads: each thread's first one waits until all are there.

    On PostgreSQL they wait after their first read, so every competitor has seen the case as it stood before
    anyone writes. On SQLite they wait before any statement: BEGIN IMMEDIATE lets one transaction in at a time,
    so a barrier inside one would wait for ever.
    """

    def __init__(self, services: Services, parties: int) -> None:
        self.real = services.uow
        self.barrier = threading.Barrier(parties, timeout=60)
        self.local = threading.local()

    def __call__(self) -> Any:
        inner = self.real()
        if getattr(self.local, "lined_up", False):
            return inner  # a retry, or a later step of the same thread, goes straight in
        self.local.lined_up = True
        if POSTGRES:
            return _Opened(inner, self.barrier.wait, None)
        return _Opened(inner, None, self.barrier.wait)


class HoldingTheCase:
    """Units of work for one thread whose step, once it has locked its case, waits until `go` is set.

    `holding` is set while it waits. (PostgreSQL only: on SQLite nothing else could run meanwhile.)
    """

    def __init__(self, services: Services) -> None:
        self.real = services.uow
        self.holding, self.go = threading.Event(), threading.Event()
        self.owner: int | None = None

    def __call__(self) -> Any:
        inner = self.real()
        if threading.get_ident() != self.owner or self.go.is_set():
            return inner
        opened_self = self

        class Held:
            def __enter__(self) -> Any:
                opened = inner.__enter__()
                get = opened.cases.get

                def get_and_hold(case_id: int, for_update: bool = False) -> Any:
                    record = get(case_id, for_update=for_update)
                    if for_update:
                        opened_self.holding.set()
                        assert opened_self.go.wait(60), "the test never let the held step go on"
                    return record
                opened.cases.get = get_and_hold
                return opened

            def __exit__(self, *args: object) -> None:
                inner.__exit__(*args)

        return Held()
