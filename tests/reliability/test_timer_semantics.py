"""T-T4, what a timer does and does not do, asserted against the database on the engine clock: (i) one written by a
step that rolled back never fires; (ii) one on a terminated or suspended case does not fire; (iii) none fires before
its instant; (iv) one whose step keeps failing fails once, marks the case errored (the dead letter, counted by
/metrics for an alert) and is not retried in a loop; (v) every worker reads one clock, the engine's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine.casework import timers
from engine.casework.completion import complete_task
from engine.casework.services import Services
from engine.casework.timers import fire_due_timers
from engine.errors import WorkflowFailed
from engine.monitoring import interventions
from engine.store.audit import SqlEventRepository
from engine.workflow.runtime import Case
from tests.drive import ready
from tests.reliability.world import asked
from web import create_app


def timers_of(services: Services, case_id: int) -> list[Any]:
    with services.uow() as uow:
        return list(uow.timers.for_case(case_id))


def notices_of(services: Services, case_id: int) -> list[str]:
    with services.uow() as uow:
        return [n.kind for n in uow.notices.for_case(case_id)]


def later(services: Services, delta: timedelta) -> None:
    services.clock.advance(delta)  # type: ignore[attr-defined]


def test_a_timer_written_by_a_step_that_rolled_back_never_fires(
        simple: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.casework.cases import start_case

    case_id = start_case(simple, "fx", "rita").id or 0
    [ask] = ready(simple, case_id)
    append = SqlEventRepository.append

    def failing_at_the_audit(self: SqlEventRepository, event: Any) -> None:
        if event.kind == "task_completed":
            raise RuntimeError("the audit write failed")
        append(self, event)

    monkeypatch.setattr(SqlEventRepository, "append", failing_at_the_audit)
    with pytest.raises(RuntimeError):
        complete_task(simple, ask.id, "rita", {"question": "Should we review?"})
    monkeypatch.undo()
    later(simple, timedelta(weeks=7))

    assert fire_due_timers(simple) == 0
    assert timers_of(simple, case_id) == [] and notices_of(simple, case_id) == []
    assert [t.name for t in ready(simple, case_id)] == ["ask"]


@pytest.mark.parametrize("stop", ["terminate", "suspend"])
def test_a_timer_on_a_terminated_or_suspended_case_does_not_fire(simple: Services, stop: str) -> None:
    case_id = asked(simple)
    getattr(interventions, stop)(simple, case_id, "adam", "Referred in error")
    later(simple, timedelta(weeks=7))

    assert fire_due_timers(simple) == 0
    assert all(t.fired_at is None for t in timers_of(simple, case_id)) and notices_of(simple, case_id) == []


def test_no_timer_fires_before_its_instant(simple: Services) -> None:
    case_id = asked(simple)
    [timer] = timers_of(simple, case_id)
    for before in (timedelta(days=1), timedelta(seconds=1), timedelta(0)):
        simple.clock.set(timer.due_at - before)  # type: ignore[attr-defined]
        assert fire_due_timers(simple) == 0, f"fired {before} early"
    simple.clock.set(timer.due_at + timedelta(microseconds=1))  # type: ignore[attr-defined]
    assert fire_due_timers(simple) == 1
    assert [t.fired_at for t in timers_of(simple, case_id)] == [timer.due_at + timedelta(microseconds=1)]


def test_a_timer_whose_step_fails_fails_once_marks_the_case_errored_and_is_counted_for_an_alert(
        simple: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    case_id = asked(simple)
    calls = []

    def failing(self: Case, clock: Any) -> Any:
        calls.append(1)
        raise WorkflowFailed("a diagram expression failed", "escalate")

    monkeypatch.setattr(Case, "advance", failing)
    later(simple, timedelta(weeks=7))

    sweeps = [fire_due_timers(simple) for _ in range(3)]

    assert sweeps == [0, 0, 0] and len(calls) == 1, "tried once, then left for an administrator"
    with simple.uow() as uow:
        record = uow.cases.get(case_id)
        errored = [e for e in uow.events.for_case(case_id) if e.kind == "case_errored"]
    assert record.error is not None and record.error["element"] == "escalate" and record.error["kind"] == "timer"
    assert len(errored) == 1
    assert [t.fired_at for t in timers_of(simple, case_id)] == [None], "it waits for the retry, not lost"
    metrics = create_app(simple, {"TESTING": True, "SECRET_KEY": "test"}).test_client().get("/metrics")
    assert 'scr_cases{board="fx",state="errored"} 1.0' in metrics.get_data(as_text=True)


def test_a_case_failing_inside_a_batch_is_undone_alone_and_the_others_of_its_batch_still_fire(
        simple: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = [asked(simple) for _ in range(3)]
    doomed = cases[1]
    real = timers.record_steps

    def failing_after_writing(uow: Any, stepped: Any, now: Any) -> None:
        real(uow, stepped, now)  # written, then the step fails: the batch is undone and each case fired alone
        if any(record.id == doomed for record, _case, _steps in stepped):
            raise WorkflowFailed("a diagram expression failed", "escalate")

    monkeypatch.setattr(timers, "record_steps", failing_after_writing)
    later(simple, timedelta(weeks=7))

    assert fire_due_timers(simple, batch=3) == 2, "two of the three cases moved on, in one transaction"

    with simple.uow() as uow:
        assert uow.cases.get(doomed).error is not None
        assert [e.kind for e in uow.events.for_case(doomed)].count("timer_fired") == 0
        assert all(uow.events.first_broken(c) is None for c in cases), "no chain has a hole or a fork"
        assert [uow.cases.get(c).error for c in (cases[0], cases[2])] == [None, None]
    assert [t.fired_at for t in timers_of(simple, doomed)] == [None], "its timer waits for the retry"
    assert notices_of(simple, doomed) == [], "nothing the failed step queued was kept"
    for other in (cases[0], cases[2]):
        assert all(t.fired_at is not None for t in timers_of(simple, other))
        assert notices_of(simple, other), "its escalation was queued"


def test_every_worker_reads_the_one_engine_clock_not_its_own(simple: Services) -> None:
    case_id = asked(simple)
    [timer] = timers_of(simple, case_id)
    simple.clock.set(timer.due_at - timedelta(hours=1))  # type: ignore[attr-defined]  (the host's clock is years on)
    assert fire_due_timers(simple) == 0
    simple.clock.set(timer.due_at + timedelta(hours=1))  # type: ignore[attr-defined]
    assert fire_due_timers(simple) == 1
    assert timers_of(simple, case_id)[0].fired_at == timer.due_at + timedelta(hours=1)
