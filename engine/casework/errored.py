"""A case whose engine step failed: the step is rolled back, the case is marked errored with the element and the
message (in its own transaction), and its timers wait until an administrator retries it."""

from __future__ import annotations

import logging
from typing import Any

from engine.casework.services import Services
from engine.errors import NotFound, StaleCase, WorkflowFailed
from engine.ports import DraftRecord, EventRow

log = logging.getLogger(__name__)


def mark_errored(services: Services, case_id: int, failed: WorkflowFailed, *, kind: str,
                 task_id: str | None = None, username: str | None = None,
                 answers: dict[str, Any] | None = None) -> None:
    """Record on the case that a step failed: `kind` "task" (a person's completion: their answers are kept as
    their draft, so nothing typed is lost and a retry can use them) or "timer" (the worker moving it on)."""
    now = services.clock.now()
    for _ in range(3):
        try:
            with services.uow() as uow:
                try:
                    record = uow.cases.get(case_id, for_update=True)
                except NotFound:
                    return
                if task_id and username and answers is not None:
                    uow.drafts.save(DraftRecord(task_id, username, case_id, dict(answers), now))
                element = failed.element
                record.error = {"element": element, "message": str(failed), "at": now.isoformat(), "kind": kind,
                                "task": task_id, "by": username}
                record.updated_at = now
                uow.cases.save_standing(record)
                uow.events.append(EventRow(case_id, now, "case_errored", username,
                                           {"element": element, "message": str(failed), "kind": kind}))
                uow.commit()
                return
        except StaleCase:
            continue
    log.error("case %s errored at %s but could not be marked: %s", case_id, failed.element, failed)
