"""The case file as people read it: the answers each task was completed with, under agency rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.casework.access import may_act, readable_case, reads_case_file
from engine.casework.services import Services
from engine.errors import NotFound
from engine.ports import CaseRecord, SubmissionRecord, TaskRow, UnitOfWork
from engine.workflow.specs import CompiledProcess


@dataclass(frozen=True)
class Document:
    """One submission with the form it answered, for display."""

    submission: SubmissionRecord
    case: CaseRecord
    schema: dict[str, Any]
    ui_schema: dict[str, Any]


def shown_to(reader: TaskRow, submission: SubmissionRecord) -> bool:
    """Whether a step that declares it reads `submission`'s step shows this one: the same agency's, when both
    belong to one (the panel reviewing the police IMR reads the police IMR, not another agency's)."""
    return submission.agency is None or reader.agency is None or submission.agency == reader.agency


def earlier_answers(process: CompiledProcess, case: CaseRecord, task: TaskRow,
                    submissions: Sequence[SubmissionRecord]) -> tuple[Document, ...]:
    """The latest answers of each earlier step the task's diagram element `reads`, in the order it lists them."""
    found = []
    for name in process.reads(task.name):
        latest: dict[str | None, SubmissionRecord] = {}
        for s in submissions:
            if s.name == name and shown_to(task, s) and s.task_id != task.id:
                latest[s.agency] = s  # submissions come oldest first: the last one of each agency wins
        for s in sorted(latest.values(), key=lambda s: (s.at, s.agency or "")):
            schema, ui_schema = process.form_with_ui(s.form)
            found.append(Document(s, case, schema, ui_schema))
    return tuple(found)


def _reader(uow: UnitOfWork, services: Services, case: CaseRecord, username: str
            ) -> Callable[[SubmissionRecord], bool]:
    """Whether `username` may read a submission of this case: their own answers, answers their roles on the case
    may read (agency-scoped roles: their agency's), and the answers a step they may act on (or did) is declared
    to read (a counter-signer reads what they sign)."""
    assert case.id is not None
    case_id = case.id
    assignments = uow.people.assignments_of(username)
    steps: list[tuple[TaskRow, tuple[str, ...]]] | None = None

    def readable(submission: SubmissionRecord) -> bool:
        nonlocal steps
        if submission.username == username or reads_case_file(assignments, case.board, case_id, submission.agency,
                                                               services.catalogue):
            return True
        if steps is None:
            process = services.process_of(uow, case)
            steps = [(t, process.reads(t.name)) for t in uow.tasks.for_case(case_id)
                     if t.completed_by == username
                     or (t.state == "ready" and may_act(t, case.board, assignments, services.catalogue))]
        return any(submission.name in reads and shown_to(task, submission) for task, reads in steps)

    return readable


def documents(services: Services, case_id: int, username: str) -> list[SubmissionRecord]:
    """The submissions of a case this person may read, oldest first (NotFound unless they may read the case)."""
    with services.uow() as uow:
        case = readable_case(uow, case_id, username)
        readable = _reader(uow, services, case, username)
        return [s for s in uow.submissions.for_case(case_id) if readable(s)]


def document(services: Services, case_id: int, submission_id: int, username: str) -> Document:
    """One submission with its form, or NotFound when it is not this person's to read."""
    with services.uow() as uow:
        case = readable_case(uow, case_id, username)
        submission = uow.submissions.get(submission_id)
        if submission is None or submission.case_id != case_id:
            raise NotFound("no such document")
        if not _reader(uow, services, case, username)(submission):
            raise NotFound("no such document")
        process = services.process_of(uow, case)
        schema, ui_schema = process.form_with_ui(submission.form)
        return Document(submission, case, schema, ui_schema)
