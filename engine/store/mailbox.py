"""The e-mail outbox, and the task and notice rows it still has to tell people about."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.ports import MailRow, NoticeRow, TaskRow
from engine.store.models import Mail, Task
from engine.store.outbox import SqlNoticeRepository
from engine.store.projections import task_row
from engine.store.sql import fresh, rowcount

MAIL_FIELDS = ("key", "case_id", "username", "address", "subject", "body", "created_at", "sent_at", "attempts",
               "last_error")
ERROR_LIMIT = 2000


class SqlMailRepository:
    """The e-mail outbox."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def queue(self, mail: MailRow) -> bool:
        """Queue a message unless one with the same key exists; True when queued."""
        values = {f: getattr(mail, f) for f in MAIL_FIELDS}
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":  # the row comes back only when inserted
            stmt = postgresql.insert(Mail).values(**values).on_conflict_do_nothing(index_elements=["key"])
            return self.session.execute(stmt.returning(Mail.id)).first() is not None
        if dialect == "sqlite":
            skipped = sqlite.insert(Mail).values(**values).on_conflict_do_nothing(index_elements=["key"])
            return rowcount(self.session.connection().execute(skipped)) == 1
        if self.session.scalar(select(Mail.id).where(Mail.key == mail.key)) is not None:
            return False
        self.session.execute(insert(Mail).values(**values))
        return True

    def unsent(self, limit: int) -> Sequence[MailRow]:
        """Messages not yet sent, least tried first, then oldest first."""
        stmt = select(Mail).where(Mail.sent_at.is_(None)).order_by(Mail.attempts, Mail.id).limit(limit)
        return [_mail(r) for r in fresh(self.session, stmt)]

    def claim(self, mail_id: int) -> MailRow | None:
        """The message if still unsent and nobody else is sending it, locked until commit (PG: SKIP LOCKED)."""
        rows = fresh(self.session, self._locked(select(Mail).where(Mail.id == mail_id, Mail.sent_at.is_(None))))
        return _mail(rows[0]) if rows else None

    def mark_sent(self, mail_id: int, at: datetime) -> None:
        """Record delivery."""
        self._update(mail_id, sent_at=at, attempts=Mail.attempts + 1)

    def mark_failed(self, mail_id: int, error: str) -> None:
        """Record a failed attempt."""
        self._update(mail_id, attempts=Mail.attempts + 1, last_error=error[:ERROR_LIMIT])

    def for_case(self, case_id: int) -> Sequence[MailRow]:
        """Every message about a case, in order of queueing."""
        return [_mail(r) for r in fresh(self.session, select(Mail).where(Mail.case_id == case_id).order_by(Mail.id))]

    def unannounced(self, after: str | None, limit: int) -> Sequence[TaskRow]:
        """Ready tasks nobody has been told about yet, by id after `after`."""
        return self._tasks(select(Task).where(Task.announced_at.is_(None)), after, limit)

    def overdue_unannounced(self, now: datetime, after: str | None, limit: int) -> Sequence[TaskRow]:
        """Ready tasks due before `now` whose lateness nobody has been told about yet, by id after `after`."""
        stmt = select(Task).where(Task.due_at < now, Task.overdue_announced_at.is_(None))
        return self._tasks(stmt, after, limit)

    def mark_announced(self, task_id: str, at: datetime | None, overdue: bool = False) -> None:
        """Record that the task's new-work (or, with `overdue`, its overdue) mail was queued (None: announce it
        again, e.g. to someone it was reassigned to; people already told are not told twice)."""
        values = {"overdue_announced_at": at} if overdue else {"announced_at": at}
        stmt = update(Task).where(Task.id == task_id, Task.state == "ready").values(**values)
        self.session.execute(stmt.execution_options(synchronize_session=False))

    def undelivered_notices(self, limit: int) -> Sequence[tuple[int, NoticeRow]]:
        """Notices not yet turned into mail (id, notice), oldest first, locked until commit on PostgreSQL."""
        return SqlNoticeRepository(self.session).pending(limit)

    def mark_notice_delivered(self, notice_id: int, at: datetime) -> None:
        """Record that a notice was turned into mail."""
        SqlNoticeRepository(self.session).mark_delivered(notice_id, at)

    def _tasks(self, stmt: Select[Task], after: str | None, limit: int) -> Sequence[TaskRow]:
        stmt = stmt.where(Task.state == "ready")
        if after is not None:
            stmt = stmt.where(Task.id > after)
        rows = fresh(self.session, self._locked(stmt.order_by(Task.id).limit(limit)))
        return [task_row(r) for r in rows]

    def _locked(self, stmt: Select[Any]) -> Select[Any]:
        """Rows another worker holds are skipped on PostgreSQL; SQLite's BEGIN IMMEDIATE serializes workers."""
        return stmt.with_for_update(skip_locked=True) if self.session.get_bind().dialect.name == "postgresql" else stmt

    def _update(self, mail_id: int, **values: Any) -> None:
        stmt = update(Mail).where(Mail.id == mail_id).values(**values)
        self.session.execute(stmt.execution_options(synchronize_session=False))


def _mail(row: Mail) -> MailRow:
    return MailRow(id=row.id, **{f: getattr(row, f) for f in MAIL_FIELDS})
