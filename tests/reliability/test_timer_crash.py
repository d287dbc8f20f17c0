"""T-T3, a timer worker killed mid-batch: a worker process dies (os._exit(137)) after firing the third due timer and
before committing it, and a restarted one dies after handing the third message to the mail transport and before
recording it sent; a third run finishes. Every timer has fired exactly once in the database, every message is
recorded sent once, and the consumer, which received one message twice, keeps each Message-ID once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from engine.casework.services import Services
from engine.ports import UserRecord
from tests.reliability.crashing_worker import CRASHED
from tests.reliability.world import asked

ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "tests" / "fixtures" / "forms"
CASES = 12


def worker(database_url: str, now: str, ledger: Path, crash: str) -> int:
    """Run one round of the worker in its own process; its exit status."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.reliability.crashing_worker", database_url, str(FORMS), now, str(ledger), crash],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, CRASHED), done.stderr[-3000:]
    return done.returncode


def until_the_dead_let_go(database_url: str) -> None:
    """Wait (on the database, never a sleep) until the killed process's transaction is gone: on PostgreSQL its row
    locks go when the server notices the closed connection; SQLite's file locks went with the process."""
    if not database_url.startswith("postgresql"):
        return
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL lock_timeout = '30s'")
            for table in ("timer", '"case"', "mail"):
                conn.exec_driver_sql(f"SELECT id FROM {table} FOR UPDATE")
    finally:
        engine.dispose()


def test_a_worker_killed_mid_batch_and_restarted_fires_every_timer_once_and_delivers_every_message_once(
        simple: Services, database_url: str, tmp_path: Path) -> None:
    services = simple
    with services.uow() as uow:
        uow.people.add_user(UserRecord("carl", "Carl Chair", "fx", None, "carl@example.org"))
        uow.commit()
    cases = [asked(services) for _ in range(CASES)]
    now = (services.clock.now() + timedelta(weeks=7)).isoformat()
    ledger = tmp_path / "received.txt"

    assert worker(database_url, now, ledger, "timer:3") == CRASHED
    until_the_dead_let_go(database_url)
    with services.uow() as uow:
        fired_first = sum(1 for c in cases for t in uow.timers.for_case(c) if t.fired_at is not None)
    assert fired_first == 2, "the third firing died with its transaction"

    assert worker(database_url, now, ledger, "mail:3") == CRASHED
    until_the_dead_let_go(database_url)
    assert worker(database_url, now, ledger, "none") == 0

    with services.uow() as uow:
        fired = Counter(c for c in cases for t in uow.timers.for_case(c) if t.fired_at is not None)
        escalations = Counter(n.case_id for c in cases for n in uow.notices.for_case(c))
        events = Counter(e.case_id for c in cases for e in uow.events.for_case(c)
                         if e.kind in ("timer_fired", "deadline_missed"))
        mail = [m for c in cases for m in uow.mail.for_case(c)]
    assert fired == escalations == events == {c: 1 for c in cases}, "each timer's effects, exactly once"
    assert mail and all(m.sent_at is not None for m in mail)
    received = ledger.read_text().split()
    assert len(received) == len(mail) + 1, "one message was handed over twice: the crash came before it was recorded"
    assert len(set(received)) == len(mail), "kept by Message-ID, the consumer has each message once"
