"""Procedure fidelity of the Dorset SCR diagram (issue 10): each test drives the real diagram on a frozen clock and
checks what Chapter 3.5 requires on a path the board acts on: who acts, when it is due, what is recorded.

Week 0 of phase 1 is the day the proforma is received (Monday 8 January 2024); the Chair decides on 5 February 2024,
week 0 of the SCR timetable; six calendar months later is 5 August 2024.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.errors import InvalidSubmission
from engine.workflow.specs import shared_data
from tests.bpmn.harness import START, Drive
from tests.bpmn.test_dorset_paths import (
    ACTION_PLAN,
    AGENCIES,
    DECISION,
    FAMILY_INVOLVED,
    FAMILY_NOT_INVOLVED,
    MEETING_3,
    REVIEW_OK,
    after_week_26,
    at_week,
    commission,
    complete_for_agency,
    countersigned,
    day,
    decision,
    drive,
    imr_forms,
    meeting1,
    prepare_imr,
    proforma,
    received,
    review_weeks_0_to_26,
    submit_to_ofsted,
    to_decision,
    to_week,
)

SIX_MONTHS = datetime(2024, 8, 5, tzinfo=UTC)


def midnight(when: datetime) -> datetime:
    return when.replace(hour=0, minute=0, second=0, microsecond=0)


def names(d: Drive) -> set[str]:
    return {t.name for t in d.tasks()}


def completion_escalations(d: Drive) -> list[str]:
    return [n.role for _, n in d.notices_of("escalation") if n.element == "ev_completion_escalation"]


def letters_sent(d: Drive) -> None:
    """The Chair decided an SCR; the panel is commissioned and each agency's 9.2 letter is sent."""
    to_decision(d)
    commission(d)
    for agency in AGENCIES:
        complete_for_agency(d, "imr_letter", agency, imr_forms(agency)[0][1])


def to_the_chair(d: Drive, chair_attention: datetime = START) -> None:
    d.complete("proforma", proforma())
    d.complete("countersign", countersigned())
    d.complete("receive_proforma", {**received(), "case_to_chair_attention": day(chair_attention)})


CONSIDERED = {"appears_to_meet_criteria": "yes", "child_died": False, "consideration_notes": "may meet 4.1",
              "other_children_at_risk": "no"}


# ------------------------------------------------------------------------------------------ defect 1: 8.3
def test_the_panel_chair_raises_an_expected_overrun_ofsted_is_advised_and_the_timetable_moves_back() -> None:
    d = drive(False)
    letters_sent(d)
    watching = d.task("raise_overrun_pc")
    assert watching.role == "panel_chair" and watching.due_at == SIX_MONTHS  # the completion date (8.3)
    assert d.task("raise_overrun_admin").role == "lscb_administrator"
    d.advance_to(at_week(1))
    d.complete("raise_overrun_pc", {"overrun_raised_date": day(d.clock.now()), "overrun_reasons": "trial in June"})
    assert not {"raise_overrun_pc", "raise_overrun_admin"} & names(d), "raising it withdraws the other standing task"
    advise = d.task("advise_ofsted_extension")
    assert advise.role == "lscb_chair" and advise.due_at == d.clock.now() + timedelta(days=2)  # immediately
    d.complete("advise_ofsted_extension", {"ofsted_extension_advised_date": day(d.clock.now())})
    revise = d.task("revise_timetable")
    assert revise.role == "lscb_board"
    d.complete("revise_timetable", {"revised_completion_date": "2024-10-07", "delay_reasons": "trial",
                                    "timetable_put_back_weeks": 9})
    assert shared_data(d.case.workflow)["timetable_delay_weeks"] == 9  # the data object every branch reads
    assert d.task("raise_overrun_pc").due_at == datetime(2024, 10, 7, tzinfo=UTC), "the deadline is re-armed"
    assert d.task("raise_overrun_admin").role == "lscb_administrator"
    update = d.task("progress_update")
    assert update.role == "lscb_board" and update.due_at == d.clock.now() + timedelta(weeks=4)
    # steps not reached yet move back by the weeks put back and keep their own week
    d.complete("panel_meeting_2", {"meeting2_date": day(d.clock.now()), "imr_briefing_date": day(d.clock.now()),
                                   "imr_format_agreed": True})
    family = d.task("family_involvement_decision")
    assert (family.week, family.due_at) == (2, DECISION + timedelta(weeks=2 + 9))
    d.complete("family_involvement_decision", FAMILY_INVOLVED)
    health = d.task("health_imrs_received")
    assert (health.week, health.due_at) == (6, DECISION + timedelta(weeks=6 + 9))
    # Ofsted is kept apprised every four weeks until the review completes
    d.advance(weeks=4)
    d.complete("progress_update", {"early_recommendations": "a", "actions_to_date": "b",
                                   "extension_explanation": "c", "plan_revised_completion_date": "2024-10-07"})
    assert d.task("progress_update").due_at == d.clock.now() + timedelta(weeks=4)
    d.advance_to(SIX_MONTHS + timedelta(hours=1))
    assert not completion_escalations(d), "the original six months no longer apply"
    d.advance_to(datetime(2024, 10, 7, 1, tzinfo=UTC))
    assert completion_escalations(d) == ["lscb_chair"]
    assert d.task("advise_ofsted_extension").role == "lscb_chair", "a missed revised date is advised again"
    assert "progress_update" not in names(d), "the update is superseded by the new revised timetable"


def test_the_administrator_may_raise_the_overrun_instead_and_the_panel_chairs_task_is_withdrawn() -> None:
    d = drive(False)
    letters_sent(d)
    d.complete("raise_overrun_admin", {"overrun_raised_date": day(d.clock.now()), "overrun_reasons": "inquest"})
    assert "raise_overrun_pc" not in names(d)
    assert d.task("advise_ofsted_extension").role == "lscb_chair"


def test_progress_updates_stop_when_the_review_completes() -> None:
    d = drive(False)
    to_decision(d)
    review_weeks_0_to_26(d, FAMILY_INVOLVED, submit=False)
    d.advance_to(SIX_MONTHS + timedelta(hours=1))
    d.complete("advise_ofsted_extension", {"ofsted_extension_advised_date": day(d.clock.now())})
    d.complete("revise_timetable", {"revised_completion_date": "2024-09-02", "delay_reasons": "late sign-off",
                                    "timetable_put_back_weeks": 4})
    assert {"progress_update", "raise_overrun_pc", "raise_overrun_admin"} <= names(d)
    submit_to_ofsted(d)
    assert not {"progress_update", "raise_overrun_pc", "raise_overrun_admin"} & names(d)
    assert shared_data(d.case.workflow)["review_done"] is True


# ------------------------------------------------------------------------------------------ defect 7: 8.2
def test_the_one_month_decision_is_watched_while_the_case_is_still_with_the_chair_for_first_consideration() -> None:
    d = drive(False)
    to_the_chair(d, chair_attention=START - timedelta(weeks=3))  # one month from 18 December 2023
    assert d.task("chair_consider").role == "lscb_chair"
    d.advance_to(datetime(2024, 1, 17, 23, tzinfo=UTC))
    assert not d.notices_of("escalation")
    d.advance_to(datetime(2024, 1, 18, 1, tzinfo=UTC))
    assert [(n.role, n.element) for _, n in d.notices_of("escalation")] == [
        ("lscb_chair", "ev_decision_escalation"), ("lscb_administrator", "ev_decision_escalation_admin")]
    assert d.task("chair_consider"), "the Chair can still act: the watch does not take the step away"


def test_a_chair_who_finds_the_criteria_not_met_ends_the_watch_and_nobody_is_escalated() -> None:
    d = drive(False)
    to_the_chair(d)
    d.complete("chair_consider", {**CONSIDERED, "appears_to_meet_criteria": "no"})
    d.complete("notify_no_scr", {"ofsted_told_no_scr_date": day(START), "ofsted_notice_anonymised": True})
    d.complete("not_referred", {"referrer_told_date": day(START)})
    assert d.case.completed, "the one-month watch ended with the decision"
    d.advance(weeks=6)
    assert not d.notices_of("escalation")


def test_a_decision_in_time_ends_the_watch_and_the_decision_task_is_due_on_the_month() -> None:
    d = drive(False)
    to_decision(d, kind="no_scr")  # checks chair_decision is due 8 February 2024, a month from the Chair's attention
    d.advance_to(datetime(2024, 2, 8, 1, tzinfo=UTC))
    assert not d.notices_of("escalation")


# ------------------------------------------------------------------------------------------ defect 10: 8.1, 9.1, 19.2
def test_the_qa_group_monitors_the_action_plan_from_submission_while_ofsted_evaluates() -> None:
    d = drive(False)
    to_decision(d)
    review_weeks_0_to_26(d, FAMILY_INVOLVED)
    d.advance(days=1)
    assert {"monitor_action_plan", "evaluation_letter"} <= names(d)  # both start at submission (gap 41)
    monitor = d.task("monitor_action_plan")
    assert monitor.role == "qa_group"
    d.complete("monitor_action_plan", {"monitoring_date": day(d.clock.now()), "actions_outstanding": ["audit"],
                                       "action_plan_implemented": False})
    assert d.task("evaluation_letter"), "Ofsted's evaluation is still awaited"
    d.advance(weeks=12, days=1)
    assert d.task("monitor_action_plan").role == "qa_group"  # every twelve weeks until implemented


def test_an_agency_added_later_gets_its_own_imr_due_six_weeks_after_it_was_added() -> None:
    d = drive(False)
    letters_sent(d)
    add = d.task("add_agency")
    assert add.role == "lscb_administrator" and add.week == 15  # open until Meeting 4 closes additions
    to_week(d, 3)
    d.complete("add_agency", {"added_agency": "education", "added_agency_reason": "school knew the child"})
    letter = [t for t in d.tasks("lscb_administrator") if t.name == "imr_letter"]
    assert len(letter) == 1 and letter[0].due_at == midnight(at_week(3)) + timedelta(weeks=1)
    complete_for_agency(d, "imr_letter", "education", imr_forms("education")[0][1])
    assert d.task("prep_name_author", agency="education").role == "chief_executive"
    d.complete("prep_name_author", imr_forms("education")[1][1], agency="education")
    gather = d.task("prep_gather", agency="education")
    assert gather.due_at == midnight(at_week(3)) + timedelta(weeks=6)  # 8.5, later than week 8 (gap 42, gap 70)


def test_one_stuck_imr_does_not_hold_up_meeting_4_only_the_anonymised_imrs_wait_for_it() -> None:
    d = drive(False)
    letters_sent(d)
    stuck = "police"
    for agency in AGENCIES:
        if agency != stuck:
            prepare_imr(d, agency)
    d.complete("prep_name_author", imr_forms(stuck)[1][1], agency=stuck)
    d.complete("panel_meeting_2", {"meeting2_date": day(d.clock.now()), "imr_briefing_date": day(d.clock.now()),
                                   "imr_format_agreed": True})
    d.complete("family_involvement_decision", FAMILY_INVOLVED)
    to_week(d, 6)
    d.complete("health_imrs_received", {"health_imrs_received_date": day(d.clock.now()),
                                        "health_imrs_from": ["health_acute"]})
    to_week(d, 8)
    d.complete("all_imrs_received", {"all_imrs_received_date": day(d.clock.now()), "imrs_outstanding": [stuck]})
    to_week(d, 9)
    for agency in AGENCIES:
        if agency != stuck:
            complete_for_agency(d, "imr_panel_review", agency, REVIEW_OK)
    d.complete("panel_meeting_3", MEETING_3)
    to_week(d, 11)
    d.complete("health_overview_draft", {"health_overview_draft_date": day(d.clock.now()),
                                         "integrated_health_chronology": True})
    to_week(d, 14)
    for agency in AGENCIES:
        if agency != stuck:
            d.complete("imr_action_plan", ACTION_PLAN, agency=agency)
    d.complete("overview_draft", {"overview_draft_date": day(d.clock.now()), "further_information_needed": []})
    d.complete("family_feedback", {"family_contact_dates": [day(d.clock.now())], "family_feedback_summary": "s"})
    meeting = d.task("panel_meeting_4")  # the police IMR is still being gathered
    assert (meeting.role, meeting.week) == ("panel_chair", 15)
    assert d.task("prep_gather", agency=stuck)
    d.complete("panel_meeting_4", {"meeting4_date": day(d.clock.now()), "emerging_themes": ["supervision"]})
    assert "add_agency" not in names(d), "Meeting 4 closes additions"
    to_week(d, 18)
    d.complete("final_overview", {"final_overview_date": day(d.clock.now()), "exec_summary_included": True})
    d.complete("final_health_overview", {"final_health_overview_date": day(d.clock.now())})
    to_week(d, 19)
    d.complete("panel_meeting_5", {"meeting5_date": day(d.clock.now()), "exec_summary_agreed": True,
                                   "proceedings_running": "no"})
    d.complete("draft_action_plan", {"scr_actions": [{"action": "a", "lead_agency": "police",
                                                      "timescale": "2024-12-31"}]})
    to_week(d, 20)
    d.complete("agency_consultation", {"consulted_agencies": AGENCIES, "written_feedback_received": AGENCIES})
    assert "anonymised_imrs" not in names(d), "the anonymised IMRs and sign-off wait for every IMR"
    for name, form in imr_forms(stuck)[2:]:  # the police IMR comes in at last
        d.complete(name, form, agency=stuck)
    complete_for_agency(d, "imr_panel_review", stuck, REVIEW_OK)
    d.complete("imr_action_plan", ACTION_PLAN, agency=stuck)
    assert d.task("anonymised_imrs").role == "lscb_administrator"


# ------------------------------------------------------------------------------------------ defect 2: 8.6, 8.7, 17.2
def hold_for_the_trial(d: Drive) -> None:
    decide = d.task("proceedings_decision")
    assert decide.role == "lscb_chair" and decide.due_at == DECISION + timedelta(weeks=20)
    d.complete("proceedings_decision", {
        "proceedings_decision_date": day(d.clock.now()), "panel_chair_advice_received": True,
        "local_authority_consulted": "yes", "hold_finalisation": "yes", "defer_publication": "yes",
        "proceedings_decision_reasons": "evidence at trial"})
    assert "draft_action_plan" not in names(d), "finalisation is held"
    assert d.task("proceedings_concluded").role == "lscb_administrator"
    d.complete("proceedings_concluded", {"proceedings_concluded_date": day(d.clock.now())})


def test_running_proceedings_go_to_the_chair_who_may_hold_finalisation_and_defer_publication() -> None:
    d = drive(False)
    to_decision(d)
    review_weeks_0_to_26(d, FAMILY_INVOLVED, proceedings=hold_for_the_trial)
    d.advance_to(DECISION + timedelta(weeks=30, hours=9))
    d.complete("evaluation_letter", {"evaluation_letter_date": day(d.clock.now()), "ofsted_grading": "good",
                                     "exec_summary_published_before_feedback": False})
    d.complete("exec_summary_to_ofsted", {"exec_summary_sent_date": day(d.clock.now()),
                                          "sent_to": "SCR.SIN@ofsted.gov.uk", "exec_summary_anonymised": True})
    d.complete("share_with_family", {"family_shared_date": day(d.clock.now()), "family_shared_how": "visit"})
    assert "send_publication_date" not in names(d), "no publication date goes to Ofsted before the decision"
    d.complete("publication_meeting", {"publication_meeting_date": day(d.clock.now()),
                                       "publication_attendees": ["lscb_chair"],
                                       "publication_recommendation": "publish_deferred"})
    d.complete("publication_decision", {"publication_decision": "publish_deferred", "publication_date": "2025-03-03",
                                        "documents_to_publish": ["executive_summary"], "deferral_reasons": "appeal"})
    assert d.task("send_publication_date").role == "lscb_administrator"
    assert d.case.data["publication_date"] == "2025-03-03"


# ------------------------------------------------------------------------------------------ defect 3: 10.1
def test_the_familys_involvement_is_decided_at_meeting_2_and_a_family_involved_later_is_told_the_findings() -> None:
    d = drive(False)
    to_decision(d)
    review_weeks_0_to_26(d, FAMILY_NOT_INVOLVED, family_later="yes")  # checks the decision is due in week 2
    assert d.case.data["family_involved_later"] == "yes"
    after_week_26(d, family_involved=True)  # the findings are shared with them (gap 38)


def test_a_family_still_not_involved_after_the_plan_is_acted_on_is_not_sent_the_findings() -> None:
    d = drive(False)
    to_decision(d)
    review_weeks_0_to_26(d, FAMILY_NOT_INVOLVED, family_later="no")
    after_week_26(d, family_involved=False)


# ------------------------------------------------------------------------------------------ defect 4: 7.3, 7.7
def test_a_decision_against_an_scr_is_told_to_ofsted_by_the_chair_and_an_alternative_review_is_optional() -> None:
    d = drive(False)
    to_decision(d, kind="no_scr")
    assert d.case.data["ofsted_notified_date"] == day(DECISION)  # told by the LSCB Chair in to_decision
    assert d.task("alt_plan").role == "standing_panel"
    d2 = drive(False)
    to_the_chair(d2)
    d2.complete("chair_consider", CONSIDERED)
    d2.complete("cin_ofsted", {"cin_submitted_date": day(START), "cin_anonymised": True})
    d2.complete("request_briefings", {"briefing_agencies": AGENCIES, "briefing_request_date": day(START)})
    d2.complete("briefings_received", {"briefing_reports_received": [], "briefing_circulated_date": day(START)})
    d2.complete("panel_meeting_1", meeting1("alternative_review"))
    d2.complete("chair_decision", {**decision("no_scr"), "no_scr_outcome": "no_further_review"})
    told = d2.task("notify_decision")
    assert told.role == "lscb_chair"
    d2.complete("notify_decision", {"ofsted_notified_date": day(DECISION), "bodies_notified": ["ofsted"],
                                    "notification_anonymised": True})
    assert d2.case.completed and "alt_plan" not in names(d2)


def test_a_case_the_chair_does_not_refer_is_told_to_ofsted() -> None:
    d = drive(False)
    to_the_chair(d)
    d.complete("chair_consider", {**CONSIDERED, "appears_to_meet_criteria": "no"})
    told = d.task("notify_no_scr")
    assert told.role == "lscb_chair"
    d.complete("notify_no_scr", {"ofsted_told_no_scr_date": day(START), "ofsted_notice_anonymised": True})
    assert d.case.data["ofsted_told_no_scr_date"] == day(START)
    assert d.task("not_referred").role == "lscb_administrator"


# ------------------------------------------------------------------------------------------ defect 5: 3.1, 10.2
def test_the_chairs_first_consideration_asks_about_other_children_and_records_the_action() -> None:
    d = drive(False)
    to_the_chair(d)
    consider = d.task("chair_consider")
    assert consider.role == "lscb_chair"
    with pytest.raises(InvalidSubmission):
        d.complete("chair_consider", {**CONSIDERED, "other_children_at_risk": "yes"})  # the action is required
    d.complete("chair_consider", {**CONSIDERED, "other_children_at_risk": "yes",
                                  "other_children_action": "strategy_discussion"})
    assert d.case.data["other_children_action"] == "strategy_discussion"
    assert d.case.data["other_children_at_risk"] == "yes"


# ------------------------------------------------------------------------------------------ defect 8: 19.2
@pytest.mark.parametrize("letter", [
    pytest.param({"ofsted_grading": "good", "exec_summary_published_before_feedback": True}, id="published-early"),
    pytest.param({"ofsted_grading": "inadequate", "exec_summary_published_before_feedback": False}, id="inadequate"),
])
def test_the_lscb_amends_the_action_plan_and_report_before_the_final_executive_summary(letter: dict[str, Any]) -> None:
    d = drive(False)
    to_decision(d)
    review_weeks_0_to_26(d, FAMILY_INVOLVED)
    d.complete("evaluation_letter", {"evaluation_letter_date": "2024-09-02", **letter})
    amend = d.task("amend_after_evaluation")
    assert amend.role == "lscb_board" and amend.due_at == datetime(2024, 10, 2, tzinfo=UTC)  # within the month
    assert "exec_summary_to_ofsted" not in names(d)
    d.complete("amend_after_evaluation", {"amendments_made": "actions 3-5 revised", "amended_date": "2024-09-10",
                                          "resubmitted_to_ofsted_date": "2024-09-11"})
    assert d.task("exec_summary_to_ofsted").role == "lscb_administrator"


def test_a_good_grade_with_nothing_published_early_needs_no_amendment() -> None:
    d = drive(False)
    to_decision(d)
    review_weeks_0_to_26(d, FAMILY_INVOLVED)
    d.complete("evaluation_letter", {"evaluation_letter_date": "2024-09-02", "ofsted_grading": "good",
                                     "exec_summary_published_before_feedback": False})
    assert "amend_after_evaluation" not in names(d) and d.task("exec_summary_to_ofsted")


# ------------------------------------------------------------------------------------------ defect 9: roles
def test_the_chair_tells_ofsted_the_administrator_records_the_commissioning_and_the_lscb_decides_publication() -> None:
    d = drive(False)
    to_decision(d)  # asserts notify_decision is the LSCB Chair's (7.3)
    commission(d)  # asserts record_commissioning is the administrator's, due a week after the decision (7.10)
    assert d.case.data["commissioned_on_behalf_of_lscb"] is True
