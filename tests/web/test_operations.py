"""/metrics counts cases, work and timers for Prometheus without naming anyone; /health says when to page someone."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from engine.bootstrap import build_services
from engine.casework import latency
from engine.casework.cases import start_case
from engine.casework.services import Services
from engine.casework.worker import run_worker
from engine.clock import FrozenClock
from engine.ports import CaseRecord, TimerRow
from tests.drive import SUPERUSER, grant_everything, ready
from tests.service.conftest import T0
from web import create_app

ROOT = Path(__file__).resolve().parents[2]


def samples(client: FlaskClient, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample /metrics exposes, keyed by name and sorted labels (the page must parse as Prometheus text)."""
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.get_data(as_text=True)) for s in family.samples}


def sweep_once(services: Services) -> None:
    """Let the timer worker sweep exactly once, on this thread."""
    stop = threading.Event()
    run_worker(services, stop, poll_seconds=0, swept=lambda _fired: stop.set(), name="test-worker")


def two_boards(services: Services) -> tuple[str, str]:
    """The codes of the first two boards forms/ declares."""
    first, second, *_ = (board.code for board in services.catalogue.boards)
    return first, second


def cases_of_both_boards(services: Services) -> list[CaseRecord]:
    """Two cases of the first board and one of the second, started as people start them."""
    first, second = two_boards(services)
    grant_everything(services, first, [])
    cases = [start_case(services, first, SUPERUSER) for _ in range(2)]
    grant_everything(services, second, [])
    return [*cases, start_case(services, second, SUPERUSER)]


def set_standing(services: Services, case_id: int, **changes: Any) -> None:
    """Suspend a case, or mark it errored, as an administrator's action or a failed step would."""
    with services.uow() as uow:
        uow.cases.save_standing(replace(uow.cases.get(case_id), **changes))
        uow.commit()


def test_metrics_count_each_boards_cases_by_state(app: Flask, services: Services) -> None:
    first, second, third = cases_of_both_boards(services)
    one, two = two_boards(services)
    set_standing(services, second.id or 0, status="suspended", suspended_at=services.clock.now())
    set_standing(services, third.id or 0, error={"element": "x", "message": "broken"})

    seen = samples(app.test_client())

    assert seen[("scr_cases", (("board", one), ("state", "open")))] == 1
    assert seen[("scr_cases", (("board", one), ("state", "suspended")))] == 1
    assert seen[("scr_cases", (("board", two), ("state", "errored")))] == 1
    assert ("scr_cases", (("board", two), ("state", "open"))) not in seen


def test_metrics_count_ready_and_overdue_tasks_by_board(app: Flask, services: Services) -> None:
    cases = cases_of_both_boards(services)
    one, two = two_boards(services)
    waiting = {one: ready(services, cases[0].id or 0) + ready(services, cases[1].id or 0),
               two: ready(services, cases[2].id or 0)}
    late = waiting[one][0]
    with services.uow() as uow:  # as an administrator setting a due date would
        uow.tasks.revise_due(late.id, T0 + timedelta(days=1), "agreed with the chair")
        uow.commit()

    on_time = samples(app.test_client())
    services.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    overdue = samples(app.test_client())

    for board, tasks in waiting.items():
        assert tasks, "a new case has work waiting"
        assert on_time[("scr_tasks_ready", (("board", board),))] == len(tasks)
        assert on_time[("scr_tasks_overdue", (("board", board),))] == 0
    assert overdue[("scr_tasks_overdue", (("board", one),))] == 1
    assert overdue[("scr_tasks_overdue", (("board", two),))] == 0


def test_timer_lag_is_a_histogram_of_seconds_between_due_and_fired(app: Flask, services: Services) -> None:
    [case, *_] = cases_of_both_boards(services)
    with services.uow() as uow:
        for n, late in enumerate((timedelta(seconds=0.5), timedelta(seconds=3), timedelta(hours=2))):
            uow.timers.add(TimerRow(f"lag-{n}", case.id or 0, "reminder", T0, fired_at=T0 + late))
        uow.commit()

    seen = samples(app.test_client())

    def bucket(le: str) -> float:
        return seen[("scr_timer_lag_seconds_bucket", (("le", le),))]

    assert (bucket("1.0"), bucket("2.0"), bucket("5.0"), bucket("3600.0"), bucket("21600.0"), bucket("+Inf")) == (
        1, 1, 2, 2, 3, 3)
    assert seen[("scr_timer_lag_seconds_count", ())] == 3
    assert seen[("scr_timer_lag_seconds_sum", ())] == pytest.approx(0.5 + 3 + 7200, abs=0.01)


def test_step_latency_is_a_histogram_the_engine_feeds(app: Flask) -> None:
    before = samples(app.test_client())
    latency.observe(0.2)
    with latency.timed():
        pass
    after = samples(app.test_client())

    assert after[("scr_step_seconds_count", ())] - before.get(("scr_step_seconds_count", ()), 0) == 2
    assert after[("scr_step_seconds_bucket", (("le", "0.25"),))] - before.get(
        ("scr_step_seconds_bucket", (("le", "0.25"),)), 0) == 2


def test_metrics_name_no_case_and_no_person(app: Flask, services: Services) -> None:
    cases = cases_of_both_boards(services)
    sweep_once(services)

    text = app.test_client().get("/metrics").get_data(as_text=True)

    assert "scr_cases" in text and "scr_worker_last_sweep_seconds" in text
    with services.uow() as uow:
        people = [u.username for u in uow.people.users()] + [u.display_name for u in uow.people.users()]
    for word in [c.reference for c in cases] + people + ["test-worker"]:
        assert word not in text
    labels = {name for family in text_string_to_metric_families(text) for s in family.samples for name in s.labels}
    assert labels <= {"board", "state", "role", "le"}


def test_health_is_ok_after_a_worker_swept(app: Flask, services: Services) -> None:
    sweep_once(services)
    services.clock.advance(timedelta(seconds=30))  # type: ignore[attr-defined]

    answer = app.test_client().get("/health")

    assert answer.status_code == 200
    assert answer.get_json() == {"status": "ok", "database": "ok", "worker": "ok", "last_sweep_seconds": 30}
    assert samples(app.test_client())[("scr_worker_last_sweep_seconds", ())] == 30


def test_health_is_down_before_any_worker_swept(app: Flask) -> None:
    answer = app.test_client().get("/health")

    assert answer.status_code == 503
    assert answer.get_json()["status"] == "down"
    assert answer.get_json()["worker"] == "no timer worker has swept yet"
    assert ("scr_worker_last_sweep_seconds", ()) not in samples(app.test_client())


def test_health_is_down_when_the_last_sweep_is_older_than_the_limit(app: Flask, services: Services) -> None:
    sweep_once(services)
    services.clock.advance(timedelta(seconds=121))  # type: ignore[attr-defined]

    answer = app.test_client().get("/health")

    assert answer.status_code == 503
    assert answer.get_json()["database"] == "ok"
    assert answer.get_json()["worker"] == "no timer worker has swept for 121 s (limit 120 s)"
    assert answer.get_json()["last_sweep_seconds"] == 121


def test_the_limit_is_scr_worker_stale_seconds(services: Services) -> None:
    app = create_app(services, {"TESTING": True, "SECRET_KEY": "test", "WORKER_STALE_SECONDS": 600})
    sweep_once(services)
    services.clock.advance(timedelta(seconds=599))  # type: ignore[attr-defined]
    assert app.test_client().get("/health").status_code == 200
    services.clock.advance(timedelta(seconds=2))  # type: ignore[attr-defined]
    assert app.test_client().get("/health").status_code == 503


def test_health_and_metrics_are_down_when_the_database_cannot_be_reached(tmp_path: Path) -> None:
    gone, engine = build_services(f"sqlite:///{tmp_path / 'no such folder' / 'scr.sqlite3'}", ROOT / "forms",
                                  FrozenClock(T0), migrate=False)
    try:
        client = create_app(gone, {"TESTING": True, "SECRET_KEY": "test"}).test_client()
        health, metrics = client.get("/health"), client.get("/metrics")
    finally:
        engine.dispose()

    assert health.status_code == 503
    assert health.get_json() == {"status": "down", "database": "unreachable (OperationalError)",
                                 "worker": "unknown: the database did not answer", "last_sweep_seconds": None}
    assert metrics.status_code == 503
    assert metrics.get_data(as_text=True) == "The database did not answer.\n"


def test_a_heartbeat_that_cannot_be_written_never_stops_the_timers(
        app: Flask, services: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from engine.store.operations import SqlOperationsRepository

    def refuse(*_args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(SqlOperationsRepository, "beat", refuse)
    sweeps: list[int] = []
    stop = threading.Event()

    def swept(fired: int) -> None:
        sweeps.append(fired)
        stop.set()

    run_worker(services, stop, poll_seconds=0, swept=swept)

    assert sweeps == [0], "the sweep went on to its end"
    assert "heartbeat could not be written" in caplog.text
    assert app.test_client().get("/health").status_code == 503


def test_metrics_need_the_token_when_one_is_configured(services: Services) -> None:
    client = create_app(services, {"TESTING": True, "SECRET_KEY": "test", "METRICS_TOKEN": "s3cret"}).test_client()

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/health").status_code == 503, "health needs no token (and no worker swept here)"


def test_metrics_and_health_need_no_sign_in(app: Flask) -> None:
    client = app.test_client()

    assert client.get("/metrics").status_code == 200
    assert client.get("/health").status_code == 503  # answered, not sent to the sign-in page


def test_the_production_entry_points_freeze_what_start_up_loaded_out_of_the_garbage_collectors_reach() -> None:
    import gc

    from web import freeze_startup_heap

    sources = [(ROOT / "web" / "wsgi.py").read_text(), (ROOT / "run.py").read_text()]
    assert all("freeze_startup_heap()" in source for source in sources)
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
