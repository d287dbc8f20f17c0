"""Process owners' drafts, and case migrations between versions with the jobs that run them in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.errors import NotFound, StaleCase
from engine.ports import CaseMigrationRecord, MigrationJobRecord, ProcedureDraftRecord
from engine.store.models import Case, CaseMigration, MigrationJob, ProcedureDraft
from engine.store.sql import fresh, rowcount


class SqlStudioRepository:
    """Drafts of procedures, with optimistic locking on lock_version."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, draft: ProcedureDraftRecord) -> ProcedureDraftRecord:
        """Store a new draft; returns it with its id."""
        row = ProcedureDraft(**_draft_columns(draft), lock_version=1)
        self.session.add(row)
        self.session.flush()
        return replace(draft, id=row.id, lock_version=1)

    def get(self, draft_id: int, for_update: bool = False) -> ProcedureDraftRecord:
        """The draft with this id; raises NotFound."""
        stmt = select(ProcedureDraft).where(ProcedureDraft.id == draft_id)
        if for_update:
            stmt = stmt.with_for_update()
        rows = fresh(self.session, stmt)
        if not rows:
            raise NotFound(f"draft {draft_id}")
        return _draft(rows[0])

    def save(self, draft: ProcedureDraftRecord) -> ProcedureDraftRecord:
        """Write a draft back if nobody saved it since it was read (StaleCase otherwise)."""
        assert draft.id is not None
        result = self.session.execute(
            update(ProcedureDraft)
            .where(ProcedureDraft.id == draft.id, ProcedureDraft.lock_version == draft.lock_version)
            .values(**_draft_columns(draft), lock_version=draft.lock_version + 1)
        )
        if rowcount(result) != 1:
            raise StaleCase(f"draft {draft.id} was changed by someone else")
        return replace(draft, lock_version=draft.lock_version + 1)

    def list(self, board: str | None = None) -> Sequence[ProcedureDraftRecord]:
        """Drafts, newest first (of one board, or all)."""
        stmt = select(ProcedureDraft).order_by(ProcedureDraft.id.desc())
        if board is not None:
            stmt = stmt.where(ProcedureDraft.board == board)
        return [_draft(r) for r in fresh(self.session, stmt)]


def _draft_columns(draft: ProcedureDraftRecord) -> dict[str, object]:
    return {
        "board": draft.board, "process_id": draft.process_id, "title": draft.title, "files": dict(draft.files),
        "base_version_id": draft.base_version_id, "author": draft.author, "note": draft.note,
        "status": draft.status, "problems": {"problems": list(draft.problems)}, "created_at": draft.created_at,
        "updated_at": draft.updated_at, "submitted_at": draft.submitted_at, "decided_by": draft.decided_by,
        "decided_at": draft.decided_at, "decision_note": draft.decision_note,
        "published_version_id": draft.published_version_id,
    }


def _draft(row: ProcedureDraft) -> ProcedureDraftRecord:
    return ProcedureDraftRecord(
        id=row.id, board=row.board, process_id=row.process_id, title=row.title, files=dict(row.files),
        base_version_id=row.base_version_id, author=row.author, created_at=row.created_at,
        updated_at=row.updated_at, note=row.note, status=row.status,
        problems=list((row.problems or {}).get("problems", [])), submitted_at=row.submitted_at,
        decided_by=row.decided_by, decided_at=row.decided_at, decision_note=row.decision_note,
        published_version_id=row.published_version_id, lock_version=row.lock_version,
    )


class SqlMigrationRepository:
    """Case migrations (the state before each is kept for undo) and background migration jobs."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, migration: CaseMigrationRecord) -> CaseMigrationRecord:
        """Record a case migration; returns it with its id."""
        row = CaseMigration(case_id=migration.case_id, from_version_id=migration.from_version_id,
                            to_version_id=migration.to_version_id, by=migration.by, reason=migration.reason,
                            at=migration.at, previous_state=migration.previous_state, job_id=migration.job_id,
                            undone_at=migration.undone_at, undone_by=migration.undone_by)
        self.session.add(row)
        self.session.flush()
        return replace(migration, id=row.id)

    def get(self, migration_id: int) -> CaseMigrationRecord:
        """The migration with this id; raises NotFound."""
        row = self.session.get(CaseMigration, migration_id)
        if row is None:
            raise NotFound(f"migration {migration_id}")
        return _migration(row)

    def for_case(self, case_id: int) -> Sequence[CaseMigrationRecord]:
        """A case's migrations, oldest first."""
        stmt = select(CaseMigration).where(CaseMigration.case_id == case_id).order_by(CaseMigration.id)
        return [_migration(r) for r in fresh(self.session, stmt)]

    def mark_undone(self, migration_id: int, by: str, at: datetime) -> None:
        """Record that a migration was undone."""
        self.session.execute(update(CaseMigration).where(CaseMigration.id == migration_id)
                             .values(undone_at=at, undone_by=by))

    def add_job(self, job: MigrationJobRecord) -> MigrationJobRecord:
        """Queue a job; returns it with its id."""
        row = MigrationJob(**_job_columns(job))
        self.session.add(row)
        self.session.flush()
        return replace(job, id=row.id)

    def get_job(self, job_id: int) -> MigrationJobRecord:
        """The job with this id; raises NotFound."""
        rows = fresh(self.session, select(MigrationJob).where(MigrationJob.id == job_id))
        if not rows:
            raise NotFound(f"migration job {job_id}")
        return _job(rows[0])

    def save_job(self, job: MigrationJobRecord) -> None:
        """Write a job's progress and results."""
        self.session.execute(update(MigrationJob).where(MigrationJob.id == job.id).values(**_job_columns(job)))

    def jobs(self, process_id: str | None = None, status: str | None = None) -> Sequence[MigrationJobRecord]:
        """Jobs, newest first, optionally of one process or in one status."""
        stmt = select(MigrationJob).order_by(MigrationJob.id.desc())
        if process_id is not None:
            stmt = stmt.where(MigrationJob.process_id == process_id)
        if status is not None:
            stmt = stmt.where(MigrationJob.status == status)
        return [_job(r) for r in fresh(self.session, stmt)]

    def claim_job(self, job_id: int) -> bool:
        """Mark a queued job running; False when another runner took it first (or it is not queued)."""
        result = self.session.execute(update(MigrationJob).where(MigrationJob.id == job_id,
                                                                 MigrationJob.status == "queued")
                                      .values(status="running"))
        return rowcount(result) == 1

    def pin_case(self, case_id: int, version_id: int) -> None:
        """Pin a case to another version of its process (its state is saved by the case repository)."""
        self.session.execute(update(Case).where(Case.id == case_id).values(version_id=version_id)
                             .execution_options(synchronize_session=False))


def _migration(row: CaseMigration) -> CaseMigrationRecord:
    return CaseMigrationRecord(row.id, row.case_id, row.from_version_id, row.to_version_id, row.by, row.reason,
                               row.at, row.previous_state, row.job_id, row.undone_at, row.undone_by)


def _job_columns(job: MigrationJobRecord) -> dict[str, object]:
    return {"process_id": job.process_id, "to_version_id": job.to_version_id, "kind": job.kind,
            "requested_by": job.requested_by, "reason": job.reason, "status": job.status, "total": job.total,
            "done": job.done, "results": {"cases": list(job.results)}, "created_at": job.created_at,
            "finished_at": job.finished_at}


def _job(row: MigrationJob) -> MigrationJobRecord:
    return MigrationJobRecord(row.id, row.process_id, row.to_version_id, row.kind, row.requested_by,
                              row.created_at, row.reason, row.status, row.total, row.done,
                              list((row.results or {}).get("cases", [])), row.finished_at)
