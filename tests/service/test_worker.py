"""The background timer worker picks a due timer up within two seconds, without the test sleeping."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.queries import my_tasks
from engine.casework.services import Services
from engine.casework.worker import start_background_worker
from tests.service.test_fixture_case import deploy_fixture


def test_the_worker_fires_a_timer_within_two_seconds_of_it_falling_due(fixture_services: Services) -> None:
    deploy_fixture(fixture_services)
    record = start_case(fixture_services, "fx", "rita")
    [ask] = my_tasks(fixture_services, "rita")
    complete_task(fixture_services, ask.id, "rita", {"question": "q"})
    fired = threading.Event()
    sweeps = threading.Event()
    stop = start_background_worker(fixture_services, poll_seconds=0.5,
                                   swept=lambda n: (fired.set() if n else None, sweeps.set()))
    try:
        assert sweeps.wait(5), "the worker swept at least once"
        assert not fired.is_set(), "nothing was due yet"
        fixture_services.clock.advance(timedelta(weeks=6, minutes=1))  # type: ignore[attr-defined]
        started = time.perf_counter()
        assert fired.wait(2.0), "the due timer was not fired within two seconds"
        elapsed = time.perf_counter() - started
    finally:
        stop.stop()  # waits for the round: the fixture then closes the database under no one
    assert elapsed < 2.0
    with fixture_services.uow() as uow:
        assert [n.kind for n in uow.notices.for_case(record.id or 0)] == ["escalation"]
