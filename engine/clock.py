"""The only place that reads the time: a system clock, a frozen clock for tests, and SpiffWorkflow's hook."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to; tests drive 26 weeks in milliseconds with it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """Return the frozen instant."""
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to `when` (aware)."""
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        """Move forward by `delta`."""
        self._now += delta


_local = threading.local()
_default: Clock = SystemClock()


def current() -> Clock:
    """The clock in force on this thread (the system clock unless `using` says otherwise)."""
    return getattr(_local, "clock", None) or _default


@contextmanager
def using(clock: Clock) -> Iterator[Clock]:
    """Make SpiffWorkflow read `clock` on this thread for the duration of the block."""
    previous = getattr(_local, "clock", None)
    _local.clock = clock
    try:
        yield clock
    finally:
        _local.clock = previous


class _ClockDatetime(datetime):
    """`datetime` whose now() reads the current engine clock (installed into SpiffWorkflow's timer module)."""

    @classmethod
    def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
        moment = current().now()
        return moment.astimezone(tz) if tz is not None else moment  # type: ignore[arg-type]


class _ClockTime:
    """Stand-in for the `time` module inside SpiffWorkflow.task (last_state_change)."""

    @staticmethod
    def time() -> float:
        return current().now().timestamp()


def install_into_spiffworkflow() -> None:
    """Point SpiffWorkflow's timer arithmetic and task timestamps at this module's clock (idempotent)."""
    import SpiffWorkflow.bpmn.specs.event_definitions.timer as spiff_timer
    import SpiffWorkflow.task as spiff_task

    spiff_timer.datetime = _ClockDatetime
    spiff_task.time = _ClockTime


def utc(value: datetime) -> datetime:
    """Return `value` as aware UTC (naive values are taken to be UTC already)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


__all__ = ["Clock", "SystemClock", "FrozenClock", "current", "using", "install_into_spiffworkflow", "utc",
           "timedelta"]
