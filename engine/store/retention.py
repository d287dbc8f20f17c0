"""Retention: a closed case is purged N days after it closed. Every row that names the case goes, in one
transaction, with its mail files afterwards; one `case_purged` tombstone stays in the audit chain of no case."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, Select, Table, delete, func, select, text
from sqlalchemy.orm import Session

from engine.ports import EventRow, MailRow
from engine.store.audit import SqlEventRepository
from engine.store.mailbox import MAIL_FIELDS
from engine.store.models import Base, Case, Event, Mail

CLOSED = ("completed", "terminated")  # statuses a case never leaves; open and suspended cases are never purged
CLOSING = ("case_completed", "case_terminated")  # the audit events that say when it closed
TOMBSTONE = "case_purged"  # the migration 0011 trigger lets a case's events go only after this, naming the case

FilesOf = Callable[[MailRow], Path | None]  # where a mail of the outbox was written on disk, if anywhere


@dataclass(frozen=True)
class Expired:
    """A closed case past its retention date: what a purge deletes (rows per table) and the files it removes."""

    case_id: int
    reference: str
    board: str
    closed_at: datetime
    rows: dict[str, int]
    files: tuple[Path, ...]

    @property
    def total(self) -> int:
        """Rows in every table together."""
        return sum(self.rows.values())


def case_tables() -> list[Table]:
    """Every table with a case_id column, children before parents (the audit events among them)."""
    return [t for t in reversed(Base.metadata.sorted_tables) if "case_id" in t.c and t.name != Case.__tablename__]


def expired(engine: Engine, cutoff: datetime, files_of: FilesOf | None = None) -> list[Expired]:
    """The closed cases that closed at or before `cutoff`, with what purging each would delete (nothing changes)."""
    with Session(engine) as session:
        return [_expired(session, case_id, files_of) for case_id in session.scalars(_due(cutoff))]


def purge(engine: Engine, case_id: int, cutoff: datetime, now: datetime, by: str, retention_days: int,
          files_of: FilesOf | None = None) -> Expired | None:
    """Purge one case if it is still closed at or before `cutoff`: tombstone, then every row, in one transaction;
    then its mail files. None when it no longer qualifies (nothing changed)."""
    with Session(engine) as session:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            session.execute(select(Case.id).where(Case.id == case_id).with_for_update())
        if dialect == "sqlite":  # deleted content is overwritten in the file, not left in free pages
            session.execute(text("PRAGMA secure_delete = ON"))
        if session.scalar(_due(cutoff).where(Case.id == case_id)) is None:
            return None
        gone = _expired(session, case_id, files_of)
        SqlEventRepository(session).append(EventRow(None, now, TOMBSTONE, by, {
            "purged_case": gone.case_id, "reference": gone.reference, "board": gone.board,
            "closed_at": gone.closed_at.isoformat(), "retention_days": retention_days, "rows": gone.rows,
            "files": len(gone.files)}))
        for table in case_tables():
            session.execute(delete(table).where(table.c.case_id == case_id))
        session.execute(delete(Case).where(Case.id == case_id))
        session.commit()
    for path in gone.files:
        path.unlink(missing_ok=True)
    return gone


def _due(cutoff: datetime) -> Select[int]:
    """The ids of closed cases whose closing (else last change) is at or before `cutoff`, oldest first."""
    closing = (select(func.max(Event.at)).where(Event.case_id == Case.id, Event.kind.in_(CLOSING))
               .scalar_subquery())
    closed_at = func.coalesce(closing, Case.updated_at)
    return select(Case.id).where(Case.status.in_(CLOSED), closed_at <= cutoff).order_by(Case.id)


def _expired(session: Session, case_id: int, files_of: FilesOf | None) -> Expired:
    """What the case holds: its rows per table (those with any) and the mail files on disk."""
    case = session.get_one(Case, case_id)
    closing = session.scalar(select(func.max(Event.at)).where(Event.case_id == case_id, Event.kind.in_(CLOSING)))
    rows = {"case": 1}
    for table in case_tables():
        count = session.scalar(select(func.count()).select_from(table).where(table.c.case_id == case_id)) or 0
        if count:
            rows[table.name] = count
    return Expired(case_id, case.reference, case.board, closing or case.updated_at, rows,
                   _files(session, case_id, files_of))


def _files(session: Session, case_id: int, files_of: FilesOf | None) -> tuple[Path, ...]:
    """The files on disk of the case's mail (the file transport's .eml copies) that exist."""
    if files_of is None:
        return ()
    mails: Sequence[Mail] = session.scalars(select(Mail).where(Mail.case_id == case_id).order_by(Mail.id)).all()
    paths = (files_of(MailRow(id=m.id, **{f: getattr(m, f) for f in MAIL_FIELDS})) for m in mails)
    return tuple(p for p in paths if p is not None and p.exists())


__all__ = ["CLOSED", "TOMBSTONE", "Expired", "case_tables", "expired", "purge"]
