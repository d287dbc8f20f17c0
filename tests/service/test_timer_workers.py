"""Two timer workers sweeping the same cases at once fire every due timer exactly once (real workflows)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.queries import my_tasks
from engine.casework.services import Services
from engine.casework.timers import fire_due_timers
from tests.service.test_fixture_case import deploy_fixture

CASES = 120


def test_two_workers_fire_each_due_escalation_exactly_once(fixture_services: Services) -> None:
    deploy_fixture(fixture_services)
    for _ in range(CASES):
        start_case(fixture_services, "fx", "rita")
    for task in my_tasks(fixture_services, "rita"):
        complete_task(fixture_services, task.id, "rita", {"question": "q"})
    fixture_services.clock.advance(timedelta(weeks=6, minutes=1))  # type: ignore[attr-defined]
    start = threading.Barrier(2)
    fired: list[int] = []

    def worker() -> None:
        start.wait()
        fired.append(fire_due_timers(fixture_services, limit=CASES * 2))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sum(fired) == CASES
    with fixture_services.uow() as uow:
        per_case = Counter(n.case_id for c in uow.cases.list() for n in uow.notices.for_case(c.id or 0))
    assert len(per_case) == CASES and set(per_case.values()) == {1}
    assert fire_due_timers(fixture_services) == 0
