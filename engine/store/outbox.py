"""The notifications outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from engine.ports import NoticeRow
from engine.store.models import Notice
from engine.store.sql import NO_AUTOFLUSH, fresh


class SqlNoticeRepository:
    """Notifications outbox."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, notice: NoticeRow) -> None:
        """Queue a notice for delivery."""
        self.add_all([notice])

    def add_all(self, notices: Sequence[NoticeRow]) -> None:
        """Queue notices for delivery, in this order, in one INSERT (nothing reads them back in this transaction)."""
        if notices:
            self.session.execute(insert(Notice), [vars(n) for n in notices], execution_options=NO_AUTOFLUSH)

    def for_case(self, case_id: int) -> Sequence[NoticeRow]:
        """The case's notices in order of queueing."""
        stmt = select(Notice).where(Notice.case_id == case_id).order_by(Notice.id)
        return [_notice(r) for r in fresh(self.session, stmt)]

    def pending(self, limit: int) -> Sequence[tuple[int, NoticeRow]]:
        """Undelivered notices (id, notice), oldest first, for the outbox sender."""
        stmt = select(Notice).where(Notice.delivered_at.is_(None)).order_by(Notice.id).limit(limit)
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return [(r.id, _notice(r)) for r in fresh(self.session, stmt)]

    def mark_delivered(self, notice_id: int, at: datetime) -> None:
        """Record delivery of a notice."""
        stmt = update(Notice).where(Notice.id == notice_id).values(delivered_at=at)
        self.session.execute(stmt.execution_options(synchronize_session=False))


def _notice(row: Notice) -> NoticeRow:
    return NoticeRow(
        case_id=row.case_id,
        at=row.at,
        role=row.role,
        agency=row.agency,
        kind=row.kind,
        message=row.message,
        element=row.element,
    )
