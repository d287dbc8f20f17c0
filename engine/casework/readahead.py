"""Firings prepared ahead: a worker with nothing due runs the cases whose timers fall due soon on a clock set to
each timer's instant and keeps the result in memory, so at the instant only the writing is left.

A prepared firing is used only when the case is exactly as it was read (same lock_version and process version,
the same timer earliest): any step, migration or administrator's change in between bumps the lock_version and the
firing is run again from the stored state, as if it had never been prepared. The prepared run is the run a
firing at the timer's instant makes; a timer of the case falling due between that instant and the write fires on
the next sweep, as it would had the worker been a moment quicker. Nothing is written while preparing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.casework.services import Services
from engine.casework.steps import projected
from engine.clock import FrozenClock
from engine.errors import WorkflowFailed
from engine.ports import CaseRecord, TimerRow
from engine.workflow.runtime import Case, StepResult

HORIZON = timedelta(seconds=30)  # how far ahead a worker looks for timers to prepare
KEEP = 1000  # prepared firings held at most (about 35 kB each: a restored Dorset case)
CHUNK = 25  # cases read per short transaction while preparing (SQLite holds its write lock for each)
INSTANT = timedelta(microseconds=1)  # SpiffWorkflow fires a timer once its instant has passed


@dataclass
class Prepared:
    """A case run on to its timer's instant (ahead of it, or when claimed), with the stamps of the record read."""

    timer_id: str
    due_at: datetime
    stamps: tuple[int, int]  # (lock_version, version_id) of the record read
    record: CaseRecord  # as read, with the state, status and monitor projection of the case run on to the instant
    case: Case  # run on to the instant, frozen (what it answers is kept)
    result: StepResult
    seconds: float = 0.0  # how long the run took, when it was not ahead of time (the step's latency)


class Readahead:
    """One worker's prepared firings, by case id."""

    def __init__(self, horizon: timedelta = HORIZON, keep: int = KEEP) -> None:
        self.horizon, self.keep = horizon, keep
        self.ready: dict[int, Prepared] = {}
        self.used = 0  # firings written from a prepared run
        self.discarded = 0  # prepared runs thrown away because the case changed

    def take(self, timer: TimerRow, stamps: tuple[int, int] | None) -> Prepared | None:
        """The prepared firing of `timer`, if the case is still as it was read; it is used at most once."""
        prepared = self.ready.pop(timer.case_id, None)
        if prepared is None:
            return None
        if prepared.timer_id != timer.id or prepared.due_at != timer.due_at or prepared.stamps != stamps:
            self.discarded += 1
            return None
        self.used += 1
        return prepared

    def prepare(self, services: Services, stop: Callable[[], bool] | None = None) -> int:
        """Prepare the firings of timers due within the horizon that are not prepared yet, soonest first, until
        the first of them falls due or `stop()` says so (a worker told to stop); returns how many were prepared."""
        now = services.clock.now()
        with services.uow() as uow:
            upcoming = uow.timers.upcoming(now, now + self.horizon, self.keep)
        first = {t.case_id: t for t in reversed(upcoming)}  # each case's earliest timer
        wanted = [t for t in first.values() if not self._holds(t)]
        wanted.sort(key=lambda t: (t.due_at, t.id))
        for case_id, held in list(self.ready.items()):
            if held.due_at < now - self.horizon or (held.due_at > now and case_id not in first):
                del self.ready[case_id]  # left unfired (a suspended case), or re-timed or cancelled meanwhile
        prepared = 0
        for start in range(0, len(wanted), CHUNK):
            if services.clock.now() >= upcoming[0].due_at or (stop is not None and stop()):
                break
            prepared += self._prepare_chunk(services, wanted[start:start + CHUNK])
        return prepared

    def _holds(self, timer: TimerRow) -> bool:
        held = self.ready.get(timer.case_id)
        return held is not None and held.timer_id == timer.id and held.due_at == timer.due_at

    def _prepare_chunk(self, services: Services, timers: list[TimerRow]) -> int:
        """Read and run the cases of `timers` (one short read-only transaction), keeping each run."""
        done = 0
        with services.uow() as uow:
            for timer in timers:
                if len(self.ready) >= self.keep:
                    break
                record = uow.cases.get(timer.case_id)
                case = Case.restore(services.process_of(uow, record), services.catalogue, record.state)
                try:
                    result = case.advance(FrozenClock(timer.due_at + INSTANT))
                except WorkflowFailed:
                    continue  # fired for real at the instant, where the failure is recorded
                stamps = (record.lock_version, record.version_id)
                record = projected(record, case, timer.due_at)  # updated_at set when written
                case.freeze()
                self.ready[timer.case_id] = Prepared(timer.id, timer.due_at, stamps, record, case, result)
                done += 1
        return done
