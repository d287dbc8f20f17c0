"""One case on its diagram for an administrator: element states, multi-instance progress, timer badges, the event
log, the planned-against-actual timeline, and the case as it stood at an earlier moment; all from the stored
projection and the kept steps (the workflow is restored only for a case not projected since revision 0007)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.casework.access import administers, monitored_case
from engine.casework.services import Services
from engine.errors import NotFound
from engine.monitoring.diagrams import Diagram, diagrams_of, titles_of
from engine.ports import CaseRecord, EventRow, StepSnapshot, TaskRow, TimerRow
from engine.workflow.monitor import element_states, facts_from_json
from engine.workflow.runtime import Case
from engine.workflow.timeline import Deadline, ReviewClock, Section, deadlines, facts_of, review_clock, timeline


@dataclass(frozen=True)
class Badge:
    """A date shown on an element: a timer's instant or a ready step's due date."""

    element: str
    label: str
    due: datetime
    revised_from: datetime | None = None


@dataclass(frozen=True)
class MonitorView:
    """What the monitor page shows of one case (at `at`, or now)."""

    case: CaseRecord
    at: datetime | None
    diagrams: tuple[Diagram, ...]
    elements: dict[str, dict[str, Any]]
    badges: tuple[Badge, ...]
    events: tuple[EventRow, ...]
    ready: tuple[TaskRow, ...]
    done: tuple[TaskRow, ...]
    timers: tuple[TimerRow, ...]
    deadlines: tuple[Deadline, ...]
    clock: ReviewClock | None
    timeline: tuple[Section, ...]
    steps: tuple[StepSnapshot, ...]
    may_intervene: bool
    titles: dict[str, str]
    step: int | None = None  # the lock version of the step shown, when an earlier one


def _as_of(rows: list[TaskRow], at: datetime) -> list[TaskRow]:
    """Task rows as they stood at `at`: created by then, completed only if completed by then."""
    found = []
    for row in rows:
        if row.created_at > at:
            continue
        if row.completed_at is not None and row.completed_at > at:
            row = TaskRow(row.id, row.case_id, row.name, row.title, row.lane, row.role, row.agency, row.form,
                          row.created_at, row.due_at, row.week, "ready", None, None, row.claimed_by, row.claimed_at,
                          row.due_original, row.due_reason)
        found.append(row)
    return found


def monitor_view(services: Services, case_id: int, username: str, at: datetime | None = None,
                 step: int | None = None) -> MonitorView:
    """The monitor of a case for someone who monitors its board (NotFound otherwise); as it stood after the
    step that left it at lock version `step`, or at the moment `at`, when one is given."""
    now = services.clock.now()
    with services.uow() as uow:
        record = monitored_case(services, uow, case_id, username)
        may_intervene = administers(uow.people.assignments_of(username), record.board, services.catalogue)
        rows = list(uow.tasks.for_case(case_id))
        events = list(uow.events.for_case(case_id))
        timers = list(uow.timers.for_case(case_id))
        steps = tuple(uow.monitor.snapshots(case_id))
        snapshot = uow.monitor.snapshot(case_id, at, step) if at is not None or step is not None else None
        if step is not None and snapshot is None:
            raise NotFound("this case has no such step")
        if snapshot is not None:
            at = snapshot.at
        version_id = snapshot.version_id if snapshot is not None else record.version_id
        process = services.process_by_id(uow, version_id)
    elements = record.elements
    facts = facts_from_json(record.facts)
    if at is not None:
        elements = snapshot.elements if snapshot is not None else {}
        rows = _as_of(rows, at)
        events = [e for e in events if e.at <= at]
        timers = [TimerRow(t.id, t.case_id, t.name, t.due_at, t.fired_at if t.fired_at and t.fired_at <= at else None,
                           t.title, t.agency, t.accountable, t.settled_at if t.settled_at and t.settled_at <= at
                           else None) for t in timers]
        moment = at
    else:
        moment = now
    if elements is None or facts is None:  # not projected yet (before revision 0007): read it from the workflow
        workflow = Case.restore(process, services.catalogue, record.state).workflow
        elements = elements if elements is not None else element_states(workflow)
        facts = facts if facts is not None else facts_of(process, workflow)
    if at is not None and snapshot is not None and snapshot.state:
        facts = facts_of(process, Case.restore(process, services.catalogue, snapshot.state).workflow)
    ready = [r for r in rows if r.state == "ready"]
    badges = [Badge(r.name, r.title, r.due_at, r.due_original) for r in ready if r.due_at is not None]
    badges += [Badge(t.name, t.title or t.name, t.due_at) for t in timers if t.fired_at is None]
    clock = review_clock(process, facts, rows, timers, record.created_at, moment,
                         completed=record.status == "completed")
    titles = titles_of(process)
    return MonitorView(record, at, diagrams_of(process.files, record.process_id, process.content_hash), elements,
                       tuple(sorted(badges, key=lambda b: b.due)), tuple(reversed(events)), tuple(ready),
                       tuple(r for r in rows if r.state == "completed"), tuple(timers), deadlines(timers, moment),
                       clock, timeline(process, facts, rows, moment), steps, may_intervene and at is None, titles,
                       snapshot.lock_version if snapshot is not None else None)
