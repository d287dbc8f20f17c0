"""Firing due timers: one case per transaction, the case locked with its timer so people's steps queue behind."""

from __future__ import annotations

from datetime import timedelta

from engine.casework import latency
from engine.casework.errored import mark_errored
from engine.casework.services import Services
from engine.casework.steps import record_step, save, timer_fired
from engine.errors import WorkflowFailed
from engine.workflow.runtime import Case


def fire_due_timers(services: Services, limit: int = 100) -> int:
    """Fire timers that are due, one case per transaction; returns how many cases moved on.

    A case someone is completing a task on right now is skipped (PostgreSQL `SKIP LOCKED`) and fired on the next
    sweep, on the state their step left, so neither the person nor the worker is refused.
    """
    fired = 0
    seen: set[int] = set()
    for _ in range(limit):
        now = services.clock.now()
        failed: tuple[int, WorkflowFailed] | None = None
        with services.uow() as uow:
            # SpiffWorkflow fires a timer only once its instant has passed (due < now), so claim those alone.
            due = [t for t in uow.timers.claim_due(now - timedelta(microseconds=1), 1) if t.case_id not in seen]
            if not due:
                return fired
            timer = due[0]
            seen.add(timer.case_id)
            try:
                with latency.timed():
                    record = uow.cases.get(timer.case_id, for_update=True)
                    case = Case.restore(services.process_of(uow, record), services.catalogue, record.state)
                    result = case.advance(services.clock)
                    record = save(uow, record, case, now)
                    uow.timers.mark_fired(timer.id, now)
                    timer_fired(uow, timer, now)
                    record_step(uow, record, case, [(result, None)], now)
                    uow.commit()
                    fired += 1
            except WorkflowFailed as error:  # rolled back with the block; marked below, in its own transaction
                failed = (timer.case_id, error)
        if failed is not None:
            mark_errored(services, failed[0], failed[1], kind="timer")
    return fired
