"""The review clock and timeline of a case, read from the real Dorset diagram: week n of N, milestones, plan vs actual.

Week 0 of phase 1 is the day the proforma is received (8 January 2024); the Chair decides on 5 February 2024,
week 0 of the 26-week review timetable. Cases are driven on a frozen clock with the rows the store would keep.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.errors import InvalidDiagram
from engine.ports import TaskRow, TimerRow
from engine.workflow import timeline
from engine.workflow.runtime import StepResult
from engine.workflow.specs import CompiledProcess, compile_processes, read_diagrams, read_forms
from tests.bpmn.harness import ROOT, START, Drive, repository_catalogue
from tests.bpmn.test_dorset_paths import (
    AGENCIES,
    COMMISSION,
    DECISION,
    NOTIFIED,
    at_week,
    countersigned,
    day,
    decision,
    meeting1,
    proforma,
    received,
)

PROCESS = "scr_dorset"
DORSET = "dorset/scr_dorset.bpmn"
SIX_MONTHS = datetime(2024, 8, 5, tzinfo=UTC)  # add_months(decision_date, 6)


class Recorded(Drive):
    """A driven case that also keeps the task and timer rows the store would hold for it."""

    def __init__(self, process: CompiledProcess | None = None) -> None:
        self.rows: dict[str, TaskRow] = {}
        self.timers: dict[str, TimerRow] = {}
        super().__init__(PROCESS, process=process)

    def _after(self, result: StepResult) -> None:
        super()._after(result)
        now = self.clock.now()
        ready = {t.id: t for t in self.case.ready_tasks()}
        for row in self.rows.values():
            if row.state == "ready" and row.id not in ready:
                row.state, row.completed_at = "completed", now
        for t in ready.values():
            if t.id not in self.rows:
                self.rows[t.id] = TaskRow(t.id, 1, t.name, t.title, t.lane, t.role, t.agency, t.form, now, t.due_at,
                                          t.week)
        waiting = {t.id: t for t in self.case.waiting_timers()}
        for timer_id, row in list(self.timers.items()):
            if row.fired_at is None and timer_id not in waiting:
                if row.due_at < now:
                    row.fired_at = now
                else:
                    del self.timers[timer_id]  # cancelled: its activity ended first
        for t in waiting.values():
            self.timers.setdefault(t.id, TimerRow(t.id, 1, t.name, t.due_at))

    def facts(self) -> timeline.CaseFacts:
        return timeline.facts_of(self.process, self.case.workflow)

    def clock_now(self) -> timeline.ReviewClock:
        return timeline.review_clock(self.process, self.facts(), list(self.rows.values()),
                                     list(self.timers.values()), START, self.clock.now(), self.case.completed)

    def timeline(self) -> tuple[timeline.Section, ...]:
        return timeline.timeline(self.process, self.facts(), list(self.rows.values()), self.clock.now())

    def milestone(self, title: str) -> timeline.Milestone:
        [found] = [m for m in self.clock_now().milestones if m.title == title]
        return found

    def entry(self, element: str) -> timeline.Entry:
        [found] = [e for s in self.timeline() for e in s.entries if e.element == element]
        return found

    def elements(self) -> set[str]:
        return {e.element for s in self.timeline() for e in s.entries}


def week_of_n(clock: timeline.ReviewClock) -> str:
    assert clock.current is not None
    return f"week {clock.current.week} of {clock.current.weeks}"


def up_to_the_decision(d: Recorded, chair_attention: datetime = START) -> None:
    """Phase 1 on its timetable: proforma received in week 0, Meeting 1 in week 3, the Chair asked in week 4."""
    d.complete("proforma", proforma())
    d.complete("countersign", countersigned())
    d.complete("receive_proforma", {**received(), "case_to_chair_attention": day(chair_attention)})
    d.complete("chair_consider", {"appears_to_meet_criteria": "yes", "child_died": True,
                                  "cdop_contacted_date": day(START), "consideration_notes": "refer"})
    d.advance(weeks=1)
    d.complete("cin_ofsted", {"cin_submitted_date": day(d.clock.now()), "cin_anonymised": True})
    d.complete("request_briefings", {"briefing_agencies": AGENCIES, "briefing_request_date": day(d.clock.now())})
    d.advance(weeks=1)
    d.complete("briefings_received", {"briefing_reports_received": AGENCIES,
                                      "briefing_circulated_date": day(d.clock.now())})
    d.advance(weeks=1)
    d.complete("panel_meeting_1", meeting1())
    d.advance(weeks=1)


def decide(d: Recorded) -> None:
    """The Chair decides to hold an SCR, the bodies are told and the panel is commissioned."""
    d.complete("chair_decision", decision())
    d.complete("notify_decision", NOTIFIED)
    d.complete("commission", COMMISSION)


def dorset_variant(*replacements: tuple[str, str]) -> CompiledProcess:
    """The Dorset process compiled from its diagram with text replaced (each `old` must occur exactly once)."""
    diagrams = read_diagrams([ROOT / "bpmn"])
    text = diagrams[DORSET].decode("utf-8")
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    diagrams[DORSET] = text.encode("utf-8")
    return compile_processes(diagrams, read_forms(ROOT / "forms"), repository_catalogue(), [PROCESS])[PROCESS]


# ------------------------------------------------------------------------------------------ the clock
def test_the_timetables_are_the_diagrams_clocks_each_as_long_as_its_largest_planned_week() -> None:
    d = Recorded()
    tables = d.clock_now().timetables
    assert [(t.variable, t.weeks) for t in tables] == [("proforma_received_date", 4), ("decision_date", 26)]
    assert tables[1].label.startswith("Date of the decision")  # the form field that records it names it


def test_a_fresh_case_is_in_week_1_of_the_first_timetable_counted_provisionally_from_its_start() -> None:
    clock = Recorded().clock_now()
    assert clock.current is not None and clock.current.provisional
    assert week_of_n(clock) == "week 1 of 4"


def test_once_the_proforma_is_received_the_first_timetable_counts_from_that_date() -> None:
    d = Recorded()
    up_to_the_decision(d)
    clock = d.clock_now()
    assert clock.current is not None and not clock.current.provisional
    assert clock.current.anchor == START.replace(hour=0)
    assert week_of_n(clock) == "week 5 of 4" and clock.current.overrun  # the Chair has not decided yet


def test_after_the_decision_the_case_is_in_week_n_of_the_26_week_review() -> None:
    d = Recorded()
    up_to_the_decision(d)
    decide(d)
    assert week_of_n(d.clock_now()) == "week 1 of 26"
    d.advance_to(at_week(4.5))
    assert week_of_n(d.clock_now()) == "week 5 of 26"


def test_decision_due_is_a_month_from_the_chairs_attention_and_met_when_the_chair_decides_in_time() -> None:
    d = Recorded()
    assert d.milestone("Decision due").status == timeline.NOT_SET
    up_to_the_decision(d)
    waiting = d.milestone("Decision due")
    assert (waiting.due, waiting.status, waiting.days_left) == (datetime(2024, 2, 8, tzinfo=UTC), timeline.DUE, 2)
    decide(d)
    met = d.milestone("Decision due")
    assert (met.status, met.met_at) == (timeline.MET, DECISION)  # the decision date recorded (metOn), not typing time


def test_a_decision_not_made_within_the_month_is_overdue_then_met_late() -> None:
    d = Recorded()
    up_to_the_decision(d, chair_attention=START - timedelta(weeks=2))  # due 25 January, in week 3
    overdue = d.milestone("Decision due")
    assert overdue.status == timeline.OVERDUE and overdue.days_left is not None and overdue.days_left < 0
    decide(d)
    assert d.milestone("Decision due").status == timeline.MET_LATE


def test_completion_due_is_six_months_from_the_decision_with_days_left() -> None:
    d = Recorded()
    up_to_the_decision(d)
    assert d.milestone("Completion due").status == timeline.NOT_SET
    decide(d)
    d.advance_to(at_week(4.5))
    due = d.milestone("Completion due")
    assert (due.due, due.status) == (SIX_MONTHS, timeline.DUE)
    assert due.days_left == (SIX_MONTHS - d.clock.now()).days


def test_completion_due_does_not_apply_when_the_chair_decides_against_an_scr() -> None:
    d = Recorded()
    up_to_the_decision(d)
    d.complete("chair_decision", decision("no_scr"))
    assert d.milestone("Completion due").status == timeline.NOT_SET  # until the decision is notified
    d.complete("notify_decision", NOTIFIED)
    assert d.milestone("Completion due").status == timeline.NOT_APPLICABLE


# ------------------------------------------------------------------------------------------ the timeline
def test_the_timeline_lists_each_timetable_in_week_order_with_planned_dates() -> None:
    d = Recorded()
    up_to_the_decision(d)
    decide(d)
    phase1, review, other = d.timeline()
    assert phase1.timetable is not None and phase1.timetable.variable == "proforma_received_date"
    assert [e.week for e in phase1.entries] == sorted(e.week or 0 for e in phase1.entries)
    assert review.entries[-1].week == 26 and review.entries[-1].planned == DECISION + timedelta(weeks=26)
    assert other.timetable is None and [e.element for e in other.entries] == ["proforma", "countersign"]


def test_steps_done_by_their_planned_week_are_on_time() -> None:
    d = Recorded()
    up_to_the_decision(d)
    decide(d)
    meeting = d.entry("panel_meeting_1")
    assert (meeting.week, meeting.status) == (3, timeline.ON_TIME)
    assert meeting.planned == START.replace(hour=0) + timedelta(weeks=3)
    assert meeting.completed == START + timedelta(weeks=3)


def test_a_step_done_after_its_planned_week_is_late_and_an_open_one_past_it_is_overdue() -> None:
    d = Recorded()
    up_to_the_decision(d)
    decide(d)
    d.advance_to(at_week(3.5))
    d.complete("panel_meeting_2", {"meeting2_date": day(d.clock.now()), "imr_briefing_date": day(d.clock.now()),
                                   "imr_format_agreed": True})
    assert d.entry("panel_meeting_2").status == timeline.LATE
    letters = d.entry("imr_letter")  # week 1, one per agency, none sent yet
    assert letters.status == timeline.OVERDUE
    assert sorted(o.agency or "" for o in letters.occurrences) == sorted(AGENCIES)


def test_a_step_not_reached_whose_week_has_passed_is_behind_plan() -> None:
    d = Recorded()
    up_to_the_decision(d)
    decide(d)
    d.advance_to(at_week(7))
    health = d.entry("health_imrs_received")  # week 6, waits for Meeting 2
    assert (health.status, health.behind) == (timeline.NOT_REACHED, True)
    assert not d.entry("panel_meeting_4").behind


def test_the_timeline_leaves_out_a_branch_the_case_did_not_take() -> None:
    d = Recorded()
    assert "alt_plan" in d.elements()  # the alternative review is still possible
    up_to_the_decision(d)
    decide(d)
    assert "alt_plan" not in d.elements() and "panel_meeting_2" in d.elements()


# ------------------------------------------------------------------------------------------ from the diagram only
def test_a_week_changed_in_the_diagram_changes_the_clock_and_the_plan_without_code() -> None:
    longer = dorset_variant(('<spiffworkflow:property name="week" value="26" />',
                             '<spiffworkflow:property name="week" value="30" />'))
    d = Recorded(longer)
    up_to_the_decision(d)
    decide(d)
    assert week_of_n(d.clock_now()) == "week 1 of 30"
    assert d.entry("submit_to_ofsted").planned == DECISION + timedelta(weeks=30)


def test_a_milestone_is_whatever_timer_the_diagram_marks() -> None:
    renamed = dorset_variant(('value="Completion due"', 'value="Six months (8.3)"'),
                             ('<spiffworkflow:property name="milestone" value="Decision due" />', ""))
    d = Recorded(renamed)
    assert [m.title for m in d.clock_now().milestones] == ["Six months (8.3)"]


@pytest.mark.parametrize("milestone", ["", "Decision due"])
def test_a_milestone_must_be_a_title_on_a_timer(milestone: str) -> None:
    with pytest.raises(InvalidDiagram) as refused:
        dorset_variant(('<spiffworkflow:property name="week" value="26" />',
                        '<spiffworkflow:property name="week" value="26" />'
                        f'<spiffworkflow:property name="milestone" value="{milestone}" />'))
    assert [p.element for p in refused.value.problems] == ["submit_to_ofsted"]


def test_the_clock_reads_only_the_variables_the_timetable_needs() -> None:
    d = Recorded()
    up_to_the_decision(d)
    decide(d)
    data: dict[str, Any] = dict(d.facts().data)
    assert set(data) <= {"proforma_received_date", "decision_date", "decision_due", "completion_due",
                         "case_to_chair_attention", "imr_due", "health_imrs_received_date", "imr_weeks",
                         "health_agencies", "agency", "exec_summary_due", "evaluation_letter_date", "revision_count",
                         "imr_asked_on", "imr_week", "imr_review_week", "imr_revision_week", "imr_revision_time",
                         "imr_action_plan_week", "timetable_delay_weeks", "review_date", "lead_signed_date"}


def test_what_can_still_follow_a_case_is_the_same_read_from_the_cache_as_walked_afresh() -> None:
    d = Recorded()
    up_to_the_decision(d)
    live = [t.task_spec for t in d.case.workflow.get_tasks() if t.state in timeline._LIVE]
    walked = frozenset(timeline._walk(d.process, live))

    assert live and walked
    assert timeline._reachable(d.process, live) == walked
    assert timeline._reachable(d.process, live) == walked, "the second read, from the cache, agrees"
    assert timeline._reachable(d.process, live[:1]) == frozenset(timeline._walk(d.process, live[:1]))
