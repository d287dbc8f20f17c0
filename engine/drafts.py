"""Drafts: a person's unsubmitted answers to a ready task, saved without validation and private to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.assignment import may_act
from engine.errors import Conflict, NotFound
from engine.ports import DraftRecord
from engine.services import Services


def save_draft(services: Services, task_id: str, username: str, values: dict[str, Any]) -> datetime:
    """Keep the answers typed so far (not validated); returns when they were saved."""
    now = services.clock.now()
    with services.uow() as uow:
        row = uow.tasks.get(task_id)
        if row is None:
            raise NotFound("no such task")
        board = uow.cases.get(row.case_id).board
        if not may_act(row, board, uow.people.assignments_of(username), services.catalogue):
            raise NotFound("no such task")
        if row.state != "ready":
            raise Conflict(f"this task was completed by {row.completed_by} at {row.completed_at:%d %b %Y %H:%M}")
        uow.drafts.save(DraftRecord(task_id, username, row.case_id, values, now))
        uow.commit()
    return now


def draft_of(services: Services, task_id: str, username: str) -> DraftRecord | None:
    """The person's saved draft of a task, if any (kept after a 409 so nothing typed is lost)."""
    with services.uow() as uow:
        return uow.drafts.get(task_id, username)
