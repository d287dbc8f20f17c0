"""The case file as people read it: the answers each task was completed with, under agency rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.casework.access import readable_case, reads_case_file
from engine.casework.services import Services
from engine.errors import NotFound
from engine.ports import CaseRecord, SubmissionRecord, UnitOfWork


@dataclass(frozen=True)
class Document:
    """One submission with the form it answered, for display."""

    submission: SubmissionRecord
    case: CaseRecord
    schema: dict[str, Any]
    ui_schema: dict[str, Any]


def _visible(uow: UnitOfWork, services: Services, case: CaseRecord, username: str,
             submission: SubmissionRecord) -> bool:
    """Your own answers, or answers your roles on this case may read (agency-scoped roles: your agency's)."""
    assert case.id is not None
    if submission.username == username:
        return True
    return reads_case_file(uow.people.assignments_of(username), case.board, case.id, submission.agency,
                           services.catalogue)


def documents(services: Services, case_id: int, username: str) -> list[SubmissionRecord]:
    """The submissions of a case this person may read, oldest first (NotFound unless they may read the case)."""
    with services.uow() as uow:
        case = readable_case(uow, case_id, username)
        return [s for s in uow.submissions.for_case(case_id) if _visible(uow, services, case, username, s)]


def document(services: Services, case_id: int, submission_id: int, username: str) -> Document:
    """One submission with its form, or NotFound when it is not this person's to read."""
    with services.uow() as uow:
        case = readable_case(uow, case_id, username)
        submission = uow.submissions.get(submission_id)
        if submission is None or submission.case_id != case_id:
            raise NotFound("no such document")
        if not _visible(uow, services, case, username, submission):
            raise NotFound("no such document")
        process = services.process_of(uow, case)
        schema, ui_schema = process.form_with_ui(submission.form)
        return Document(submission, case, schema, ui_schema)
