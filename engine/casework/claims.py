"""Claiming, releasing and reassigning ready tasks: who is working on what (each step audited)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.casework.access import administers, may_act, may_hold, not_holdable, task_for
from engine.casework.services import Services
from engine.errors import Conflict, FieldError, InvalidSubmission, NotPermitted
from engine.ports import Assignment, CaseRecord, EventRow, TaskRow, UnitOfWork, UserRecord


def _now_held(uow: UnitOfWork, task_id: str, row: TaskRow) -> TaskRow:
    """The task row as just written (it exists: the step changed it inside this transaction)."""
    return uow.tasks.get(task_id) or row


def claim_task(services: Services, task_id: str, username: str) -> TaskRow:
    """Take a ready task so others see you are working on it (Conflict if someone else holds it)."""
    now = services.clock.now()
    with services.uow() as uow:
        row, _case = task_for(services, uow, task_id, username)
        if row.claimed_by not in (None, username):
            raise Conflict(f"{row.claimed_by} is already working on this task")
        uow.tasks.set_claim(task_id, username, now, row.claimed_by)
        uow.events.append(EventRow(row.case_id, now, "task_claimed", username, {"task": row.name, "title": row.title}))
        uow.commit()
        return _now_held(uow, task_id, row)


def release_task(services: Services, task_id: str, username: str) -> TaskRow:
    """Give a claimed task back to everyone who holds its role (its holder or an administrator)."""
    now = services.clock.now()
    with services.uow() as uow:
        row, case = task_for(services, uow, task_id, username, standing="actor or administrator")
        if row.claimed_by is None:
            return row
        if row.claimed_by != username and not administers(uow.people.assignments_of(username), case.board,
                                                          services.catalogue):
            raise NotPermitted(f"only {row.claimed_by} or an administrator can release this task")
        uow.tasks.set_claim(task_id, None, None, row.claimed_by)
        uow.events.append(EventRow(row.case_id, now, "task_released", username,
                                   {"task": row.name, "title": row.title, "from": row.claimed_by}))
        uow.commit()
        return _now_held(uow, task_id, row)


def reassign_task(services: Services, task_id: str, admin: str, to_username: str, reason: str) -> TaskRow:
    """An administrator gives a ready task to a named person, with a reason (audited).

    The role moves with the task: the person is given the task's role on this case (and agency) when they do not
    hold it yet, and whoever held that role on this case before no longer does (board-wide holders keep theirs).
    A person who may not hold the role (another board, another agency) is refused.
    """
    now = services.clock.now()
    reason = reason.strip()
    errors = [FieldError("reason", "Say why the task is being reassigned.")] if not reason else []
    with services.uow() as uow:
        row, case = task_for(services, uow, task_id, admin, standing="administrator")
        agency = services.catalogue.scope(row.role, row.agency)
        why = not_holdable(uow.people.get_user(to_username), to_username, services.catalogue.role(row.role or ""),
                           case.board, agency, services.catalogue.agency_name(agency)) if to_username else \
            "Choose the person to give the task to."
        if why:
            errors.append(FieldError("to", why))
        if errors:
            raise InvalidSubmission(errors)
        assert case.id is not None
        for held in uow.people.on_case(case.id):
            if held.role == row.role and held.agency == agency and held.username != to_username:
                uow.people.unassign(held)
                uow.events.append(EventRow(case.id, now, "role_removed", admin,
                                           {"role": row.role, "user": held.username, "agency": agency,
                                            "reason": reason}))
        if not may_act(row, case.board, uow.people.assignments_of(to_username), services.catalogue):
            uow.people.assign(Assignment(to_username, row.role or "", case.board, case.id, agency))
            uow.events.append(EventRow(case.id, now, "role_assigned", admin,
                                       {"role": row.role, "user": to_username, "agency": agency, "reason": reason}))
        uow.tasks.set_claim(task_id, to_username, now, row.claimed_by)
        uow.mail.mark_announced(task_id, None)  # the mail sweep tells the new holder (nobody twice)
        uow.events.append(EventRow(case.id, now, "task_reassigned", admin,
                                   {"task": row.name, "title": row.title, "from": row.claimed_by,
                                    "to": to_username, "reason": reason}))
        uow.commit()
        return _now_held(uow, task_id, row)


@dataclass(frozen=True)
class ReassignmentView:
    """A ready task as an administrator sees it to reassign it, with the people who may hold its role."""

    task: TaskRow
    case: CaseRecord
    people: tuple[UserRecord, ...]


def may_administer(services: Services, username: str, board: str) -> bool:
    """True when the person administers this board (assigns roles, reassigns tasks)."""
    with services.uow() as uow:
        return administers(uow.people.assignments_of(username), board, services.catalogue)


def reassignment_view(services: Services, task_id: str, admin: str) -> ReassignmentView:
    """What the reassignment page shows (NotFound unless the person administers the task's board)."""
    with services.uow() as uow:
        row, case = task_for(services, uow, task_id, admin, standing="administrator")
        role, agency = services.catalogue.role(row.role or ""), services.catalogue.scope(row.role, row.agency)
        people = tuple(u for u in uow.people.users(case.board) if may_hold(u, role, case.board, agency))
        return ReassignmentView(row, case, people)
