"""One engine step made durable: the new state saved under the case's optimistic lock, then its task and timer
rows, notices, role assignments and audit events, all in the step's own transaction; and running a step again
on fresh state when another step on the same case saved first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from engine.errors import NotFound, StaleCase
from engine.ports import Assignment, CaseRecord, EventRow, NoticeRow, TaskRow, TimerRow, UnitOfWork
from engine.workflow import monitor
from engine.workflow.runtime import Case, PendingTimer, StepResult

T = TypeVar("T")
Stepped = tuple[CaseRecord, Case, Sequence[tuple[StepResult, str | None]]]  # a case, loaded, and its steps just run
RETRIES = 8  # eight agencies finishing at once: the last can lose to each of the other seven


def run_again_when_stale(step: Callable[[int], T], retries: int = RETRIES) -> T:
    """`step(attempt)`, run again on fresh state (attempt + 1) when another step on the case saved first.

    Steps on one case queue on its lock (`cases.get(..., for_update=True)` before the state is read), so a
    stale save means a writer that did not queue; the step is still valid (its task is re-read and still
    ready), so it runs again, at most `retries` times, then the StaleCase (a Conflict) is raised.
    """
    for attempt in range(retries):
        try:
            return step(attempt)
        except StaleCase:
            continue
    return step(retries)


def save(uow: UnitOfWork, record: CaseRecord, case: Case, now: datetime) -> CaseRecord:
    """Save the new state first, under the optimistic lock, so a stale step fails before it writes anything."""
    return uow.cases.save(projected(record, case, now))


def projected(record: CaseRecord, case: Case, now: datetime) -> CaseRecord:
    """The record with the case's new state, status and monitor projection (engine.workflow.monitor)."""
    record.state = case.dump().encode()
    if record.status not in ("suspended", "terminated"):  # only an administrator's resume changes those
        record.status = "completed" if case.completed else "open"
    record.updated_at = now
    ready = sorted(case.ready_tasks(), key=lambda t: (t.due_at is None, t.due_at or now, t.title))
    record.step = "; ".join(dict.fromkeys(t.title for t in ready))[:500] or None
    record.next_due_at = next((t.due_at for t in ready if t.due_at is not None), None)
    record.planned_week = min((t.week for t in ready if t.week is not None), default=None)
    view = monitor.project(case.process, case.workflow, now)
    record.elements, record.facts = view.elements, view.facts
    record.clock_started_at, record.clock_weeks = view.clock_started_at, view.clock_weeks
    anchor = record.clock_started_at or record.created_at
    record.planned_by = anchor + timedelta(weeks=record.planned_week) if record.planned_week is not None else None
    return record


def project_rows(uow: UnitOfWork, record: CaseRecord, case: Case, fired: Sequence[PendingTimer], now: datetime) -> None:
    """Write the inbox and timer rows of a case from its loaded workflow (same transaction as the step).

    A timer that fired during the step is recorded as fired (one the step itself set and fired included: its
    instant had passed when it was set); a missed deadline whose step is now done, or whose extension is
    recorded, is settled.
    """
    project_all(uow, [(record, case, fired)], now)


def project_all(uow: UnitOfWork, cases: Sequence[tuple[CaseRecord, Case, Sequence[PendingTimer]]],
                now: datetime) -> None:
    """project_rows for several cases at once (a batch of timer firings): one read and one write per table."""
    ids = [record.id for record, _case, _fired in cases if record.id is not None]
    assert len(ids) == len(cases)
    uow.tasks.replace_for_cases({
        case_id: [TaskRow(t.id, case_id, t.name, t.title, t.lane, t.role, t.agency, t.form, now, t.due_at, t.week)
                  for t in case.ready_tasks()]
        for case_id, (_record, case, _fired) in zip(ids, cases, strict=True)})
    known = uow.timers.for_cases(ids)
    for case_id, (_record, _case, fired) in zip(ids, cases, strict=True):
        before = {t.id: t for t in known[case_id]}
        for timer in fired:
            seen = before.get(timer.id)
            if seen is not None and seen.fired_at is not None:
                continue  # the worker recorded it already
            row = TimerRow(timer.id, case_id, timer.name, timer.due_at, now, timer.title, timer.agency,
                           timer.accountable)
            if seen is None:
                uow.timers.add(row)
            else:
                uow.timers.mark_fired(timer.id, now)
            before[timer.id] = row
            timer_fired(uow, row, now)
        known[case_id] = list(before.values())
    uow.timers.replace_for_cases({
        case_id: [TimerRow(t.id, case_id, t.name, t.due_at, None, t.title, t.agency, t.accountable)
                  for t in case.waiting_timers()]
        for case_id, (_record, case, _fired) in zip(ids, cases, strict=True)}, known)
    for case_id, (_record, case, _fired) in zip(ids, cases, strict=True):
        missed = [t.id for t in known[case_id] if t.missed]
        if missed:
            uow.timers.settle(case.settled(missed), now)


def timer_fired(uow: UnitOfWork, timer: TimerRow, now: datetime) -> None:
    """The history line of a timer that fired: a missed deadline when it keeps one, else a plain timer."""
    missed = bool(timer.accountable)
    uow.events.append(EventRow(timer.case_id, now, "deadline_missed" if missed else "timer_fired", None,
                               {"timer": timer.name, "title": timer.title or timer.name, "agency": timer.agency,
                                "due_at": timer.due_at.isoformat(),
                                **({"accountable": list(timer.accountable)} if missed else {})}))


def record_step(uow: UnitOfWork, record: CaseRecord, case: Case, steps: Sequence[tuple[StepResult, str | None]],
                now: datetime) -> None:
    """The records of the steps just run on a loaded case: its task and timer rows (once), then each step's
    notices and role assignments with its actor, and the case's completion."""
    record_steps(uow, [(record, case, steps)], now)


def record_steps(uow: UnitOfWork, stepped: Sequence[Stepped], now: datetime) -> None:
    """record_step for several cases at once (a batch of timer firings), their rows written together."""
    project_all(uow, [(record, case, [timer for result, _actor in steps for timer in result.fired])
                      for record, case, steps in stepped], now)
    uow.notices.add_all([NoticeRow(record.id, now, n.role, n.agency, n.kind, n.message, n.element)
                         for record, _case, steps in stepped if record.id is not None
                         for result, _actor in steps for n in result.notices])
    for record, case, steps in stepped:
        assert record.id is not None
        for result, actor in steps:
            for notice in result.notices:
                uow.events.append(EventRow(record.id, now, "notice", None,
                                           {"role": notice.role, "kind": notice.kind, "element": notice.element,
                                            "agency": notice.agency}))
            for role, username, agency in result.assignments:
                if uow.people.get_user(username) is None:
                    raise NotFound(f"no user called {username!r} to assign as {role}")
                uow.people.assign(Assignment(username, role, record.board, record.id, agency))
                uow.events.append(EventRow(record.id, now, "role_assigned", actor,
                                           {"role": role, "user": username, "agency": agency}))
        if case.completed:
            uow.events.append(EventRow(record.id, now, "case_completed", steps[-1][1] if steps else None, {}))
