"""Roles people hold: given board-wide or on one case, and the administrator's page of a case's people (audited)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.casework.access import administered_case, not_holdable
from engine.casework.eligibility import checked_grant
from engine.casework.services import Services
from engine.errors import FieldError, InvalidSubmission
from engine.ports import Assignment, CaseRecord, EventRow, UserRecord
from engine.workflow.catalogue import Role


@dataclass(frozen=True)
class CaseRolesView:
    """Who holds which role on a case, and what an administrator may give."""

    case: CaseRecord
    held: tuple[Assignment, ...]
    roles: tuple[Role, ...]
    people: tuple[UserRecord, ...]
    agencies: tuple[tuple[str, str], ...]


def assign_role(services: Services, assignment: Assignment, by: str | None = None) -> Assignment:
    """Give a user a role, board-wide or on one case (audited), if they may hold it (eligibility.checked_grant:
    InvalidSubmission naming the field otherwise, nothing stored); returns what was given."""
    with services.uow() as uow:
        given = checked_grant(services, uow, assignment)
        uow.people.assign(given)
        uow.events.append(EventRow(given.case_id, services.clock.now(), "role_assigned", by,
                                   {"role": given.role, "user": given.username,
                                    "agency": given.agency, "board": given.board}))
        uow.commit()
        return given


def case_roles(services: Services, case_id: int, admin: str) -> CaseRolesView:
    """The case's people and the case-level roles that can be given (NotFound unless an administrator)."""
    with services.uow() as uow:
        case = administered_case(services, uow, case_id, admin)
        return CaseRolesView(
            case, tuple(uow.people.on_case(case_id)),
            tuple(r for r in services.catalogue.roles if r.level == "case"),
            tuple(u for u in uow.people.users() if u.board == case.board),
            tuple((code, str(a.get("name", code))) for code, a in services.catalogue.agencies.items()))


def give_case_role(services: Services, case_id: int, admin: str, username: str, role: str,
                   agency: str | None) -> Assignment:
    """Give a person a case-level role (for one agency when the role is agency-scoped)."""
    errors: list[FieldError] = []
    definition = services.catalogue.role(role)
    if definition is None or definition.level != "case":
        errors.append(FieldError("role", "Choose a case role."))
    if definition is not None and definition.agency_scoped and agency not in services.catalogue.agencies:
        errors.append(FieldError("agency", f"{definition.title} is given for one agency: choose it."))
    if definition is not None and not definition.agency_scoped:
        agency = None
    now = services.clock.now()
    with services.uow() as uow:
        case = administered_case(services, uow, case_id, admin)
        person = uow.people.get_user(username)
        if person is None or person.board not in (None, case.board):
            errors.append(FieldError("username", "Choose a person on this board."))
        elif definition is not None and not errors:
            why = not_holdable(person, username, definition, case.board, agency,
                               services.catalogue.agency_name(agency))
            if why:
                errors.append(FieldError("username", why))
        if errors:
            raise InvalidSubmission(errors)
        given = Assignment(username, role, case.board, case_id, agency)
        uow.people.assign(given)
        uow.events.append(EventRow(case_id, now, "role_assigned", admin,
                                   {"role": role, "user": username, "agency": agency}))
        uow.commit()
        return given


def take_case_role(services: Services, case_id: int, admin: str, username: str, role: str,
                   agency: str | None) -> bool:
    """Take a case-level role away (undo of giving it); True when it was held."""
    now = services.clock.now()
    with services.uow() as uow:
        case = administered_case(services, uow, case_id, admin)
        taken = uow.people.unassign(Assignment(username, role, case.board, case_id, agency or None))
        if taken:
            uow.events.append(EventRow(case_id, now, "role_removed", admin,
                                       {"role": role, "user": username, "agency": agency or None}))
        uow.commit()
        return taken
