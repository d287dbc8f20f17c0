"""Operations: the timer workers' heartbeat and the counts /metrics and /health read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Float, and_, case, cast, delete, extract, func, literal, select, text
from sqlalchemy.orm import Session

from engine.store.models import Case, Task, Timer, WorkerBeat

FORGET_WORKERS_AFTER = timedelta(days=7)  # a worker silent this long has stopped; its row goes at the next beat


class SqlOperationsRepository:
    """Heartbeats and operational counts: by board and state at most, never a case or a person."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def ping(self) -> None:
        """Raise when the database cannot be reached."""
        self.session.execute(text("SELECT 1"))

    def beat(self, name: str, at: datetime, fired: int) -> None:
        """Record that worker `name` finished a sweep at `at`, having moved `fired` cases on."""
        self.session.merge(WorkerBeat(name=name, swept_at=at, fired=fired))
        self.session.execute(
            delete(WorkerBeat).where(WorkerBeat.name != name, WorkerBeat.swept_at < at - FORGET_WORKERS_AFTER)
            .execution_options(synchronize_session=False)
        )

    def last_sweep(self) -> datetime | None:
        """When any worker last finished a sweep (None: none ever did)."""
        return self.session.scalar(select(func.max(WorkerBeat.swept_at)))

    def cases_by_state(self) -> dict[tuple[str, str], int]:
        """How many cases each board has in each state: the status, or "errored" when a step failed."""
        state = case((Case.error.is_not(None), literal("errored")), else_=Case.status)
        rows = self.session.execute(select(Case.board, state, func.count()).group_by(Case.board, state))
        return {(board, str(state_)): count for board, state_, count in rows}

    def ready_tasks(self, now: datetime) -> dict[str, tuple[int, int]]:
        """Each board's ready tasks and, of those, how many were due before `now`."""
        overdue = func.sum(case((and_(Task.due_at.is_not(None), Task.due_at < now), 1), else_=0))
        rows = self.session.execute(
            select(Case.board, func.count(), overdue).join(Case, Case.id == Task.case_id)
            .where(Task.state == "ready").group_by(Case.board)
        )
        return {board: (ready, int(late or 0)) for board, ready, late in rows}

    def timer_lag(self, bounds: Sequence[float]) -> tuple[list[int], float, int]:
        """Over fired timers: the cumulative count fired within each bound (seconds after due), the sum, the count."""
        lag = self._lag_seconds()
        lag = case((lag < 0, literal(0.0)), else_=lag)
        columns = [func.sum(case((lag <= bound, 1), else_=0)) for bound in bounds]
        row = self.session.execute(
            select(func.count(), func.sum(lag), *columns).where(Timer.fired_at.is_not(None))
        ).one()
        count, total, *within = row
        return [int(n or 0) for n in within], float(total or 0.0), int(count or 0)

    def _lag_seconds(self) -> ColumnElement[float]:
        """SQL for the seconds between a timer falling due and firing, on the dialect at hand."""
        if self.session.get_bind().dialect.name == "postgresql":
            return cast(extract("epoch", Timer.fired_at - Timer.due_at), Float)
        return (func.julianday(Timer.fired_at) - func.julianday(Timer.due_at)) * 86400.0
