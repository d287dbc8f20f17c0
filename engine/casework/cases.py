"""Starting a case: the board's latest process version, run up to its first task, the starter its initiator."""

from __future__ import annotations

from typing import Any

from engine.casework.services import Services
from engine.casework.steps import projected, record_step
from engine.errors import Conflict, NotFound, NotPermitted
from engine.ports import Assignment, CaseRecord, EventRow, UnitOfWork
from engine.workflow.runtime import Case


def board_of_process(services: Services, uow: UnitOfWork, process_id: str) -> str | None:
    """The board a process belongs to: the catalogue's, else the board whose owners first published it."""
    board = services.catalogue.board_for_process(process_id)
    if board is not None:
        return board.code
    return next((p.board for p in uow.versions.publications(process_id) if p.board), None)


def board_processes(services: Services, uow: UnitOfWork, board: str) -> list[str]:
    """Every procedure a board's cases may run: the catalogue's first, then those its owners published."""
    found: list[str] = [b.process for b in services.catalogue.boards if b.code == board]
    for publication in uow.versions.publications():
        if publication.board == board and publication.process_id not in found:
            found.append(publication.process_id)
    return found


def startable_procedures(services: Services, board: str) -> list[tuple[str, str]]:
    """(process id, title) of each published procedure a case of the board may start on, the catalogue's first."""
    found: list[tuple[str, str]] = []
    with services.uow() as uow:
        for process_id in board_processes(services, uow, board):
            version = uow.versions.latest(process_id)
            if version is not None:
                found.append((process_id, version.title or services.process_by_id(uow, version.id or 0).spec.description
                              or process_id))
    return found


def start_case(services: Services, board_code: str, username: str, data: dict[str, Any] | None = None,
               process_id: str | None = None) -> CaseRecord:
    """Start a case of a board on the published version of its procedure (the board's own unless another of its
    procedures is named); the starter takes the initiator role."""
    for _ in range(8):  # people starting cases at once may pick the same next reference: try the next one
        try:
            return _start_case(services, board_code, username, data, process_id)
        except Conflict:
            continue
    return _start_case(services, board_code, username, data, process_id)


def _start_case(services: Services, board_code: str, username: str, data: dict[str, Any] | None,
                process_id: str | None) -> CaseRecord:
    board = services.catalogue.board(board_code)
    if board is None:
        raise NotFound(f"no board {board_code!r}")
    now = services.clock.now()
    with services.uow() as uow:
        if uow.people.get_user(username) is None:
            raise NotPermitted(f"{username} has no account")
        process = process_id or board.process
        if process not in board_processes(services, uow, board.code):
            raise NotFound(f"{board.name} has no procedure {process!r}")
        version_id = uow.versions.latest_id(process)
        if version_id is None:
            raise NotFound(f"no deployed process for {board.name}; run `run.py deploy bpmn/` first")
        compiled = services.process_by_id(uow, version_id)
        case, result = Case.start(compiled, services.catalogue, services.clock, data)
        reference = f"{board.reference_prefix}-{now:%Y}-{uow.cases.count(board.code) + 1:04d}"
        record = uow.cases.add(projected(CaseRecord(None, reference, board.code, process, version_id, b"", "open",
                                                    now, now), case, now))
        assert record.id is not None
        initiator = services.catalogue.initiator_role()
        if initiator is not None:
            uow.people.assign(Assignment(username, initiator.role, board.code, record.id))
        uow.events.append(EventRow(record.id, now, "case_started", username,
                                   {"reference": reference, "version": version_id, "hash": compiled.content_hash}))
        record_step(uow, record, case, [(result, username)], now)
        uow.commit()
        return record
