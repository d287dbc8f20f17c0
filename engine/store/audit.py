"""The append-only audit log and its per-case sha256 hash chain (canonical form, hashing, verification of one
chain or of every chain in the database)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC

from sqlalchemy import ColumnElement, Engine, func, select, text
from sqlalchemy.orm import Session

from engine.ports import EventRow
from engine.store.models import Case, Event
from engine.store.sql import fresh

GENESIS = ""
HASH_MISMATCH = "hash mismatch"
BROKEN_LINK = "broken link"
VERIFY_BATCH = 2000


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


@dataclass(frozen=True)
class ChainBreak:
    """The first event of one chain that fails verification, and how."""

    case_id: int | None
    event_id: int
    position: int  # 0 = the chain's first event
    problem: str  # HASH_MISMATCH or BROKEN_LINK
    previous_id: int | None  # the event before it in the chain as stored (None: it is the first)

    def line(self, reference: str | None = None) -> str:
        """One line a person can act on, naming the event, its case and what differs."""
        chain = "no case" if self.case_id is None else f"case {self.case_id}" + (f" ({reference})" if reference else "")
        if self.problem == HASH_MISMATCH:
            why = "its content differs from what was hashed when it was written (the row was changed)"
        elif self.previous_id is None:
            why = "it is the first event left but does not start the chain (events before it were deleted)"
        else:
            why = (f"its prev_hash is not the hash of event {self.previous_id} before it (an event between them was "
                   "deleted, or that event's hash was changed)")
        return f"event {self.event_id} of {chain}: {self.problem}: {why}"


@dataclass
class ChainReport:
    """Every chain of the database walked: how many events and case chains, and the first break of each chain."""

    events: int = 0
    case_events: int = 0
    cases: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)
    references: dict[int, str] = field(default_factory=dict)  # the reference of each case with a break

    @property
    def ok(self) -> bool:
        """Whether every chain verifies."""
        return not self.breaks


def verify_all(session: Session) -> ChainReport:
    """Walk every case's chain and the chain of events of no case, in id order, streaming the rows."""
    report = ChainReport()
    walk: _Walk | None = None
    for row in session.execute(_EVERY_EVENT):
        if walk is None or row.case_id != walk.case_id:
            _close(report, walk)
            walk = _Walk(row.case_id)
        report.events += 1
        report.case_events += row.case_id is not None
        walk.step(row.id, EventRow(row.case_id, row.at, row.kind, row.actor, row.detail), row.prev_hash, row.hash)
    _close(report, walk)
    return report


def verify_database(engine: Engine) -> ChainReport:
    """verify_all in a session of its own, with the reference of each case whose chain is broken."""
    with Session(engine) as session:
        report = verify_all(session)
        broken = [b.case_id for b in report.breaks if b.case_id is not None]
        if broken:
            found = session.execute(select(Case.id, Case.reference).where(Case.id.in_(broken)))
            report.references = {case_id: reference for case_id, reference in found}
    return report


_EVERY_EVENT = (select(Event.id, Event.case_id, Event.at, Event.kind, Event.actor, Event.detail, Event.prev_hash,
                       Event.hash).order_by(Event.case_id, Event.id).execution_options(yield_per=VERIFY_BATCH))


@dataclass
class _Walk:
    """One chain being verified: what the next link must be, and its first break."""

    case_id: int | None
    position: int = 0
    expected_prev: str = GENESIS
    previous_id: int | None = None
    broken: ChainBreak | None = None

    def step(self, event_id: int, event: EventRow, prev_hash: str, stored: str) -> None:
        """Check the next event of the chain (only the first break is kept)."""
        if self.broken is None:
            if prev_hash != self.expected_prev:
                self.broken = ChainBreak(self.case_id, event_id, self.position, BROKEN_LINK, self.previous_id)
            elif event_hash(event, prev_hash) != stored:
                self.broken = ChainBreak(self.case_id, event_id, self.position, HASH_MISMATCH, self.previous_id)
        self.position, self.expected_prev, self.previous_id = self.position + 1, stored, event_id


def _close(report: ChainReport, walk: _Walk | None) -> None:
    """Count a finished chain and keep its break."""
    if walk is None:
        return
    report.cases += walk.case_id is not None
    if walk.broken is not None:
        report.breaks.append(walk.broken)


class SqlEventRepository:
    """Append-only audit log, sha256-chained per case."""

    ADVISORY_LOCK_CLASS = 7301

    def __init__(self, session: Session) -> None:
        self.session = session
        self._transaction: object = None
        self._last: dict[int | None, str] = {}  # the hash each chain ends with, in this transaction

    def append(self, event: EventRow) -> None:
        """Append `event` after the case's last event (serialised per case on PostgreSQL).

        The chain's end is read once per transaction: the per-case lock (PostgreSQL) or the database's write lock
        (SQLite) holds until commit, so later appends of this transaction chain to the hash written before them.
        """
        prev_hash = self._ends().get(event.case_id)
        if prev_hash is None:
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
        self.session.add(row)  # written with the transaction's other rows at its next flush, in this order
        self._last[event.case_id] = row.hash

    def reach(self, case_ids: Collection[int]) -> None:
        """Lock and read the chain ends of these cases at once (two statements), so that their appends in this
        transaction read nothing; the locks are taken in id order (PostgreSQL), as any other writer of several
        chains takes them."""
        ends = self._ends()
        ids = sorted(set(case_ids) - ends.keys())
        if not ids:
            return
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:class, c) FROM unnest(CAST(:ids AS integer[])) "
                                      "WITH ORDINALITY AS u(c, n) ORDER BY n"),
                                 {"class": self.ADVISORY_LOCK_CLASS, "ids": ids})
        last = select(func.max(Event.id)).where(Event.case_id.in_(ids)).group_by(Event.case_id)
        rows = self.session.execute(select(Event.case_id, Event.hash).where(Event.id.in_(last)))
        found = {case_id: end for case_id, end in rows}
        ends.update({case_id: found.get(case_id, GENESIS) for case_id in ids})

    def _ends(self) -> dict[int | None, str]:
        """The hash each chain ends with, as known in this transaction."""
        transaction = self.session.get_transaction()
        if transaction is not self._transaction:
            self._transaction, self._last = transaction, {}
        return self._last

    def forget(self) -> None:
        """Read each chain's end from the database again at the next append (after a savepoint was undone)."""
        self._last = {}

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
