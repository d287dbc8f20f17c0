"""A revised timetable (8.3): a standing step re-arms its deadline, a data object puts back the steps not reached,
and a deadline kept on a standing step is met when the step its `metWhen` names completes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.clock import FrozenClock
from engine.workflow import timeline
from engine.workflow.catalogue import Catalogue
from engine.workflow.dates import due_of
from engine.workflow.runtime import Case, HumanTask, StepResult
from engine.workflow.specs import CompiledProcess, compile_processes, read_diagrams
from tests.unit.conftest import FIXTURES

START = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
ASK = {"question": "Will the review run late?"}


@pytest.fixture(scope="module")
def overrun(catalogue: Catalogue, forms: dict[str, bytes]) -> CompiledProcess:
    diagrams = read_diagrams([FIXTURES / "bpmn" / "overrun.bpmn"])
    return compile_processes(diagrams, forms, catalogue, wanted=["overrun_case"])["overrun_case"]


class Running:
    """One overrun case on a frozen clock."""

    def __init__(self, process: CompiledProcess, catalogue: Catalogue) -> None:
        self.process, self.catalogue = process, catalogue
        self.clock = FrozenClock(START)
        self.case, _ = Case.start(process, catalogue, self.clock)

    def task(self, name: str) -> HumanTask:
        found = [t for t in self.case.ready_tasks() if t.name == name]
        assert len(found) == 1, [t.name for t in self.case.ready_tasks()]
        return found[0]

    def complete(self, name: str, data: dict[str, str]) -> StepResult:
        result = self.case.complete(self.task(name).id, data, self.clock)
        self.case = Case.restore(self.process, self.catalogue, self.case.dump())  # as a request would find it
        return result

    def advance(self, weeks: int) -> StepResult:
        self.clock.advance(timedelta(weeks=weeks))
        return self.case.advance(self.clock)

    def timer(self, name: str) -> datetime:
        return next(t.due_at for t in self.case.waiting_timers() if t.name == name)


def test_a_revised_timetable_puts_back_the_steps_not_yet_reached_and_leaves_a_ready_one_alone(
        overrun: CompiledProcess, catalogue: Catalogue) -> None:
    case = Running(overrun, catalogue)
    assert case.task("step_one").due_at == datetime(2024, 1, 22, tzinfo=UTC)
    case.complete("raise", ASK)
    case.complete("extend", {"decision": "yes", "decided_on": "2024-08-05"})
    assert case.task("step_one").due_at == datetime(2024, 1, 22, tzinfo=UTC)
    case.complete("step_one", ASK)
    step_two = case.task("step_two")
    assert step_two.due_at == datetime(2024, 1, 8, tzinfo=UTC) + timedelta(weeks=10 + 4)
    assert step_two.week == 10  # still week 10 of the (put back) timetable


def test_the_revised_completion_date_re_arms_the_deadline_on_the_standing_step(
        overrun: CompiledProcess, catalogue: Catalogue) -> None:
    case = Running(overrun, catalogue)
    assert case.timer("completion_timer") == START + timedelta(weeks=26)
    case.complete("raise", ASK)
    case.complete("extend", {"decision": "yes", "decided_on": "2024-08-05"})
    assert case.timer("completion_timer") == datetime(2024, 8, 5, tzinfo=UTC)
    assert case.task("raise").due_at == datetime(2024, 8, 5, tzinfo=UTC)


def test_a_missed_completion_deadline_stands_until_revised_and_is_met_only_when_the_review_completes(
        overrun: CompiledProcess, catalogue: Catalogue) -> None:
    case = Running(overrun, catalogue)
    fired = case.advance(27).fired
    assert [t.name for t in fired] == ["completion_timer"]
    assert fired[0].title == "Completion due" and fired[0].accountable == ("chair",)
    assert case.case.settled([fired[0].id]) == set()  # the standing step is gone, the review is not done
    case.complete("extend", {"decision": "yes", "decided_on": "2024-09-02"})
    assert case.case.settled([fired[0].id]) == {fired[0].id}  # settled by the revision recorded


def test_the_case_completes_when_the_review_finishes_while_the_standing_step_waits(
        overrun: CompiledProcess, catalogue: Catalogue) -> None:
    case = Running(overrun, catalogue)
    case.complete("step_one", ASK)
    case.complete("step_two", ASK)
    assert case.case.completed
    assert case.case.ready_tasks() == [] and case.case.waiting_timers() == []
    facts = timeline.facts_of(overrun, case.case.workflow)
    [milestone] = timeline.milestones(overrun, facts, [], [], case.clock.now())
    assert (milestone.title, milestone.status) == ("Completion due", timeline.MET)


def test_the_timeline_plans_an_unreached_step_on_the_revised_timetable(
        overrun: CompiledProcess, catalogue: Catalogue) -> None:
    case = Running(overrun, catalogue)
    case.complete("raise", ASK)
    case.complete("extend", {"decision": "yes", "decided_on": "2024-08-05"})
    facts = timeline.facts_of(overrun, case.case.workflow)
    step = next(s for s in timeline.plan_of(overrun).steps if s.element == "step_two")
    assert step.due(facts.data, case.clock.now()).at == datetime(2024, 1, 8, tzinfo=UTC) + timedelta(weeks=14)


@pytest.mark.parametrize(("delay", "weeks"), [(None, 10), (0, 10), (3, 13), (-2, 10), (True, 10), ("4", 10)])
def test_only_a_number_of_weeks_puts_a_timetable_back(delay: object, weeks: int) -> None:
    props = {"clock": "started_on", "week": "10", "clockDelay": "delay_weeks"}
    due = due_of(props, {"started_on": "2024-01-08", "delay_weeks": delay}, START)
    assert due.at == datetime(2024, 1, 8, tzinfo=UTC) + timedelta(weeks=weeks)
