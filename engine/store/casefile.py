"""Drafts (a person's unsubmitted answers) and submissions (the answers each task was completed with)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.ports import DraftRecord, SubmissionRecord
from engine.store.models import Draft, Submission
from engine.store.sql import fresh


class SqlDraftRepository:
    """One draft per task and person."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def save(self, draft: DraftRecord) -> None:
        """Create or replace the person's draft of a task."""
        row = self.session.get(Draft, (draft.task_id, draft.username), populate_existing=True)
        if row is None:
            self.session.add(Draft(**vars(draft)))
        else:
            row.data, row.saved_at = draft.data, draft.saved_at
        self.session.flush()

    def get(self, task_id: str, username: str) -> DraftRecord | None:
        """The person's draft of a task, if any."""
        rows = fresh(self.session, select(Draft).where(Draft.task_id == task_id, Draft.username == username))
        if not rows:
            return None
        row = rows[0]
        return DraftRecord(row.task_id, row.username, row.case_id, dict(row.data), row.saved_at)

    def discard(self, task_id: str, username: str | None = None) -> None:
        """Delete the drafts of a task (everyone's, or one person's)."""
        stmt = delete(Draft).where(Draft.task_id == task_id)
        if username is not None:
            stmt = stmt.where(Draft.username == username)
        self.session.execute(stmt.execution_options(synchronize_session=False))


class SqlSubmissionRepository:
    """The case file, append-only."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, submission: SubmissionRecord) -> SubmissionRecord:
        """Record what a task was completed with."""
        row = Submission(**{k: v for k, v in vars(submission).items() if k != "id"})
        self.session.add(row)
        self.session.flush()
        return _submission(row)

    def get(self, submission_id: int) -> SubmissionRecord | None:
        """One submission, if any."""
        rows = fresh(self.session, select(Submission).where(Submission.id == submission_id))
        return _submission(rows[0]) if rows else None

    def for_case(self, case_id: int) -> Sequence[SubmissionRecord]:
        """A case's submissions in the order they were made."""
        stmt = select(Submission).where(Submission.case_id == case_id).order_by(Submission.at, Submission.id)
        return [_submission(r) for r in fresh(self.session, stmt)]


def _submission(row: Submission) -> SubmissionRecord:
    return SubmissionRecord(row.case_id, row.task_id, row.name, row.title, row.role, row.agency, row.form,
                            row.username, row.at, dict(row.data), row.id)
