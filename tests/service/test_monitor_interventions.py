"""Administrators monitor cases and step in: the list from projections, suspend and resume, terminate, skip,
complete on someone's behalf, move back, change a due date, and an errored case retried after the fix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from engine.authoring.migration import migrate_case
from engine.authoring.versions import deploy
from engine.casework.accounts import seed_users
from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.queries import my_tasks
from engine.casework.services import Services
from engine.casework.timers import fire_due_timers
from engine.clock import FrozenClock
from engine.errors import Conflict, InvalidSubmission, NotFound, NotPermitted, WorkflowFailed
from engine.monitoring import interventions
from engine.monitoring.caselist import case_list
from engine.monitoring.casemonitor import monitor_view
from engine.monitoring.dashboards import deadlines, heatmap, workload

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "simple.bpmn"
ASK = {"question": "Should we review?"}


@pytest.fixture
def services(fixture_services: Services) -> Services:
    seed_users(fixture_services, [
        {"username": "adam", "display_name": "Adam Admin", "board": "fx", "roles": ["admin"]},
    ])
    deploy(fixture_services, {"simple.bpmn": FIXTURE.read_bytes()}, by="tester")
    return fixture_services


def clock(services: Services) -> FrozenClock:
    assert isinstance(services.clock, FrozenClock)
    return services.clock


def asked(services: Services) -> int:
    """A case waiting for the chair's decision."""
    case = start_case(services, "fx", "rita")
    assert case.id is not None
    [ask] = my_tasks(services, "rita")
    complete_task(services, ask.id, "rita", ask_answers(services, ask.form))
    return case.id


def ask_answers(services: Services, form: str | None) -> dict[str, object]:
    with services.uow() as uow:
        schema = services.process_of(uow, uow.cases.list()[0]).form(form or "")
    return {name: "x" if spec.get("type") == "string" else True
            for name, spec in schema.get("properties", {}).items() if name in schema.get("required", [])}


def decide(services: Services) -> str:
    [task] = my_tasks(services, "carl")
    return task.id


def test_the_list_shows_each_case_at_its_step_from_the_projection(services: Services) -> None:
    case_id = asked(services)
    page = case_list(services, "adam", {})
    [line] = page.lines
    assert (line.case.id, line.case.step, line.case.state) == (case_id, "Decide", "open")
    assert case_list(services, "adam", {"step": "decide"}).total == 1
    assert case_list(services, "adam", {"step": "ask"}).total == 0
    assert case_list(services, "adam", {"state": "suspended"}).total == 0
    clock(services).advance(timedelta(weeks=10))
    assert case_list(services, "adam", {"overdue": "1"}).total == 1


def test_people_who_do_not_monitor_the_board_see_no_list(services: Services) -> None:
    asked(services)
    for person in ("carl", "rita", "olga"):
        with pytest.raises(NotFound):
            case_list(services, person, {})


def test_a_suspended_case_fires_no_timer_and_takes_no_step_until_resumed(services: Services) -> None:
    case_id = asked(services)
    with pytest.raises(InvalidSubmission):
        interventions.suspend(services, case_id, "adam", "")
    interventions.suspend(services, case_id, "adam", "Police asked us to pause")
    clock(services).advance(timedelta(weeks=7))
    assert fire_due_timers(services) == 0
    with pytest.raises(Conflict, match="suspended"):
        complete_task(services, decide(services), "carl", {"decision": "yes", "decided_on": "2024-03-01"})
    interventions.resume(services, case_id, "adam", "Police are content")
    view = monitor_view(services, case_id, "adam")
    kinds = [e.kind for e in view.events]
    assert "case_suspended" in kinds and "case_resumed" in kinds
    assert any(k in ("deadline_missed", "timer_fired") for k in kinds), "what fell due fired on resuming"


def test_only_an_administrator_of_the_board_may_step_in(services: Services) -> None:
    case_id = asked(services)
    for person in ("carl", "olga", "rita"):
        with pytest.raises((NotFound, NotPermitted)):
            interventions.suspend(services, case_id, person, "no reason")


def test_skipping_moving_back_and_terminating_are_audited(services: Services) -> None:
    case_id = asked(services)
    task_id = decide(services)
    with pytest.raises(InterventionFailedOrInvalid):
        interventions.skip_task(services, case_id, task_id, "adam", "Chair is away")  # the gateway needs an answer
    done = interventions.complete_for(services, task_id, "adam", {"decision": "no", "decided_on": "2024-02-01"},
                                      "Chair decided by phone")
    assert done.case.status == "completed"
    view = monitor_view(services, case_id, "adam")
    event = next(e for e in view.events if e.kind == "task_completed" and e.actor == "adam")
    assert event.detail["on_behalf"] is True and event.detail["reason"] == "Chair decided by phone"


InterventionFailedOrInvalid = (interventions.InterventionFailed, InvalidSubmission, Conflict)


def test_moving_back_to_a_completed_step_makes_it_ready_again(services: Services) -> None:
    case_id = asked(services)
    view = monitor_view(services, case_id, "adam")
    [ask] = [t for t in view.done if t.name == "ask"]
    interventions.reset_to(services, case_id, ask.id, "adam", "The question was put wrongly")
    assert [t.name for t in my_tasks(services, "rita")] == ["ask"]
    assert case_list(services, "adam", {"step": "ask"}).total == 1


def test_a_changed_due_date_is_shown_against_the_original(services: Services) -> None:
    case_id = asked(services)
    task_id = decide(services)
    [before] = my_tasks(services, "carl")
    assert before.due_at is not None
    interventions.change_due(services, case_id, task_id, "adam", before.due_at + timedelta(days=14),
                             "Chair in hospital")
    [after] = my_tasks(services, "carl")
    assert after.due_at == before.due_at + timedelta(days=14)
    assert after.due_original == before.due_at and after.due_reason == "Chair in hospital"


def test_terminating_withdraws_open_steps(services: Services) -> None:
    case_id = asked(services)
    interventions.terminate(services, case_id, "adam", "Referred in error")
    assert my_tasks(services, "carl") == []
    assert case_list(services, "adam", {"state": "terminated"}).total == 1


def test_a_failing_step_marks_the_case_errored_and_a_retry_after_the_fix_goes_on(services: Services) -> None:
    broken = FIXTURE.read_text().replace("decision == 'yes'", "int(decision) == 1")
    deploy(services, {"simple.bpmn": broken.encode()}, by="tester")
    case_id = asked(services)
    task_id = decide(services)
    with pytest.raises(WorkflowFailed):
        complete_task(services, task_id, "carl", {"decision": "yes", "decided_on": "2024-02-01"})
    line = case_list(services, "adam", {"state": "errored"}).lines[0]
    assert line.case.id == case_id and line.case.error_element
    assert [t.id for t in my_tasks(services, "carl")] == [task_id], "the step was rolled back"
    fixed_text = FIXTURE.read_text().replace("decision == 'yes'", "str(decision) == 'yes'")
    deploy(services, {"simple.bpmn": fixed_text.encode()}, by="tester")
    with services.uow() as uow:
        fixed = uow.versions.latest_id("simple_case")
    seed_users(services, [{"username": "oscar", "display_name": "Oscar Owner", "board": "fx", "roles": ["owner"]}])
    assert fixed is not None
    moved = migrate_case(services, case_id, fixed, "oscar", "fix the gateway")
    assert moved is not None, fixed
    interventions.retry(services, case_id, "adam", "Gateway fixed")
    assert case_list(services, "adam", {"state": "completed"}).total == 1


def test_the_dashboards_answer_from_the_projections(services: Services) -> None:
    asked(services)
    board = deadlines(services, "adam")
    assert sum(board.counts.values()) >= 0 and board.weeks
    load = workload(services, "adam")
    assert sum(item.ready for item in load.roles) == 1
    heat = heatmap(services, "adam", "simple_case")
    assert any(h.element == "decide" and h.waiting == 1 for h in heat.elements)
    assert any(h.element == "ask" and h.finished == 1 for h in heat.elements)
    assert heat.diagrams and "simple_case" in heat.diagrams[0].processes


def test_cases_from_before_the_monitor_are_projected_once_on_demand(services: Services) -> None:
    from sqlalchemy import update

    from engine.monitoring.reproject import reproject_cases
    from engine.store.models import Case as CaseRow

    case_id = asked(services)
    with services.uow() as uow:
        uow.session.execute(update(CaseRow).values(elements=None, facts=None, step=None))  # type: ignore[attr-defined]
        uow.commit()
    assert case_list(services, "adam", {}).lines[0].case.step is None
    assert monitor_view(services, case_id, "adam").elements["decide"]["state"] == "active"  # read from the workflow
    assert reproject_cases(services) == 1
    assert reproject_cases(services) == 0
    assert case_list(services, "adam", {}).lines[0].case.step == "Decide"
