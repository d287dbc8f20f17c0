"""Starting a case: the board's latest process version, run up to its first task, the starter its initiator."""

from __future__ import annotations

from typing import Any

from engine.casework.services import Services
from engine.casework.steps import record_step
from engine.errors import Conflict, NotFound, NotPermitted
from engine.ports import Assignment, CaseRecord, EventRow
from engine.workflow.runtime import Case


def start_case(services: Services, board_code: str, username: str, data: dict[str, Any] | None = None) -> CaseRecord:
    """Start a case of a board on its latest process version; the starter takes the initiator role."""
    for _ in range(8):  # people starting cases at once may pick the same next reference: try the next one
        try:
            return _start_case(services, board_code, username, data)
        except Conflict:
            continue
    return _start_case(services, board_code, username, data)


def _start_case(services: Services, board_code: str, username: str, data: dict[str, Any] | None) -> CaseRecord:
    board = services.catalogue.board(board_code)
    if board is None:
        raise NotFound(f"no board {board_code!r}")
    now = services.clock.now()
    with services.uow() as uow:
        if uow.people.get_user(username) is None:
            raise NotPermitted(f"{username} has no account")
        version_id = uow.versions.latest_id(board.process)
        if version_id is None:
            raise NotFound(f"no deployed process for {board.name}; run `run.py deploy bpmn/` first")
        process = services.process_by_id(uow, version_id)
        case, result = Case.start(process, services.catalogue, services.clock, data)
        reference = f"{board.reference_prefix}-{now:%Y}-{uow.cases.count(board.code) + 1:04d}"
        record = uow.cases.add(CaseRecord(None, reference, board.code, board.process, version_id,
                                          case.dump().encode(), "completed" if case.completed else "open", now, now))
        assert record.id is not None
        initiator = services.catalogue.initiator_role()
        if initiator is not None:
            uow.people.assign(Assignment(username, initiator.role, board.code, record.id))
        uow.events.append(EventRow(record.id, now, "case_started", username,
                                   {"reference": reference, "version": version_id, "hash": process.content_hash}))
        record_step(uow, record, case, [(result, username)], now)
        uow.commit()
        return record
