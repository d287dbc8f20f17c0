"""Who may be given a role: one rule for every path that grants one (an administrator's page, the API, the command
line, a form answer naming a person, a reassignment), refused on the field that named the person.

The person must have an account, be of the board the role is held on (or of none, such as an independent
reviewer) and, for a role held per agency, be of that agency: `access.not_holdable` says why not in a person's
words. Nothing is stored when a grant is refused.
"""

from __future__ import annotations

from engine.casework.access import not_holdable
from engine.casework.services import Services
from engine.errors import FieldError, InvalidSubmission, NotFound
from engine.ports import Assignment, UnitOfWork


def why_not(services: Services, uow: UnitOfWork, username: str, role: str, board: str | None,
            agency: str | None) -> str | None:
    """Why `username` may not hold `role` on `board` (for `agency`), or None when they may."""
    definition = services.catalogue.role(role)
    person = uow.people.get_user(username)
    if board is None and definition is not None and definition.all_boards and person is not None:
        return None  # a role over every board, held on none, needs only an account
    return not_holdable(person, username, definition, board or "", agency, services.catalogue.agency_name(agency))


def checked_grant(services: Services, uow: UnitOfWork, assignment: Assignment,
                  field: str = "username") -> Assignment:
    """The assignment, once its role, case, board and person pass the rule (its board taken from its case when it
    names none); else InvalidSubmission on the field at fault (`field` is the person's)."""
    definition = services.catalogue.role(assignment.role)
    if definition is None:
        raise InvalidSubmission([FieldError("role", f"There is no role {assignment.role!r}: choose one of the "
                                                    "roles.")])
    board = assignment.board
    if assignment.case_id is not None:
        try:
            case_board = uow.cases.get(assignment.case_id).board
        except NotFound:
            raise InvalidSubmission([FieldError("case", f"There is no case {assignment.case_id}.")]) from None
        if board not in (None, case_board):
            named = services.catalogue.board(case_board)
            raise InvalidSubmission([FieldError("board", f"That case is one of {named.name if named else case_board}"
                                                         "'s: its roles are held on that board.")])
        board = case_board
    if board is None and not definition.all_boards:
        raise InvalidSubmission([FieldError("board", "Say which board the role is held on.")])
    why = why_not(services, uow, assignment.username, assignment.role, board, assignment.agency)
    if why:
        raise InvalidSubmission([FieldError(field, why)])
    return Assignment(assignment.username, assignment.role, board, assignment.case_id, assignment.agency)
