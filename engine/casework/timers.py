"""Firing due timers: a batch of cases per transaction, run in memory and then written together, every case locked
with its timer until the commit so people's steps queue behind."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from engine.casework import latency
from engine.casework.errored import mark_errored
from engine.casework.readahead import Prepared, Readahead
from engine.casework.services import Services
from engine.casework.steps import projected, record_steps, timer_fired
from engine.errors import Conflict, WorkflowFailed
from engine.ports import TimerRow, UnitOfWork
from engine.workflow.runtime import Case

log = logging.getLogger(__name__)
Failure = tuple[int, WorkflowFailed]  # a case whose timer could not fire, and why
BATCH = 10  # cases fired per transaction: one claim query and one commit for ten cases, and a person's step on one
# of them waits at most for the ten (about a tenth of a second), never for the whole sweep


def fire_due_timers(services: Services, limit: int = 100, batch: int = BATCH,
                    prepared: Readahead | None = None) -> int:
    """Fire timers that are due on at most `limit` cases, `batch` cases per transaction; returns how many cases
    moved on.

    A case someone is completing a task on right now is skipped (PostgreSQL `SKIP LOCKED`) and fired on the next
    sweep, on the state their step left, so neither the person nor the worker is refused. The cases of a batch are
    run first (or taken as a worker `prepared` them ahead, engine.casework.readahead, when unchanged since), then
    written together, a statement or two per table. A case whose run fails writes nothing and is marked errored
    after the commit; the others of its batch still fire. Should the writing fail, it is undone and each case is
    fired again alone, in a savepoint of its own. A crash before the commit undoes the whole batch, whose timers
    stay due and fire on the next sweep (nothing is lost, nothing fires twice).
    """
    fired = 0
    seen: set[int] = set()
    while len(seen) < limit:
        failed: list[Failure] = []
        with services.uow() as uow:
            # SpiffWorkflow fires a timer only once its instant has passed (due < now), so claim those alone.
            now = services.clock.now()
            claimed = uow.timers.claim_due(now - timedelta(microseconds=1), min(batch, limit - len(seen)))
            cases = [t for t in {t.case_id: t for t in reversed(claimed)}.values() if t.case_id not in seen]
            if not cases:
                return fired
            stamps = uow.cases.stamps([t.case_id for t in cases]) if prepared is not None and prepared.ready else {}
            runs: list[tuple[TimerRow, Prepared]] = []
            for timer in sorted(cases, key=lambda t: (t.due_at, t.id)):
                seen.add(timer.case_id)
                taken = prepared.take(timer, stamps.get(timer.case_id)) if prepared is not None else None
                try:
                    runs.append((timer, taken or run(services, uow, timer)))
                except WorkflowFailed as failure:  # nothing written; marked below, in its own transaction
                    failed.append((timer.case_id, failure))
            if write(services, uow, runs):
                moved = len(runs)
            else:
                moved, errors = one_by_one(services, uow, [timer for timer, _run in runs])
                failed += errors
            uow.commit()
            fired += moved
        for case_id, why in failed:
            mark_errored(services, case_id, why, kind="timer")
    return fired


def run(services: Services, uow: UnitOfWork, timer: TimerRow) -> Prepared:
    """Run a claimed timer's case on from the clock's time, in memory (nothing is written)."""
    now = services.clock.now()
    started = time.perf_counter()
    record = uow.cases.get(timer.case_id, for_update=True)
    stamps = (record.lock_version, record.version_id)
    case = Case.restore(services.process_of(uow, record), services.catalogue, record.state)
    result = case.advance(services.clock)
    return Prepared(timer.id, timer.due_at, stamps, projected(record, case, now), case, result,
                    time.perf_counter() - started)


def write(services: Services, uow: UnitOfWork, runs: Sequence[tuple[TimerRow, Prepared]]) -> bool:
    """Write the runs of a batch's cases together, in one savepoint; False when that failed and was undone."""
    if not runs:
        return True
    try:
        with uow.savepoint():
            written(services, uow, runs)
    except Exception:  # whatever it was, each case is fired again alone, where its own failure is told
        log.warning("a batch of timer firings could not be written together; firing them one by one", exc_info=True)
        return False
    return True


def written(services: Services, uow: UnitOfWork, runs: Sequence[tuple[TimerRow, Prepared]]) -> None:
    """Write runs of claimed cases (locked, and unchanged since they were read): a statement or two per table."""
    now = services.clock.now()
    started = time.perf_counter()
    records = uow.cases.save_all([replace(run.record, updated_at=now) for _timer, run in runs])
    uow.timers.mark_all_fired([timer.id for timer, _run in runs], now)
    uow.events.reach([timer.case_id for timer, _run in runs])
    for timer, _run in runs:
        timer_fired(uow, timer, now)
    record_steps(uow, [(record, run.case, [(run.result, None)])
                       for record, (_timer, run) in zip(records, runs, strict=True)], now)
    share = (time.perf_counter() - started) / len(runs)
    for _timer, run in runs:
        latency.observe(run.seconds + share)


def one_by_one(services: Services, uow: UnitOfWork, timers: Sequence[TimerRow]) -> tuple[int, list[Failure]]:
    """Fire each timer alone in a savepoint of its own; returns how many cases moved on and the failures."""
    moved, failed = 0, list[Failure]()
    for timer in timers:
        try:
            with uow.savepoint():
                written(services, uow, [(timer, run(services, uow, timer))])
            moved += 1
        except WorkflowFailed as failure:  # undone with its savepoint; marked by the caller, in its own transaction
            failed.append((timer.case_id, failure))
        except Conflict:
            continue  # fired meanwhile by a step that did not queue on the case's lock: nothing left to do
    return moved, failed
