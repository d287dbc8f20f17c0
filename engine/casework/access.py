"""Who may do what on a case: the rules over role assignments, and the one load-or-refuse step each use case
starts with.

A refusal to read looks like absence: a person without a role on a case or task is told NotFound, never
NotPermitted, so probing ids learns nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from engine.casework.services import Services
from engine.errors import Conflict, FieldError, InvalidSubmission, NotFound, NotPermitted, TaskCompleted
from engine.ports import Assignment, CaseRecord, TaskRow, UnitOfWork, UserRecord
from engine.workflow.catalogue import Catalogue, Role
from engine.workflow.runtime import Assigned

Standing = Literal["actor", "actor or administrator", "administrator"]


def grants(assignment: Assignment, role: str | None, board: str, case_id: int, agency: str | None,
           catalogue: Catalogue) -> bool:
    """True when `assignment` lets its holder act as `role` on this case (and agency, when scoped)."""
    if role is None or assignment.role != role:
        return False
    if assignment.case_id is None:
        if assignment.board != board:
            return False
    elif assignment.case_id != case_id:
        return False
    definition = catalogue.role(role)
    if definition is not None and definition.agency_scoped and agency is not None:
        return assignment.agency == agency
    return True


def may_act(task: TaskRow, board: str, assignments: Sequence[Assignment], catalogue: Catalogue) -> bool:
    """True when any of a user's assignments covers this task."""
    return any(grants(a, task.role, board, task.case_id, task.agency, catalogue) for a in assignments)


def administers(assignments: Sequence[Assignment], board: str, catalogue: Catalogue) -> bool:
    """True when the user holds, on this board, a role the catalogue marks `administers`."""
    return any(a.board == board and (r := catalogue.role(a.role)) is not None and r.administers for a in assignments)


def oversees(assignments: Sequence[Assignment], catalogue: Catalogue) -> bool:
    """True when the user holds, anywhere, a role the catalogue marks `administers` or `monitors`: the people the
    administrators' pages (the monitor, reassigning tasks, giving case roles) are for."""
    return any((r := catalogue.role(a.role)) is not None and (r.administers or r.monitors) for a in assignments)


def owns_procedures(assignments: Sequence[Assignment], board: str, catalogue: Catalogue) -> bool:
    """True when the user holds, board-wide on this board, a role the catalogue marks `owns_procedures`."""
    owning = catalogue.procedure_owner_roles()
    return any(a.role in owning and a.case_id is None and a.board == board for a in assignments)


def reads_case_file(assignments: Sequence[Assignment], board: str, case_id: int, agency: str | None,
                    catalogue: Catalogue) -> bool:
    """True when the user may read answers given for `agency` (None: the case as a whole) on this case.

    Holders of a `reads_case_file` role on the case or its board read everything; holders of an agency-scoped
    role read their own agency's answers only.
    """
    for a in assignments:
        if not (a.case_id == case_id or (a.case_id is None and a.board == board)):
            continue
        role = catalogue.role(a.role)
        if role is None:
            continue
        if role.reads_case_file or (role.agency_scoped and agency is not None and a.agency == agency):
            return True
    return False


def may_hold(person: UserRecord, role: Role | None, board: str, agency: str | None) -> bool:
    """True when `person` may hold `role` on a case of `board`: a person of that board (or of none, such as an
    independent reviewer) and, for a role held per agency, of that agency (any while it is not yet known)."""
    if person.board not in (None, board):
        return False
    if role is None or not role.agency_scoped:
        return True
    return person.agency is not None and (agency is None or person.agency == agency)


def not_holdable(person: UserRecord | None, username: str, role: Role | None, board: str,
                 agency: str | None, agency_title: str) -> str | None:
    """Why `username` cannot hold `role` here, in words a person can act on (None when they can)."""
    title = role.title if role is not None else "that role"
    if person is None:
        return f"There is nobody called {username!r}: choose a person from the list."
    if person.board not in (None, board):
        return f"{person.display_name} is not on this board: choose a person from the list."
    if not may_hold(person, role, board, agency):
        return (f"{person.display_name} is not from {agency_title}: the {title} for {agency_title} must be "
                f"someone from {agency_title}.")
    return None


def refuse_unholdable(services: Services, uow: UnitOfWork, board: str, named: Sequence[Assigned]) -> None:
    """Refuse a form that names, for a role, someone who may not hold it here (InvalidSubmission per field)."""
    errors = []
    for a in named:
        role = services.catalogue.role(a.role)
        why = not_holdable(uow.people.get_user(a.username), a.username, role, board, a.agency,
                           services.catalogue.agency_name(a.agency))
        if why:
            errors.append(FieldError(a.field, why))
    if errors:
        raise InvalidSubmission(errors)


def done_by(who: str | None, at: datetime | None) -> Conflict:
    """The refusal of a task someone else has completed, naming them and when."""
    return TaskCompleted(f"this task was completed by {who} at "
                         f"{f'{at:%d %b %Y %H:%M}' if at else 'a moment ago'}")


def ensure_ready(row: TaskRow) -> TaskRow:
    """The row, if still ready; else Conflict naming who completed it and when."""
    if row.state != "ready":
        raise done_by(row.completed_by, row.completed_at)
    return row


def task_for(services: Services, uow: UnitOfWork, task_id: str, username: str, *, standing: Standing = "actor",
             ready: bool = True) -> tuple[TaskRow, CaseRecord]:
    """A task and its case, if `username` has the standing to act on it.

    `standing`: "actor" holds a role covering the task; "actor or administrator" also lets an administrator of
    the case's board through; "administrator" lets only them through. Raises NotFound when there is no such
    task or the person lacks the standing (checked before anything else is said about the task), then
    Conflict naming who completed it when `ready` is asked for and it is done.
    """
    row = uow.tasks.get(task_id)
    if row is None:
        raise NotFound("no such task")
    case = uow.cases.get(row.case_id)
    return check_task(services, uow, row, case, username, standing=standing, ready=ready), case


def check_task(services: Services, uow: UnitOfWork, row: TaskRow, case: CaseRecord, username: str, *,
               standing: Standing = "actor", ready: bool = True) -> TaskRow:
    """The task row of a case already loaded, if `username` has the standing (see `task_for`; NotFound, Conflict)."""
    assignments = uow.people.assignments_of(username)
    acts = standing != "administrator" and may_act(row, case.board, assignments, services.catalogue)
    admin = standing != "actor" and not acts and administers(assignments, case.board, services.catalogue)
    if not (acts or admin):
        raise NotFound("no such task")
    return ensure_ready(row) if ready else row


def _case(uow: UnitOfWork, case_id: int) -> CaseRecord:
    """The case, or NotFound that says no more than 'no such case'."""
    try:
        return uow.cases.get(case_id)
    except NotFound:
        raise NotFound("no such case") from None


def readable_case(uow: UnitOfWork, case_id: int, username: str) -> CaseRecord:
    """The case, if the user holds a role on it or on its board (NotFound otherwise: a denied read)."""
    case = _case(uow, case_id)
    if not any(a.case_id == case.id or (a.case_id is None and a.board == case.board)
               for a in uow.people.assignments_of(username)):
        raise NotFound("no such case")
    return case


def administered_case(services: Services, uow: UnitOfWork, case_id: int, admin: str) -> CaseRecord:
    """The case, if `admin` administers its board (NotFound otherwise)."""
    case = _case(uow, case_id)
    if not administers(uow.people.assignments_of(admin), case.board, services.catalogue):
        raise NotFound("no such case")
    return case


def monitored_boards(assignments: Sequence[Assignment], catalogue: Catalogue) -> tuple[str, ...] | None:
    """The boards whose cases the person monitors (roles marked `monitors`, held board-wide): None for every board
    (a role marked `all_boards`), () for none."""
    boards: list[str] = []
    for a in assignments:
        role = catalogue.role(a.role)
        if role is None or not role.monitors or a.case_id is not None:
            continue
        if role.all_boards:
            return None
        if a.board:
            boards.append(a.board)
    return tuple(dict.fromkeys(boards))


def monitors(assignments: Sequence[Assignment], board: str, catalogue: Catalogue) -> bool:
    """True when the person monitors the cases of this board."""
    boards = monitored_boards(assignments, catalogue)
    return boards is None or board in boards


def monitored_case(services: Services, uow: UnitOfWork, case_id: int, username: str,
                   intervene: bool = False) -> CaseRecord:
    """The case, if the person monitors its board (NotFound otherwise); with `intervene`, only for an administrator
    of its board (NotPermitted for one who may only look)."""
    case = _case(uow, case_id)
    assignments = uow.people.assignments_of(username)
    if not monitors(assignments, case.board, services.catalogue):
        raise NotFound("no such case")
    if intervene and not administers(assignments, case.board, services.catalogue):
        raise NotPermitted("only an administrator of this case's board can change it; you may look at it")
    return case
