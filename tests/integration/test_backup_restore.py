"""deploy/backup and deploy/restore on PostgreSQL: a restored database shows the same cases, the same open tasks
for every person and the same audit chain, and work carries on in it (docs/deploy.md)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Engine, text

from engine.authoring.versions import deploy
from engine.bootstrap import build_services
from engine.casework.accounts import seed_users
from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.queries import my_tasks
from engine.casework.services import Services
from engine.clock import FrozenClock
from engine.store.audit import SqlEventRepository
from engine.workflow.specs import read_diagrams
from tests.databases import POSTGRES_URL, postgres_database, unreachable
from tests.drive import SCR_PATH, SUPERUSER, form_data, grant_everything, in_driving_order, ready

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
BACKUP, RESTORE = ROOT / "deploy" / "backup", ROOT / "deploy" / "restore"
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
STEPS_PER_CASE = (1, 3, 6)  # tasks completed on each case before the backup


@contextmanager
def new_database(purpose: str) -> Iterator[str]:
    """A URL to a new, empty PostgreSQL database (scr_<purpose>_<random>), dropped afterwards."""
    if os.environ.get("SCR_TEST_DATABASE", "sqlite") != "postgresql":
        pytest.skip("backup and restore use pg_dump and pg_restore: PostgreSQL runs only")
    with postgres_database(f"scr_{purpose}") as url:
        if url is None:
            unreachable(f"PostgreSQL unreachable at {POSTGRES_URL}")
        assert url is not None
        yield url

@contextmanager
def services_on(url: str, now: datetime) -> Iterator[tuple[Services, Engine]]:
    """Services on `url` as the app builds them at start-up (migrating if needed), disposed afterwards."""
    services, engine = build_services(url, ROOT / "forms", FrozenClock(now))
    try:
        yield services, engine
    finally:
        engine.dispose()


def run_script(script: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run deploy/backup or deploy/restore as an administrator would, with DATABASE_URL set."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SCR_")}, "DATABASE_URL": url}
    return subprocess.run([str(script), *args], env=env, capture_output=True, text=True, timeout=300)


def complete_next(services: Services, case_id: int) -> None:
    """Complete the task a person would do next on the case."""
    task = in_driving_order(services, case_id, ready(services, case_id))[0]
    complete_task(services, task.id, SUPERUSER, form_data(services, case_id, task, SCR_PATH))


@dataclass(frozen=True)
class Seen:
    """What people and auditors see of a database: cases, each person's open tasks, the audit log as stored."""

    cases: list[tuple[Any, ...]]
    open_tasks: dict[str, list[Any]]
    events: list[tuple[Any, ...]]
    broken_chains: dict[int | None, int]


def seen(services: Services, engine: Engine) -> Seen:
    """Everything the restore must keep, read through the app's own queries (and the audit table's hashes)."""
    with services.uow() as uow:
        cases = [(c.id, c.reference, c.board, c.process_id, c.version_id, c.status, c.lock_version, c.state)
                 for c in uow.cases.list()]
        people = [user.username for user in uow.people.users()]
        chains: list[int | None] = [None, *(c[0] for c in cases)]
        audit = cast(SqlEventRepository, uow.events)  # the concrete repository verifies the hash chain
        broken = {case: index for case in chains if (index := audit.first_broken(case)) is not None}
    with engine.connect() as conn:
        events = [tuple(row) for row in conn.execute(
            text("SELECT id, case_id, at, kind, actor, detail, prev_hash, hash FROM event ORDER BY id"))]
    tasks = {person: sorted(my_tasks(services, person), key=lambda t: t.id) for person in people}
    return Seen(sorted(cases), {p: t for p, t in tasks.items() if t}, events, broken)


@dataclass(frozen=True)
class Backup:
    """A backup of a database holding cases driven a few steps, what it showed, and how long the backup took."""

    file: Path
    source_url: str
    before: Seen
    case_ids: list[int]
    seconds: float
    said: str


@pytest.fixture(scope="module")
def backup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backup]:
    """Three cases driven 1, 3 and 6 steps on a new database, backed up with deploy/backup."""
    with new_database("backup") as url:
        with services_on(url, T0) as (services, engine):
            deploy(services, read_diagrams([ROOT / "bpmn"]), by="tests")
            seed_users(services, services.catalogue.users)
            grant_everything(services, "dorset", list(services.catalogue.agencies))
            case_ids = []
            for steps in STEPS_PER_CASE:
                record = start_case(services, "dorset", SUPERUSER)
                assert record.id is not None
                case_ids.append(record.id)
                for _ in range(steps):
                    complete_next(services, record.id)
            before = seen(services, engine)
        file = tmp_path_factory.mktemp("backup") / "scr.dump"
        started = time.perf_counter()
        done = run_script(BACKUP, url, str(file))
        seconds = time.perf_counter() - started
        assert done.returncode == 0, done.stderr
        yield Backup(file, url, before, case_ids, seconds, done.stdout)


def test_the_backup_says_where_it_wrote_and_counts_every_table_in_the_same_snapshot(backup: Backup) -> None:
    assert f"backed up to {backup.file}" in backup.said
    counts = dict(line.split() for line in Path(f"{backup.file}.counts").read_text().splitlines())
    assert int(counts["case"]) == len(STEPS_PER_CASE)
    assert int(counts["event"]) == len(backup.before.events)
    assert oct(backup.file.stat().st_mode & 0o777) == oct(0o600)  # it holds case data: its owner's only


def test_a_restored_database_shows_the_same_cases_tasks_and_audit_chain_and_work_goes_on(
        backup: Backup, record_property: Any) -> None:
    assert backup.before.open_tasks and backup.before.events and backup.before.broken_chains == {}
    with new_database("restore") as url:
        started = time.perf_counter()
        done = run_script(RESTORE, url, str(backup.file))
        record_property("backup_seconds", round(backup.seconds, 3))
        record_property("restore_seconds", round(time.perf_counter() - started, 3))
        record_property("backup_bytes", backup.file.stat().st_size)
        counts = Path(f"{backup.file}.counts").read_text().splitlines()
        record_property("rows", sum(int(line.split()[1]) for line in counts))
        assert done.returncode == 0, done.stderr
        assert "every table holds the rows the backup counted" in done.stdout

        with services_on(url, T0 + timedelta(days=1)) as (services, engine):
            after = seen(services, engine)
            assert [c[1] for c in after.cases] == [c[1] for c in backup.before.cases]
            assert after == backup.before

            furthest = backup.case_ids[-1]
            complete_next(services, furthest)
            carried_on = seen(services, engine)
    new_events = carried_on.events[len(after.events):]
    assert carried_on.events[:len(after.events)] == after.events
    assert new_events and all(event[0] > after.events[-1][0] for event in new_events)
    assert {event[1] for event in new_events} == {furthest}
    assert carried_on.broken_chains == {}


def test_restore_refuses_a_database_that_already_holds_tables_and_changes_nothing(backup: Backup) -> None:
    refused = run_script(RESTORE, backup.source_url, str(backup.file))
    assert refused.returncode == 3
    assert "already holds" in refused.stderr and "restore into a new database" in refused.stderr
    with services_on(backup.source_url, T0) as (services, engine):
        assert seen(services, engine) == backup.before


def test_restore_says_so_when_the_restored_rows_differ_from_what_the_backup_counted(
        backup: Backup, tmp_path: Path) -> None:
    tampered = tmp_path / "scr.dump"
    tampered.write_bytes(backup.file.read_bytes())
    counts = Path(f"{backup.file}.counts").read_text().splitlines()
    Path(f"{tampered}.counts").write_text("\n".join(
        f"event {int(line.split()[1]) + 1}" if line.startswith("event ") else line for line in counts) + "\n")
    with new_database("restore") as url:
        done = run_script(RESTORE, url, str(tampered))
    assert done.returncode == 4
    assert "the restored rows differ from the backup's counts" in done.stderr
    assert f"< event {len(backup.before.events) + 1}" in done.stderr
