"""T-C6, SQLite's write discipline: every transaction the app opens on SQLite begins with BEGIN IMMEDIATE (the write
lock taken up front, so no transaction fails half way with "database is locked") and waits up to 30 s for the lock.
(T-C2's load on SQLite: test_same_task_rounds.py runs 25 rounds of 8 writers at once with no error but conflicts.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from engine.store.db import make_engine, make_session_factory


def test_every_sqlite_transaction_begins_immediate_and_waits_at_least_five_seconds_for_the_lock(
        tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    said: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def heard(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        said.append(statement.strip().upper())

    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        with make_session_factory(engine)() as session, session.begin():
            session.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as conn:
            timeout = conn.execute(text("PRAGMA busy_timeout")).scalar_one()
            conn.rollback()
    finally:
        engine.dispose()

    begins = [s for s in said if s.startswith("BEGIN")]
    assert begins and set(begins) == {"BEGIN IMMEDIATE"}, said
    assert len(begins) >= 3, "one per transaction"
    assert timeout >= 5000
