"""Timer sweep: 2 workers fire 500 due timers exactly once (T-T1, T-T5); a naive claim duplicates (T-T2)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, func, insert, select, update

from engine.errors import Conflict
from engine.ports import TimerRow
from engine.store import SqlUnitOfWork
from engine.store.models import Timer

NewUow = Callable[[], SqlUnitOfWork]
Claim = Callable[[SqlUnitOfWork, datetime, int], Sequence[TimerRow]]
Mark = Callable[[SqlUnitOfWork, str, datetime], None]
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
TIMERS = 500

fire_log = Table(
    "fire_log",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("timer_id", String(36), nullable=False),
    Column("worker", Integer, nullable=False),
)


@dataclass
class Sweep:
    """What the workers did: fire_log counts per timer, conflicts met, unexpected errors."""

    fired: Counter[str] = field(default_factory=Counter)
    conflicts: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.fired.values())


@pytest.fixture
def due_timers(engine: Engine, new_uow: NewUow, make_case: Callable[..., int]) -> list[str]:
    """500 due timers over 50 cases, plus one not yet due, and an empty fire_log table."""
    fire_log.create(engine)
    ids = []
    for c in range(50):
        case_id = make_case()
        rows = [TimerRow(f"t-{c:02d}-{n}", case_id, "reminder", NOW - timedelta(minutes=n)) for n in range(10)]
        ids += [r.id for r in rows]
        with new_uow() as uow:
            uow.timers.replace_for_case(case_id, [*rows, TimerRow(f"later-{c}", case_id, "x", NOW + timedelta(days=1))])
            uow.commit()
    return ids


def repository_claim(uow: SqlUnitOfWork, now: datetime, limit: int) -> Sequence[TimerRow]:
    return uow.timers.claim_due(now, limit)


def repository_mark(uow: SqlUnitOfWork, timer_id: str, at: datetime) -> None:
    uow.timers.mark_fired(timer_id, at)


def naive_claim(uow: SqlUnitOfWork, now: datetime, limit: int) -> Sequence[TimerRow]:
    """The bug under test: a plain SELECT without FOR UPDATE SKIP LOCKED."""
    stmt = select(Timer.id, Timer.case_id, Timer.name, Timer.due_at).where(
        Timer.fired_at.is_(None), Timer.due_at <= now
    )
    rows = uow.session.execute(stmt.order_by(Timer.due_at, Timer.id).limit(limit)).all()
    return [TimerRow(r.id, r.case_id, r.name, r.due_at) for r in rows]


def naive_mark(uow: SqlUnitOfWork, timer_id: str, at: datetime) -> None:
    """An unguarded UPDATE (no `fired_at IS NULL` check), so only the claim could prevent duplicates."""
    uow.session.execute(update(Timer).where(Timer.id == timer_id).values(fired_at=at))


def sweep(new_uow: NewUow, claim: Claim, mark: Mark, *, interleave: bool, workers: int = 2) -> Sweep:
    """Run `workers` threads, each claiming batches of 10 and firing + marking them in one transaction.

    With `interleave`, all workers finish claiming before any fires (a barrier), which forces the race.
    """
    result = Sweep()
    barrier = threading.Barrier(workers) if interleave else None
    lock = threading.Lock()

    def work(worker: int) -> None:
        try:
            for _ in range(TIMERS):
                with new_uow() as uow:
                    claimed = claim(uow, NOW, 10)
                    if barrier is not None:
                        try:
                            barrier.wait(timeout=10)
                        except threading.BrokenBarrierError:
                            pass  # another worker has finished; carry on alone
                    if not claimed:
                        return
                    try:
                        for timer in claimed:
                            uow.session.execute(insert(fire_log).values(timer_id=timer.id, worker=worker))
                            mark(uow, timer.id, NOW)
                        uow.commit()
                    except Conflict:
                        with lock:
                            result.conflicts += 1
        except Exception as exc:  # noqa: BLE001 - reported through result.errors
            with lock:
                result.errors.append(repr(exc))
        finally:
            if barrier is not None:
                barrier.abort()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with new_uow() as uow:
        for timer_id, fired in uow.session.execute(
            select(fire_log.c.timer_id, func.count()).group_by(fire_log.c.timer_id)
        ):
            result.fired[timer_id] = fired
    return result


def test_two_workers_claiming_500_due_timers_fire_each_exactly_once(
    engine: Engine, new_uow: NewUow, due_timers: list[str]
) -> None:
    # PostgreSQL: forced interleaving, SKIP LOCKED must hand the workers disjoint batches.
    # SQLite: BEGIN IMMEDIATE serialises claim transactions; a barrier there would deadlock by design.
    result = sweep(new_uow, repository_claim, repository_mark, interleave=engine.dialect.name == "postgresql")

    assert result.errors == []
    assert result.conflicts == 0
    assert sorted(result.fired) == sorted(due_timers)
    assert result.duplicates == 0
    with new_uow() as uow:
        assert uow.timers.claim_due(NOW, 1000) == []
        assert uow.timers.next_due() == NOW + timedelta(days=1)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_naive_claim_without_skip_locked_fires_timers_twice_on_postgres(
    engine: Engine, new_uow: NewUow, due_timers: list[str]
) -> None:
    result = sweep(new_uow, naive_claim, naive_mark, interleave=True)

    assert result.errors == []
    assert result.duplicates > 0, "the harness failed to detect the double-claim race"
    assert sorted(result.fired) == sorted(due_timers)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_guarded_mark_fired_turns_a_naive_double_claim_into_a_conflict(
    engine: Engine, new_uow: NewUow, due_timers: list[str]
) -> None:
    result = sweep(new_uow, naive_claim, repository_mark, interleave=True)

    assert result.errors == []
    assert result.duplicates == 0
    assert result.conflicts > 0
