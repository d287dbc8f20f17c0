"""The read side for people: inbox items, a task with its form, a case overview; each checks access first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.casework.access import grants, may_hold, readable_case, task_for
from engine.casework.casefile import Document, earlier_answers
from engine.casework.services import Services
from engine.ports import Assignment, CaseRecord, EventRow, TaskRow, UserRecord
from engine.workflow.runtime import Case
from engine.workflow.timeline import Deadline, ReviewClock, Section, deadlines, facts_of, review_clock, timeline

DUE_SOON = timedelta(days=7)


@dataclass(frozen=True)
class InboxItem:
    """One task in a person's inbox, with what they need to decide what to do first."""

    task: TaskRow
    reference: str
    board: str
    overdue: bool
    due_soon: bool
    others: tuple[str, ...]


@dataclass(frozen=True)
class TaskView:
    """A ready task the user may act on, with its form and, per role a person picker gives, who may hold it."""

    task: TaskRow
    case: CaseRecord
    schema: dict[str, Any]
    ui_schema: dict[str, Any]
    people: dict[str, tuple[UserRecord, ...]]
    guidance: str = ""
    earlier: tuple[Document, ...] = ()

    @property
    def prefill(self) -> dict[str, Any]:
        """Answers this form repeats from the earlier ones it shows, to start from (the person may change them).

        A field takes the answer of the same name, or of the field its `x-prefill` names, from the latest earlier
        document that has it.
        """
        found: dict[str, Any] = {}
        for name, spec in self.schema.get("properties", {}).items():
            source = spec.get("x-prefill", name) if isinstance(spec, dict) else name
            for doc in reversed(self.earlier):
                if source in doc.submission.data:
                    found[name] = doc.submission.data[source]
                    break
        return found


@dataclass(frozen=True)
class CaseView:
    """What a person with a role on a case sees of it (no workflow data, no names from forms)."""

    case: CaseRecord
    ready: tuple[TaskRow, ...]
    done: tuple[TaskRow, ...]
    events: tuple[EventRow, ...]
    people: tuple[Assignment, ...]
    deadlines: tuple[Deadline, ...] = ()
    clock: ReviewClock | None = None
    timeline: tuple[Section, ...] = ()


def my_tasks(services: Services, username: str) -> Sequence[TaskRow]:
    """The ready tasks a user may act on, across cases (pure SQL; no workflow is loaded)."""
    with services.uow() as uow:
        return uow.tasks.inbox(uow.people.assignments_of(username), services.catalogue.scoped_roles())


def inbox(services: Services, username: str) -> list[InboxItem]:
    """The user's ready tasks across cases, soonest due first, with flags and who else can act."""
    now = services.clock.now()
    catalogue = services.catalogue
    with services.uow() as uow:
        rows = uow.tasks.inbox(uow.people.assignments_of(username), catalogue.scoped_roles())
        labels = uow.cases.labels({t.case_id for t in rows})
        keys = {t.id: (t.role or "", labels[t.case_id][1], t.case_id, catalogue.scope(t.role, t.agency))
                for t in rows}
        held = uow.people.holders_of(set(keys.values()))
        items = []
        for task in rows:
            reference, board = labels[task.case_id]
            holders = held[keys[task.id]]
            items.append(InboxItem(task, reference, board,
                                   overdue=task.due_at is not None and task.due_at < now,
                                   due_soon=task.due_at is not None and now <= task.due_at < now + DUE_SOON,
                                   others=tuple(h for h in holders if h != username)))
    return items


@dataclass(frozen=True)
class MissedDeadline:
    """A deadline that passed while its step was open, on a case where the person holds a role answerable for it."""

    case_id: int
    reference: str
    title: str
    agency: str | None
    due: datetime
    roles: tuple[str, ...]


def missed_deadlines(services: Services, username: str) -> list[MissedDeadline]:
    """The missed, unsettled deadlines the person answers for (their role acts on the step or was escalated to),
    across their cases, oldest first; they stay until the step is done or an extension is recorded."""
    catalogue = services.catalogue
    with services.uow() as uow:
        assignments = uow.people.assignments_of(username)
        missed = uow.timers.missed({a.case_id for a in assignments if a.case_id is not None},
                                   {a.board for a in assignments if a.case_id is None and a.board})
        labels = uow.cases.labels({t.case_id for t in missed}) if missed else {}
        found = []
        for timer in missed:
            reference, board = labels[timer.case_id]
            mine = tuple(r for r in timer.accountable
                         if any(grants(a, r, board, timer.case_id, timer.agency, catalogue) for a in assignments))
            if mine:
                found.append(MissedDeadline(timer.case_id, reference, timer.title or timer.name, timer.agency,
                                            timer.due_at, mine))
    return found


def task_view(services: Services, task_id: str, username: str, people: bool = True) -> TaskView:
    """A ready or completed task the user may act on, with its form (NotFound otherwise: a denied read).

    `people` (for each role a field of the form gives, the people who may hold it) can be skipped when the form
    will not be shown.
    """
    with services.uow() as uow:
        task, case = task_for(services, uow, task_id, username, ready=False)
        process = services.process_of(uow, case)
        schema, ui_schema = process.form_with_ui(task.form)
        offered = _pickers(services, schema, task, case, uow.people.users(case.board)) if people else {}
        earlier = earlier_answers(process, case, task, uow.submissions.for_case(task.case_id))
    return TaskView(task, case, schema, ui_schema, offered, process.guidance(task.name), earlier)


def _pickers(services: Services, schema: dict[str, Any], task: TaskRow, case: CaseRecord,
             users: Sequence[UserRecord]) -> dict[str, tuple[UserRecord, ...]]:
    """Role -> the board's people who may hold it, for each role a field of the form gives.

    A role held per agency is offered to that agency's people when the task's agency is the one it is given for;
    when the form itself says the agency (e.g. the referrer's agency), to people of any agency, and the server
    refuses a person of another agency on submit.
    """
    catalogue = services.catalogue
    found: dict[str, tuple[UserRecord, ...]] = {}
    for spec in schema.get("properties", {}).values():
        name = spec.get("x-assign-role") if isinstance(spec, dict) else None
        if not isinstance(name, str) or name in found:
            continue
        role = catalogue.role(name)
        agency = None
        if role is not None and role.agency_scoped and catalogue.agency_variable(role) == catalogue.scope_variable:
            agency = task.agency
        found[name] = tuple(u for u in users if may_hold(u, role, case.board, agency))
    return found


def case_view(services: Services, case_id: int, username: str) -> CaseView:
    """A case overview for someone holding a role on it or on its board (NotFound otherwise)."""
    with services.uow() as uow:
        case = readable_case(uow, case_id, username)
        rows = uow.tasks.for_case(case_id)
        events = uow.events.for_case(case_id)
        people = tuple(uow.people.on_case(case_id))
        process = services.process_of(uow, case)
        timers = uow.timers.for_case(case_id)
    now = services.clock.now()
    facts = facts_of(process, Case.restore(process, services.catalogue, case.state).workflow)
    clock = review_clock(process, facts, rows, timers, case.created_at, now, completed=case.status == "completed")
    return CaseView(case, tuple(t for t in rows if t.state == "ready"),
                    tuple(t for t in rows if t.state == "completed"), tuple(events), people, deadlines(timers, now),
                    clock, timeline(process, facts, rows, now))


def my_cases(services: Services, username: str) -> list[tuple[int, str, str]]:
    """(id, reference, board) of every case the user holds a role on, or that their board roles reach."""
    with services.uow() as uow:
        assignments = uow.people.assignments_of(username)
        labels = uow.cases.labels({a.case_id for a in assignments if a.case_id is not None})
        for board in {a.board for a in assignments if a.case_id is None and a.board}:
            labels.update(uow.cases.labels_of_board(board))
    return sorted(((i, ref, board) for i, (ref, board) in labels.items()), key=lambda c: c[1])


def boards_of(services: Services, username: str) -> Sequence[str]:
    """Boards a user can start a case on: their own account's board."""
    with services.uow() as uow:
        user = uow.people.get_user(username)
    return [user.board] if user is not None and user.board else []
