"""The e-mail outbox (to be completed: queue, unsent, mark_sent, mark_failed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from engine.ports import MailRow


class SqlMailRepository:
    """The e-mail outbox."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def queue(self, mail: MailRow) -> bool:
        """Queue a message unless one with the same key exists; True when queued."""
        raise NotImplementedError

    def unsent(self, limit: int) -> Sequence[MailRow]:
        """Messages not yet sent, oldest first."""
        raise NotImplementedError

    def mark_sent(self, mail_id: int, at: datetime) -> None:
        """Record delivery."""
        raise NotImplementedError

    def mark_failed(self, mail_id: int, error: str) -> None:
        """Record a failed attempt."""
        raise NotImplementedError
