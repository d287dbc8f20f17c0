"""Keeping a case's anonymisation key: only a holder of a `keeps_key` role on the case's board (the LSCB
administrator, 7.4) reads or changes it; every change leaves an audit event that counts, never names.

Gap decisions: the key never leaves the LSCB (PROCESS.md A.4, [interpretation] of 7.4), so the system
administrator, who monitors every board, does not read it; the people holding roles on the case are professionals
whose names documents may carry (7.4 "professional details"), so the key is incomplete until each of them is in it
with a pseudonym, or is one of the permitted officials (7.4, 16.1, 19.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.casework.services import Services
from engine.documents.key import AnonymisationKey, key_from_json
from engine.documents.leakscan import Scanner, fold
from engine.errors import NotFound, NotPermitted
from engine.ports import CaseRecord, EventRow, KeyRecord, UnitOfWork


@dataclass(frozen=True)
class KeyState:
    """A case's key as its keeper sees it: the key, what still stops an export, its version."""

    case: CaseRecord
    key: AnonymisationKey
    missing: tuple[str, ...]  # why the key is incomplete (by role and position, never a name)
    version: int | None  # None until first saved
    updated_by: str | None
    professionals: tuple[tuple[str, str], ...]  # (name, role title) of the case's role holders not in the key


def keeps_key(services: Services, uow: UnitOfWork, username: str, board: str) -> bool:
    """True when the person holds, on this board, a role that keeps keys."""
    return any(a.board == board and (r := services.catalogue.role(a.role)) is not None and r.keeps_key
               for a in uow.people.assignments_of(username))


def kept_case(services: Services, uow: UnitOfWork, case_id: int, username: str) -> CaseRecord:
    """The case, if the person keeps keys on its board: NotFound for those who cannot see the case, NotPermitted
    for those who can but do not keep keys."""
    case = uow.cases.get(case_id)
    if case is None:
        raise NotFound("no such case")
    if not keeps_key(services, uow, username, case.board):
        assignments = uow.people.assignments_of(username)
        if not any(a.case_id == case_id or (a.case_id is None and a.board == case.board) for a in assignments):
            raise NotFound("no such case")
        raise NotPermitted("Only the LSCB administrator keeps a case's anonymisation key.")
    return case


def _named(key: AnonymisationKey, name: str) -> bool:
    """True when `name` is someone in the key (real name or alias) or a permitted official."""
    wanted = " ".join(fold(name)[0].split())
    if not wanted:
        return True
    known = [p.real for p in key.people] + [a for p in key.people for a in p.aliases] + [o.name for o in key.permitted]
    return any(" ".join(fold(k)[0].split()) == wanted for k in known)


def unkeyed_professionals(services: Services, uow: UnitOfWork, case: CaseRecord,
                          key: AnonymisationKey) -> list[tuple[str, str]]:
    """(name, role title) of each person holding a role on the case who is not in the key."""
    found: dict[str, str] = {}
    for assignment in uow.people.on_case(case.id or 0):
        user = uow.people.get_user(assignment.username)
        if user is None or _named(key, user.display_name):
            continue
        role = services.catalogue.role(assignment.role)
        found.setdefault(user.display_name, role.title if role else assignment.role)
    return sorted(found.items())


def missing_of(key: AnonymisationKey, professionals: list[tuple[str, str]]) -> list[str]:
    """Why an export must wait for this key."""
    missing = key.incomplete()
    missing += [f"someone holding the role {title} on this case is not in the key" for _name, title in professionals]
    return missing


def _state(services: Services, uow: UnitOfWork, case: CaseRecord) -> KeyState:
    """The key state of a case inside a unit of work."""
    record = uow.documents.key(case.id or 0)
    key = key_from_json(record.key) if record else AnonymisationKey(case=case.reference)
    professionals = unkeyed_professionals(services, uow, case, key)
    return KeyState(case, key, tuple(missing_of(key, professionals)), record.lock_version if record else None,
                    record.updated_by if record else None, tuple(professionals))


def key_state(services: Services, username: str, case_id: int) -> KeyState:
    """The case's key for its keeper."""
    with services.uow() as uow:
        case = kept_case(services, uow, case_id, username)
        return _state(services, uow, case)


def save_key(services: Services, username: str, case_id: int, raw: Any, expected_version: int | None) -> KeyState:
    """Replace the case's key with `raw` (issue 13's JSON shape), refusing a malformed key (InvalidSubmission by
    field) or a stale one (Conflict); an audit event counts what changed without naming anyone."""
    key = key_from_json(raw)
    with services.uow() as uow:
        case = kept_case(services, uow, case_id, username)
        key = AnonymisationKey(case.reference, key.people, key.addresses, key.permitted)
        now = services.clock.now()
        saved = uow.documents.save_key(KeyRecord(case.id or 0, key.to_json(), now, username), expected_version)
        state = _state(services, uow, case)
        uow.events.append(EventRow(case.id, now, "anonymisation_key_saved", username, {
            "people": len(key.people), "addresses": len(key.addresses), "permitted": len(key.permitted),
            "version": saved.lock_version, "complete": not state.missing}))
        uow.commit()
    return state


def scanner_for(services: Services, uow: UnitOfWork, case: CaseRecord) -> tuple[Scanner, list[str]]:
    """The leak scanner of a case's key and what still makes the key incomplete (an absent key is incomplete)."""
    record = uow.documents.key(case.id or 0)
    if record is None:
        return Scanner(AnonymisationKey(case=case.reference)), ["no anonymisation key has been kept for this case"]
    key = key_from_json(record.key)
    return Scanner(key), missing_of(key, unkeyed_professionals(services, uow, case, key))
