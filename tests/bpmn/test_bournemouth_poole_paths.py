"""Bournemouth & Poole SCR (bpmn/bournemouth-poole/scr_bournemouth_poole.bpmn): every path, step by step.

Each test drives one case on a frozen clock and saves/restores it after every step. Week numbers follow the B&P
timetable (App. 2): pre-decision weeks count from the CIN (`cin_date`), the review from the Chair's decision
(`decision_date`, gap 10).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from jsonschema import Draft202012Validator

from engine.workflow.runtime import HumanTask
from tests.bpmn.harness import Drive

PROCESS = "scr_bournemouth_poole"
CIN = datetime(2024, 1, 8, tzinfo=UTC)  # B&P week 0: CIN submitted by the Local Authority
ATTENTION = datetime(2024, 1, 10, tzinfo=UTC)  # the case reaches the LSCB Chair (8.2)
DECISION = datetime(2024, 1, 29, tzinfo=UTC)  # the Chair decides (review week 0)
AGENCIES = ["social_care", "police"]

INDICATORS = [
    "harm_not_recognised",
    "institutional_setting",
    "looked_after",
    "recently_moved_to_uk",
    "unauthorised_absence",
    "concerns_not_taken_seriously",
    "procedural_failings_beyond_case",
    "child_protection_plan",
    "range_of_agencies",
    "protocols_need_change",
    "national_implications",
]


def day(moment: datetime) -> str:
    return moment.date().isoformat()


FORMS: dict[str, dict[str, Any]] = {
    "submit_proforma": dict(
        requester_name="Alex Referrer",
        requester_designation="Social worker",
        referrer_agency="social_care",
        family_members=[{"name": "Child A", "relationship": "subject", "date_of_birth": "2020-05-01"}],
        family_address="1 Example Road",
        family_history="History.",
        concerns="Concerns.",
        criteria_evidence="Para 4.1 appears to be met.",
        other_children_at_risk="no",
        referrer_signed=True,
        referrer_print_name="Alex Referrer",
        referrer_signed_date="2024-01-08",
    ),
    "countersign_proforma": dict(
        countersign_outcome="countersigned",
        safeguarding_lead_print_name="Sam Lead",
        safeguarding_lead_signed=True,
        safeguarding_lead_signed_date="2024-01-09",
        safeguarding_lead_organisation="Children's Social Care",
    ),
    "receive_proforma": dict(
        proforma_received_date=day(ATTENTION),
        case_to_chair_attention=day(ATTENTION),
        anonymisation_key_allocated=True,
        case_code="BPSCB-2024-01",
    ),
    "record_cin": dict(cin_date=day(CIN), cin_submitted_by="Head of Service", cin_anonymised=True),
    "chair_consider_referral": dict(
        chair_referral="refer",
        child_died=True,
        cdop_manager_contacted=True,
        referred_to_subgroup_date="2024-01-11",
        other_children_at_risk="no",
        other_children_action="none_needed",
        other_children_action_notes="An only child.",
    ),
    "subgroup_recommendation": dict(
        mandatory_child_died_abuse_neglect=True,
        mandatory_death_in_custody=False,
        discretionary_5_2=True,
        indicators_5_3={k: k == "range_of_agencies" for k in INDICATORS},
        recommendation="scr",
        recommended_scope="Scope.",
        draft_terms_of_reference="Draft ToR.",
        panel_member_agencies=["social_care", "police", "education", "health_commissioning"],
        proposed_panel_chair="Pat Independent",
        recommendation_date="2024-01-25",
    ),
    "chair_decision": dict(
        decision="scr",
        decision_date=day(DECISION),
        followed_recommendation=True,
        terms_of_reference_approved=True,
        panel_chair_user="pat.chair",
        panel_member_users=["panel.one", "panel.two"],
    ),
    "letter_to_ofsted": dict(ofsted_confirmation_date="2024-02-01", ofsted_letter_anonymised=True),
    "notify_other_bodies": dict(bodies_notified=["sha", "cqc", "hmic"], notifications_confirmed_date="2024-02-01"),
    "letters_to_chief_officers": dict(agencies=AGENCIES, letters_sent_date="2024-02-01", tor_enclosed=True),
    "imr_author_briefing": dict(briefing_date="2024-02-15", imr_format_confirmed=True),
    "first_panel_meeting": dict(
        first_panel_date="2024-02-22",
        final_terms_of_reference="Final ToR.",
        family_involvement="involved",
        proceedings_running="no",
        overview_author_user="olive.author",
        health_overview_author_user="harriet.health",
    ),
    "family_involvement_plan": dict(family_facilitator="Social work manager", family_involvement_method="Meetings."),
    "family_not_involved": dict(
        family_not_involved_reasons="Police request: criminal proceedings.",
        family_requested_by="police",
        family_later_involvement_plan="After the trial.",
    ),
    "receive_chronologies": dict(chronologies_received=AGENCIES, chronologies_merged=True),
    "circulate_imrs": dict(imrs_received=AGENCIES, imrs_circulated_date="2024-04-01"),
    "panel_imr_review_meeting": dict(imr_review_date="2024-04-08"),
    "overview_first_draft": dict(overview_draft_date="2024-05-06", overview_draft_reference="OV-1"),
    "health_overview_first_draft": dict(
        health_overview_draft_date="2024-05-06", health_overview_reference="HOV-1", integrated_health_chronology=True
    ),
    "panel_final_imrs": dict(
        final_imrs_meeting_date="2024-05-27", final_imrs_agreed=True
    ),
    "revised_overview": dict(revised_overview_date="2024-06-03", revised_overview_reference="OV-2"),
    "revised_health_overview": dict(
        revised_health_overview_date="2024-06-03", revised_health_overview_reference="HOV-2"
    ),
    "panel_review_revised_overview": dict(
        overview_review_date="2024-06-10",
        exec_summary_received=True,
        recommendations_into_action_plan=True,
        proceedings_running="no",
    ),
    "revised_overview_exec_summary": dict(
        final_overview_date="2024-07-01",
        final_overview_reference="OV-3",
        exec_summary_reference="ES-1",
        exec_summary_anonymised_check=True,
    ),
    "findings_meeting": dict(findings_meeting_date="2024-07-08", panel_members_attending_board=True),
    "exec_board_signoff": dict(
        board_meeting_date="2024-07-15",
        signoff_outcome="signed_off",
        presented_by_panel_chair=True,
        documents_signed_off=["imrs", "overview_report", "action_plan", "executive_summary", "synopsis_of_learning"],
    ),
    "send_to_ofsted": dict(
        ofsted_submission_date="2024-07-26",
        documents_sent=["imrs", "overview_report", "executive_summary"],
        documents_anonymised=True,
    ),
    "monitor_action_plan": dict(monitoring_date="2024-08-05", action_plan_status="implemented"),
    "record_ofsted_evaluation": dict(letter_date="2024-09-02", ofsted_grade="good", exec_summary_published_early=False),
    "amend_after_evaluation": dict(amendments_made="Action plan amended.", amended_date="2024-09-09"),
    "send_final_exec_summary": dict(
        exec_summary_sent_date="2024-09-20", exec_summary_anonymised=True
    ),
    "share_with_family": dict(family_shared_date="2024-10-01", family_shared_by="Social work manager"),
    "publication_meeting": dict(
        publication_meeting_date="2024-10-07", publication_recommendation="publish", staff_follow_up_done=True
    ),
    "publication_decision": dict(
        publication_decision="publish",
        publication_date="2024-10-14",
        documents_to_publish=["overview_report", "executive_summary", "synopsis_of_learning"],
    ),
    "publish_documents": dict(published_date="2024-10-14", synopsis_shared_with_dorset=True),
    "formal_conclusion": dict(conclusion_date="2024-11-04", government_informed="dfe"),
    "revise_timetable": dict(
        revised_completion_date="2024-10-31", delay_reasons="Criminal trial.", timetable_put_back_weeks=13
    ),
    "advise_ofsted_extension": dict(ofsted_extension_advised_date="2024-07-30"),
    "progress_update": dict(
        early_recommendations="(a)",
        actions_to_date="(b)",
        extension_explanation="(c)",
        plan_revised_completion_date="2024-10-31",
    ),
}
FORMS.update({
    "approve_terms_of_reference": dict(
        terms_of_reference_approval="approved", terms_of_reference_approved_date="2024-02-23"
    ),
    "record_commissioning": dict(
        panel_chair_commissioned_date="2024-02-01",
        commissioning_officer="Director of Children's Services",
        commissioned_on_behalf_of_lscb=True,
    ),
    "involve_family_later": dict(family_involved_later="no", family_later_notes="The trial has not ended."),
    "send_publication_date": dict(publication_date_sent_date="2024-10-08"),
    "raise_overrun_pc": dict(overrun_raised_date="2024-05-01", overrun_reasons="Criminal trial listed for October."),
    "raise_overrun_admin": dict(overrun_raised_date="2024-05-01", overrun_reasons="Criminal trial listed for October."),
    "add_agency": dict(added_agency="probation", added_agency_reason="The father was under probation supervision."),
    "notify_no_scr": dict(
        ofsted_told_no_scr_date="2024-02-01", ofsted_notice_anonymised=True, referrer_told_date="2024-02-01"
    ),
})
# Standing steps (8.3 overrun, 9.1 added agency) stay open while the review runs: never completed by the helpers.
STANDING = {"raise_overrun_pc", "raise_overrun_admin", "add_agency"}
OWN_TASKS = set(FORMS)


def form(name: str, **changes: Any) -> dict[str, Any]:
    data = dict(FORMS[name])
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def at(weeks: float, anchor: datetime = DECISION) -> datetime:
    return anchor + timedelta(weeks=weeks)


def sample(schema: dict[str, Any], now: datetime) -> Any:
    """A value satisfying a (simple) JSON Schema, for forms owned by the common processes."""
    kind = schema.get("type")
    if "const" in schema:
        return schema["const"]
    if "oneOf" in schema and all("const" in o for o in schema["oneOf"]):
        return schema["oneOf"][0]["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        props = schema.get("properties", {})
        return {k: sample(props[k], now) for k in schema.get("required", []) if k in props}
    if kind == "array":
        items = schema.get("items", {})
        return [sample(items, now)] * max(1, schema.get("minItems", 1))
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if schema.get("format") == "date":
        return now.date().isoformat()
    if schema.get("format") == "date-time":
        return now.isoformat()
    return "text"


IMR_DEFAULTS = {"revisions_required": False}


def complete_common(drive: Drive, task: HumanTask, choices: dict[str, Any] | None = None) -> None:
    """Complete a task of imr_review/alternative_review with schema-generated data (plus `choices`).

    Completed by task id: the multi-instance IMR has one task of the same name per agency, also in lanes that are
    not agency-scoped (LSCB administrator, SCR Panel), which `Drive.complete` cannot tell apart.
    """
    assert task.form, task.name
    schema = drive.process.form(task.form)
    data = sample(schema, drive.clock.now())
    for key, value in {**IMR_DEFAULTS, **(choices or {})}.items():
        if key in schema.get("properties", {}):
            data[key] = value
    for _ in range(3):  # conditional requirements (if/then) of the form
        errors = Draft202012Validator(schema).iter_errors(data)
        missing = [e.validator_value for e in errors if e.validator == "required"]
        for names in missing:
            for name in names:
                data.setdefault(name, sample(schema["properties"][name], drive.clock.now()))
    drive.complete_task(task, data)


def finish_common_tasks(
    drive: Drive,
    choices: dict[str, Any] | None = None,
    stop: set[str] = frozenset(),
    agencies: list[str] | None = None,
    limit: int = 80,
) -> None:
    """Complete tasks of the called common processes until only this diagram's tasks (or `stop` tasks) are ready."""
    for _ in range(limit):
        pending = [
            t
            for t in drive.tasks()
            if t.name not in OWN_TASKS
            and t.name not in stop
            and (agencies is None or t.agency in agencies or t.agency is None)
        ]
        if not pending:
            return
        complete_common(drive, pending[0], choices)
    raise AssertionError("common process tasks did not finish")


def imr_tasks(drive: Drive, name: str) -> list[HumanTask]:
    return [t for t in drive.tasks() if t.name == name]


def refer(drive: Drive, **decision: Any) -> None:
    """Proforma to the Chair's decision, on time (B&P weeks 0-3)."""
    drive.complete("submit_proforma", form("submit_proforma"))
    drive.complete("countersign_proforma", form("countersign_proforma"))
    drive.complete("receive_proforma", form("receive_proforma"))
    drive.complete("record_cin", form("record_cin"))
    drive.complete("chair_consider_referral", form("chair_consider_referral"))
    drive.advance_to(at(2, CIN))
    drive.complete("subgroup_recommendation", form("subgroup_recommendation"))
    drive.advance_to(DECISION)
    drive.complete("chair_decision", form("chair_decision", **decision))
    if decision.get("decision") == "no_scr":  # 7.3: Ofsted (and the referrer) are told of a no-SCR decision (gap 39)
        assert drive.task("notify_no_scr").role == "lscb_chair"
        drive.complete("notify_no_scr", form("notify_no_scr"))


def agency_of(drive: Drive, task: HumanTask) -> str | None:
    """The `agency` of an IMR instance's task (also for lanes that are not agency-scoped)."""
    return drive.case.workflow.get_task_from_id(UUID(task.id)).data.get("agency")


def revise_imr_of(drive: Drive, agency: str) -> None:
    """The panel finds one agency's IMR inadequate at week 10; the author revises it and the CE re-signs by week 12."""
    [review] = [t for t in imr_tasks(drive, "imr_panel_review") if agency_of(drive, t) == agency]
    complete_common(drive, review, {"revisions_required": True, "revisions_requested": "Add the GP contacts."})
    revise = drive.task("imr_revise", agency=agency)
    assert (revise.role, revise.due_at) == ("imr_author", at(12))
    drive.complete("imr_revise", sample(drive.process.form(revise.form), drive.clock.now()), agency=agency)
    resign = drive.task("imr_resign", agency=agency)
    assert resign.role == "chief_executive"
    complete_common(drive, resign)
    [again] = [t for t in imr_tasks(drive, "imr_panel_review") if agency_of(drive, t) == agency]
    assert again.due_at == at(14)


def run_review_to_week_17(drive: Drive, family: str = "involved", revise_police: bool = False) -> None:
    drive.complete("letter_to_ofsted", form("letter_to_ofsted"))
    drive.complete("notify_other_bodies", form("notify_other_bodies"))
    drive.complete("record_commissioning", form("record_commissioning"))
    drive.complete("letters_to_chief_officers", form("letters_to_chief_officers"))
    drive.advance_to(at(2))
    drive.complete("imr_author_briefing", form("imr_author_briefing"))
    drive.advance_to(at(3))
    drive.complete("first_panel_meeting", form("first_panel_meeting", family_involvement=family))
    drive.complete("approve_terms_of_reference", form("approve_terms_of_reference"))
    if family == "involved":
        drive.complete("family_involvement_plan", form("family_involvement_plan"))
    else:
        drive.complete("family_not_involved", form("family_not_involved"))
    drive.advance_to(at(4))
    finish_common_tasks(drive, stop={"imr_panel_review"})  # authors named, IMRs written and signed
    drive.advance_to(at(6))
    drive.complete("receive_chronologies", form("receive_chronologies"))
    drive.advance_to(at(8))
    drive.complete("circulate_imrs", form("circulate_imrs"))
    drive.advance_to(at(9))
    drive.complete("panel_imr_review_meeting", form("panel_imr_review_meeting"))
    if revise_police:
        revise_imr_of(drive, "police")
    finish_common_tasks(drive)  # panel adequacy reviews, action plans
    drive.advance_to(at(13))
    drive.complete("overview_first_draft", form("overview_first_draft"))
    drive.complete("health_overview_first_draft", form("health_overview_first_draft"))
    drive.advance_to(at(16))


def later(drive: Drive, when: datetime) -> None:
    """Move the clock on to `when` unless the case is already past it."""
    if when > drive.clock.now():
        drive.advance_to(when)


def sign_final_imrs(drive: Drive) -> None:
    """Each agency's chief executive signs its final IMR and action plan (B&P week 17)."""
    for task in imr_tasks(drive, "ce_sign_final_imr"):
        assert task.role == "chief_executive"
        complete_common(drive, task)


def run_review_from_week_17(drive: Drive) -> None:
    drive.complete("panel_final_imrs", form("panel_final_imrs"))
    sign_final_imrs(drive)
    later(drive, at(17, DECISION) + timedelta(days=3))
    drive.complete("revised_overview", form("revised_overview"))
    drive.complete("revised_health_overview", form("revised_health_overview"))
    later(drive, at(18) + timedelta(days=3))
    drive.complete("panel_review_revised_overview", form("panel_review_revised_overview"))
    if any(t.name == "involve_family_later" for t in drive.tasks()):
        drive.complete("involve_family_later", form("involve_family_later"))
    finalise(drive)


def finalise(drive: Drive) -> None:
    """Week 22-26: the final overview report and executive summary, sign-off and submission to Ofsted."""
    later(drive, at(21))
    drive.complete("revised_overview_exec_summary", form("revised_overview_exec_summary"))
    later(drive, at(22))
    drive.complete("findings_meeting", form("findings_meeting"))
    later(drive, at(23))
    drive.complete("exec_board_signoff", form("exec_board_signoff"))
    later(drive, at(25))
    drive.complete("send_to_ofsted", form("send_to_ofsted"))


def after_ofsted_submission(drive: Drive, family_involved: bool = True) -> None:
    drive.complete("monitor_action_plan", form("monitor_action_plan", action_plan_status="in_progress"))
    drive.advance_to(datetime(2024, 9, 2, tzinfo=UTC))
    drive.complete("record_ofsted_evaluation", form("record_ofsted_evaluation"))
    drive.advance_to(datetime(2024, 9, 20, tzinfo=UTC))
    drive.complete("send_final_exec_summary", form("send_final_exec_summary"))
    if family_involved:
        drive.complete("share_with_family", form("share_with_family"))
    else:
        assert not drive.tasks("lscb_chair")
    drive.complete("publication_meeting", form("publication_meeting"))
    drive.complete("publication_decision", form("publication_decision"))
    drive.complete("send_publication_date", form("send_publication_date"))
    drive.complete("publish_documents", form("publish_documents"))
    drive.advance_to(datetime(2024, 11, 4, tzinfo=UTC))
    drive.complete("monitor_action_plan", form("monitor_action_plan"))
    drive.complete("formal_conclusion", form("formal_conclusion"))


def due(drive: Drive, name: str) -> datetime | None:
    return drive.task(name).due_at


# --------------------------------------------------------------------------------------------- paths


def test_a_countersigned_referral_runs_through_the_scr_to_formal_conclusion() -> None:
    drive = Drive(PROCESS, save_restore=True, start=datetime(2024, 1, 8, 9, tzinfo=UTC))
    assert drive.task("submit_proforma").role == "referrer"
    drive.complete("submit_proforma", form("submit_proforma"))
    lead = drive.task("countersign_proforma")
    assert (lead.role, lead.agency) == ("safeguarding_lead", "social_care")
    drive.complete("countersign_proforma", form("countersign_proforma"))
    assert drive.task("receive_proforma").role == "lscb_administrator"
    drive.complete("receive_proforma", form("receive_proforma"))
    drive.complete("record_cin", form("record_cin"))
    assert drive.task("chair_consider_referral").role == "lscb_chair"
    drive.complete("chair_consider_referral", form("chair_consider_referral"))

    recommendation = drive.task("subgroup_recommendation")
    assert recommendation.role == "standing_panel"
    assert (recommendation.week, recommendation.due_at) == (3, at(3, CIN))
    drive.advance_to(at(2, CIN))
    drive.complete("subgroup_recommendation", form("subgroup_recommendation"))
    decision = drive.task("chair_decision")
    assert (decision.role, decision.week, decision.due_at) == ("lscb_chair", 3, at(3, CIN))
    drive.advance_to(DECISION)
    drive.complete("chair_decision", form("chair_decision"))
    assert ("panel_chair", "pat.chair", None) in drive.assignments
    assert ("panel_member", "panel.two", None) in drive.assignments

    assert {t.name: t.role for t in drive.tasks()} == {
        "letter_to_ofsted": "lscb_chair",
        "notify_other_bodies": "lscb_administrator",
        "record_commissioning": "lscb_administrator",
        "letters_to_chief_officers": "lscb_administrator",
        "raise_overrun_pc": "panel_chair",
        "raise_overrun_admin": "lscb_administrator",
    }
    assert due(drive, "letter_to_ofsted") == at(4, CIN)
    assert due(drive, "letters_to_chief_officers") == at(4, CIN)
    run_review_to_week_17(drive)
    assert drive.task("panel_final_imrs").role == "panel_member"
    assert due(drive, "panel_final_imrs") == at(17)
    run_review_from_week_17(drive)
    assert drive.notices_of("escalation") == []
    assert drive.notices_of("reminder") == []
    after_ofsted_submission(drive)
    assert drive.case.completed


def test_the_review_tasks_fall_to_their_roles_in_the_bp_weeks() -> None:
    drive = Drive(PROCESS, save_restore=True)
    refer(drive)
    drive.complete("letter_to_ofsted", form("letter_to_ofsted"))
    drive.complete("notify_other_bodies", form("notify_other_bodies"))
    drive.complete("record_commissioning", form("record_commissioning"))
    drive.complete("letters_to_chief_officers", form("letters_to_chief_officers"))
    briefing = drive.task("imr_author_briefing")
    assert (briefing.role, briefing.week, briefing.due_at) == ("lscb_chair", 3, at(3))
    drive.complete("imr_author_briefing", form("imr_author_briefing"))
    first = drive.task("first_panel_meeting")
    assert (first.role, first.due_at) == ("panel_chair", at(4))
    drive.complete("first_panel_meeting", form("first_panel_meeting"))
    assert ("overview_author", "olive.author", None) in drive.assignments
    drive.complete("approve_terms_of_reference", form("approve_terms_of_reference"))
    assert ("health_overview_author", "harriet.health", None) in drive.assignments
    drive.complete("family_involvement_plan", form("family_involvement_plan"))
    expected = [
        ("receive_chronologies", "lscb_administrator", 7),
        ("circulate_imrs", "lscb_administrator", 9),
        ("panel_imr_review_meeting", "panel_member", 10),
    ]
    for name, role, week in expected:
        task = drive.task(name)
        assert (task.role, task.week, task.due_at) == (role, week, at(week)), name
        drive.complete(name, form(name))
    assert {(t.name, t.role, t.week) for t in drive.tasks() if t.name in OWN_TASKS - STANDING} == {
        ("overview_first_draft", "overview_author", 14),
        ("health_overview_first_draft", "health_overview_author", 14),
    }


def test_a_late_first_draft_reminds_the_overview_author_in_week_14() -> None:
    drive = Drive(PROCESS, save_restore=True)
    refer(drive)
    drive.complete("letter_to_ofsted", form("letter_to_ofsted"))
    drive.complete("notify_other_bodies", form("notify_other_bodies"))
    drive.complete("record_commissioning", form("record_commissioning"))
    drive.complete("letters_to_chief_officers", form("letters_to_chief_officers"))
    for name in [
        "imr_author_briefing",
        "first_panel_meeting",
        "approve_terms_of_reference",
        "family_involvement_plan",
        "receive_chronologies",
        "circulate_imrs",
        "panel_imr_review_meeting",
    ]:
        drive.complete(name, form(name))
    drive.advance_to(at(14) - timedelta(hours=1))
    assert drive.notices_of("reminder") == []
    drive.advance_to(at(14) + timedelta(hours=1))
    [(when, notice)] = drive.notices_of("reminder")
    assert (notice.role, notice.element) == ("overview_author", "ev_overview_draft_reminder")
    assert drive.task("overview_first_draft")  # still open: the reminder does not take the task away


@pytest.mark.parametrize("review_type", ["single_imr", "case_audit", "case_debrief", "other_review"])
def test_each_alternative_review_is_run_and_its_findings_go_to_the_sub_group(review_type: str) -> None:
    drive = Drive(PROCESS, save_restore=True)
    refer(
        drive,
        decision="no_scr",
        no_scr_outcome="alternative_review",
        decision_reasons="Criteria not met.",
        terms_of_reference_approved=None,
        panel_chair_user=None,
        panel_member_users=None,
        followed_recommendation=False,
    )
    assert not any(t.name == "letter_to_ofsted" for t in drive.tasks())
    plan = drive.task("alt_plan")
    assert plan.role == "standing_panel"
    complete_common(drive, plan, {"alternative_type": review_type, "review_agency": "police"})
    seen = []
    for _ in range(20):
        pending = [t for t in drive.tasks() if t.name != "alt_findings"]
        if not pending:
            break
        seen.append((pending[0].name, pending[0].role))
        complete_common(drive, pending[0])
    findings = drive.task("alt_findings")
    assert findings.role == "standing_panel"  # 7.7: findings go to the SCR Sub-group
    complete_common(drive, findings)
    finish_common_tasks(drive)
    first_step = {
        "single_imr": "alt_single_commission",
        "case_audit": "alt_case_audit",
        "case_debrief": "alt_case_debrief",
        "other_review": "alt_other_review",
    }[review_type]
    assert seen[0][0] == first_step
    assert all(role != "qa_group" for _, role in seen)  # the QA Group route is Dorset's
    assert drive.case.completed


def test_no_scr_and_no_further_review_ends_the_case() -> None:
    drive = Drive(PROCESS, save_restore=True)
    refer(
        drive,
        decision="no_scr",
        no_scr_outcome="no_further_review",
        decision_reasons="Criteria not met.",
        terms_of_reference_approved=None,
        panel_chair_user=None,
        panel_member_users=None,
    )
    assert drive.case.completed


def test_a_returned_proforma_goes_back_to_the_referrer_and_a_not_met_one_ends_in_the_agency() -> None:
    drive = Drive(PROCESS, save_restore=True)
    drive.complete("submit_proforma", form("submit_proforma"))
    drive.complete(
        "countersign_proforma",
        form(
            "countersign_proforma",
            countersign_outcome="returned_to_referrer",
            way_forward="Add the chronology of concerns.",
        ),
    )
    drive.complete("submit_proforma", form("submit_proforma"))
    drive.complete(
        "countersign_proforma",
        form(
            "countersign_proforma", countersign_outcome="criteria_not_met", way_forward="Single-agency learning review."
        ),
    )
    assert drive.case.completed


def test_a_decision_not_made_within_one_month_is_escalated_to_the_lscb_chair() -> None:
    drive = Drive(PROCESS, save_restore=True)
    for name in [
        "submit_proforma",
        "countersign_proforma",
        "receive_proforma",
        "record_cin",
        "chair_consider_referral",
    ]:
        drive.complete(name, form(name))
    drive.advance_to(at(3, CIN) + timedelta(days=1))
    [(_, reminder)] = drive.notices_of("reminder")
    assert reminder.role == "standing_panel"
    drive.complete("subgroup_recommendation", form("subgroup_recommendation"))
    assert drive.notices_of("escalation") == []
    drive.advance_to(datetime(2024, 2, 10, 1, tzinfo=UTC))  # one calendar month after 10 January
    escalations = {(n.role, n.element) for _, n in drive.notices_of("escalation")}
    assert escalations == {
        ("lscb_chair", "ev_decision_escalation"),
        ("lscb_administrator", "ev_decision_escalation_admin"),  # 8.2 watch (issue 10 defect 7)
    }
    assert drive.task("chair_decision").role == "lscb_chair"


def test_a_family_not_involved_has_reasons_and_a_plan_and_is_not_sent_the_findings() -> None:
    drive = Drive(PROCESS, save_restore=True)
    refer(drive)
    run_review_to_week_17(drive, family="not_involved")
    run_review_from_week_17(drive)
    after_ofsted_submission(drive, family_involved=False)
    assert drive.case.completed
    # The plan is free text: it is kept in the case file (x-private), never in workflow data.
    assert "family_later_involvement_plan" not in drive.case.data


def test_an_scr_running_past_six_months_asks_for_a_revised_timetable_and_tells_ofsted() -> None:
    drive = Drive(PROCESS, save_restore=True)
    refer(drive)
    run_review_to_week_17(drive)
    drive.advance_to(datetime(2024, 7, 29, 1, tzinfo=UTC))  # six calendar months after 29 January
    [(_, escalation)] = drive.notices_of("escalation")
    assert (escalation.role, escalation.element) == ("lscb_chair", "ev_completion_escalation")
    # 8.3 order (gap 36): the Chair advises Ofsted immediately, then the LSCB revises the timetable
    assert drive.task("advise_ofsted_extension").role == "lscb_chair"
    drive.complete("advise_ofsted_extension", form("advise_ofsted_extension"))
    revise = drive.task("revise_timetable")
    assert revise.role == "lscb_board"
    drive.complete("revise_timetable", form("revise_timetable"))
    assert drive.task("progress_update").role == "lscb_board"
    drive.complete("progress_update", form("progress_update"))
    # the review carries on where it was
    assert drive.task("panel_final_imrs").role == "panel_member"
    run_review_from_week_17(drive)
    # the week-26 submission deadline moved with the revised timetable (13 weeks), so it has not passed
    escalations = [n.element for _, n in drive.notices_of("escalation")]
    assert escalations == ["ev_completion_escalation"]
    after_ofsted_submission(drive)
    assert drive.case.completed


def test_an_inadequate_imr_goes_back_to_its_author_and_ce_before_the_week_17_agreement() -> None:
    drive = Drive(PROCESS, save_restore=True)
    refer(drive)
    run_review_to_week_17(drive, revise_police=True)
    final = drive.task("panel_final_imrs")
    assert (final.role, final.due_at) == ("panel_member", at(17))
    run_review_from_week_17(drive)
    after_ofsted_submission(drive)
    assert drive.case.completed
    outcomes = {o["agency"]: o["revisions"] for o in drive.case.data["imrs"]}
    assert outcomes == {"social_care": 0, "police": 1}


def test_a_late_imr_is_escalated_to_its_chief_executive_and_the_administrator() -> None:
    drive = Drive(PROCESS, save_restore=True)
    refer(drive)
    drive.complete("letter_to_ofsted", form("letter_to_ofsted"))
    drive.complete("notify_other_bodies", form("notify_other_bodies"))
    drive.complete("record_commissioning", form("record_commissioning"))
    drive.complete("letters_to_chief_officers", form("letters_to_chief_officers"))
    for letter in imr_tasks(drive, "imr_letter"):
        assert letter.role == "lscb_administrator"
        complete_common(drive, letter)
    finish_common_tasks(drive, stop={"imr_panel_review"}, agencies=["social_care"])
    drive.advance_to(DECISION + timedelta(weeks=6, hours=1))
    assert not drive.notices_of("escalation"), "B&P IMRs are due in week 8 (gap 13): nobody is escalated before"
    drive.advance_to(DECISION + timedelta(weeks=8, hours=1))
    escalations = {(n.element, n.role, n.agency) for _, n in drive.notices_of("escalation")}
    assert ("imr_overdue_ce", "chief_executive", "police") in escalations
    assert ("imr_overdue_admin", "lscb_administrator", "police") in escalations
    assert not any(agency == "social_care" for _, _, agency in escalations)


def test_a_board_returning_the_overview_sends_it_back_to_the_author() -> None:
    drive = Drive(PROCESS, save_restore=True)
    refer(drive)
    run_review_to_week_17(drive)
    drive.complete("panel_final_imrs", form("panel_final_imrs"))
    sign_final_imrs(drive)
    for name in [
        "revised_overview",
        "revised_health_overview",
        "panel_review_revised_overview",
        "revised_overview_exec_summary",
        "findings_meeting",
    ]:
        drive.complete(name, form(name))
    drive.complete(
        "exec_board_signoff",
        form(
            "exec_board_signoff",
            signoff_outcome="returned_for_revision",
            board_revisions_required="Clarify recommendation 3.",
        ),
    )
    assert drive.task("revised_overview_exec_summary").role == "overview_author"


def test_a_late_ofsted_submission_and_a_late_executive_summary_are_escalated() -> None:
    drive = Drive(PROCESS, save_restore=True)
    refer(drive)
    run_review_to_week_17(drive)
    drive.complete("panel_final_imrs", form("panel_final_imrs"))
    sign_final_imrs(drive)
    for name in [
        "revised_overview",
        "revised_health_overview",
        "panel_review_revised_overview",
        "revised_overview_exec_summary",
        "findings_meeting",
        "exec_board_signoff",
    ]:
        drive.complete(name, form(name))
    drive.advance_to(at(26) + timedelta(hours=1))  # week 26 is also six months after 29 January
    assert {n.element for _, n in drive.notices_of("escalation")} == {
        "ev_submission_escalation",
        "ev_completion_escalation",
    }
    drive.complete("send_to_ofsted", form("send_to_ofsted"))
    drive.complete("record_ofsted_evaluation", form("record_ofsted_evaluation", exec_summary_published_early=True))
    amend = drive.task("amend_after_evaluation")
    assert (amend.role, amend.due_at) == ("lscb_board", datetime(2024, 10, 2, tzinfo=UTC))
    drive.complete("amend_after_evaluation", form("amend_after_evaluation"))
    drive.advance_to(datetime(2024, 10, 2, 1, tzinfo=UTC))  # one calendar month after the 2 Sept letter
    assert [n.element for _, n in drive.notices_of("escalation")][-1] == "ev_exec_summary_escalation"
    assert drive.task("send_final_exec_summary").role == "lscb_administrator"


def test_action_plan_monitoring_repeats_every_quarter_until_implemented() -> None:
    drive = Drive(PROCESS, save_restore=True)
    refer(drive)
    run_review_to_week_17(drive)
    run_review_from_week_17(drive)
    monitor = drive.task("monitor_action_plan")
    assert monitor.role == "standing_panel"
    drive.complete("monitor_action_plan", form("monitor_action_plan", action_plan_status="in_progress"))
    assert not any(t.name == "monitor_action_plan" for t in drive.tasks())
    drive.advance(weeks=13, days=1)
    drive.complete("monitor_action_plan", form("monitor_action_plan", action_plan_status="in_progress"))
    drive.advance(weeks=13, days=1)
    assert drive.task("monitor_action_plan").role == "standing_panel"
