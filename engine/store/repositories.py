"""Version and case repositories, and the one import point for every SQL repository implementation."""

from __future__ import annotations

import gzip
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.errors import Conflict, NotFound, StaleCase
from engine.ports import CaseRecord, PublicationRecord, VersionRecord
from engine.store.audit import SqlEventRepository
from engine.store.models import Case, CaseStep, ProcessVersion, Publication
from engine.store.outbox import SqlNoticeRepository
from engine.store.people import SqlPeopleRepository
from engine.store.projections import SqlTaskRepository, SqlTimerRepository
from engine.store.sql import NO_AUTOFLUSH, fresh, rowcount

__all__ = [
    "SqlCaseRepository",
    "SqlEventRepository",
    "SqlNoticeRepository",
    "SqlPeopleRepository",
    "SqlTaskRepository",
    "SqlTimerRepository",
    "SqlVersionRepository",
    "compress",
    "decompress",
]


def compress(state: bytes) -> bytes:
    """Gzip workflow state deterministically (no timestamp in the header)."""
    return gzip.compress(state, compresslevel=6, mtime=0)


def decompress(blob: bytes) -> bytes:
    """Inverse of compress."""
    return gzip.decompress(blob)


class SqlVersionRepository:
    """Deployed process versions."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, version: VersionRecord) -> VersionRecord:
        """Store a new version; returns it with its id."""
        row = ProcessVersion(
            process_id=version.process_id,
            content_hash=version.content_hash,
            files=dict(version.files),
            deployed_at=version.deployed_at,
            deployed_by=version.deployed_by,
            board=version.board,
            title=version.title,
            note=version.note,
            approved_by=version.approved_by,
        )
        self.session.add(row)
        self.session.flush()
        return replace(version, id=row.id)

    def get(self, version_id: int) -> VersionRecord:
        """The version with this id; raises NotFound."""
        row = self.session.get(ProcessVersion, version_id)
        if row is None:
            raise NotFound(f"process version {version_id}")
        return _version(row)

    def by_hash(self, content_hash: str) -> VersionRecord | None:
        """The version with this content hash, if deployed."""
        rows = fresh(self.session, select(ProcessVersion).where(ProcessVersion.content_hash == content_hash))
        return _version(rows[0]) if rows else None

    def latest(self, process_id: str) -> VersionRecord | None:
        """The published version of a process: the one its newest publication names (new cases start on it)."""
        version_id = self.latest_id(process_id)
        return self.get(version_id) if version_id is not None else None

    def latest_id(self, process_id: str) -> int | None:
        """The id of the published version of a process (without loading its files)."""
        newest = select(func.max(Publication.id)).where(Publication.process_id == process_id).scalar_subquery()
        return self.session.scalar(select(Publication.version_id).where(Publication.id == newest))

    def in_use(self) -> Sequence[int]:
        """Ids of the versions a request may need first: every published one and every one an unfinished case runs."""
        published = select(Publication.version_id).distinct()
        running = select(Case.version_id).where(Case.status != "completed").distinct()
        return sorted(set(self.session.scalars(published)) | set(self.session.scalars(running)))

    def list(self) -> Sequence[VersionRecord]:
        """All versions, oldest first."""
        return [_version(r) for r in fresh(self.session, select(ProcessVersion).order_by(ProcessVersion.id))]

    def of_process(self, process_id: str) -> Sequence[VersionRecord]:
        """Every version of one process, oldest first."""
        stmt = select(ProcessVersion).where(ProcessVersion.process_id == process_id).order_by(ProcessVersion.id)
        return [_version(r) for r in fresh(self.session, stmt)]

    def publish(self, publication: PublicationRecord) -> PublicationRecord:
        """Make a version the one new cases of its process start on; returns the publication with its id."""
        row = Publication(process_id=publication.process_id, version_id=publication.version_id,
                          board=publication.board, published_at=publication.published_at,
                          submitted_by=publication.submitted_by, approved_by=publication.approved_by,
                          note=publication.note)
        self.session.add(row)
        self.session.flush()
        return replace(publication, id=row.id)

    def publications(self, process_id: str | None = None) -> Sequence[PublicationRecord]:
        """Publications, oldest first (of one process, or all)."""
        stmt = select(Publication).order_by(Publication.id)
        if process_id is not None:
            stmt = stmt.where(Publication.process_id == process_id)
        return [PublicationRecord(r.id, r.process_id, r.version_id, r.published_at, r.board, r.submitted_by,
                                  r.approved_by, r.note) for r in fresh(self.session, stmt)]


def _version(row: ProcessVersion) -> VersionRecord:
    return VersionRecord(
        id=row.id,
        process_id=row.process_id,
        content_hash=row.content_hash,
        files=dict(row.files),
        deployed_at=row.deployed_at,
        deployed_by=row.deployed_by,
        board=row.board,
        title=row.title,
        note=row.note,
        approved_by=row.approved_by,
    )


class SqlCaseRepository:
    """Cases with gzip-compressed state and optimistic locking on lock_version."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, case: CaseRecord) -> CaseRecord:
        """Store a new case; returns it with its id."""
        row = Case(
            reference=case.reference,
            board=case.board,
            process_id=case.process_id,
            version_id=case.version_id,
            state=compress(case.state),
            status=case.status,
            created_at=case.created_at,
            updated_at=case.updated_at,
            data_summary=dict(case.data_summary),
            lock_version=case.lock_version,
            **_projection(case),
        )
        try:
            with self.session.begin_nested():  # a savepoint: a taken reference leaves the transaction usable
                self.session.add(row)
        except IntegrityError as exc:
            raise Conflict(f"case reference {case.reference} is already taken") from exc
        if case.elements is not None:
            self.session.execute(insert(CaseStep), [{
                "case_id": row.id, "at": case.created_at, "lock_version": case.lock_version,
                "version_id": case.version_id, "elements": case.elements, "state": row.state}])
        return replace(case, id=row.id)

    def get(self, case_id: int, for_update: bool = False) -> CaseRecord:
        """The case; `for_update` locks its row (PostgreSQL) until commit. Raises NotFound."""
        stmt = select(Case).where(Case.id == case_id)
        if for_update:
            stmt = stmt.with_for_update()
        rows = fresh(self.session, stmt)
        if not rows:
            raise NotFound(f"case {case_id}")
        return _case(rows[0])

    def stamps(self, case_ids: Collection[int]) -> dict[int, tuple[int, int]]:
        """(lock_version, version_id) of each case: whether a case changed since it was read, without its state."""
        if not case_ids:
            return {}
        rows = self.session.execute(select(Case.id, Case.lock_version, Case.version_id)
                                    .where(Case.id.in_(set(case_ids))), execution_options=NO_AUTOFLUSH)
        return {case_id: (lock_version, version_id) for case_id, lock_version, version_id in rows}

    def save(self, case: CaseRecord) -> CaseRecord:
        """Write the case if nobody saved it since it was read; returns it with lock_version + 1.

        Raises StaleCase (a Conflict) when the stored lock_version differs from `case.lock_version`.
        """
        return self.save_all([case])[0]

    def save_all(self, cases: Sequence[CaseRecord]) -> list[CaseRecord]:
        """save() for several cases in one statement (and one for their steps' states); raises StaleCase when any
        of them is stale (which one is not told when there are several)."""
        blobs = [compress(case.state) for case in cases]
        table = cast(Table, Case.__table__)
        stmt = (update(table).where(table.c.id == bindparam("case_id"), table.c.lock_version == bindparam("expected"))
                .values({name: bindparam(f"new_{name}") for name in SAVED}))
        done = self.session.execute(stmt, [
            {"case_id": case.id, "expected": case.lock_version, "new_state": blob,
             "new_lock_version": case.lock_version + 1,
             **{f"new_{name}": _saved(case, name) for name in SAVED if name not in ("state", "lock_version")}}
            for case, blob in zip(cases, blobs, strict=True)], execution_options=NO_AUTOFLUSH)
        if rowcount(done) != len(cases):
            case = cases[0]
            raise StaleCase(f"case {case.id} was changed by someone else (version {case.lock_version} is stale)"
                            if len(cases) == 1 else f"one of cases {', '.join(str(c.id) for c in cases)} was changed "
                            "by someone else")
        steps = [{"case_id": case.id, "at": case.updated_at, "lock_version": case.lock_version + 1,
                  "version_id": case.version_id, "elements": case.elements, "state": blob}
                 for case, blob in zip(cases, blobs, strict=True)
                 if case.elements is not None]  # a step's state, kept for looking back (not a bare status change)
        if steps:
            self.session.execute(insert(CaseStep), steps, execution_options=NO_AUTOFLUSH)
        return [replace(case, lock_version=case.lock_version + 1) for case in cases]

    def save_standing(self, case: CaseRecord) -> CaseRecord:
        """Write only the case's status, suspension and error (its state unchanged), under the same lock."""
        new_version = case.lock_version + 1
        stmt = (
            update(Case)
            .where(Case.id == case.id, Case.lock_version == case.lock_version)
            .values(status=case.status, suspended_at=case.suspended_at, error=case.error, updated_at=case.updated_at,
                    lock_version=new_version)
            .execution_options(synchronize_session=False)
        )
        if rowcount(self.session.execute(stmt)) != 1:
            raise StaleCase(f"case {case.id} was changed by someone else (version {case.lock_version} is stale)")
        return replace(case, lock_version=new_version)

    def list(self, board: str | None = None) -> Sequence[CaseRecord]:
        """All cases (of one board if given), oldest first."""
        stmt = select(Case).order_by(Case.id)
        if board is not None:
            stmt = stmt.where(Case.board == board)
        return [_case(r) for r in fresh(self.session, stmt)]

    def labels(self, case_ids: Collection[int]) -> dict[int, tuple[str, str]]:
        """(reference, board) of each case, without loading its state."""
        if not case_ids:
            return {}
        rows = self.session.execute(select(Case.id, Case.reference, Case.board).where(Case.id.in_(set(case_ids))))
        return {case_id: (reference, board) for case_id, reference, board in rows}

    def labels_of_board(self, board: str) -> dict[int, tuple[str, str]]:
        """(reference, board) of every case of a board, without loading state."""
        rows = self.session.execute(select(Case.id, Case.reference, Case.board).where(Case.board == board))
        return {case_id: (reference, board) for case_id, reference, board in rows}

    def count(self, board: str | None = None) -> int:
        """Number of cases (of one board when given)."""
        stmt = select(func.count()).select_from(Case)
        if board is not None:
            stmt = stmt.where(Case.board == board)
        return self.session.scalar(stmt) or 0


def _case(row: Case) -> CaseRecord:
    return CaseRecord(
        id=row.id,
        reference=row.reference,
        board=row.board,
        process_id=row.process_id,
        version_id=row.version_id,
        state=decompress(row.state),
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        data_summary=dict(row.data_summary),
        lock_version=row.lock_version,
        **{name: getattr(row, name) for name in PROJECTION},
    )


PROJECTION = ("step", "next_due_at", "planned_week", "planned_by", "clock_started_at", "clock_weeks", "elements",
              "facts", "error", "suspended_at")


SAVED = ("state", "status", "updated_at", "data_summary", "lock_version", *PROJECTION)  # what save() writes


def _saved(case: CaseRecord, name: str) -> object:
    """A column save() writes, as stored (the data summary copied into a plain dict)."""
    return dict(case.data_summary) if name == "data_summary" else getattr(case, name)


def _projection(case: CaseRecord) -> dict[str, object]:
    """The monitor's columns of a case record."""
    return {name: getattr(case, name) for name in PROJECTION}
