"""Bournemouth & Poole SCR: what Chapter 3.5 requires on the paths a board acts on (issue 10, defects 1-10).

Each test drives the real diagram (bpmn/bournemouth-poole/scr_bournemouth_poole.bpmn) on a frozen clock and asserts
what the seed says: who acts (the task's role, and agency for per-agency steps), when it is due (the task's due
date, or the deadline a timer keeps) and what is recorded (case data). Gap numbers are those of the diagram's
documentation (bpmn/README.md): 36 overrun, 37 proceedings, 38 family, 39 no-SCR, 40 other children, 41 monitoring,
42 agency added later, 43 commissioning, 44 Ofsted grade.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from SpiffWorkflow.util.task import TaskState

from engine import clock as clocks
from engine.errors import InvalidSubmission
from engine.workflow import timeline
from engine.workflow.runtime import HumanTask
from engine.workflow.specs import shared_data
from tests.bpmn.harness import Drive
from tests.bpmn.test_bournemouth_poole_paths import (
    ATTENTION,
    CIN,
    DECISION,
    OWN_TASKS,
    PROCESS,
    STANDING,
    after_ofsted_submission,
    at,
    complete_common,
    finalise,
    finish_common_tasks,
    form,
    imr_tasks,
    later,
    refer,
    run_review_to_week_17,
    sign_final_imrs,
)

ONE_MONTH_AFTER_ATTENTION = datetime(2024, 2, 10, tzinfo=UTC)  # 8.2: add_months(10 January, 1)
SIX_MONTHS_AFTER_DECISION = datetime(2024, 7, 29, tzinfo=UTC)  # 8.3: add_months(29 January, 6)
OVERRUN_TASKS = {"raise_overrun_pc", "raise_overrun_admin"}


class Case(Drive):
    """A Drive whose inbox reads the frozen clock: a due date written `now()`-relative (8.3's "immediately") is
    fixed when the inbox first shows the task, which after a restore would otherwise read the system clock."""

    def __init__(self, **options: Any) -> None:
        super().__init__(PROCESS, save_restore=True, **options)

    def tasks(self, role: str | None = None) -> list[HumanTask]:
        with clocks.using(self.clock):
            return super().tasks(role)

    def task(self, name: str, agency: str | None = None) -> HumanTask:
        with clocks.using(self.clock):
            return super().task(name, agency)


def ready(drive: Drive) -> set[str]:
    return {t.name for t in drive.tasks()}


def timer_due(drive: Drive, title: str) -> list[datetime]:
    """When the case's waiting timers with this title (a milestone's name, else the element's) fall due."""
    return [t.due_at for t in drive.case.waiting_timers() if t.title == title]


def data_at(drive: Drive, name: str, agency: str | None = None) -> dict[str, Any]:
    """What the case has recorded by the time it reached the ready task `name` (its workflow data)."""
    found: dict[str, Any] = drive.case.workflow.get_task_from_id(UUID(drive.task(name, agency).id)).data
    return found


def recorded(drive: Drive, key: str) -> Any:
    """The value a completed step last recorded for `key` in the case's workflow data (KeyError if none)."""
    done = [t for t in drive.case.workflow.get_tasks(state=TaskState.COMPLETED) if key in t.data]
    return max(done, key=lambda t: t.last_state_change).data[key]


def data_objects(drive: Drive) -> dict[str, Any]:
    return shared_data(drive.case.workflow)


def escalations(drive: Drive) -> list[tuple[str, str | None]]:
    return [(n.element, n.role) for _, n in drive.notices_of("escalation")]


def start_review(drive: Drive) -> None:
    """Referral and decision on time, then the week-4 letters: the review's own steps are under way."""
    refer(drive)
    for name in ["letter_to_ofsted", "notify_other_bodies", "record_commissioning", "letters_to_chief_officers"]:
        drive.complete(name, form(name))


def revise(drive: Drive, completion: str, weeks_back: int) -> None:
    """The Chair advises Ofsted, then the LSCB revises the timetable (8.3, gap 36)."""
    drive.complete("advise_ofsted_extension", advised(drive))
    drive.complete(
        "revise_timetable",
        form("revise_timetable", revised_completion_date=completion, timetable_put_back_weeks=weeks_back),
    )


def revised_overviews(drive: Drive) -> None:
    """Week 17-19: the CEs sign the agreed final IMRs, the overview authors revise, the panel reviews."""
    sign_final_imrs(drive)
    later(drive, at(17) + timedelta(days=3))
    drive.complete("revised_overview", form("revised_overview"))
    drive.complete("revised_health_overview", form("revised_health_overview"))
    later(drive, at(18) + timedelta(days=3))


def advised(drive: Drive) -> dict[str, Any]:
    return form("advise_ofsted_extension", ofsted_extension_advised_date=day_of(drive))


def day_of(drive: Drive) -> str:
    return drive.clock.now().date().isoformat()


# ------------------------------------------------------------------------------------ defect 1: 8.3 overrun


def test_the_panel_chair_can_raise_an_expected_overrun_early_and_the_administrators_twin_task_is_withdrawn() -> None:
    drive = Case()
    start_review(drive)
    assert {(t.name, t.role) for t in drive.tasks() if t.name in OVERRUN_TASKS} == {
        ("raise_overrun_pc", "panel_chair"),
        ("raise_overrun_admin", "lscb_administrator"),
    }
    assert timer_due(drive, "Completion due") == [SIX_MONTHS_AFTER_DECISION]
    drive.advance_to(at(5))  # long before the six months run out: "if it emerges" (8.3)
    drive.complete("raise_overrun_pc", form("raise_overrun_pc", overrun_raised_date=day_of(drive)))
    assert not ready(drive) & OVERRUN_TASKS, "raising it withdraws the administrator's twin task"
    assert drive.notices_of("escalation") == [], "a raised overrun is not an escalation"
    advise = drive.task("advise_ofsted_extension")
    assert (advise.role, advise.due_at) == ("lscb_chair", at(5) + timedelta(days=2)), "Ofsted advised immediately"
    assert data_at(drive, "advise_ofsted_extension")["overrun_raised_date"] == at(5).date().isoformat()


def test_the_administrator_can_raise_an_expected_overrun_and_the_panel_chairs_task_is_withdrawn() -> None:
    drive = Case()
    start_review(drive)
    drive.advance_to(at(9))
    assert drive.task("raise_overrun_admin").role == "lscb_administrator"
    drive.complete("raise_overrun_admin", form("raise_overrun_admin", overrun_raised_date=day_of(drive)))
    assert not ready(drive) & OVERRUN_TASKS
    assert drive.task("advise_ofsted_extension").role == "lscb_chair"
    assert timer_due(drive, "Completion due") == [], "the six-month watch waits for the revised date"


def test_the_revised_completion_date_re_arms_the_completion_deadline_and_puts_back_later_planned_dates() -> None:
    drive = Case()
    start_review(drive)
    drive.advance_to(at(2))
    drive.complete("raise_overrun_pc", form("raise_overrun_pc", overrun_raised_date=day_of(drive)))
    drive.complete("advise_ofsted_extension", advised(drive))
    timetable = drive.task("revise_timetable")
    assert (timetable.role, timetable.due_at) == ("lscb_board", at(2) + timedelta(weeks=2))
    drive.complete(
        "revise_timetable", form("revise_timetable", revised_completion_date="2024-10-28", timetable_put_back_weeks=13)
    )
    assert timer_due(drive, "Completion due") == [datetime(2024, 10, 28, tzinfo=UTC)]
    assert drive.case.data["completion_due"] == "2024-10-28"
    assert data_objects(drive)["timetable_delay_weeks"] == 13
    # both standing tasks come back, watching the revised date
    assert {(t.name, t.role) for t in drive.tasks() if t.name in OVERRUN_TASKS} == {
        ("raise_overrun_pc", "panel_chair"),
        ("raise_overrun_admin", "lscb_administrator"),
    }
    assert drive.task("raise_overrun_pc").due_at == datetime(2024, 10, 28, tzinfo=UTC)
    # a step already ready keeps its date; the steps not reached yet move back 13 weeks, in their own week
    briefing = drive.task("imr_author_briefing")
    assert (briefing.due_at, briefing.week) == (at(3), 3)
    drive.complete("imr_author_briefing", form("imr_author_briefing"))
    first = drive.task("first_panel_meeting")
    assert (first.due_at, first.week) == (at(17) + timedelta(days=1), 4)  # 27 May 2024 is a bank holiday
    drive.complete("first_panel_meeting", form("first_panel_meeting"))
    tor = drive.task("approve_terms_of_reference")
    assert (tor.role, tor.due_at, tor.week) == ("lscb_chair", at(17), 4)


def test_progress_updates_go_to_ofsted_every_four_weeks_until_the_review_completes() -> None:
    drive = Case()
    refer(drive)
    run_review_to_week_17(drive)  # the clock is in week 16
    week_16 = drive.clock.now()
    drive.complete("raise_overrun_admin", form("raise_overrun_admin", overrun_raised_date=day_of(drive)))
    revise(drive, completion="2024-08-26", weeks_back=4)
    update = drive.task("progress_update")
    assert (update.role, update.due_at) == ("lscb_board", week_16 + timedelta(weeks=4))
    drive.advance_to(week_16 + timedelta(weeks=4))
    drive.complete("progress_update", form("progress_update", plan_revised_completion_date="2024-08-26"))
    again = drive.task("progress_update")
    assert again.due_at == week_16 + timedelta(weeks=8), "the next update is due four weeks after the last"
    drive.advance_to(week_16 + timedelta(weeks=8))
    drive.complete("progress_update", form("progress_update", plan_revised_completion_date="2024-08-26"))
    assert drive.task("progress_update").due_at == week_16 + timedelta(weeks=12)
    # the review's remaining weeks were put back four weeks
    drive.complete("panel_final_imrs", form("panel_final_imrs"))
    signature = imr_tasks(drive, "ce_sign_final_imr")[0]
    assert (signature.due_at, signature.week) == (at(21), 17)
    revised_overviews(drive)
    drive.complete("panel_review_revised_overview", form("panel_review_revised_overview"))
    finalise(drive)
    assert data_objects(drive)["review_done"] is True
    assert not ready(drive) & ({"progress_update"} | OVERRUN_TASKS), "updates and standing tasks end with the review"
    assert timer_due(drive, "Completion due") == []
    after_ofsted_submission(drive)
    assert drive.case.completed


def test_a_second_overrun_can_be_raised_against_the_revised_date_and_supersedes_the_pending_update() -> None:
    drive = Case()
    start_review(drive)
    drive.advance_to(at(6))
    drive.complete("raise_overrun_pc", form("raise_overrun_pc", overrun_raised_date=day_of(drive)))
    revise(drive, completion="2024-09-30", weeks_back=9)
    assert "progress_update" in ready(drive)
    drive.advance_to(at(8))
    drive.complete("raise_overrun_admin", form("raise_overrun_admin", overrun_raised_date=day_of(drive)))
    assert not ready(drive) & ({"progress_update"} | OVERRUN_TASKS), "a new revised timetable follows instead"
    assert drive.task("advise_ofsted_extension").role == "lscb_chair"
    revise(drive, completion="2024-12-30", weeks_back=22)
    assert timer_due(drive, "Completion due") == [datetime(2024, 12, 30, tzinfo=UTC)]
    assert data_objects(drive)["timetable_delay_weeks"] == 22
    assert drive.task("progress_update").due_at == at(12)
    assert ready(drive) >= OVERRUN_TASKS


def test_a_revised_completion_date_that_passes_escalates_to_the_chair_and_starts_another_revision() -> None:
    drive = Case()
    start_review(drive)
    drive.advance_to(at(4))
    drive.complete("raise_overrun_pc", form("raise_overrun_pc", overrun_raised_date=day_of(drive)))
    revise(drive, completion="2024-04-01", weeks_back=1)  # an optimistic date, week 9
    drive.advance_to(datetime(2024, 4, 1, 1, tzinfo=UTC))
    assert escalations(drive) == [("ev_completion_escalation", "lscb_chair")]
    assert not ready(drive) & OVERRUN_TASKS
    assert drive.task("advise_ofsted_extension").role == "lscb_chair"
    assert timer_due(drive, "Completion due") == [], "no deadline stands until the next revised date"


# ------------------------------------------------------------------------- defect 7: 8.2 one-month decision

PRE_DECISION = ["submit_proforma", "countersign_proforma", "receive_proforma", "record_cin", "chair_consider_referral",
                "subgroup_recommendation", "chair_decision"]


@pytest.mark.parametrize("stuck_at", PRE_DECISION[3:])
def test_a_decision_not_made_within_a_month_is_escalated_whichever_pre_decision_step_the_case_is_at(
    stuck_at: str,
) -> None:
    drive = Case()
    for name in PRE_DECISION[: PRE_DECISION.index(stuck_at)]:
        drive.complete(name, form(name))
    drive.advance_to(ONE_MONTH_AFTER_ATTENTION - timedelta(hours=1))
    assert escalations(drive) == []
    drive.advance_to(ONE_MONTH_AFTER_ATTENTION + timedelta(hours=1))
    assert set(escalations(drive)) == {
        ("ev_decision_escalation", "lscb_chair"),
        ("ev_decision_escalation_admin", "lscb_administrator"),
    }
    assert stuck_at in ready(drive), "the escalation does not take the step away"
    assert drive.case.data["case_to_chair_attention"] == ATTENTION.date().isoformat()


def test_a_decision_made_within_the_month_ends_the_watch_quietly() -> None:
    drive = Case()
    refer(drive)  # decided on 29 January
    drive.advance_to(ONE_MONTH_AFTER_ATTENTION + timedelta(days=1))
    assert not [e for e in escalations(drive) if e[0].startswith("ev_decision_escalation")]


def test_the_case_clock_shows_the_one_month_decision_deadline_from_the_moment_the_case_reaches_the_chair() -> None:
    drive = Case()
    for name in PRE_DECISION[:3]:
        drive.complete(name, form(name))
    assert "Decision due" in [m.title for m in timeline.plan_of(drive.process).milestones]
    [watch] = [t for t in drive.case.waiting_timers() if t.name == "tim_decision_due"]
    assert watch.due_at == ONE_MONTH_AFTER_ATTENTION


# ------------------------------------------------------------------------------ defect 4: 7.3, 7.5 no SCR


def test_the_chair_may_decline_to_refer_and_then_ofsted_and_the_referrer_are_told_and_the_request_ends() -> None:
    drive = Case()
    for name in PRE_DECISION[:4]:
        drive.complete(name, form(name))
    drive.complete(
        "chair_consider_referral",
        form(
            "chair_consider_referral",
            chair_referral="not_referred",
            not_referred_reasons="The child's injuries were accidental.",
            referred_to_subgroup_date=None,
        ),
    )
    assert "subgroup_recommendation" not in ready(drive), "the SCR Sub-group is not asked (7.5)"
    notify = drive.task("notify_no_scr")
    assert notify.role == "lscb_chair"
    assert data_at(drive, "notify_no_scr")["chair_referral"] == "not_referred"
    assert "not_referred_reasons" not in data_at(drive, "notify_no_scr"), "reasons are kept in the case file"
    drive.complete("notify_no_scr", form("notify_no_scr", ofsted_told_no_scr_date="2024-01-12"))
    assert drive.case.data["ofsted_told_no_scr_date"] == "2024-01-12"
    assert drive.case.completed, "declining to refer is the decision within the month: the 8.2 watch ends (7.5)"
    assert escalations(drive) == []


def test_a_decision_against_an_scr_is_told_to_ofsted_by_the_chair_before_any_alternative_review() -> None:
    drive = Case()
    for name in PRE_DECISION[:-1]:
        drive.complete(name, form(name))
    drive.complete(
        "chair_decision",
        form(
            "chair_decision",
            decision="no_scr",
            no_scr_outcome="alternative_review",
            decision_reasons="Criteria not met.",
            followed_recommendation=False,
            terms_of_reference_approved=None,
            panel_chair_user=None,
            panel_member_users=None,
        ),
    )
    assert ready(drive) == {"notify_no_scr"}, "Ofsted is told before anything else happens (7.3)"
    assert drive.task("notify_no_scr").role == "lscb_chair"
    drive.complete("notify_no_scr", form("notify_no_scr"))
    assert drive.task("alt_plan").role == "standing_panel"
    assert "letter_to_ofsted" not in ready(drive)


# ------------------------------------------------------------------------ defect 5: 3.1, 10.2 other children


def test_the_referral_must_say_whether_other_children_are_at_risk() -> None:
    drive = Case()
    with pytest.raises(InvalidSubmission):
        drive.complete("submit_proforma", form("submit_proforma", other_children_at_risk=None))
    assert drive.task("submit_proforma").role == "referrer"


def test_the_chair_records_other_children_at_risk_and_the_action_and_their_professionals_are_consulted_by_week_10(
) -> None:
    drive = Case()
    drive.complete("submit_proforma", form("submit_proforma", other_children_at_risk="not_known"))
    for name in PRE_DECISION[1:4]:
        drive.complete(name, form(name))
    consider = drive.task("chair_consider_referral")
    assert consider.role == "lscb_chair"
    with pytest.raises(InvalidSubmission):  # the Chair must say what was done
        drive.complete("chair_consider_referral", form("chair_consider_referral", other_children_action=None))
    drive.complete(
        "chair_consider_referral",
        form(
            "chair_consider_referral",
            other_children_at_risk="yes",
            other_children_action="strategy_discussion",
            other_children_action_notes="Sibling B: strategy discussion held on 11 January.",
        ),
    )
    recorded = data_at(drive, "subgroup_recommendation")
    assert (recorded["other_children_at_risk"], recorded["other_children_action"]) == ("yes", "strategy_discussion")
    assert "other_children_action_notes" not in recorded
    drive.advance_to(at(2, CIN))
    drive.complete("subgroup_recommendation", form("subgroup_recommendation"))
    drive.advance_to(DECISION)
    drive.complete("chair_decision", form("chair_decision"))
    for name in ["letter_to_ofsted", "notify_other_bodies", "record_commissioning", "letters_to_chief_officers"]:
        drive.complete(name, form(name))
    consult = drive.task("consult_children_professionals")
    assert (consult.role, consult.due_at, consult.week) == ("lscb_administrator", at(10), 10)
    drive.complete(
        "consult_children_professionals",
        {"children_professionals_consulted_date": "2024-03-01", "early_findings_shared": True},
    )
    assert "consult_children_professionals" not in ready(drive)


def test_no_other_children_at_risk_means_no_consultation_step() -> None:
    drive = Case()
    start_review(drive)
    assert "consult_children_professionals" not in ready(drive)


# -------------------------------------------------------- defects 2 and 3: 8.6, 8.7, 17.2 proceedings; 10.1 family


def to_week_19(drive: Drive, family: str = "involved") -> None:
    """Referral to the panel's week-19 review of the revised overview report, which is left ready."""
    refer(drive)
    run_review_to_week_17(drive, family=family)
    drive.complete("panel_final_imrs", form("panel_final_imrs"))
    revised_overviews(drive)


def test_running_proceedings_go_to_the_chair_who_may_hold_finalisation_and_the_family_plan_until_they_conclude(
) -> None:
    drive = Case()
    to_week_19(drive, family="not_involved")
    drive.complete("panel_review_revised_overview", form("panel_review_revised_overview", proceedings_running="yes"))
    decision = drive.task("proceedings_decision")
    assert (decision.role, decision.due_at) == ("lscb_chair", at(20))  # before the week-22 final report
    with pytest.raises(InvalidSubmission):  # 8.7: on the panel chair's advice
        drive.complete("proceedings_decision", {
            "proceedings_decision_date": "2024-06-12", "panel_chair_advice_received": False,
            "local_authority_consulted": "yes", "hold_finalisation": "yes", "defer_publication": "yes",
            "proceedings_decision_reasons": "Trial in July.",
        })
    drive.complete("proceedings_decision", {
        "proceedings_decision_date": "2024-06-12", "panel_chair_advice_received": True,
        "local_authority_consulted": "yes", "hold_finalisation": "yes", "defer_publication": "yes",
        "proceedings_decision_reasons": "The trial is listed for July; the report would prejudice it.",
    })
    concluded = drive.task("proceedings_concluded")
    assert concluded.role == "lscb_administrator"
    recorded = data_at(drive, "proceedings_concluded")
    assert (recorded["hold_finalisation"], recorded["defer_publication"], recorded["local_authority_consulted"]) == (
        "yes", "yes", "yes")
    drive.advance_to(at(22) + timedelta(days=1))
    assert not ready(drive) & {"revised_overview_exec_summary", "involve_family_later"}, "finalisation is held"
    drive.complete("proceedings_concluded", {"proceedings_concluded_date": "2024-07-05"})
    later_plan = drive.task("involve_family_later")  # 10.1: once the proceedings no longer stand in the way
    assert later_plan.role == "panel_member"
    assert "revised_overview_exec_summary" not in ready(drive), "the plan is acted on before the report is final"
    drive.complete("involve_family_later", form("involve_family_later", family_involved_later="no"))
    assert drive.task("revised_overview_exec_summary").role == "overview_author"
    assert data_at(drive, "revised_overview_exec_summary")["proceedings_concluded_date"] == "2024-07-05"


def test_the_chair_may_let_finalisation_go_ahead_while_proceedings_run() -> None:
    drive = Case()
    to_week_19(drive)
    drive.complete("panel_review_revised_overview", form("panel_review_revised_overview", proceedings_running="yes"))
    drive.complete("proceedings_decision", {
        "proceedings_decision_date": "2024-06-12", "panel_chair_advice_received": True,
        "local_authority_consulted": "no_family_cases", "hold_finalisation": "no", "defer_publication": "yes",
        "proceedings_decision_reasons": "Nothing in the report bears on the trial; publication waits.",
    })
    assert "proceedings_concluded" not in ready(drive)
    assert drive.task("revised_overview_exec_summary").role == "overview_author"


def test_without_proceedings_the_chair_is_not_asked_and_the_report_is_finalised() -> None:
    drive = Case()
    to_week_19(drive)
    drive.complete("panel_review_revised_overview", form("panel_review_revised_overview"))
    assert not ready(drive) & {"proceedings_decision", "proceedings_concluded", "involve_family_later"}
    assert "revised_overview_exec_summary" in ready(drive)


def to_publication_decision(drive: Drive, family_shared: bool) -> None:
    """Submission to Ofsted, evaluation letter, executive summary, family, publication meeting."""
    finalise(drive)
    drive.advance_to(datetime(2024, 9, 2, tzinfo=UTC))
    drive.complete("record_ofsted_evaluation", form("record_ofsted_evaluation"))
    drive.complete("send_final_exec_summary", form("send_final_exec_summary"))
    if family_shared:
        share = drive.task("share_with_family")
        assert (share.role, share.due_at) == ("lscb_chair", datetime(2024, 10, 2, tzinfo=UTC))
        drive.complete("share_with_family", form("share_with_family"))
    else:
        assert "share_with_family" not in ready(drive)
    drive.complete("publication_meeting", form("publication_meeting"))


def test_a_family_not_involved_at_first_is_involved_later_and_then_the_findings_are_shared_with_them() -> None:
    drive = Case()
    to_week_19(drive, family="not_involved")
    drive.complete("panel_review_revised_overview", form("panel_review_revised_overview"))
    drive.complete(
        "involve_family_later",
        form("involve_family_later", family_involved_later="yes", family_involved_later_date="2024-06-14"),
    )
    assert data_at(drive, "revised_overview_exec_summary")["family_involved_later"] == "yes"
    to_publication_decision(drive, family_shared=True)  # 10.1: findings shared with a family involved at any point


def test_a_family_involved_from_the_first_panel_meeting_is_not_asked_again_and_is_sent_the_findings() -> None:
    drive = Case()
    to_week_19(drive)
    assert data_at(drive, "panel_review_revised_overview")["family_involvement"] == "involved"
    drive.complete("panel_review_revised_overview", form("panel_review_revised_overview"))
    assert "involve_family_later" not in ready(drive)
    to_publication_decision(drive, family_shared=True)


def test_a_family_never_involved_is_not_sent_the_findings() -> None:
    drive = Case()
    to_week_19(drive, family="not_involved")
    drive.complete("panel_review_revised_overview", form("panel_review_revised_overview"))
    drive.complete("involve_family_later", form("involve_family_later", family_involved_later="no"))
    to_publication_decision(drive, family_shared=False)


def test_the_publication_date_goes_to_ofsted_only_after_the_publication_decision_a_deferred_date_included() -> None:
    drive = Case()
    to_week_19(drive)
    drive.complete("panel_review_revised_overview", form("panel_review_revised_overview"))
    to_publication_decision(drive, family_shared=True)
    assert "send_publication_date" not in ready(drive)
    decide = drive.task("publication_decision")
    assert decide.role == "lscb_board"
    drive.complete("publication_decision", form(
        "publication_decision", publication_decision="publish_deferred", publication_date="2025-03-03",
        deferral_reasons="Inquest in February.",
    ))
    send = drive.task("send_publication_date")
    assert send.role == "lscb_administrator"
    assert data_at(drive, "send_publication_date")["publication_date"] == "2025-03-03"
    assert "publish_documents" not in ready(drive)
    drive.complete("send_publication_date", form("send_publication_date"))
    publish = drive.task("publish_documents")
    assert (publish.role, publish.due_at) == ("business_manager", datetime(2025, 3, 3, tzinfo=UTC))


def test_a_report_withheld_sends_no_publication_date() -> None:
    drive = Case()
    to_week_19(drive)
    drive.complete("panel_review_revised_overview", form("panel_review_revised_overview"))
    to_publication_decision(drive, family_shared=True)
    drive.complete("publication_decision", {"publication_decision": "withhold", "withhold_reasons": "Identifies B."})
    assert not ready(drive) & {"send_publication_date", "publish_documents"}


# --------------------------------------------------------------------- defect 9: roles (7.10, 7.11, 14.6, 19.1)


def test_the_local_authoritys_commissioning_is_recorded_and_the_chair_approves_the_terms_of_reference() -> None:
    drive = Case()
    refer(drive)
    commissioning = drive.task("record_commissioning")
    assert (commissioning.role, commissioning.due_at) == ("lscb_administrator", at(4, CIN))
    drive.complete("record_commissioning", form("record_commissioning"))
    assert recorded(drive, "panel_chair_commissioned_date") == "2024-02-01"
    assert "commissioning_officer" not in drive.case.data, "the officer's name is kept in the case file"
    for name in ["letter_to_ofsted", "notify_other_bodies", "letters_to_chief_officers", "imr_author_briefing"]:
        drive.complete(name, form(name))
    assert drive.task("first_panel_meeting").role == "panel_chair"
    drive.complete("first_panel_meeting", form("first_panel_meeting"))
    approve = drive.task("approve_terms_of_reference")
    assert (approve.role, approve.due_at, approve.week) == ("lscb_chair", at(4), 4)
    assert "family_involvement_plan" not in ready(drive), "the panel works to approved terms of reference"
    drive.complete("approve_terms_of_reference", form("approve_terms_of_reference"))
    assert data_at(drive, "family_involvement_plan")["terms_of_reference_approval"] == "approved"


def test_each_agencys_chief_executive_signs_its_final_imr_in_week_17_before_the_overview_is_revised() -> None:
    drive = Case()
    refer(drive)
    run_review_to_week_17(drive)
    drive.complete("panel_final_imrs", form("panel_final_imrs"))
    signatures = imr_tasks(drive, "ce_sign_final_imr")
    assert {(t.agency, t.role, t.due_at, t.week) for t in signatures} == {
        ("social_care", "chief_executive", at(17), 17),
        ("police", "chief_executive", at(17), 17),
    }
    complete_common(drive, drive.task("ce_sign_final_imr", agency="police"))
    assert "revised_overview" not in ready(drive), "every agency's chief executive signs first"
    complete_common(drive, drive.task("ce_sign_final_imr", agency="social_care"))
    assert {s["agency"] for s in data_at(drive, "revised_overview")["ce_signatures"]} == {"social_care", "police"}


def test_the_exec_board_signs_off_all_five_documents() -> None:
    drive = Case()
    to_week_19(drive)
    drive.complete("panel_review_revised_overview", form("panel_review_revised_overview"))
    drive.complete("revised_overview_exec_summary", form("revised_overview_exec_summary"))
    drive.complete("findings_meeting", form("findings_meeting"))
    signoff = drive.task("exec_board_signoff")
    assert (signoff.role, signoff.due_at) == ("lscb_board", at(24))
    with pytest.raises(InvalidSubmission):  # 19.1: not just the overview report and executive summary
        drive.complete("exec_board_signoff", form(
            "exec_board_signoff", documents_signed_off=["overview_report", "executive_summary"]))
    drive.complete("exec_board_signoff", form("exec_board_signoff"))
    assert set(data_at(drive, "send_to_ofsted")["documents_signed_off"]) == {
        "imrs", "overview_report", "action_plan", "executive_summary", "synopsis_of_learning"}


# ------------------------------------------------------------ defect 10: 19.2 monitoring, 9.1 added agency, 8.1


def test_action_plan_monitoring_starts_when_the_scr_is_submitted_to_ofsted() -> None:
    drive = Case()
    to_week_19(drive)
    drive.complete("panel_review_revised_overview", form("panel_review_revised_overview"))
    finalise(drive)
    monitor = drive.task("monitor_action_plan")
    assert monitor.role == "standing_panel"
    assert drive.task("record_ofsted_evaluation").role == "lscb_administrator", "alongside Ofsted's evaluation"


def review_to_week_16(drive: Drive, agencies: list[str] | None = None) -> None:
    """After start_review: the panel's weeks 3-14 (B&P App. 2), with the IMR work of `agencies` (None: all)."""
    for letter in imr_tasks(drive, "imr_letter"):
        complete_common(drive, letter)
    later(drive, at(2))
    drive.complete("imr_author_briefing", form("imr_author_briefing"))
    later(drive, at(3))
    for name in ["first_panel_meeting", "approve_terms_of_reference", "family_involvement_plan"]:
        drive.complete(name, form(name))
    finish_common_tasks(drive, stop={"imr_panel_review"}, agencies=agencies)
    later(drive, at(6))
    drive.complete("receive_chronologies", form("receive_chronologies"))
    later(drive, at(8))
    drive.complete("circulate_imrs", form("circulate_imrs"))
    later(drive, at(9))
    drive.complete("panel_imr_review_meeting", form("panel_imr_review_meeting"))
    finish_common_tasks(drive, agencies=agencies)
    later(drive, at(13))
    drive.complete("overview_first_draft", form("overview_first_draft"))
    drive.complete("health_overview_first_draft", form("health_overview_first_draft"))
    later(drive, at(16))


@pytest.mark.parametrize(
    ("added", "deadline"),
    [
        (at(1), at(8)),  # six weeks after being added falls before week 8: the board's week 8
        (at(5, DECISION) + timedelta(days=2), at(11, DECISION) + timedelta(days=2)),  # six weeks after being added
    ],
    ids=["early-week-8", "late-six-weeks"],
)
def test_an_agency_added_later_gets_its_own_imr_due_six_weeks_after_being_added_or_in_week_8(
    added: datetime, deadline: datetime
) -> None:
    drive = Case()
    start_review(drive)
    assert drive.task("add_agency").role == "lscb_administrator"
    drive.advance_to(added)
    drive.complete("add_agency", form("add_agency", added_agency="probation"))
    letter = drive.task("imr_letter", agency="probation")
    assert (letter.role, letter.due_at) == ("lscb_administrator", added + timedelta(weeks=1))
    complete_common(drive, letter)
    author = drive.task("prep_name_author", agency="probation")
    assert (author.role, author.due_at) == ("chief_executive", added + timedelta(weeks=1))
    complete_common(drive, author)
    gather = drive.task("prep_gather", agency="probation")
    assert (gather.role, gather.due_at) == ("imr_author", deadline)
    assert deadline in [t.due_at for t in drive.case.waiting_timers() if t.name == "imr_overdue_timer"
                        and t.agency == "probation"]


def test_the_final_imrs_wait_for_an_added_agency_and_its_chief_executive_signs_too() -> None:
    drive = Case()
    start_review(drive)
    drive.advance_to(at(3))
    drive.complete("add_agency", form("add_agency", added_agency="probation"))
    review_to_week_16(drive, agencies=["social_care", "police"])
    assert "panel_final_imrs" not in ready(drive), "the added agency's IMR is not in yet"
    assert "add_agency" not in ready(drive), "no additions once the final IMRs are to be agreed"
    finish_common_tasks(drive)  # probation's IMR, reviewed and accepted
    drive.complete("panel_final_imrs", form("panel_final_imrs"))
    assert {t.agency for t in imr_tasks(drive, "ce_sign_final_imr")} == {"social_care", "police", "probation"}


def test_one_stuck_imr_does_not_hold_up_the_other_agencies_or_the_panels_work_only_the_final_imrs() -> None:
    drive = Case()
    start_review(drive)
    review_to_week_16(drive, agencies=["social_care"])  # police never name an author
    workflows = [drive.case.workflow, *drive.case.workflow.subprocesses.values()]
    plans = [t for w in workflows for t in w.get_tasks(state=TaskState.COMPLETED)
             if t.task_spec.bpmn_id == "imr_action_plan"]
    assert [t.data.get("agency") for t in plans] == ["social_care"], "social care's IMR went on to its action plan"
    assert drive.task("prep_name_author", agency="police").role == "chief_executive"
    assert ("imr_overdue_ce", "chief_executive") in escalations(drive)
    assert not ready(drive) & {"panel_final_imrs", "ce_sign_final_imr"}
    assert ready(drive) - OWN_TASKS - STANDING <= {"prep_name_author"}
    finish_common_tasks(drive)
    assert drive.task("panel_final_imrs").role == "panel_member"


# --------------------------------------------------------------------- defect 6: one IMR deadline (8.5, App. 2)


def test_a_health_imr_is_due_in_week_8_in_bournemouth_and_poole_like_every_other() -> None:
    drive = Case()
    refer(drive)
    for name in ["letter_to_ofsted", "notify_other_bodies", "record_commissioning"]:
        drive.complete(name, form(name))
    drive.complete("letters_to_chief_officers", form("letters_to_chief_officers", agencies=["health_acute", "police"]))
    for letter in imr_tasks(drive, "imr_letter"):
        complete_common(drive, letter)
    for agency in ["health_acute", "police"]:
        complete_common(drive, drive.task("prep_name_author", agency=agency))
        assert drive.task("prep_gather", agency=agency).due_at == at(8), agency
    drive.advance_to(at(8) - timedelta(hours=1))
    assert not [e for e in escalations(drive) if e[0].startswith("imr_overdue")], "nobody escalated before week 8"
    drive.advance_to(at(8) + timedelta(hours=1))
    assert {n.agency for _, n in drive.notices_of("escalation") if n.element == "imr_overdue_ce"} == {
        "health_acute", "police"}


# --------------------------------------------------------------------------- defect 8: 19.2 (gap 44), B&P


def test_an_inadequate_grade_has_the_lscb_amend_the_report_and_action_plan() -> None:
    drive = Case()
    to_week_19(drive)
    drive.complete("panel_review_revised_overview", form("panel_review_revised_overview"))
    finalise(drive)
    drive.advance_to(datetime(2024, 9, 2, tzinfo=UTC))
    drive.complete("record_ofsted_evaluation", form("record_ofsted_evaluation", ofsted_grade="inadequate"))
    amend = drive.task("amend_after_evaluation")
    assert (amend.role, amend.due_at) == ("lscb_board", datetime(2024, 10, 2, tzinfo=UTC))
    assert "send_final_exec_summary" not in ready(drive)
