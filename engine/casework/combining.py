"""Requests on one case that arrive while another is being written are written together, by one thread.

Steps on a case queue on its lock anyway; a writer that takes the others waiting in this process with it restores
and saves the case once for all of them (group commit), so eight people finishing at once wait for one longer step
instead of eight in a row. Across processes the case's lock still queues the writers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any


class Pending:
    """One request waiting for its outcome: a result, or the exception its caller should get."""

    def __init__(self, request: Any) -> None:
        self.request = request
        self.outcome: Any = None
        self.settled = False
        self.leads = False
        self._woken = threading.Event()

    def settle(self, outcome: Any) -> None:
        """Give the request its outcome (an exception is raised to its caller)."""
        self.outcome, self.settled = outcome, True
        self._woken.set()

    def result(self) -> Any:
        """The outcome, raised when it is an exception."""
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


Write = Callable[[Pending, Callable[[], list[Pending]]], None]


class Combiner:
    """Per process: who is writing each case, and the requests queued behind them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: dict[Hashable, list[Pending]] = {}

    def run(self, key: Hashable, request: Any, write: Write) -> Any:
        """The outcome of `request`, written by `write(mine, take)` here or by the thread writing `key` now.

        `write` must settle `mine` and every request `take()` hands it (`take` returns those queued since the
        last call; call it once the case is locked). Whatever `write` raises settles every request it holds.
        """
        mine = Pending(request)
        with self._lock:
            queue = self._queued.get(key)
            if queue is None:
                self._queued[key] = []
            else:
                queue.append(mine)
        if queue is not None:
            mine._woken.wait()
            if not mine.leads:
                return mine.result()
        held = [mine]

        def take() -> list[Pending]:
            with self._lock:
                more, self._queued[key] = self._queued[key], []
            held.extend(more)
            return more

        try:
            write(mine, take)
        except BaseException as exc:
            for pending in held:
                if not pending.settled:
                    pending.settle(exc)
        finally:
            self._hand_over(key)
        return mine.result()

    def _hand_over(self, key: Hashable) -> None:
        """The first request queued behind the writer writes next; with none, nobody is writing this case."""
        with self._lock:
            queue = self._queued[key]
            if not queue:
                del self._queued[key]
                return
            successor = queue.pop(0)
        successor.leads = True
        successor._woken.set()
