"""Use cases end to end on the fixture diagram: deploy, start, inbox, complete, timers, refusals."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from engine.authoring.versions import deploy
from engine.casework.accounts import seed_users
from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.queries import my_tasks
from engine.casework.services import Services
from engine.casework.timers import fire_due_timers
from engine.errors import Conflict, InvalidDiagram, InvalidSubmission, NotFound

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "simple.bpmn"


def deploy_fixture(services: Services, text: str | None = None) -> None:
    deploy(services, {"simple.bpmn": (text or FIXTURE.read_text()).encode()}, by="tester")


def counts(services: Services) -> tuple[int, int]:
    with services.uow() as uow:
        return len(uow.versions.list()), uow.cases.count()


def test_deploying_the_same_diagram_twice_stores_one_version(fixture_services: Services) -> None:
    deploy_fixture(fixture_services)
    deploy_fixture(fixture_services)
    assert counts(fixture_services) == (1, 0)


def test_a_hostile_diagram_is_refused_and_nothing_is_stored(fixture_services: Services) -> None:
    hostile = FIXTURE.read_text().replace("decision == 'yes'", "__import__('os').system('true')")
    with pytest.raises(InvalidDiagram) as refused:
        deploy_fixture(fixture_services, hostile)
    assert refused.value.problems[0].element == "f_yes"
    assert counts(fixture_services) == (0, 0)


def test_the_starter_gets_the_first_task_and_the_chair_the_next(fixture_services: Services) -> None:
    deploy_fixture(fixture_services)
    record = start_case(fixture_services, "fx", "rita")
    [ask] = my_tasks(fixture_services, "rita")
    assert (ask.case_id, ask.title, ask.role) == (record.id, "Ask for a decision", "referrer")
    assert my_tasks(fixture_services, "carl") == []
    complete_task(fixture_services, ask.id, "rita", {"question": "Does it meet the criteria?"})
    [decide] = my_tasks(fixture_services, "carl")
    assert decide.title == "Decide" and decide.due_at is not None
    assert decide.due_at.date().isoformat() == "2024-02-29"
    assert my_tasks(fixture_services, "olga") == [], "a chair of another board sees nothing"


def test_someone_without_the_role_cannot_complete_the_task(fixture_services: Services) -> None:
    deploy_fixture(fixture_services)
    start_case(fixture_services, "fx", "rita")
    [ask] = my_tasks(fixture_services, "rita")
    with pytest.raises(NotFound):  # a task that is not yours looks like no task at all
        complete_task(fixture_services, ask.id, "carl", {"question": "x"})


def test_an_invalid_form_is_refused_and_changes_nothing(fixture_services: Services) -> None:
    deploy_fixture(fixture_services)
    record = start_case(fixture_services, "fx", "rita")
    [ask] = my_tasks(fixture_services, "rita")
    with pytest.raises(InvalidSubmission) as refused:
        complete_task(fixture_services, ask.id, "rita", {"question": ""})
    assert refused.value.errors[0].field == "question"
    with fixture_services.uow() as uow:
        assert uow.cases.get(record.id).lock_version == record.lock_version
    assert [t.id for t in my_tasks(fixture_services, "rita")] == [ask.id]


def test_completing_a_task_twice_is_a_conflict(fixture_services: Services) -> None:
    deploy_fixture(fixture_services)
    start_case(fixture_services, "fx", "rita")
    [ask] = my_tasks(fixture_services, "rita")
    complete_task(fixture_services, ask.id, "rita", {"question": "q"})
    with pytest.raises(Conflict):
        complete_task(fixture_services, ask.id, "rita", {"question": "q"})


def test_the_timer_sweep_escalates_after_six_weeks_exactly_once(fixture_services: Services) -> None:
    deploy_fixture(fixture_services)
    record = start_case(fixture_services, "fx", "rita")
    [ask] = my_tasks(fixture_services, "rita")
    complete_task(fixture_services, ask.id, "rita", {"question": "q"})
    clock = fixture_services.clock
    clock.advance(timedelta(weeks=6) - timedelta(minutes=1))  # type: ignore[attr-defined]
    assert fire_due_timers(fixture_services) == 0
    clock.advance(timedelta(minutes=2))  # type: ignore[attr-defined]
    assert fire_due_timers(fixture_services) == 1
    assert fire_due_timers(fixture_services) == 0
    with fixture_services.uow() as uow:
        notices = uow.notices.for_case(record.id)
    assert [(n.role, n.kind) for n in notices] == [("chair", "escalation")]


def test_a_form_field_can_assign_a_case_role(fixture_services: Services) -> None:
    deploy_fixture(fixture_services)
    seed_users(fixture_services, [{"username": "fay", "display_name": "Fay Fx", "board": "fx", "roles": []}])
    record = start_case(fixture_services, "fx", "rita")
    [ask] = my_tasks(fixture_services, "rita")
    complete_task(fixture_services, ask.id, "rita", {"question": "q", "chair": "fay"})
    [decide] = my_tasks(fixture_services, "fay")
    assert decide.case_id == record.id


def test_a_form_naming_someone_of_another_board_for_a_role_is_refused_and_changes_nothing(
        fixture_services: Services) -> None:
    deploy_fixture(fixture_services)
    start_case(fixture_services, "fx", "rita")
    [ask] = my_tasks(fixture_services, "rita")
    with pytest.raises(InvalidSubmission) as refused:
        complete_task(fixture_services, ask.id, "rita", {"question": "q", "chair": "olga"})
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("chair", "Olga Other is not on this board: choose a person from the list.")]
    assert [t.id for t in my_tasks(fixture_services, "rita")] == [ask.id] and my_tasks(fixture_services, "olga") == []


def test_a_new_diagram_version_changes_new_cases_only(fixture_services: Services) -> None:
    deploy_fixture(fixture_services)
    old_case = start_case(fixture_services, "fx", "rita")
    deploy_fixture(fixture_services, FIXTURE.read_text().replace('"P6W"', '"P4W"'))
    new_case = start_case(fixture_services, "fx", "rita")
    assert new_case.version_id != old_case.version_id
    for task in my_tasks(fixture_services, "rita"):
        complete_task(fixture_services, task.id, "rita", {"question": "q"})
    fixture_services.clock.advance(timedelta(weeks=4, minutes=1))  # type: ignore[attr-defined]
    fire_due_timers(fixture_services)
    with fixture_services.uow() as uow:
        assert [n.kind for n in uow.notices.for_case(new_case.id)] == ["escalation"]
        assert uow.notices.for_case(old_case.id) == []


def test_cases_started_at_the_same_moment_get_distinct_references(fixture_services: Services) -> None:
    import threading

    deploy_fixture(fixture_services)
    barrier = threading.Barrier(6)
    references: list[str] = []

    def start() -> None:
        barrier.wait()
        references.append(start_case(fixture_services, "fx", "rita").reference)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(references) == [f"FX-2024-{n:04d}" for n in range(1, 7)]
