"""Documents of cases: anonymisation keys, versions of sections and uploads, sign-offs, chronology entries and
released packs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from engine.errors import Conflict
from engine.ports import ChronologyRecord, DocumentVersionRecord, KeyRecord, ReleaseRecord, SignOffRecord
from engine.store.models import AnonymisationKeyRow, ChronologyEntry, DocumentVersion, Release, SignOff

VERSION_FIELDS = ("id", "case_id", "document", "agency", "section", "number", "kind", "text", "data", "file_name",
                  "sha256", "author", "created_at")
ENTRY_FIELDS = ("id", "case_id", "agency", "happened_at", "entry", "subject", "source", "account", "level", "seen",
                "seen_alone", "views", "status", "status_note", "event", "batch", "created_by", "created_at")
RELEASE_FIELDS = ("id", "case_id", "kind", "status", "requested_by", "created_at", "total", "done", "findings",
                  "data", "sha256", "finished_at")


def _version(row: Any, with_data: bool = True) -> DocumentVersionRecord:
    """A version record from a row (its bytes only when asked for)."""
    values = {f: getattr(row, f) for f in VERSION_FIELDS if f != "data"}
    return DocumentVersionRecord(**values, data=row.data if with_data else None)


def _release(row: Release, with_data: bool = False) -> ReleaseRecord:
    """A release record from a row (its zip only when asked for)."""
    values = {f: getattr(row, f) for f in RELEASE_FIELDS if f != "data"}
    return ReleaseRecord(**values, data=row.data if with_data else None)


class SqlDocumentRepository:
    """Documents of cases in SQL tables."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # ------------------------------------------------------------------------------------------ the key
    def key(self, case_id: int) -> KeyRecord | None:
        """The case's key, if one was kept."""
        row = self.session.get(AnonymisationKeyRow, case_id)
        if row is None:
            return None
        return KeyRecord(row.case_id, dict(row.key), row.updated_at, row.updated_by, row.lock_version)

    def save_key(self, record: KeyRecord, expected_version: int | None) -> KeyRecord:
        """Write the key; Conflict when someone saved it since `expected_version` (None: there was none)."""
        row = self.session.get(AnonymisationKeyRow, record.case_id, with_for_update=True)
        current = None if row is None else row.lock_version
        if current != expected_version:
            raise Conflict("Someone else saved this key since you opened it: reload it to see their changes.")
        if row is None:
            row = AnonymisationKeyRow(case_id=record.case_id, key=record.key, updated_at=record.updated_at,
                                      updated_by=record.updated_by, lock_version=1)
            self.session.add(row)
        else:
            row.key, row.updated_at, row.updated_by = record.key, record.updated_at, record.updated_by
            row.lock_version = row.lock_version + 1
        self.session.flush()
        return KeyRecord(row.case_id, dict(row.key), row.updated_at, row.updated_by, row.lock_version)

    # ------------------------------------------------------------------------------------------ versions
    def versions(self, case_id: int, document: str | None = None, agency: str | None = None,
                 with_data: bool = False) -> Sequence[DocumentVersionRecord]:
        """Versions of a case's documents, oldest first (bytes of uploads only when asked for)."""
        columns = [getattr(DocumentVersion, f) for f in VERSION_FIELDS if with_data or f != "data"]
        stmt = select(*columns).where(DocumentVersion.case_id == case_id)
        if document is not None:
            stmt = stmt.where(DocumentVersion.document == document)
        if agency is not None:
            stmt = stmt.where(DocumentVersion.agency == agency)
        stmt = stmt.order_by(DocumentVersion.id)
        found = []
        for row in self.session.execute(stmt):
            values = {f: getattr(row, f) for f in VERSION_FIELDS if f != "data"}
            found.append(DocumentVersionRecord(**values, data=row.data if with_data else None))
        return found

    def version(self, version_id: int) -> DocumentVersionRecord | None:
        """One version with its bytes."""
        row = self.session.get(DocumentVersion, version_id)
        return None if row is None else _version(row)

    def add_version(self, record: DocumentVersionRecord) -> DocumentVersionRecord:
        """Keep a new version, numbered after the last of the same section."""
        last = self.session.scalar(select(func.max(DocumentVersion.number)).where(
            DocumentVersion.case_id == record.case_id, DocumentVersion.document == record.document,
            DocumentVersion.agency == record.agency, DocumentVersion.section == record.section)) or 0
        values = {f: getattr(record, f) for f in VERSION_FIELDS if f != "id"}
        values["number"] = last + 1
        new_id = self.session.execute(insert(DocumentVersion).values(**values).returning(DocumentVersion.id)
                                      ).scalar_one()
        return DocumentVersionRecord(**{**values, "id": new_id})

    # ------------------------------------------------------------------------------------------ sign-offs
    def signoffs(self, case_id: int, document: str | None = None,
                 agency: str | None = None) -> Sequence[SignOffRecord]:
        """Sign-offs of a case's documents, oldest first."""
        stmt = select(SignOff).where(SignOff.case_id == case_id)
        if document is not None:
            stmt = stmt.where(SignOff.document == document)
        if agency is not None:
            stmt = stmt.where(SignOff.agency == agency)
        return [SignOffRecord(r.id, r.case_id, r.document, r.agency, r.sha256, r.role, r.username, r.at)
                for r in self.session.scalars(stmt.order_by(SignOff.id))]

    def add_signoff(self, record: SignOffRecord) -> SignOffRecord:
        """Record a sign-off."""
        new_id = self.session.execute(insert(SignOff).values(
            case_id=record.case_id, document=record.document, agency=record.agency, sha256=record.sha256,
            role=record.role, username=record.username, at=record.at).returning(SignOff.id)).scalar_one()
        return SignOffRecord(new_id, record.case_id, record.document, record.agency, record.sha256, record.role,
                             record.username, record.at)

    # ------------------------------------------------------------------------------------------ chronology
    def chronology(self, case_id: int, agency: str | None = None) -> Sequence[ChronologyRecord]:
        """A case's chronology entries (of one agency if given), in time order."""
        columns = [getattr(ChronologyEntry, f) for f in ENTRY_FIELDS]
        stmt = select(*columns).where(ChronologyEntry.case_id == case_id)
        if agency is not None:
            stmt = stmt.where(ChronologyEntry.agency == agency)
        stmt = stmt.order_by(ChronologyEntry.happened_at, ChronologyEntry.agency, ChronologyEntry.id)
        return [ChronologyRecord(**row._asdict()) for row in self.session.execute(stmt)]

    def add_entries(self, records: Iterable[ChronologyRecord]) -> int:
        """Add entries in one statement; how many."""
        rows = [{f: getattr(r, f) for f in ENTRY_FIELDS if f != "id"} for r in records]
        if rows:
            self.session.execute(insert(ChronologyEntry), rows)
        return len(rows)

    def delete_batch(self, case_id: int, batch: str) -> int:
        """Remove the entries of one import (undo); how many."""
        result = self.session.execute(delete(ChronologyEntry).where(ChronologyEntry.case_id == case_id,
                                                                    ChronologyEntry.batch == batch))
        return int(getattr(result, "rowcount", 0) or 0)

    # ------------------------------------------------------------------------------------------ releases
    def releases(self, case_id: int) -> Sequence[ReleaseRecord]:
        """A case's packs, newest first (without their zips)."""
        stmt = select(Release).where(Release.case_id == case_id).order_by(Release.id.desc())
        return [_release(r) for r in self.session.scalars(stmt)]

    def release(self, release_id: int) -> ReleaseRecord | None:
        """One pack with its zip."""
        row = self.session.get(Release, release_id)
        return None if row is None else _release(row, with_data=True)

    def add_release(self, record: ReleaseRecord) -> ReleaseRecord:
        """Queue a pack."""
        values = {f: getattr(record, f) for f in RELEASE_FIELDS if f != "id"}
        new_id = self.session.execute(insert(Release).values(**values).returning(Release.id)).scalar_one()
        return ReleaseRecord(**{**values, "id": new_id})

    def update_release(self, release_id: int, **changes: Any) -> None:
        """Record a pack's progress or outcome."""
        self.session.execute(update(Release).where(Release.id == release_id).values(**changes))
