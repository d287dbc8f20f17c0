"""The append-only audit log and its per-case sha256 hash chain (canonical form, hashing, verification)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from engine.ports import EventRow
from engine.store.models import Event
from engine.store.sql import fresh

GENESIS = ""


def canonical(event: EventRow, prev_hash: str) -> str:
    """The canonical JSON text of `event` chained to `prev_hash` (sorted keys, UTC ISO time)."""
    body = {
        "actor": event.actor,
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "case_id": event.case_id,
        "detail": event.detail,
        "kind": event.kind,
        "prev_hash": prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(event: EventRow, prev_hash: str) -> str:
    """The sha256 hex digest that links `event` to its predecessor."""
    return hashlib.sha256(canonical(event, prev_hash).encode()).hexdigest()


def first_broken_link(chain: Iterable[tuple[EventRow, str, str]]) -> int | None:
    """Index of the first (event, prev_hash, hash) whose link or hash does not verify, else None."""
    expected_prev = GENESIS
    for index, (event, prev_hash, stored_hash) in enumerate(chain):
        if prev_hash != expected_prev or event_hash(event, prev_hash) != stored_hash:
            return index
        expected_prev = stored_hash
    return None


class SqlEventRepository:
    """Append-only audit log, sha256-chained per case."""

    ADVISORY_LOCK_CLASS = 7301

    def __init__(self, session: Session) -> None:
        self.session = session

    def append(self, event: EventRow) -> None:
        """Append `event` after the case's last event (serialised per case on PostgreSQL)."""
        if self.session.get_bind().dialect.name == "postgresql":
            lock = func.pg_advisory_xact_lock(self.ADVISORY_LOCK_CLASS, event.case_id or 0)
            self.session.execute(select(lock))
        last = self.session.scalar(
            select(Event.hash).where(_same_case(event.case_id)).order_by(Event.id.desc()).limit(1)
        )
        prev_hash = last if last is not None else GENESIS
        row = Event(
            case_id=event.case_id,
            at=event.at,
            kind=event.kind,
            actor=event.actor,
            detail=event.detail,
            prev_hash=prev_hash,
            hash=event_hash(event, prev_hash),
        )
        self.session.add(row)
        self.session.flush()

    def for_case(self, case_id: int | None) -> Sequence[EventRow]:
        """The case's events in order of appending (None: the events of no case, such as publications)."""
        return [_event(r) for r in self._chain(case_id)]

    def first_broken(self, case_id: int | None) -> int | None:
        """Index of the first event of the case's chain that fails verification, or None if intact."""
        return first_broken_link((_event(r), r.prev_hash, r.hash) for r in self._chain(case_id))

    def _chain(self, case_id: int | None) -> Sequence[Event]:
        return fresh(self.session, select(Event).where(_same_case(case_id)).order_by(Event.id))


def _same_case(case_id: int | None) -> ColumnElement[bool]:
    return Event.case_id.is_(None) if case_id is None else Event.case_id == case_id


def _event(row: Event) -> EventRow:
    return EventRow(case_id=row.case_id, at=row.at, kind=row.kind, actor=row.actor, detail=row.detail)
