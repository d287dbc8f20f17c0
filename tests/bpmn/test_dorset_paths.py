"""Path tests for the Dorset SCR diagram (bpmn/dorset/scr_dorset.bpmn) and the shared IMR / alternative reviews.

Each path is run straight and with a save/restore of the case after every step. Week 0 of phase 1 is the day the
proforma is received (START, Monday 8 January 2024); the Chair decides in week 4 (5 February 2024), which is week 0
of the SCR timetable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from engine.workflow.runtime import HumanTask
from engine.workflow.specs import compile_processes, read_diagrams, read_forms
from tests.bpmn.harness import ROOT, START, Drive, repository_catalogue

PROCESS = "scr_dorset"
DECISION = datetime(2024, 2, 5, tzinfo=UTC)  # START + 4 weeks, 00:00
AGENCIES = ["social_care", "police", "health_acute"]
HEALTH = ["health_acute"]


def day(when: datetime) -> str:
    return when.date().isoformat()


def at_week(week: float) -> datetime:
    """An instant in week `week` of the SCR timetable (09:00 on decision day + week weeks)."""
    return DECISION + timedelta(weeks=week, hours=9)


# ------------------------------------------------------------------------------------------ form data
def proforma() -> dict[str, Any]:
    return {
        "requester_name": "A Referrer",
        "designation": "Social worker",
        "referrer_agency": "social_care",
        "family_details": "Family X, 1 Road, DOB 01/01/2020",
        "family_history": "history",
        "other_children_at_risk": "no",
        "concerns": "concerns",
        "criteria_evidence": "child died, neglect suspected",
        "line_manager_consulted": True,
        "request_signed_date": day(START),
        "safeguarding_lead": "lead.sc",
    }


def countersigned() -> dict[str, Any]:
    return {
        "countersign_outcome": "countersigned",
        "lead_print_name": "L Lead",
        "lead_signed_date": day(START),
        "lead_agency_organisation": "Children's Services",
    }


def received() -> dict[str, Any]:
    return {
        "proforma_received_date": day(START),
        "case_to_chair_attention": day(START),
        "distributed_to": ["LSCB Chair", "SCR Panel"],
    }


def meeting1(recommendation: str = "scr") -> dict[str, Any]:
    data: dict[str, Any] = {
        "meeting1_date": day(START + timedelta(weeks=3)),
        "mandatory_child_died_abuse_neglect": True,
        "mandatory_death_in_custody": False,
        "discretionary_harm": [],
        "worked_together_concerns": True,
        "indicators": {
            k: False
            for k in (
                "q1_harm_not_recognised_shared_or_acted_on",
                "q2_institutional_setting",
                "q3_looked_after",
                "q4_recently_moved_to_uk",
                "q5_unauthorised_absence",
                "q6_concerns_not_taken_seriously",
                "q7_wider_procedural_failings",
                "q8_child_protection_plan",
                "q9_range_of_agencies",
                "q10_protocols_need_change",
                "q11_national_or_public_interest",
            )
        },
        "recommendation": recommendation,
        "draft_terms_of_reference": "draft ToR",
        "anonymisation_key_set": True,
    }
    if recommendation == "scr":
        data.update(proposed_agencies=AGENCIES, proposed_panel_chair="Ind Chair", proposed_overview_author="Author")
    else:
        data["recommended_alternative"] = "case_audit"
    return data


def decision(kind: str = "scr", agencies: list[str] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "decision": kind,
        "decision_date": day(DECISION),
        "decision_reasons": "criteria 4.1",
        "follows_recommendation": True,
    }
    if kind == "scr":
        data.update(terms_of_reference="ToR", agencies=agencies or AGENCIES)
    else:
        data["no_scr_outcome"] = "alternative_review"  # 7.7: it may (gap 39)
    return data


NOTIFIED = {
    "ofsted_notified_date": day(DECISION),
    "bodies_notified": ["ofsted", "sha", "cqc", "hmic"],
    "cin_confirming_scr_date": day(DECISION),
    "notification_anonymised": True,
}
COMMISSION = {
    "panel_chair": "ind.chair",
    "overview_author": "ov.author",
    "health_overview_author": "health.author",
    "panel_members": ["panel.sc", "panel.police"],
    "panel_agencies": ["social_care", "police", "education", "health_commissioning"],
    "panel_chair_is_lscb_chair": False,
    "chair_briefing_arrangements": "monthly call",
}


COMMISSIONING = {
    "panel_chair_commissioned_date": day(DECISION),
    "commissioning_officer": "Director of Children's Services",
    "commissioned_on_behalf_of_lscb": True,
}


def imr_forms(agency: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (
            "imr_letter",
            {"chief_executive": f"ce.{agency}", "letter_sent_date": day(DECISION), "timetable_included": True},
        ),
        (
            "prep_name_author",
            {
                "imr_author": f"author.{agency}",
                "records_secured_date": day(DECISION),
                "author_independent": True,
                "resources_agreed": True,
            },
        ),
        ("prep_gather", {"records_reviewed": ["case file"]}),
        (
            "prep_interviews",
            {
                "interviews": [{"staff_role": "SW", "interview_date": day(DECISION), "record_shared": True}],
                "policies_not_followed": False,
            },
        ),
        (
            "prep_chronology",
            {
                "chronology_type": "significant_events",
                "persons_covered": ["C1"],
                "child_seen_recorded": True,
                "sources_distinguished": True,
            },
        ),
        (
            "prep_draft",
            {
                "draft_date": day(DECISION),
                "good_practice": "some",
                "recommendations": ["r1"],
                "chronology_appended": True,
            },
        ),
        (
            "prep_staff_read",
            {"staff_read_date": day(DECISION), "disagreement_unresolved": False, "staff_feedback_given": True},
        ),
        (
            "prep_signoff",
            {
                "ce_name": "CE",
                "imr_signed_off_date": day(DECISION),
                "imr_submitted_date": day(DECISION),
                "findings_accepted": True,
                "password_protected": True,
            },
        ),
    ]


REVIEW_OK = {"review_date": day(DECISION), "matches_terms_of_reference": True, "revisions_required": False}
REVIEW_REVISE = {
    "review_date": day(DECISION),
    "matches_terms_of_reference": False,
    "revisions_required": True,
    "revisions_requested": "more on supervision",
}
ACTION_PLAN = {
    "action_plan_sent_date": day(DECISION),
    "actions": [{"action": "train", "owner_role": "manager", "timescale": "2024-12-31"}],
}
MEETING_3 = {"meeting3_date": day(DECISION), "overview_author_instructed": True}
FAMILY_INVOLVED = {  # decided at Meeting 2 (10.1, gap 38)
    "family_involvement": "involved",
    "family_arrangements": "overview author meets mother",
}
FAMILY_NOT_INVOLVED = {
    "family_involvement": "not_involved",
    "family_not_involved_reasons": "police request",
    "family_involvement_plan": "after the trial",
}


# ------------------------------------------------------------------------------------------ drivers
def drive(save_restore: bool) -> Drive:
    return Drive(PROCESS, save_restore=save_restore)


def to_decision(d: Drive, kind: str = "scr", agencies: list[str] | None = None) -> None:
    """Phase 1: proforma to the LSCB Chair's decision in week 4, checking who gets what and when."""
    assert d.task("proforma").role == "referrer"
    d.complete("proforma", proforma())
    assert ("safeguarding_lead", "lead.sc", "social_care") in d.assignments
    lead = d.task("countersign")
    assert (lead.role, lead.agency) == ("safeguarding_lead", "social_care")
    d.complete("countersign", countersigned())
    assert d.task("receive_proforma").role == "lscb_administrator"
    d.complete("receive_proforma", received())
    chair = d.task("chair_consider")
    assert chair.role == "lscb_chair" and chair.week == 1
    d.complete(
        "chair_consider",
        {
            "appears_to_meet_criteria": "yes",
            "child_died": True,
            "cdop_contacted_date": day(START),
            "consideration_notes": "refer",
        },
    )
    d.advance(weeks=1)
    d.complete("cin_ofsted", {"cin_submitted_date": day(d.clock.now()), "cin_anonymised": True})
    d.complete("request_briefings", {"briefing_agencies": AGENCIES, "briefing_request_date": day(d.clock.now())})
    d.advance(weeks=1)
    assert d.task("briefings_received").due_at == START.replace(hour=0) + timedelta(weeks=2)
    d.complete(
        "briefings_received", {"briefing_reports_received": AGENCIES, "briefing_circulated_date": day(d.clock.now())}
    )
    d.advance(weeks=1)
    m1 = d.task("panel_meeting_1")
    assert m1.role == "standing_panel" and m1.week == 3
    d.complete("panel_meeting_1", meeting1("scr" if kind == "scr" else "alternative_review"))
    d.advance(weeks=1)
    decide = d.task("chair_decision")
    assert decide.role == "lscb_chair"
    assert decide.due_at == datetime(2024, 2, 8, tzinfo=UTC)  # one month from the case reaching the Chair (8.2)
    d.complete("chair_decision", decision(kind, agencies))
    assert d.task("notify_decision").role == "lscb_chair"  # 7.3: the Chair tells Ofsted (issue 10 defect 9)
    d.complete("notify_decision", NOTIFIED)


def commission(d: Drive) -> None:
    task = d.task("commission")
    assert task.role == "lscb_chair"
    d.complete("commission", COMMISSION)
    assert ("panel_chair", "ind.chair", None) in d.assignments
    recorded = d.task("record_commissioning")  # 7.10: commissioned by the Local Authority (gap 43)
    assert recorded.role == "lscb_administrator" and recorded.due_at == DECISION + timedelta(weeks=1)
    d.complete("record_commissioning", COMMISSIONING)


def prepare_imr(d: Drive, agency: str, upto: str | None = None) -> None:
    for name, data in imr_forms(agency)[1:]:
        if name == upto:
            return
        d.complete(name, data, agency=agency)


def to_week(d: Drive, week: float) -> None:
    d.advance_to(at_week(week))


def review_weeks_0_to_26(
    d: Drive, family: dict[str, Any], revise: str | None = None, late: str | None = None, submit: bool = True,
    proceedings: Callable[[Drive], None] | None = None, family_later: str = "no",
) -> None:
    """Phase 2 week by week; `revise` sends that agency's IMR back once, `late` leaves that IMR past its deadline;
    `proceedings` (when given) says at Meeting 5 that proceedings are running and then acts on them;
    `family_later` is the answer when the plan to involve a family not involved at first is acted on."""
    commission(d)
    letters = d.tasks("lscb_administrator")
    assert sorted(t.agency or "" for t in letters if t.name == "imr_letter") == sorted(AGENCIES), \
        "each administrator's letter says which agency it is for"
    for agency in AGENCIES:
        complete_for_agency(d, "imr_letter", agency, imr_forms(agency)[0][1])
    for agency in AGENCIES:
        assert ("chief_executive", f"ce.{agency}", agency) in d.assignments  # named in the 9.2 letter
        assert d.task("prep_name_author", agency=agency).role == "chief_executive"
    for agency in AGENCIES:
        if agency != late:
            prepare_imr(d, agency, upto="prep_signoff")
    assert ("imr_author", f"author.{AGENCIES[0]}", AGENCIES[0]) in d.assignments
    to_week(d, 2)
    d.complete(
        "panel_meeting_2",
        {"meeting2_date": day(d.clock.now()), "imr_briefing_date": day(d.clock.now()), "imr_format_agreed": True},
    )
    family_task = d.task("family_involvement_decision")
    assert (family_task.role, family_task.week) == ("panel_chair", 2)  # at the earliest opportunity (10.1, gap 38)
    d.complete("family_involvement_decision", family)
    for agency in AGENCIES:
        if agency != late:
            signoff = d.task("prep_signoff", agency=agency)
            expected_week = 6 if agency in HEALTH else 8
            assert signoff.week == expected_week  # the week its due date falls in (8.5: health IMRs by week 6)
            assert signoff.due_at == DECISION + timedelta(weeks=expected_week)
            d.complete("prep_signoff", imr_forms(agency)[-1][1], agency=agency)
    if late:
        d.advance_to(DECISION + timedelta(weeks=5, hours=10))
        assert not d.notices_of("reminder", "imr_author"), "the late IMR is due in week 8: nobody is reminded yet"
    to_week(d, 6)
    d.complete("health_imrs_received", {"health_imrs_received_date": day(d.clock.now()), "health_imrs_from": HEALTH})
    hoa = d.task("health_overview_draft")
    assert hoa.role == "health_overview_author"
    assert hoa.due_at == datetime.fromisoformat(day(d.clock.now())).replace(tzinfo=UTC) + timedelta(weeks=5)
    if late:
        d.advance_to(DECISION + timedelta(weeks=7, hours=10))  # one week before its own deadline (8.5, App. 2)
        assert [n.agency for _, n in d.notices_of("reminder", "imr_author")] == [late]
        assert not d.notices_of("escalation")
        d.advance_to(DECISION + timedelta(weeks=8, hours=10))  # the agency's deadline, the one its tasks show, passed
        escalations = [(n.role, n.agency) for _, n in d.notices_of("escalation")]
        assert escalations == [("chief_executive", late), ("lscb_administrator", late)]
        prepare_imr(d, late)
    to_week(d, 8)
    d.complete("all_imrs_received", {"all_imrs_received_date": day(d.clock.now()), "imrs_outstanding": []})
    to_week(d, 9)
    reviews = [t for t in d.tasks("panel_member") if t.name == "imr_panel_review"]
    assert len(reviews) == len(AGENCIES)
    for task in reviews:
        assert task.due_at == DECISION + timedelta(weeks=9)
    for agency in AGENCIES:
        complete_for_agency(d, "imr_panel_review", agency, REVIEW_REVISE if agency == revise else REVIEW_OK)
    d.complete("panel_meeting_3", MEETING_3)
    if revise:
        to_week(d, 12)
        assert d.task("imr_revise", agency=revise).due_at == DECISION + timedelta(weeks=12)
        d.complete("imr_revise", {"revision_summary": "added", "resubmitted_date": day(d.clock.now())}, agency=revise)
        d.complete(
            "imr_resign", {"revised_imr_signed_date": day(d.clock.now()), "findings_accepted": True}, agency=revise
        )
        again = complete_for_agency(d, "imr_panel_review", revise, REVIEW_OK)
        assert again.due_at == DECISION + timedelta(weeks=15)
    if not revise:
        to_week(d, 11)
    d.complete(
        "health_overview_draft",
        {"health_overview_draft_date": day(d.clock.now()), "integrated_health_chronology": True},
    )
    to_week(d, 14)
    for agency in AGENCIES:
        d.complete("imr_action_plan", ACTION_PLAN, agency=agency)
    d.complete("overview_draft", {"overview_draft_date": day(d.clock.now()), "further_information_needed": []})
    if family["family_involvement"] == "involved":
        assert d.task("family_feedback").role == "overview_author"
        d.complete(
            "family_feedback",
            {"family_contact_dates": [day(d.clock.now())], "family_feedback_summary": "mother's views"},
        )
    else:
        assert not [t for t in d.tasks() if t.name == "family_feedback"]
    to_week(d, 15)
    m4 = d.task("panel_meeting_4")
    assert (m4.role, m4.week) == ("panel_chair", 15)
    d.complete("panel_meeting_4", {"meeting4_date": day(d.clock.now()), "emerging_themes": ["supervision"]})
    to_week(d, 18)
    d.complete("final_overview", {"final_overview_date": day(d.clock.now()), "exec_summary_included": True})
    d.complete("final_health_overview", {"final_health_overview_date": day(d.clock.now())})
    to_week(d, 19)
    d.complete("panel_meeting_5", {"meeting5_date": day(d.clock.now()), "exec_summary_agreed": True,
                                   "proceedings_running": "yes" if proceedings else "no"})
    if proceedings:
        proceedings(d)
    if family["family_involvement"] == "not_involved":
        later = d.task("involve_family_later")  # 10.1: the plan for later involvement is acted on (gap 38)
        assert later.role == "panel_member"
        answer: dict[str, Any] = {"family_involved_later": family_later, "family_later_notes": "notes"}
        if family_later == "yes":
            answer["family_involved_later_date"] = day(d.clock.now())
        d.complete("involve_family_later", answer)
    assert d.task("draft_action_plan").role == "panel_member"
    d.complete(
        "draft_action_plan", {"scr_actions": [{"action": "audit", "lead_agency": "police", "timescale": "2024-12-31"}]}
    )
    to_week(d, 20)
    d.complete("agency_consultation", {"consulted_agencies": AGENCIES, "written_feedback_received": AGENCIES})
    to_week(d, 22)
    d.complete("anonymised_imrs", {"anonymised_imrs_received": AGENCIES, "anonymised_imrs_outstanding": []})
    to_week(d, 23)
    d.complete(
        "panel_meeting_6",
        {
            "meeting6_date": day(d.clock.now()),
            "overview_signed_off": True,
            "exec_summary_signed_off": True,
            "action_plan_signed_off": True,
            "synopsis": "learning",
        },
    )
    to_week(d, 24)
    d.complete("staff_debrief", {"staff_debrief_dates": [day(d.clock.now())], "debriefed_agencies": AGENCIES})
    to_week(d, 25)
    present = d.task("lscb_presentation")
    assert (present.role, present.week) == ("panel_chair", 25)
    d.complete(
        "lscb_presentation",
        {
            "chair_findings_meeting_date": day(d.clock.now()),
            "lscb_meeting_date": day(d.clock.now()),
            "panel_members_present_or_views_sent": True,
        },
    )
    assert d.task("lscb_signoff").role == "lscb_board"
    d.complete("lscb_signoff", {"lscb_signoff": "signed_off", "lscb_signoff_date": day(d.clock.now())})
    if not submit:
        return
    d.advance(days=5)  # week 25 + 5 days: still inside six months
    submit_to_ofsted(d)


def submit_to_ofsted(d: Drive) -> None:
    submit = d.task("submit_to_ofsted")
    assert submit.week == 26 and submit.due_at == DECISION + timedelta(weeks=26)
    d.complete(
        "submit_to_ofsted",
        {
            "ofsted_submission_date": day(d.clock.now()),
            "submission_recipients": ["ofsted", "sha", "dfe"],
            "submission_anonymised": True,
        },
    )


def complete_for_agency(d: Drive, name: str, agency: str, data: dict[str, Any]) -> HumanTask:
    """Complete the ready `name` task of one IMR instance whose role is not agency scoped (administrator, panel).

    HumanTask.agency is only filled for agency-scoped roles, so the instance is found through its data.
    """
    for task in d.tasks():
        if task.name == name and d.case.workflow.get_task_from_id(UUID(task.id)).data.get("agency") == agency:
            d._after(d.case.complete(task.id, data, d.clock))
            return task
    raise AssertionError(f"no ready {name} for {agency}")


def after_week_26(d: Drive, family_involved: bool, monitoring_rounds: int = 1) -> None:
    letter_day = DECISION + timedelta(weeks=30)
    d.advance_to(letter_day + timedelta(hours=9))
    d.complete(
        "evaluation_letter",
        {
            "evaluation_letter_date": day(letter_day),
            "ofsted_grading": "good",
            "exec_summary_published_before_feedback": False,
        },
    )
    sent = d.task("exec_summary_to_ofsted")
    assert sent.due_at == datetime(2024, 10, 2, tzinfo=UTC)  # one month after the letter (8.4)
    d.complete(
        "exec_summary_to_ofsted",
        {
            "exec_summary_sent_date": day(d.clock.now()),
            "sent_to": "SCR.SIN@ofsted.gov.uk",
            "exec_summary_anonymised": True,
        },
    )
    if family_involved:
        assert d.task("share_with_family").role == "panel_chair"
        d.complete("share_with_family", {"family_shared_date": day(d.clock.now()), "family_shared_how": "visit"})
    else:
        assert not [t for t in d.tasks() if t.name == "share_with_family"]
    assert d.task("publication_meeting").role == "business_manager"
    d.complete(
        "publication_meeting",
        {
            "publication_meeting_date": day(d.clock.now()),
            "publication_attendees": ["lscb_chair", "lscb_administrator"],
            "publication_recommendation": "publish",
        },
    )
    assert d.task("publication_decision").role == "lscb_board"  # 19.3: the LSCB decides on the panel's advice
    d.complete("publication_decision", {"publication_decision": "publish", "publication_date": "2024-10-15",
                                        "documents_to_publish": ["executive_summary", "synopsis_of_learning"]})
    assert d.task("send_publication_date").role == "lscb_administrator"  # 8.4, gap 37: after the decision
    d.complete("send_publication_date", {"publication_date_sent_date": day(d.clock.now())})
    for _ in range(monitoring_rounds - 1):
        assert d.task("monitor_action_plan").role == "qa_group"
        d.complete(
            "monitor_action_plan",
            {"monitoring_date": day(d.clock.now()), "actions_outstanding": ["audit"], "action_plan_implemented": False},
        )
        assert not [t for t in d.tasks() if t.name == "monitor_action_plan"]
        d.advance(weeks=12, days=1)
    d.complete(
        "monitor_action_plan",
        {"monitoring_date": day(d.clock.now()), "actions_outstanding": [], "action_plan_implemented": True},
    )
    assert d.task("conclude").role == "lscb_board"
    d.complete("conclude", {"concluded_date": day(d.clock.now()), "government_informed_date": day(d.clock.now())})
    assert d.case.completed


MODES = [pytest.param(False, id="straight"), pytest.param(True, id="save-restore-every-step")]


# ------------------------------------------------------------------------------------------ tests
@pytest.mark.parametrize("save_restore", MODES)
def test_an_scr_runs_from_proforma_to_formal_conclusion(save_restore: bool) -> None:
    d = drive(save_restore)
    to_decision(d)
    review_weeks_0_to_26(d, FAMILY_INVOLVED)
    after_week_26(d, family_involved=True, monitoring_rounds=2)
    assert not d.notices_of("escalation")
    assert len(d.case.data["imrs"]) == len(AGENCIES)
    assert {i["agency"] for i in d.case.data["imrs"]} == set(AGENCIES)


@pytest.mark.parametrize("save_restore", MODES)
def test_when_the_family_is_not_involved_no_family_tasks_are_created(save_restore: bool) -> None:
    d = drive(save_restore)
    to_decision(d)
    review_weeks_0_to_26(d, FAMILY_NOT_INVOLVED)
    after_week_26(d, family_involved=False)
    assert d.case.data["family_involvement_plan"] == "after the trial"


@pytest.mark.parametrize("save_restore", MODES)
def test_an_imr_sent_back_by_the_panel_is_revised_resubmitted_and_reviewed_again(save_restore: bool) -> None:
    d = drive(save_restore)
    to_decision(d)
    review_weeks_0_to_26(d, FAMILY_INVOLVED, revise="police")
    after_week_26(d, family_involved=True)
    outcomes = {i["agency"]: i["revisions"] for i in d.case.data["imrs"]}
    assert outcomes == {"social_care": 0, "police": 1, "health_acute": 0}


@pytest.mark.parametrize("save_restore", MODES)
def test_a_late_imr_reminds_its_author_a_week_before_its_deadline_and_escalates_when_it_passes(
        save_restore: bool) -> None:
    d = drive(save_restore)
    to_decision(d)
    review_weeks_0_to_26(d, FAMILY_INVOLVED, late="police")
    after_week_26(d, family_involved=True)
    assert len(d.notices_of("reminder", "imr_author")) == 1
    assert len(d.notices_of("escalation")) == 2


@pytest.mark.parametrize("save_restore", MODES)
def test_an_scr_running_past_six_months_has_ofsted_advised_and_the_lscb_revise_its_timetable(
        save_restore: bool) -> None:
    d = drive(save_restore)
    to_decision(d)
    review_weeks_0_to_26(d, FAMILY_INVOLVED, submit=False)
    assert not [t for t in d.tasks() if t.name == "revise_timetable"]
    d.advance_to(datetime(2024, 8, 5, 1, tzinfo=UTC))  # six calendar months after 5 February 2024
    assert [(n.role, n.element) for _, n in d.notices_of("escalation")] == [("lscb_chair", "ev_completion_escalation")]
    assert d.task("advise_ofsted_extension").role == "lscb_chair"
    d.complete("advise_ofsted_extension", {"ofsted_extension_advised_date": day(d.clock.now())})
    assert d.task("revise_timetable").role == "lscb_board"
    d.complete("revise_timetable", {"revised_completion_date": "2024-10-01", "delay_reasons": "criminal trial",
                                    "timetable_put_back_weeks": 8})
    assert d.task("progress_update").role == "lscb_board"
    submit_to_ofsted(d)  # the review itself carries on; its end withdraws the progress update
    assert not [t for t in d.tasks() if t.name in ("progress_update", "raise_overrun_pc", "raise_overrun_admin")]
    after_week_26(d, family_involved=True)


ALTERNATIVES = {
    "single_imr": [
        (
            "alt_single_commission",
            "chief_executive",
            {"imr_author": "author.police", "records_secured_date": "2024-02-06"},
        ),
        (
            "alt_single_write",
            "imr_author",
            {"single_imr_findings": "f", "single_imr_recommendations": ["r"], "single_imr_date": "2024-03-01"},
        ),
        (
            "alt_single_signoff",
            "chief_executive",
            {"single_imr_signed_date": "2024-03-02", "single_imr_action_plan": "plan"},
        ),
    ],
    "case_audit": [
        (
            "alt_case_audit",
            "standing_panel",
            {"audit_agencies": ["police"], "audit_findings": "f", "audit_completed_date": "2024-03-01"},
        )
    ],
    "case_debrief": [
        (
            "alt_case_debrief",
            "standing_panel",
            {"debrief_date": "2024-03-01", "debrief_agencies": ["police"], "debrief_findings": "f"},
        )
    ],
    "other_review": [
        (
            "alt_other_review",
            "standing_panel",
            {"other_review_method": "learning review", "other_review_findings": "f", "other_review_date": "2024-03-01"},
        )
    ],
}


@pytest.mark.parametrize("save_restore", MODES)
@pytest.mark.parametrize("kind", list(ALTERNATIVES))
def test_a_decision_against_an_scr_runs_the_chosen_alternative_review_and_shares_its_findings(
    kind: str, save_restore: bool
) -> None:
    d = drive(save_restore)
    to_decision(d, kind="no_scr")
    plan = d.task("alt_plan")
    assert plan.role == "standing_panel" and plan.due_at == DECISION + timedelta(weeks=2)
    data: dict[str, Any] = {"alternative_type": kind, "review_description": "scope", "review_target_date": "2024-04-01"}
    if kind == "single_imr":
        data["review_agency"] = "police"
    d.complete("alt_plan", data)
    for name, role, form in ALTERNATIVES[kind]:
        task = d.task(name)
        assert task.role == role and task.due_at == datetime(2024, 4, 1, tzinfo=UTC)  # the agreed target date
        if role in ("chief_executive", "imr_author"):
            assert task.agency == "police"
        d.complete(name, form)
    d.complete(
        "alt_findings", {"findings_received_date": "2024-03-05", "findings_summary": "s", "learning_points": ["l"]}
    )
    assert d.task("alt_qa").role == "qa_group"
    d.complete("alt_qa", {"qa_received_date": "2024-03-06", "qa_actions_to_monitor": []})
    d.complete("alt_synopsis", {"synopsis": "s", "synopsis_date": "2024-03-07", "shared_with_both_lscbs": True})
    assert d.case.completed
    outcome = d.case.data["alternative_outcome"]
    assert outcome["type"] == kind and outcome["synopsis_date"] == "2024-03-07"
    assert outcome["agency"] == ("police" if kind == "single_imr" else None)
    assert "imrs" not in d.case.data


@pytest.mark.parametrize("save_restore", MODES)
def test_the_chair_and_administrator_are_escalated_when_the_month_for_deciding_runs_out(save_restore: bool) -> None:
    d = drive(save_restore)
    d.complete("proforma", proforma())
    d.complete("countersign", countersigned())
    d.complete("receive_proforma", received())
    d.complete("chair_consider", {"appears_to_meet_criteria": "yes", "child_died": False, "consideration_notes": "x"})
    d.complete("cin_ofsted", {"cin_submitted_date": day(START), "cin_anonymised": True})
    d.complete("request_briefings", {"briefing_agencies": AGENCIES, "briefing_request_date": day(START)})
    d.complete("briefings_received", {"briefing_reports_received": [], "briefing_circulated_date": day(START)})
    d.complete("panel_meeting_1", meeting1())
    d.advance_to(datetime(2024, 2, 7, 23, tzinfo=UTC))
    assert not d.notices_of("escalation")
    d.advance_to(datetime(2024, 2, 8, 1, tzinfo=UTC))
    assert [n.role for _, n in d.notices_of("escalation")] == ["lscb_chair", "lscb_administrator"]
    assert d.task("chair_decision")  # the Chair can still decide: the timer does not interrupt


@pytest.mark.parametrize("save_restore", MODES)
def test_a_request_the_safeguarding_lead_does_not_countersign_ends_with_the_way_forward_recorded(
    save_restore: bool,
) -> None:
    d = drive(save_restore)
    d.complete("proforma", proforma())
    d.complete(
        "countersign",
        {
            "countersign_outcome": "criteria_not_met",
            "lead_print_name": "L",
            "lead_signed_date": day(START),
            "lead_agency_organisation": "CS",
            "way_forward": "single-agency learning review",
        },
    )
    assert d.case.completed and not d.tasks()


@pytest.mark.parametrize("save_restore", MODES)
def test_a_case_the_chair_finds_outside_the_criteria_is_not_referred_to_the_panel(save_restore: bool) -> None:
    d = drive(save_restore)
    d.complete("proforma", proforma())
    d.complete("countersign", countersigned())
    d.complete("receive_proforma", received())
    d.complete("chair_consider", {"appears_to_meet_criteria": "no", "child_died": False, "consideration_notes": "x"})
    assert d.task("notify_no_scr").role == "lscb_chair"  # 7.3: Ofsted is told of a decision not to hold an SCR
    d.complete("notify_no_scr", {"ofsted_told_no_scr_date": day(START), "ofsted_notice_anonymised": True})
    assert d.task("not_referred").role == "lscb_administrator"
    d.complete("not_referred", {"referrer_told_date": day(START)})
    assert d.case.completed


def _letters_sent(d: Drive) -> None:
    to_decision(d)
    commission(d)
    for agency in AGENCIES:
        complete_for_agency(d, "imr_letter", agency, imr_forms(agency)[0][1])
        complete_for_agency(d, "prep_name_author", agency, imr_forms(agency)[1][1])


@pytest.mark.parametrize("save_restore", MODES)
def test_editing_the_imr_deadline_in_the_diagram_moves_the_due_dates_the_reminder_and_the_escalation(
        save_restore: bool) -> None:
    diagrams = read_diagrams([ROOT / "bpmn"])
    text = diagrams["dorset/scr_dorset.bpmn"].decode()
    assert text.count('"imr": 8, "health_imr": 6') == 1
    diagrams["dorset/scr_dorset.bpmn"] = text.replace('"imr": 8, "health_imr": 6', '"imr": 4, "health_imr": 4').encode()
    process = compile_processes(diagrams, read_forms(ROOT / "forms"), repository_catalogue(), [PROCESS])[PROCESS]
    d = Drive(PROCESS, save_restore=save_restore, process=process)
    _letters_sent(d)
    assert {t.due_at for t in d.tasks() if t.name == "prep_gather"} == {DECISION + timedelta(weeks=4)}
    d.advance_to(DECISION + timedelta(weeks=3, hours=1))
    assert sorted(n.agency or "" for _, n in d.notices_of("reminder", "imr_author")) == sorted(AGENCIES)
    d.advance_to(DECISION + timedelta(weeks=4) - timedelta(minutes=1))
    assert not d.notices_of("escalation")
    d.advance_to(DECISION + timedelta(weeks=4, hours=1))
    escalated = [(n.role, n.agency) for _, n in d.notices_of("escalation")]
    assert sorted(escalated) == sorted(
        [("chief_executive", a) for a in AGENCIES] + [("lscb_administrator", a) for a in AGENCIES]
    )


@pytest.mark.parametrize("save_restore", MODES)
def test_each_imr_is_escalated_at_the_deadline_its_own_tasks_show(save_restore: bool) -> None:
    d = drive(save_restore)
    _letters_sent(d)
    due = {t.agency: t.due_at for t in d.tasks() if t.name == "prep_gather"}
    assert due == {a: DECISION + timedelta(weeks=6 if a in HEALTH else 8) for a in AGENCIES}  # 8.5, gap 13
    d.advance_to(DECISION + timedelta(weeks=6, hours=1))
    assert [n.agency for _, n in d.notices_of("escalation", "chief_executive")] == HEALTH
    assert [n.agency for _, n in d.notices_of("reminder", "imr_author")] == HEALTH  # a week before week 6
    d.advance_to(DECISION + timedelta(weeks=8, hours=1))
    assert sorted(n.agency or "" for _, n in d.notices_of("reminder", "imr_author")) == sorted(AGENCIES)
    assert sorted(n.agency or "" for _, n in d.notices_of("escalation", "chief_executive")) == sorted(AGENCIES)


@pytest.mark.parametrize("save_restore", MODES)
def test_the_chair_is_escalated_when_the_final_executive_summary_is_not_sent_within_a_month(
    save_restore: bool,
) -> None:
    d = drive(save_restore)
    to_decision(d)
    review_weeks_0_to_26(d, FAMILY_INVOLVED)
    d.complete(
        "evaluation_letter",
        {
            "evaluation_letter_date": "2024-09-02",
            "ofsted_grading": "adequate",
            "exec_summary_published_before_feedback": False,
        },
    )
    d.advance_to(datetime(2024, 10, 1, 23, tzinfo=UTC))
    assert not d.notices_of("escalation")
    d.advance_to(datetime(2024, 10, 2, 1, tzinfo=UTC))
    assert [(n.role, n.element) for _, n in d.notices_of("escalation")] == [("lscb_chair", "exec_summary_overdue")]
    assert d.task("exec_summary_to_ofsted").role == "lscb_administrator"
