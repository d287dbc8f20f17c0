"""Drafts: a person's unsubmitted answers to a ready task, saved without validation and private to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.casework.access import task_for
from engine.casework.services import Services
from engine.ports import DraftRecord


def save_draft(services: Services, task_id: str, username: str, values: dict[str, Any]) -> datetime:
    """Keep the answers typed so far (not validated); returns when they were saved (NotFound, Conflict)."""
    now = services.clock.now()
    with services.uow() as uow:
        row, _case = task_for(services, uow, task_id, username)
        uow.drafts.save(DraftRecord(task_id, username, row.case_id, values, now))
        uow.commit()
    return now


def draft_of(services: Services, task_id: str, username: str) -> DraftRecord | None:
    """The person's saved draft of a task, if any (kept after a 409 so nothing typed is lost)."""
    with services.uow() as uow:
        return uow.drafts.get(task_id, username)
