"""Completing tasks: one access check, the form's validation, the engine step and its records, in a transaction
that queues behind any other step on the same case; completions of one case that arrive together are written
together (one restore, each task completed in turn, one save), each with its own outcome and audit event."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine import faults
from engine.casework import latency
from engine.casework.access import Standing, check_task, done_by, refuse_unholdable
from engine.casework.combining import Pending
from engine.casework.errored import mark_errored
from engine.casework.services import Services
from engine.casework.steps import record_step, run_again_when_stale, save
from engine.errors import Claimed, Conflict, EngineError, NotFound, WorkflowFailed
from engine.ports import CaseRecord, EventRow, SubmissionRecord, TaskRow, UnitOfWork
from engine.workflow.runtime import Case, StepResult

# The answers, or a function that reads them given the task's JSON Schema (a web form needs it to type its fields).
Answers = Mapping[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]
NO_FORM: dict[str, Any] = {"type": "object", "properties": {}}


@dataclass(frozen=True)
class NextStep:
    """A task the step sent on, with who holds its role: what the person who submitted is told."""

    task: TaskRow
    holders: tuple[str, ...]


@dataclass(frozen=True)
class Completed:
    """A task done: the case after the step, the task as it was, how often the step ran again, and what it sent on."""

    case: CaseRecord
    task: TaskRow
    retries: int
    next: tuple[NextStep, ...] = ()


@dataclass(frozen=True)
class _Request:
    case_id: int
    task_id: str
    username: str
    answers: dict[str, Any]
    standing: Standing = "actor"  # "administrator": done on someone's behalf (engine.monitoring.interventions)
    reason: str | None = None


class _OneByOne(Exception):
    """A diagram failed part-way through a shared write: write each request on its own instead."""


def complete_task(services: Services, task_id: str, username: str, answers: Answers, *,
                  standing: Standing = "actor", reason: str | None = None) -> Completed:
    """Complete a ready task as `username`.

    Raises NotFound (no such task, or none of the person's roles covers it), Conflict naming who completed it
    (the same task done by someone else), Claimed (someone else has taken it), InvalidSubmission (the form's
    messages), WorkflowFailed (the diagram could not go on). Another person's different task on the same case is
    never a conflict: steps on one case queue on its lock, and a step that still finds the case saved since it
    read it runs again on the fresh state (at most steps.RETRIES times; the audit event records how often).
    """
    with services.uow() as uow:
        row = uow.tasks.get(task_id)
        if row is None:
            raise NotFound("no such task")
        case = uow.cases.get(row.case_id)
        check_task(services, uow, row, case, username, standing=standing, ready=False)  # else nothing more is said
        try:
            if callable(answers):  # read here, in the caller's thread: another thread may write the step
                process = services.process_of(uow, case)
                answers = answers(process.form(row.form) if row.form else NO_FORM)
        except WorkflowFailed as failed:  # the version lacks the task's form
            failed.element = failed.element or row.name
            mark_errored(services, row.case_id, failed, kind="task", task_id=task_id, username=username)
            raise
    request = _Request(row.case_id, task_id, username, dict(answers), standing, reason)
    try:
        with latency.timed():
            done: Completed = services.writers.run(row.case_id, request,
                                                   lambda mine, take: _write(services, mine, take))
    except WorkflowFailed as failed:  # rolled back; the case is marked for an administrator to retry
        mark_errored(services, row.case_id, failed, kind="task", task_id=task_id, username=username,
                     answers=request.answers)
        raise
    return done


def _write(services: Services, mine: Pending, take: Callable[[], list[Pending]]) -> None:
    """Write `mine` and whatever queued behind it once the case is locked; settle each (a StaleCase after the
    last retry reaches every caller through the Combiner)."""
    batch = [mine]

    def joined() -> list[_Request]:
        batch.extend(take())  # whoever queued behind us while we waited for the case is written with us
        return [pending.request for pending in batch]

    try:
        outcomes = run_again_when_stale(lambda attempt: _write_once(services, mine.request.case_id, joined, attempt))
    except _OneByOne:
        outcomes = [_alone(services, pending.request) for pending in batch]
    for pending, outcome in zip(batch, outcomes, strict=True):
        pending.settle(outcome)


def _alone(services: Services, request: _Request) -> Completed | EngineError:
    """One request written on its own (after a shared write failed): its result, or the error for its caller."""
    try:
        [outcome] = run_again_when_stale(lambda attempt: _write_once(services, request.case_id, lambda: [request],
                                                                     attempt))
    except EngineError as failed:  # its own diagram failure, or a case that kept changing: for this caller only
        return failed
    return outcome


def _write_once(services: Services, case_id: int, requests: Callable[[], list[_Request]],
                attempt: int) -> list[Completed | EngineError]:
    """Lock the case, complete the requests (asked for once it is locked) and commit."""
    with services.uow() as uow:
        record = uow.cases.get(case_id, for_update=True)
        faults.crash_point("after_load")
        outcomes = _complete_all(services, uow, record, requests(), attempt)
        wrote = any(isinstance(outcome, Completed) for outcome in outcomes)
        faults.crash_point("before_commit", wrote)
        uow.commit()
        faults.crash_point("after_commit", wrote)  # written, not yet answered
        return outcomes


def _complete_all(services: Services, uow: UnitOfWork, record: CaseRecord, requests: list[_Request],
                  attempt: int) -> list[Completed | EngineError]:
    """Complete each request in turn on one restored case, save it once, then write each one's records.

    The case is locked. The state is saved before anything else is written, so a stale save fails first.
    """
    now = services.clock.now()
    process = services.process_of(uow, record)
    case = Case.restore(process, services.catalogue, record.state)
    done: list[tuple[_Request, TaskRow, dict[str, Any], StepResult] | EngineError] = []
    completed_by: dict[str, str] = {}
    for request in requests:
        try:
            row = _ready_row(services, uow, record, request)
            if request.task_id in completed_by:  # done a moment ago in this very write
                raise done_by(completed_by[request.task_id], now)
            data = dict(request.answers)
            # Refusals (not found, not ready, invalid answers) come before the workflow changes; a diagram failing
            # part-way leaves it changed, so then each request is written again on its own.
            result = case.complete(request.task_id, data, services.clock,
                                   lambda named: refuse_unholdable(services, uow, record.board, named))
        except WorkflowFailed:
            if len(requests) > 1:
                raise _OneByOne() from None
            raise
        except EngineError as refused:
            done.append(refused)
            continue
        completed_by[request.task_id] = request.username
        done.append((request, row, data, result))
    steps = [d for d in done if not isinstance(d, EngineError)]
    if not steps:
        return [d for d in done if isinstance(d, EngineError)]
    faults.crash_point("after_step")
    record = save(uow, record, case, now)
    faults.split_transaction(uow.commit)
    faults.crash_point("after_state_write")
    assert record.id is not None
    for request, row, data, result in steps:
        uow.tasks.mark_completed(request.task_id, request.username, now)
        uow.submissions.add(SubmissionRecord(record.id, request.task_id, row.name, row.title, row.role, row.agency,
                                             row.form, request.username, now, result.answers))
        uow.drafts.discard(request.task_id, request.username)  # others keep theirs: a 409 must lose nothing typed
        uow.tasks.count_time(record.board, record.process_id, row.name,
                             int((now - row.created_at).total_seconds() // 3600))
        uow.events.append(EventRow(record.id, now, "task_completed", request.username,
                                   {"task": row.name, "title": row.title, "role": row.role, "agency": row.agency,
                                    "fields": sorted(data), "retries": attempt,
                                    **({"on_behalf": True, "reason": request.reason}
                                       if request.standing != "actor" else {})}))
    record_step(uow, record, case, [(result, request.username) for request, _row, _data, result in steps], now)
    return [d if isinstance(d, EngineError) else Completed(record, d[1], attempt, _sent_on(services, uow, record, d[3]))
            for d in done]


def _sent_on(services: Services, uow: UnitOfWork, record: CaseRecord, result: StepResult) -> tuple[NextStep, ...]:
    """The tasks a step made ready, each with the people who hold its role on the case."""
    found = []
    for task_id in result.opened:
        row = uow.tasks.get(task_id)
        if row is not None and row.state == "ready":
            scope = services.catalogue.scope(row.role, row.agency)
            holders = uow.people.holders(row.role or "", record.board, record.id, scope)
            found.append(NextStep(row, tuple(holders)))
    return tuple(found)


def _ready_row(services: Services, uow: UnitOfWork, record: CaseRecord, request: _Request) -> TaskRow:
    """The request's task, read under the case's lock, if the person may complete it now (NotFound, Conflict,
    Claimed)."""
    row = uow.tasks.get(request.task_id)
    if row is None or row.case_id != record.id:
        raise NotFound("no such task")
    row = check_task(services, uow, row, record, request.username, standing=request.standing)
    if record.status in ("suspended", "terminated"):
        raise Conflict(f"an administrator has {record.status} this case, so nothing can be done on it now; your "
                       "answers are kept as a draft")
    if row.claimed_by not in (None, request.username) and request.standing == "actor":
        raise Claimed(f"{row.claimed_by} is working on this task; ask them or an administrator to release it")
    return row
