"""The administrators' monitor: the case list, the dashboards' counts, saved filters and each step's kept state,
answered from the projection tables (never by restoring a workflow)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, delete, func, insert, literal, or_, select, true, union
from sqlalchemy.orm import Session

from engine.ports import CaseQuery, CaseSummary, SavedFilterRecord, StepSnapshot, TimerRow
from engine.store.models import Case, CaseStep, ProcessVersion, RoleAssignment, SavedFilter, StepTime, Task, Timer
from engine.store.repositories import decompress

SUMMARY = (Case.id, Case.reference, Case.board, Case.process_id, Case.version_id, Case.status, Case.step,
           Case.next_due_at, Case.planned_week, Case.planned_by, Case.clock_started_at, Case.clock_weeks,
           Case.created_at, Case.updated_at, Case.error)
ORDER = {"reference": Case.reference, "created": Case.created_at, "updated": Case.updated_at,
         "due": Case.next_due_at, "step": Case.step, "state": Case.status, "week": Case.clock_started_at}


# Inline, not a bound parameter: only then can SQLite's planner (and PostgreSQL's generic plans) use the partial
# indexes over ready steps (revision 0008).
READY = Task.state == literal("ready", literal_execute=True)


def _summary(row: Any) -> CaseSummary:
    """A case-list line from a SUMMARY row (an error names its element, or "?" when it could not be told)."""
    error = row.error
    return CaseSummary(row.id, row.reference, row.board, row.process_id, row.version_id, row.status, row.step,
                       row.next_due_at, row.planned_week, row.planned_by, row.clock_started_at, row.clock_weeks,
                       row.created_at, row.updated_at, (error.get("element") or "?") if error else None)


def _reach(boards: tuple[str, ...] | None) -> ColumnElement[bool]:
    """Cases of the boards a person may see (None: every board)."""
    return true() if boards is None else Case.board.in_(boards)


class SqlMonitorRepository:
    """Queries over case and task projections for administrators."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # ---------------------------------------------------------------------------------------- the case list
    def _filtered(self, q: CaseQuery, now: datetime) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [_reach(q.boards)]
        if q.board:
            where.append(Case.board == q.board)
        if q.process_id:
            where.append(Case.process_id == q.process_id)
        if q.version_id is not None:
            where.append(Case.version_id == q.version_id)
        if q.state == "errored":
            where += [Case.error.is_not(None), Case.status == "open"]
        elif q.state == "open":
            where += [Case.status == "open", Case.error.is_(None)]
        elif q.state:
            where.append(Case.status == q.state)
        if q.step:
            where.append(Case.id.in_(select(Task.case_id).where(READY, Task.name == q.step)))
        if q.agency:
            where.append(Case.id.in_(select(Task.case_id).where(READY, Task.agency == q.agency)))
        if q.overdue:
            where.append(Case.next_due_at < now)
        if q.plan == "behind":
            where.append(Case.planned_by < now)
        elif q.plan == "on":
            where.append(or_(Case.planned_by.is_(None), Case.planned_by >= now))
        if q.week is not None:
            anchor = func.coalesce(Case.clock_started_at, Case.created_at)
            where += [anchor >= now - timedelta(weeks=q.week), anchor < now - timedelta(weeks=q.week - 1)]  # week_of
        if q.assignee:
            where.append(Case.id.in_(union(
                select(Task.case_id).where(READY, Task.claimed_by == q.assignee),
                select(RoleAssignment.case_id).where(RoleAssignment.username == q.assignee,
                                                     RoleAssignment.case_id.is_not(None)))))
        return where

    def case_page(self, query: CaseQuery, now: datetime) -> tuple[Sequence[CaseSummary], int]:
        """One page of the cases matching `query`, and how many match in all."""
        where = self._filtered(query, now)
        total = self.session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
        column = ORDER.get(query.sort, Case.reference)
        if query.sort == "week":  # the longer a clock has run, the later its week
            order = column.desc() if not query.descending else column.asc()
        else:
            order = column.desc() if query.descending else column.asc()
        stmt: Select[Any] = (select(*SUMMARY).where(*where).order_by(order.nulls_last(), Case.id)
                             .offset(max(0, query.offset)).limit(max(1, min(query.limit, 1000))))
        rows = [_summary(row) for row in self.session.execute(stmt)]
        return rows, total

    def choices(self, boards: tuple[str, ...] | None) -> dict[str, list[Any]]:
        """What the list's pickers offer: boards, procedures, versions, steps now ready, agencies, people."""
        reach = _reach(boards)
        found: dict[str, list[Any]] = {}
        found["boards"] = list(self.session.scalars(select(Case.board).where(reach).distinct().order_by(Case.board)))
        found["processes"] = list(self.session.scalars(
            select(Case.process_id).where(reach).distinct().order_by(Case.process_id)))
        found["versions"] = [tuple(r) for r in self.session.execute(
            select(ProcessVersion.id, ProcessVersion.process_id, ProcessVersion.content_hash, ProcessVersion.title)
            .where(ProcessVersion.id.in_(select(Case.version_id).where(reach).distinct()))
            .order_by(ProcessVersion.id))]
        on_board = select(Case.id).where(reach)
        found["steps"] = [tuple(r) for r in self.session.execute(
            select(Task.name, func.min(Task.title)).where(READY, Task.case_id.in_(on_board))
            .group_by(Task.name).order_by(func.min(Task.title)))]
        found["agencies"] = list(self.session.scalars(
            select(Task.agency).where(READY, Task.agency.is_not(None), Task.case_id.in_(on_board))
            .distinct().order_by(Task.agency)))
        found["assignees"] = list(self.session.scalars(
            select(RoleAssignment.username).where(RoleAssignment.case_id.in_(on_board)).distinct()
            .order_by(RoleAssignment.username)))
        return found

    def processes(self, boards: tuple[str, ...] | None) -> list[str]:
        """The procedures the cases of these boards run, by id."""
        return list(self.session.scalars(
            select(Case.process_id).where(_reach(boards)).distinct().order_by(Case.process_id)))

    def open_clocks(self, boards: tuple[str, ...] | None
                    ) -> Sequence[tuple[datetime, datetime | None, int | None, datetime | None]]:
        """(started, clock started, clock weeks, planned by) of every open case: the weeks chart's input."""
        stmt = select(Case.created_at, Case.clock_started_at, Case.clock_weeks, Case.planned_by).where(
            _reach(boards), Case.status == "open")
        return [tuple(r) for r in self.session.execute(stmt)]  # type: ignore[misc]

    # ---------------------------------------------------------------------------------------- dashboards
    def deadlines(self, boards: tuple[str, ...] | None, now: datetime, soon: datetime, limit: int
                  ) -> tuple[Sequence[tuple[TimerRow, str, str]], dict[str, int]]:
        """The statutory deadlines (timers the diagram makes deadlines) of open cases, missed first then soonest,
        each with its case's reference and board; and how many are red, amber and green."""
        missed = and_(Timer.fired_at.is_not(None), Timer.settled_at.is_(None))
        pending = Timer.fired_at.is_(None)
        where = [_reach(boards), Timer.accountable.is_not(None), or_(missed, pending), Case.status != "terminated"]
        rag = case((or_(missed, Timer.due_at < now), "red"), (Timer.due_at < soon, "amber"), else_="green")
        counts = {"red": 0, "amber": 0, "green": 0}
        for colour, count in self.session.execute(
                select(rag, func.count()).select_from(Timer).join(Case, Case.id == Timer.case_id).where(*where)
                .group_by(rag)):
            counts[colour] = count
        rows: list[tuple[TimerRow, str, str]] = []
        for which in (missed, pending):  # two queries, each walking the due-date index, rather than one sort
            if len(rows) >= limit:
                break
            stmt = (select(Timer, Case.reference, Case.board).join(Case, Case.id == Timer.case_id)
                    .where(*where, which).order_by(Timer.due_at, Timer.id).limit(limit - len(rows)))
            rows += [(TimerRow(t.id, t.case_id, t.name, t.due_at, t.fired_at, t.title, t.agency,
                               tuple((t.accountable or "").split()), t.settled_at), reference, board)
                     for t, reference, board in self.session.execute(stmt)]
        return rows, counts

    def workload(self, boards: tuple[str, ...] | None, now: datetime
                 ) -> Sequence[tuple[str | None, str | None, str | None, int, int]]:
        """(taken by, role, agency, ready steps, of which overdue) over the open cases of these boards."""
        overdue = func.sum(case((Task.due_at < now, 1), else_=0))
        stmt = (select(Task.claimed_by, Task.role, Task.agency, func.count(), overdue)
                .join(Case, Case.id == Task.case_id)
                .where(READY, _reach(boards), Case.status == "open")
                .group_by(Task.claimed_by, Task.role, Task.agency))
        return [(by, role, agency, int(n), int(late or 0)) for by, role, agency, n, late in self.session.execute(stmt)]

    def waiting(self, board: str | None, boards: tuple[str, ...] | None, process_id: str) -> dict[str, int]:
        """Element -> how many open cases wait there now (a ready step, or a pending timer)."""
        where = [_reach(boards), Case.process_id == process_id, Case.status == "open"]
        if board:
            where.append(Case.board == board)
        found: dict[str, int] = {}
        tasks = (select(Task.name, func.count(func.distinct(Task.case_id))).join(Case, Case.id == Task.case_id)
                 .where(READY, *where).group_by(Task.name))
        timers = (select(Timer.name, func.count(func.distinct(Timer.case_id))).join(Case, Case.id == Timer.case_id)
                  .where(Timer.fired_at.is_(None), *where).group_by(Timer.name))
        for name, count in [*self.session.execute(tasks), *self.session.execute(timers)]:
            found[name] = found.get(name, 0) + int(count)
        return found

    def step_times(self, board: str | None, boards: tuple[str, ...] | None,
                   process_id: str) -> dict[str, list[tuple[int, int]]]:
        """Element -> [(whole hours, how many finished steps took that long)], ascending."""
        stmt = select(StepTime.element, StepTime.hours, func.sum(StepTime.count)).where(
            StepTime.process_id == process_id)
        if board:
            stmt = stmt.where(StepTime.board == board)
        if boards is not None:
            stmt = stmt.where(StepTime.board.in_(boards))
        stmt = stmt.group_by(StepTime.element, StepTime.hours).order_by(StepTime.element, StepTime.hours)
        found: dict[str, list[tuple[int, int]]] = {}
        for element, hours, count in self.session.execute(stmt):
            found.setdefault(element, []).append((int(hours), int(count)))
        return found

    # ---------------------------------------------------------------------------------------- looking back
    def snapshots(self, case_id: int) -> Sequence[StepSnapshot]:
        """Every kept step of a case (without its state), oldest first."""
        stmt = (select(CaseStep.case_id, CaseStep.at, CaseStep.lock_version, CaseStep.version_id, CaseStep.elements)
                .where(CaseStep.case_id == case_id).order_by(CaseStep.at, CaseStep.id))
        return [StepSnapshot(*row) for row in self.session.execute(stmt)]

    def snapshot(self, case_id: int, at: datetime | None = None, lock_version: int | None = None
                 ) -> StepSnapshot | None:
        """The case as it stood after the step that left it at `lock_version`, or (else) the last step kept at or
        before `at`, with its state."""
        stmt = select(CaseStep).where(CaseStep.case_id == case_id)
        if lock_version is not None:
            stmt = stmt.where(CaseStep.lock_version == lock_version)
        if at is not None:
            stmt = stmt.where(CaseStep.at <= at)
        stmt = stmt.order_by(CaseStep.at.desc(), CaseStep.id.desc()).limit(1)
        row = self.session.scalars(stmt).first()
        if row is None:
            return None
        return StepSnapshot(row.case_id, row.at, row.lock_version, row.version_id, dict(row.elements),
                            decompress(row.state))

    def unprojected(self, limit: int) -> Sequence[int]:
        """Ids of cases whose monitor projection was never written (started before revision 0007)."""
        return list(self.session.scalars(select(Case.id).where(Case.elements.is_(None)).order_by(Case.id)
                                         .limit(limit)))

    # ---------------------------------------------------------------------------------------- saved filters
    def saved_filters(self, username: str) -> Sequence[SavedFilterRecord]:
        """A person's saved filters, by name."""
        stmt = select(SavedFilter).where(SavedFilter.username == username).order_by(SavedFilter.name)
        return [SavedFilterRecord(r.id, r.username, r.name, r.query, r.created_at) for r in self.session.scalars(stmt)]

    def save_filter(self, record: SavedFilterRecord) -> SavedFilterRecord:
        """Save (or replace) a filter under its name."""
        self.session.execute(delete(SavedFilter).where(SavedFilter.username == record.username,
                                                       SavedFilter.name == record.name))
        new_id = self.session.execute(insert(SavedFilter).values(
            username=record.username, name=record.name, query=record.query, created_at=record.created_at)
            .returning(SavedFilter.id)).scalar_one()
        return SavedFilterRecord(new_id, record.username, record.name, record.query, record.created_at)

    def delete_filter(self, username: str, filter_id: int) -> bool:
        """Delete one of the person's filters; False when there was none."""
        result = self.session.execute(delete(SavedFilter).where(SavedFilter.id == filter_id,
                                                                SavedFilter.username == username))
        return bool(getattr(result, "rowcount", 0))
