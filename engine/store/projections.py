"""Task and timer projection rows: the inbox query and the timer claim."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Select, Table, and_, bindparam, delete, func, insert, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.errors import Conflict
from engine.ports import Assignment, TaskRow, TimerRow
from engine.store.models import Case, StepTime, Task, Timer
from engine.store.sql import NO_AUTOFLUSH, fresh, rowcount

TASK_FIELDS = (
    "id", "case_id", "name", "title", "lane", "role", "agency", "form",
    "created_at", "due_at", "week", "state", "completed_at", "completed_by", "claimed_by", "claimed_at",
    "due_original", "due_reason",
)  # fmt: skip


class SqlTaskRepository:
    """Human-task projection rows and the inbox query."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def replace_for_case(self, case_id: int, rows: Iterable[TaskRow]) -> None:
        """Make the case's open task rows exactly `rows`: rows still open are left as they are (keeping their
        creation time), rows no longer open are deleted, new ones inserted; completed rows stay as history."""
        self.replace_for_cases({case_id: rows})

    def replace_for_cases(self, rows: Mapping[int, Iterable[TaskRow]]) -> None:
        """replace_for_case for several cases at once (one read, one delete, one insert)."""
        wanted = {case_id: {r.id: r for r in case_rows} for case_id, case_rows in rows.items()}
        open_ids: dict[int, set[str]] = {case_id: set() for case_id in wanted}
        for case_id, task_id in self.session.execute(
                select(Task.case_id, Task.id).where(Task.case_id.in_(list(wanted)), Task.state != "completed"),
                execution_options=NO_AUTOFLUSH):
            open_ids[case_id].add(task_id)
        added = [r | {"case_id": case_id} for case_id, case_rows in wanted.items()
                 for r in ({f: getattr(row, f) for f in TASK_FIELDS} for i, row in case_rows.items()
                           if i not in open_ids[case_id])]
        # a new row may reuse the id of a completed one (a loop): that one goes too
        stale = {i for case_id, ids in open_ids.items() for i in ids - wanted[case_id].keys()}
        stale |= {r["id"] for r in added}
        if stale:
            self.session.execute(
                delete(Task).where(Task.case_id.in_(list(wanted)), Task.id.in_(stale))
                .execution_options(synchronize_session=False, **NO_AUTOFLUSH)
            )
        if added:
            self.session.execute(insert(Task), added, execution_options=NO_AUTOFLUSH)

    def get(self, task_id: str) -> TaskRow | None:
        """The task row, if any."""
        rows = fresh(self.session, select(Task).where(Task.id == task_id))
        return task_row(rows[0]) if rows else None

    def mark_completed(self, task_id: str, by: str, at: datetime) -> None:
        """Mark a ready task completed; raises Conflict if it is no longer ready."""
        stmt = (
            update(Task)
            .where(Task.id == task_id, Task.state == "ready")
            .values(state="completed", completed_by=by, completed_at=at)
            .execution_options(synchronize_session=False)
        )
        if rowcount(self.session.execute(stmt)) != 1:
            raise Conflict(f"task {task_id} is no longer ready")

    def count_time(self, board: str, process_id: str, element: str, hours: int) -> None:
        """Count one finished step's whole hours towards the heatmap's times (an upsert, safe under concurrency)."""
        key = {"board": board, "process_id": process_id, "element": element, "hours": max(0, hours)}
        dialect = self.session.get_bind().dialect.name
        upsert = (pg_insert if dialect == "postgresql" else sqlite_insert)(StepTime).values(**key, count=1)
        self.session.execute(upsert.on_conflict_do_update(
            index_elements=list(key), set_={"count": StepTime.count + 1}))

    def revise_due(self, task_id: str, due_at: datetime, reason: str) -> None:
        """Move a ready task's due date, keeping the first original and the reason (Conflict when not ready)."""
        stmt = (
            update(Task)
            .where(Task.id == task_id, Task.state == "ready")
            .values(due_at=due_at, due_reason=reason,
                    due_original=func.coalesce(Task.due_original, Task.due_at))
            .execution_options(synchronize_session=False)
        )
        if rowcount(self.session.execute(stmt)) != 1:
            raise Conflict("this task is no longer waiting to be done")

    def set_claim(self, task_id: str, username: str | None, at: datetime | None, expected: str | None) -> None:
        """Set who is working on a ready task, if it is still held by `expected` (Conflict otherwise)."""
        held = Task.claimed_by.is_(None) if expected is None else Task.claimed_by == expected
        stmt = (
            update(Task)
            .where(Task.id == task_id, Task.state == "ready", held)
            .values(claimed_by=username, claimed_at=at)
            .execution_options(synchronize_session=False)
        )
        if rowcount(self.session.execute(stmt)) != 1:
            raise Conflict("someone else took or released this task a moment ago; reload the page")

    def for_case(self, case_id: int) -> Sequence[TaskRow]:
        """All task rows of a case, by creation."""
        stmt = select(Task).where(Task.case_id == case_id).order_by(Task.created_at, Task.id)
        return [task_row(r) for r in fresh(self.session, stmt)]

    def inbox(self, assignments: Sequence[Assignment],
              scoped_roles: Collection[str] | None = None) -> Sequence[TaskRow]:
        """Ready tasks any of `assignments` may act on, soonest due first (undated last), in one query.

        A task's agency restricts who sees it only for `scoped_roles` (every role when None); for other roles
        it merely says which agency the task is about.
        """
        clauses = [_matches(a, scoped_roles is None or a.role in scoped_roles) for a in dict.fromkeys(assignments)]
        if not clauses:
            return []
        stmt = (
            select(*(getattr(Task, f) for f in TASK_FIELDS))  # plain rows: no ORM identity work for big inboxes
            .join(Case, Case.id == Task.case_id)
            .where(Task.state == "ready", or_(*clauses))
            .order_by(Task.due_at.asc().nulls_last(), Task.created_at, Task.id)
        )
        return [TaskRow(*row) for row in self.session.execute(stmt)]


def _matches(a: Assignment, scoped: bool = True) -> ColumnElement[bool]:
    """Task filter for one assignment: role; board (None = all boards); case; agency scope."""
    board = true() if a.board is None else Case.board == a.board
    case = true() if a.case_id is None else Task.case_id == a.case_id
    # An agency-scoped task is only for holders of that agency; an unscoped task is for every holder.
    agency: ColumnElement[bool]
    if not scoped:
        agency = true()
    elif a.agency is None:
        agency = Task.agency.is_(None)
    else:
        agency = or_(Task.agency.is_(None), Task.agency == a.agency)
    return and_(Task.role == a.role, board, case, agency)


def task_row(row: Task) -> TaskRow:
    """The record of a task row."""
    return TaskRow(**{f: getattr(row, f) for f in TASK_FIELDS})


class SqlTimerRepository:
    """Waiting-timer rows, claimed by workers without deserializing workflows."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def replace_for_case(self, case_id: int, rows: Iterable[TimerRow]) -> None:
        """Make the case's pending timers exactly `rows` (inserting, deleting or re-timing only what changed);
        fired rows are kept as history."""
        self.replace_for_cases({case_id: rows})

    def replace_for_cases(self, rows: Mapping[int, Iterable[TimerRow]],
                          known: Mapping[int, Iterable[TimerRow]] | None = None) -> None:
        """replace_for_case for several cases at once; `known`: every timer row of those cases as this
        transaction last read or wrote them (saves reading them again)."""
        wanted = {r.id: r for case_rows in rows.values() for r in case_rows}
        if known is None:
            known = self.for_cases(list(rows))
        pending = {t.id: t for case_rows in known.values() for t in case_rows if t.fired_at is None}
        added = [r for i, r in wanted.items() if i not in pending]
        stale = (pending.keys() - wanted.keys()) | {r.id for r in added}  # a cycle timer reuses its id
        if stale:
            self.session.execute(
                delete(Timer).where(Timer.case_id.in_(list(rows)), Timer.id.in_(stale))
                .execution_options(synchronize_session=False, **NO_AUTOFLUSH)
            )
        for timer_id, before in pending.items():
            row = wanted.get(timer_id)
            if row is not None and (row.due_at != before.due_at or (before.title is None and row.title is not None)):
                # re-timed; or set before timers kept their title, agency and accountable roles (revision 0005)
                self.session.execute(
                    update(Timer).where(Timer.id == timer_id).values(
                        due_at=row.due_at, title=row.title, agency=row.agency,
                        accountable=" ".join(row.accountable) or None)
                    .execution_options(synchronize_session=False, **NO_AUTOFLUSH)
                )
        if added:
            self.session.execute(insert(Timer), [_values(r) for r in added], execution_options=NO_AUTOFLUSH)

    def claim_due(self, now: datetime, limit: int) -> Sequence[TimerRow]:
        """Pending timers due by `now`, each locked with its case until commit.

        PostgreSQL: `FOR UPDATE OF timers, cases SKIP LOCKED`, so a case another worker or a person's step holds is
        passed over, never waited on (no worker waits while holding a timer a step on that case must change).
        SQLite: BEGIN IMMEDIATE already serialises every transaction.
        """
        stmt = _firable(limit).where(Timer.due_at <= now)
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True, of=[Timer.__table__, Case.__table__])
        return [_timer(r) for r in fresh(self.session, stmt)]

    def upcoming(self, after: datetime, until: datetime, limit: int) -> Sequence[TimerRow]:
        """Pending timers falling due after `after` and by `until` on cases that will fire them (open, not in
        error), soonest first; nothing is locked (the worker prepares these firings ahead, engine.casework.readahead).
        """
        stmt = _firable(limit).where(Timer.due_at > after, Timer.due_at <= until)
        return [_timer(r) for r in fresh(self.session, stmt, autoflush=False)]

    def mark_fired(self, timer_id: str, at: datetime) -> None:
        """Record that a timer fired; raises Conflict if it had already fired (or does not exist)."""
        self.mark_all_fired([timer_id], at)

    def mark_all_fired(self, timer_ids: Sequence[str], at: datetime) -> None:
        """Record that these timers fired (one statement); raises Conflict if any had fired already."""
        table = cast(Table, Timer.__table__)
        stmt = (update(table).where(table.c.id == bindparam("timer_id"), table.c.fired_at.is_(None))
                .values(fired_at=bindparam("at")))
        done = self.session.execute(stmt, [{"timer_id": i, "at": at} for i in timer_ids],
                                    execution_options=NO_AUTOFLUSH)
        if rowcount(done) != len(timer_ids):
            raise Conflict(f"timer {timer_ids[0]} already fired" if len(timer_ids) == 1
                           else f"one of timers {', '.join(timer_ids)} already fired")

    def next_due(self) -> datetime | None:
        """The earliest due instant among pending timers."""
        return self.session.scalar(select(func.min(Timer.due_at)).where(Timer.fired_at.is_(None)))

    def for_case(self, case_id: int) -> Sequence[TimerRow]:
        """All timer rows of a case, soonest first."""
        return self.for_cases([case_id])[case_id]

    def for_cases(self, case_ids: Collection[int]) -> dict[int, list[TimerRow]]:
        """All timer rows of each of these cases, soonest first (one read)."""
        found: dict[int, list[TimerRow]] = {case_id: [] for case_id in case_ids}
        stmt = select(Timer).where(Timer.case_id.in_(list(found))).order_by(Timer.due_at, Timer.id)
        for row in fresh(self.session, stmt, autoflush=False):
            found[row.case_id].append(_timer(row))
        return found

    def add(self, row: TimerRow) -> None:
        """Record a timer the case set and fired within one step (it was never pending between steps)."""
        self.session.execute(insert(Timer), [_values(row)], execution_options=NO_AUTOFLUSH)

    def settle(self, timer_ids: Collection[str], at: datetime) -> None:
        """Mark missed deadlines settled (their step done, or an extension recorded)."""
        if timer_ids:
            self.session.execute(
                update(Timer).where(Timer.id.in_(list(timer_ids)), Timer.settled_at.is_(None)).values(settled_at=at)
                .execution_options(synchronize_session=False)
            )

    def missed(self, case_ids: Collection[int], boards: Collection[str] = ()) -> Sequence[TimerRow]:
        """The missed, unsettled deadlines of these cases and of every case of these boards, oldest first."""
        reach = [c for c in (Timer.case_id.in_(list(case_ids)) if case_ids else None,
                             Case.board.in_(list(boards)) if boards else None) if c is not None]
        if not reach:
            return []
        stmt = (select(Timer).join(Case, Case.id == Timer.case_id)
                .where(Timer.fired_at.is_not(None), Timer.settled_at.is_(None), Timer.accountable.is_not(None),
                       or_(*reach))
                .order_by(Timer.due_at, Timer.id))
        return [_timer(r) for r in fresh(self.session, stmt)]


def _firable(limit: int) -> Select[Timer]:
    """Pending timers of cases that fire them, soonest first: a suspended, terminated or errored case fires nothing
    until an administrator resumes or retries it."""
    return (select(Timer).join(Case, Case.id == Timer.case_id)
            .where(Timer.fired_at.is_(None), Case.status == "open", Case.error.is_(None))
            .order_by(Timer.due_at, Timer.id).limit(limit))


def _values(row: TimerRow) -> dict[str, object]:
    return {"id": row.id, "case_id": row.case_id, "name": row.name, "due_at": row.due_at, "fired_at": row.fired_at,
            "title": row.title, "agency": row.agency, "accountable": " ".join(row.accountable) or None}


def _timer(row: Timer) -> TimerRow:
    return TimerRow(id=row.id, case_id=row.case_id, name=row.name, due_at=row.due_at, fired_at=row.fired_at,
                    title=row.title, agency=row.agency, accountable=tuple((row.accountable or "").split()),
                    settled_at=row.settled_at)
