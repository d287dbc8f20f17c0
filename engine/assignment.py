"""Who may act on a task: the task's role (from its lane), the case's board, and the agency it belongs to."""

from __future__ import annotations

from collections.abc import Sequence

from engine.catalogue import Catalogue
from engine.ports import Assignment, TaskRow


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
