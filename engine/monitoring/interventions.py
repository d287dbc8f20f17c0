"""What an administrator may do to a running case, each only on their own board, each with a written reason and an
audit event: suspend and resume, terminate, complete or skip a step on someone's behalf, retry an errored step,
move a case back to a completed step, and change a due date (kept beside the original, never silently)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from engine.casework.access import monitored_case
from engine.casework.completion import Completed, complete_task
from engine.casework.services import Services
from engine.casework.steps import project_rows, record_step, save
from engine.errors import Conflict, EngineError, FieldError, InvalidSubmission, NotFound, WorkflowFailed
from engine.ports import CaseRecord, EventRow, TaskRow, UnitOfWork
from engine.workflow.runtime import Case, StepResult


class InterventionFailed(Conflict):
    """The procedure could not go on after an intervention: nothing was changed."""


def _reason(reason: str | None) -> str:
    """The administrator's reason, required (InvalidSubmission on the `reason` field otherwise)."""
    text = " ".join((reason or "").split())
    if len(text) < 3:
        raise InvalidSubmission([FieldError("reason", "Say why: the reason is kept in the case's history.")])
    return text[:2000]


def _open_case(services: Services, uow: UnitOfWork, case_id: int, admin: str, *states: str) -> CaseRecord:
    """The case, locked, if `admin` administers its board and it is in one of `states` (Conflict otherwise)."""
    monitored_case(services, uow, case_id, admin, intervene=True)
    record = uow.cases.get(case_id, for_update=True)
    if record.status not in states:
        raise Conflict(f"this case is {record.status}, so that cannot be done now")
    return record


def _run(services: Services, uow: UnitOfWork, record: CaseRecord, admin: str,
         action: Callable[[Case], StepResult]) -> CaseRecord:
    """Run one engine step on a locked case and write its records (InterventionFailed when the diagram fails)."""
    now = services.clock.now()
    case = Case.restore(services.process_of(uow, record), services.catalogue, record.state)
    try:
        result = action(case)
    except WorkflowFailed as failed:
        raise InterventionFailed(f"that could not be done, so nothing was changed: the procedure stopped at "
                                 f"{failed.element or 'a step'}: {failed}") from failed
    record = save(uow, record, case, now)
    record_step(uow, record, case, [(result, admin)], now)
    return record


def _step(uow: UnitOfWork, case_id: int, task_id: str, state: str) -> TaskRow:
    """The case's task row in `state` (NotFound, in words, otherwise)."""
    row = uow.tasks.get(task_id)
    if row is None or row.case_id != case_id or row.state != state:
        raise NotFound("that step is not waiting to be done on this case" if state == "ready"
                       else "that step is not a completed step of this case")
    return row


def _event(uow: UnitOfWork, services: Services, case_id: int, kind: str, admin: str, detail: dict[str, Any]) -> None:
    uow.events.append(EventRow(case_id, services.clock.now(), kind, admin, detail))


def suspend(services: Services, case_id: int, admin: str, reason: str) -> CaseRecord:
    """Stop the case: no timer fires and no step can be done until it is resumed."""
    with services.uow() as uow:
        record = _open_case(services, uow, case_id, admin, "open")
        why = _reason(reason)
        record.status, record.suspended_at, record.updated_at = "suspended", services.clock.now(), services.clock.now()
        record = uow.cases.save_standing(record)
        _event(uow, services, case_id, "case_suspended", admin, {"reason": why})
        uow.commit()
    return record


def resume(services: Services, case_id: int, admin: str, reason: str) -> CaseRecord:
    """Let the case go on; whatever fell due while it was suspended fires now."""
    with services.uow() as uow:
        record = _open_case(services, uow, case_id, admin, "suspended")
        why = _reason(reason)
        suspended_at = record.suspended_at
        record.status, record.suspended_at = "open", None
        _event(uow, services, case_id, "case_resumed", admin,
               {"reason": why, "suspended_at": suspended_at.isoformat() if suspended_at else None})
        record = _run(services, uow, record, admin, lambda case: case.advance(services.clock))
        uow.commit()
    return record


def terminate(services: Services, case_id: int, admin: str, reason: str) -> CaseRecord:
    """End the case for good: its open steps and timers are withdrawn."""
    now = services.clock.now()
    with services.uow() as uow:
        record = _open_case(services, uow, case_id, admin, "open", "suspended")
        why = _reason(reason)
        case = Case.restore(services.process_of(uow, record), services.catalogue, record.state)
        case.terminate()
        record.status, record.error = "terminated", None
        record = save(uow, record, case, now)
        project_rows(uow, record, case, [], now)
        _event(uow, services, case_id, "case_terminated", admin, {"reason": why})
        uow.commit()
    return record


def skip_task(services: Services, case_id: int, task_id: str, admin: str, reason: str) -> CaseRecord:
    """Complete a ready step without answers, on its holder's behalf (refused if the procedure then needs them)."""
    now = services.clock.now()
    with services.uow() as uow:
        record = _open_case(services, uow, case_id, admin, "open")
        why = _reason(reason)
        row = _step(uow, case_id, task_id, "ready")
        uow.tasks.mark_completed(task_id, admin, now)  # before the step's records, which drop rows no longer open
        record = _run(services, uow, record, admin, lambda case: case.skip(task_id, services.clock))
        _event(uow, services, case_id, "task_skipped", admin,
               {"task": row.name, "title": row.title, "role": row.role, "agency": row.agency, "reason": why})
        uow.commit()
    return record


def complete_for(services: Services, task_id: str, admin: str, answers: Any, reason: str) -> Completed:
    """Complete a ready step with answers the administrator gives on its holder's behalf (the form still checks
    them; the audit event says on whose behalf and why)."""
    with services.uow() as uow:
        row = uow.tasks.get(task_id)
        if row is None:
            raise NotFound("no such task")
        monitored_case(services, uow, row.case_id, admin, intervene=True)
    why = _reason(reason)
    return complete_task(services, task_id, admin, answers, standing="administrator", reason=why)


def reset_to(services: Services, case_id: int, task_id: str, admin: str, reason: str) -> CaseRecord:
    """Move the case back to a completed step: what came after is undone and the step waits to be done again."""
    with services.uow() as uow:
        record = _open_case(services, uow, case_id, admin, "open")
        why = _reason(reason)
        row = _step(uow, case_id, task_id, "completed")
        record = _run(services, uow, record, admin, lambda case: case.reset_to(task_id, services.clock))
        _event(uow, services, case_id, "case_reset", admin,
               {"task": row.name, "title": row.title, "agency": row.agency, "reason": why})
        uow.commit()
    return record


def change_due(services: Services, case_id: int, task_id: str, admin: str, due: datetime | None,
               reason: str) -> CaseRecord:
    """Give a ready step a new due date; the original stays beside it with the reason."""
    now = services.clock.now()
    with services.uow() as uow:
        record = _open_case(services, uow, case_id, admin, "open", "suspended")
        why = _reason(reason)
        if due is None:
            raise InvalidSubmission([FieldError("due", "Give the new due date.")])
        row = _step(uow, case_id, task_id, "ready")
        case = Case.restore(services.process_of(uow, record), services.catalogue, record.state)
        case.revise_due(task_id, due)
        record = save(uow, record, case, now)
        uow.tasks.revise_due(task_id, due, why)
        _event(uow, services, case_id, "due_changed", admin,
               {"task": row.name, "title": row.title, "agency": row.agency, "reason": why,
                "from": row.due_at.isoformat() if row.due_at else None, "to": due.isoformat()})
        uow.commit()
    return record


def retry(services: Services, case_id: int, admin: str, reason: str) -> CaseRecord:
    """Run an errored case's failed step again (after the diagram was fixed and the case moved to the fix): a
    timer's step moves the case on; a person's step is submitted again with the answers they gave."""
    with services.uow() as uow:
        record = monitored_case(services, uow, case_id, admin, intervene=True)
        why = _reason(reason)
        error = record.error
        draft = (uow.drafts.get(error["task"], error["by"]) if error and error.get("task") and error.get("by")
                 else None)
    if not error:
        raise Conflict("this case has no failed step to retry")
    try:
        if error.get("kind") == "task" and draft is not None:
            complete_task(services, str(error["task"]), str(error["by"]), draft.data)
        elif error.get("kind") != "task":
            with services.uow() as uow:
                record = _open_case(services, uow, case_id, admin, "open")
                _run(services, uow, record, admin, lambda case: case.advance(services.clock))
                uow.commit()
    except (WorkflowFailed, InterventionFailed) as failed:
        raise InterventionFailed(f"the step failed again, so nothing was changed: {failed}") from failed
    except EngineError as refused:  # the task is gone or done meanwhile: the error no longer stands
        if not isinstance(refused, (NotFound, Conflict)):
            raise
    with services.uow() as uow:
        record = uow.cases.get(case_id, for_update=True)
        record.error, record.updated_at = None, services.clock.now()
        record = uow.cases.save_standing(record)
        _event(uow, services, case_id, "case_retried", admin,
               {"reason": why, "element": error.get("element"), "kind": error.get("kind")})
        uow.commit()
    return record
