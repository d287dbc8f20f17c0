"""The runtime on the fixture diagram: roles, form validation, conflicts, due dates, timers, save/restore."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.clock import FrozenClock
from engine.errors import Conflict, InvalidSubmission, NotFound
from engine.workflow.catalogue import Catalogue
from engine.workflow.runtime import Case, HumanTask
from engine.workflow.specs import CompiledProcess

ASK = {"question": "Should this be a serious case review?"}
DECIDE = {"decision": "yes", "decided_on": "2024-02-10"}


def only_task(case: Case) -> HumanTask:
    tasks = case.ready_tasks()
    assert len(tasks) == 1, tasks
    return tasks[0]


def test_starting_a_case_offers_the_first_task_to_the_referrer(simple_process: CompiledProcess,
                                                              catalogue: Catalogue, clock: FrozenClock) -> None:
    case, result = Case.start(simple_process, catalogue, clock)
    task = only_task(case)
    assert (task.name, task.role, task.lane, task.form) == ("ask", "referrer", "Referrer lane", "fx/ask.schema.json")
    assert task.documentation == "cite 7.1"
    assert result.notices == []
    assert not case.completed


@pytest.mark.parametrize(("submission", "field"), [
    ({}, "question"),
    ({"question": ""}, "question"),
    ({"question": 7}, "question"),
    ({"question": "q", "smuggled": "x"}, "smuggled"),
])
def test_an_invalid_submission_names_the_field_and_leaves_the_case_unchanged(
        simple_process: CompiledProcess, catalogue: Catalogue, clock: FrozenClock,
        submission: dict[str, Any], field: str) -> None:
    case, _ = Case.start(simple_process, catalogue, clock)
    task = only_task(case)
    before = case.dump()
    with pytest.raises(InvalidSubmission) as info:
        case.complete(task.id, submission, clock)
    assert field in {e.field for e in info.value.errors}
    assert case.dump() == before
    assert only_task(case) == task


def test_an_invalid_date_on_the_decision_form_is_refused(simple_process: CompiledProcess, catalogue: Catalogue,
                                                         clock: FrozenClock) -> None:
    case, _ = Case.start(simple_process, catalogue, clock)
    case.complete(only_task(case).id, ASK, clock)
    task = only_task(case)
    before = case.dump()
    with pytest.raises(InvalidSubmission) as info:
        case.complete(task.id, {"decision": "maybe", "decided_on": "31/02/2024"}, clock)
    assert {e.field for e in info.value.errors} == {"decision", "decided_on"}
    assert case.dump() == before


def test_completing_a_task_twice_is_a_conflict(simple_process: CompiledProcess, catalogue: Catalogue,
                                               clock: FrozenClock) -> None:
    case, _ = Case.start(simple_process, catalogue, clock)
    task = only_task(case)
    case.complete(task.id, ASK, clock)
    after_first = case.dump()
    with pytest.raises(Conflict):
        case.complete(task.id, ASK, clock)
    assert case.dump() == after_first


def test_completing_a_task_of_another_case_is_not_found(simple_process: CompiledProcess, catalogue: Catalogue,
                                                        clock: FrozenClock) -> None:
    case, _ = Case.start(simple_process, catalogue, clock)
    with pytest.raises(NotFound):
        case.complete("00000000-0000-0000-0000-000000000000", ASK, clock)
    with pytest.raises(NotFound):
        case.complete("not-a-uuid", ASK, clock)


def test_a_decision_asked_on_31_january_is_due_on_29_february(simple_process: CompiledProcess,
                                                              catalogue: Catalogue, clock: FrozenClock) -> None:
    case, _ = Case.start(simple_process, catalogue, clock)
    case.complete(only_task(case).id, ASK, clock)
    task = only_task(case)
    assert (task.name, task.role) == ("decide", "chair")
    assert task.due_at == datetime(2024, 2, 29, 9, tzinfo=UTC)
    assert task.week == 5  # the week its due date falls in: 29 days after the clock's date, so week 5, not 4
    assert case.data["decision_due"] == "2024-02-29T09:00:00+00:00"


def test_the_escalation_fires_only_after_six_weeks_and_exactly_once(simple_process: CompiledProcess,
                                                                    catalogue: Catalogue,
                                                                    clock: FrozenClock) -> None:
    case, _ = Case.start(simple_process, catalogue, clock)
    case.complete(only_task(case).id, ASK, clock)
    [timer] = case.waiting_timers()
    assert (timer.name, timer.due_at) == ("late", datetime(2024, 3, 13, 9, tzinfo=UTC))
    notices = []
    while clock.now() + timedelta(days=1) < timer.due_at:  # daily, for six weeks less a day
        clock.advance(timedelta(days=1))
        notices += case.advance(clock).notices
    for moment in (timer.due_at - timedelta(seconds=1), timer.due_at):  # the timer is due *after* its instant
        clock.set(moment)
        notices += case.advance(clock).notices
    assert notices == []
    clock.advance(timedelta(seconds=1))
    fired = case.advance(clock).notices
    assert [(n.element, n.role, n.kind) for n in fired] == [("escalate", "chair", "escalation")]
    for _ in range(3):
        clock.advance(timedelta(weeks=6))
        assert case.advance(clock).notices == []
    assert only_task(case).name == "decide"  # non-interrupting: the decision is still waiting
    case.complete(only_task(case).id, DECIDE, clock)
    assert case.completed


def test_completing_in_time_cancels_the_escalation(simple_process: CompiledProcess, catalogue: Catalogue,
                                                   clock: FrozenClock) -> None:
    case, _ = Case.start(simple_process, catalogue, clock)
    case.complete(only_task(case).id, ASK, clock)
    clock.advance(timedelta(weeks=2))
    result = case.complete(only_task(case).id, DECIDE, clock)
    clock.advance(timedelta(weeks=10))
    assert result.notices == [] and case.advance(clock).notices == []
    assert case.completed and case.waiting_timers() == []
    assert case.data["decision"] == "yes"


def _view(case: Case) -> tuple[Any, ...]:
    tasks = [(t.name, t.role, t.form, t.due_at, t.week) for t in case.ready_tasks()]
    timers = [(t.name, t.due_at) for t in case.waiting_timers()]
    return tasks, timers, case.data, case.completed


def _scenario(case: Case, clock: FrozenClock, save: Any) -> list[Any]:
    views = [_view(case)]
    steps: list[Any] = [
        lambda c: c.complete(only_task(c).id, {**ASK, "chair": "chair.user"}, clock),
        lambda c: (clock.advance(timedelta(weeks=3)), c.advance(clock))[1],
        lambda c: (clock.advance(timedelta(weeks=3, seconds=1)), c.advance(clock))[1],
        lambda c: c.complete(only_task(c).id, DECIDE, clock),
    ]
    for step in steps:
        result = step(case)
        case = save(case)
        views.append((_view(case), result.notices, result.assignments))
    return views


def test_save_and_restore_after_every_step_matches_the_straight_run(simple_process: CompiledProcess,
                                                                     catalogue: Catalogue) -> None:
    start = datetime(2024, 1, 31, 9, tzinfo=UTC)
    clock_a = FrozenClock(start)
    straight, _ = Case.start(simple_process, catalogue, clock_a)
    expected = _scenario(straight, clock_a, lambda c: c)

    clock_b = FrozenClock(start)
    saved, _ = Case.start(simple_process, catalogue, clock_b)
    saved = Case.restore(simple_process, catalogue, saved.dump())
    actual = _scenario(saved, clock_b, lambda c: Case.restore(simple_process, catalogue, c.dump()))
    assert actual == expected
    assert expected[-1][0][3] is True  # the case completed
    assert any(n.kind == "escalation" for n in expected[3][1])
    assert expected[1][2] == [("chair", "chair.user", None)]


def test_a_restored_case_keeps_its_task_ids(simple_process: CompiledProcess, catalogue: Catalogue,
                                            clock: FrozenClock) -> None:
    case, _ = Case.start(simple_process, catalogue, clock)
    restored = Case.restore(simple_process, catalogue, case.dump())
    assert restored.ready_tasks() == case.ready_tasks()
    restored.complete(only_task(restored).id, ASK, clock)
    assert only_task(restored).name == "decide"


def test_the_stored_state_holds_no_spec_and_is_smaller_than_a_full_serialization(
        simple_process: CompiledProcess, catalogue: Catalogue, clock: FrozenClock) -> None:
    case, _ = Case.start(simple_process, catalogue, clock)
    case.complete(only_task(case).id, ASK, clock)
    state = case.dump()
    stored = json.loads(state)
    assert "spec" not in stored and "subprocess_specs" not in stored
    assert "serializer_version" in stored
    full = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG)).serialize_json(case.workflow)
    assert "spec" in json.loads(full)
    assert len(state) < len(full)
    assert '"task_specs"' not in state


def test_a_state_from_another_serializer_version_is_refused(simple_process: CompiledProcess,
                                                            catalogue: Catalogue, clock: FrozenClock) -> None:
    from engine.errors import WorkflowFailed

    case, _ = Case.start(simple_process, catalogue, clock)
    stored = json.loads(case.dump())
    stored["serializer_version"] = "0.1-ancient"
    with pytest.raises(WorkflowFailed, match="serializer version"):
        Case.restore(simple_process, catalogue, json.dumps(stored))
