"""Timer firings prepared ahead by a worker write what a firing at the instant writes, are thrown away when the case
changed since, and a batch whose writing fails is fired again case by case."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.queries import my_tasks
from engine.casework.readahead import Readahead
from engine.casework.services import Services
from engine.casework.timers import fire_due_timers
from engine.ports import CaseRecord
from engine.store.repositories import SqlCaseRepository
from tests.service.test_fixture_case import deploy_fixture

ESCALATION = timedelta(weeks=6)  # the fixture's chair has six weeks to decide


def cases_waiting_on_their_escalation(services: Services, how_many: int) -> list[int]:
    """Cases whose referrer asked, so each waits on the chair's six-week escalation timer."""
    deploy_fixture(services)
    ids = [start_case(services, "fx", "rita").id or 0 for _ in range(how_many)]
    for task in my_tasks(services, "rita"):
        complete_task(services, task.id, "rita", {"question": "q"})
    return ids


def after_the_instant(services: Services) -> None:
    services.clock.advance(ESCALATION + timedelta(minutes=1))  # type: ignore[attr-defined]


def what_was_written(services: Services, case_id: int) -> dict[str, Any]:
    """What a person or an auditor sees of a case: its standing, inbox, timers, notices and history."""
    with services.uow() as uow:
        record = uow.cases.get(case_id)
        return {
            "status": record.status, "step": record.step, "next_due_at": record.next_due_at,
            "lock_version": record.lock_version,
            "tasks": sorted((t.name, t.state) for t in uow.tasks.for_case(case_id)),
            "timers": sorted((t.name, t.due_at, t.fired_at is not None) for t in uow.timers.for_case(case_id)),
            "notices": [(n.role, n.kind) for n in uow.notices.for_case(case_id)],
            "history": [(e.kind, e.detail.get("timer")) for e in uow.events.for_case(case_id)],
            "chain_intact": uow.events.first_broken(case_id) is None,
        }


def test_a_firing_prepared_ahead_writes_what_a_firing_at_the_instant_writes(fixture_services: Services,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    prepared_case, plain_case = cases_waiting_on_their_escalation(fixture_services, 2)
    ahead = Readahead(horizon=ESCALATION + timedelta(days=1))
    assert ahead.prepare(fixture_services) == 2
    del ahead.ready[plain_case]  # this one fires from its stored state, as without a worker preparing
    after_the_instant(fixture_services)

    assert fire_due_timers(fixture_services, prepared=ahead) == 2

    assert (ahead.used, ahead.discarded) == (1, 0)
    assert "could not be written together" not in caplog.text  # written as one batch, not case by case
    assert what_was_written(fixture_services, prepared_case) == what_was_written(fixture_services, plain_case)
    written = what_was_written(fixture_services, prepared_case)
    assert [kind for kind, _timer in written["history"]][-2:] == ["deadline_missed", "notice"]
    assert written["chain_intact"] and len(written["notices"]) == 1
    assert fire_due_timers(fixture_services, prepared=ahead) == 0


def test_a_prepared_firing_of_a_case_changed_since_is_run_again_from_the_stored_state(
        fixture_services: Services) -> None:
    changed, unchanged = cases_waiting_on_their_escalation(fixture_services, 2)
    ahead = Readahead(horizon=ESCALATION + timedelta(days=1))
    assert ahead.prepare(fixture_services) == 2
    with fixture_services.uow() as uow:  # an administrator's change after the worker prepared the firing
        uow.cases.save_standing(uow.cases.get(changed, for_update=True))
        uow.commit()
    after_the_instant(fixture_services)

    assert fire_due_timers(fixture_services, prepared=ahead) == 2

    assert (ahead.used, ahead.discarded) == (1, 1)
    first, second = what_was_written(fixture_services, changed), what_was_written(fixture_services, unchanged)
    assert first["lock_version"] == second["lock_version"] + 1  # the change is kept, the firing made on top of it
    assert {**first, "lock_version": 0} == {**second, "lock_version": 0}


def test_nothing_due_already_or_beyond_the_horizon_is_prepared(fixture_services: Services) -> None:
    cases_waiting_on_their_escalation(fixture_services, 1)

    assert Readahead(horizon=timedelta(days=1)).prepare(fixture_services) == 0
    after_the_instant(fixture_services)
    assert Readahead(horizon=ESCALATION * 2).prepare(fixture_services) == 0  # due: fired, not prepared


def test_a_worker_told_to_stop_prepares_nothing_more(fixture_services: Services) -> None:
    cases_waiting_on_their_escalation(fixture_services, 3)

    ahead = Readahead(horizon=ESCALATION * 2)
    assert ahead.prepare(fixture_services, stop=lambda: True) == 0
    assert ahead.ready == {}


def test_a_batch_whose_writing_fails_is_fired_again_case_by_case(fixture_services: Services,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    ids = cases_waiting_on_their_escalation(fixture_services, 4)
    save_all = SqlCaseRepository.save_all

    def refusing_batches(self: SqlCaseRepository, cases: list[CaseRecord]) -> list[CaseRecord]:
        if len(cases) > 1:
            raise RuntimeError("the database refused the batch")
        return save_all(self, cases)

    monkeypatch.setattr(SqlCaseRepository, "save_all", refusing_batches)
    after_the_instant(fixture_services)

    assert fire_due_timers(fixture_services) == 4

    for case_id in ids:
        written = what_was_written(fixture_services, case_id)
        assert len(written["notices"]) == 1 and written["chain_intact"]
        assert [kind for kind, _timer in written["history"]].count("deadline_missed") == 1
    assert fire_due_timers(fixture_services) == 0
