"""Firing due timers: a batch of cases per transaction, each case in a savepoint of its own, every case locked
with its timer until the commit so people's steps queue behind."""

from __future__ import annotations

from datetime import timedelta

from engine.casework import latency
from engine.casework.errored import mark_errored
from engine.casework.services import Services
from engine.casework.steps import record_step, save, timer_fired
from engine.errors import Conflict, WorkflowFailed
from engine.ports import TimerRow, UnitOfWork
from engine.workflow.runtime import Case

BATCH = 10  # cases fired per transaction: one claim query and one commit for ten cases, and a person's step on one
# of them waits at most for the ten (about a tenth of a second), never for the whole sweep


def fire_due_timers(services: Services, limit: int = 100, batch: int = BATCH) -> int:
    """Fire timers that are due on at most `limit` cases, `batch` cases per transaction; returns how many cases
    moved on.

    A case someone is completing a task on right now is skipped (PostgreSQL `SKIP LOCKED`) and fired on the next
    sweep, on the state their step left, so neither the person nor the worker is refused. Each case fires in a
    savepoint: a case whose step fails is undone alone and marked errored after the commit, and the others of
    its batch still fire. A crash before the commit undoes the whole batch, whose timers stay due and fire on the
    next sweep (nothing is lost, nothing fires twice).
    """
    fired = 0
    seen: set[int] = set()
    while len(seen) < limit:
        failed: list[tuple[int, WorkflowFailed]] = []
        with services.uow() as uow:
            # SpiffWorkflow fires a timer only once its instant has passed (due < now), so claim those alone.
            now = services.clock.now()
            claimed = uow.timers.claim_due(now - timedelta(microseconds=1), min(batch, limit - len(seen)))
            cases = [t for t in {t.case_id: t for t in reversed(claimed)}.values() if t.case_id not in seen]
            if not cases:
                return fired
            moved = 0
            for timer in sorted(cases, key=lambda t: (t.due_at, t.id)):
                seen.add(timer.case_id)
                try:
                    with uow.savepoint():
                        fire(services, uow, timer)
                    moved += 1
                except WorkflowFailed as failure:  # undone with its savepoint; marked below, in its own transaction
                    failed.append((timer.case_id, failure))
                except Conflict:
                    continue  # fired meanwhile by a step that did not queue on the case's lock: nothing left to do
            uow.commit()
            fired += moved
        for case_id, why in failed:
            mark_errored(services, case_id, why, kind="timer")
    return fired


def fire(services: Services, uow: UnitOfWork, timer: TimerRow) -> None:
    """Fire one claimed timer: run its case on from the clock's time and record the step."""
    now = services.clock.now()
    with latency.timed():
        record = uow.cases.get(timer.case_id, for_update=True)
        case = Case.restore(services.process_of(uow, record), services.catalogue, record.state)
        result = case.advance(services.clock)
        record = save(uow, record, case, now)
        uow.timers.mark_fired(timer.id, now)
        timer_fired(uow, timer, now)
        record_step(uow, record, case, [(result, None)], now)
