"""Casework people can trust: what a step reads, who a picker offers, missed deadlines that stay in sight."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.authoring.versions import deploy
from engine.casework import casefile, claims, queries
from engine.casework.accounts import seed_users
from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.casework.timers import fire_due_timers
from engine.errors import InvalidSubmission, NotFound
from engine.ports import Assignment, TaskRow
from engine.workflow.specs import read_diagrams
from tests.drive import SCR_PATH, SUPERUSER, drive_until, form_data, grant_everything, ready
from tests.service.conftest import ROOT

AGENCIES = ["police", "education"]


@pytest.fixture
def dorset(repository_services: Services) -> Services:
    deploy(repository_services, read_diagrams([ROOT / "bpmn"]), by="tester")
    grant_everything(repository_services, "dorset", AGENCIES)
    return repository_services


def until(services: Services, name: str, choices: dict[str, object] | None = None) -> tuple[int, TaskRow]:
    """A new Dorset case driven until a task called `name` waits; returns the case and that task."""
    record = start_case(services, "dorset", SUPERUSER)
    case_id = record.id or 0
    tasks = drive_until(services, case_id, lambda ts: any(t.name == name for t in ts),
                        {**SCR_PATH, "agencies": AGENCIES, **(choices or {})})
    return case_id, next(t for t in tasks if t.name == name)


def test_the_counter_signer_reads_the_referral_they_sign_on_the_task_and_as_a_document(dorset: Services) -> None:
    services = dorset
    case_id, countersign = until(services, "countersign", {"referrer_agency": "police"})
    assign_role(services, Assignment("dorset.police.lead", "safeguarding_lead", "dorset", case_id, "police"))
    view = queries.task_view(services, countersign.id, "dorset.police.lead")
    [proforma] = view.earlier
    assert proforma.submission.name == "proforma" and proforma.submission.data
    assert "7.1" in view.guidance and "gap" not in view.guidance.lower()
    document = casefile.document(services, case_id, proforma.submission.id or 0, "dorset.police.lead")
    assert document.submission.data == proforma.submission.data
    with pytest.raises(NotFound):  # another agency's lead, holding no task that reads it
        casefile.document(services, case_id, proforma.submission.id or 0, "dorset.education.lead")


def test_the_chair_deciding_reads_the_panels_recommendation_and_starts_from_its_agencies(dorset: Services) -> None:
    services = dorset
    _case_id, decision = until(services, "chair_decision")
    view = queries.task_view(services, decision.id, "dorset.chair")
    assert [d.submission.name for d in view.earlier][0] == "panel_meeting_1"
    meeting = view.earlier[0].submission.data
    assert "recommendation" in meeting
    assert view.prefill["agencies"] == meeting["proposed_agencies"]
    assert view.prefill["terms_of_reference"] == meeting["draft_terms_of_reference"]


def test_a_picker_offers_only_the_agencys_people_and_the_server_refuses_another_agencys(dorset: Services) -> None:
    services = dorset
    case_id, letter = until(services, "imr_letter")
    offered = queries.task_view(services, letter.id, "dorset.admin").people["chief_executive"]
    assert offered and all(u.agency == letter.agency for u in offered)
    wrong = "dorset.education.ce" if letter.agency == "police" else "dorset.police.ce"
    assert wrong not in {u.username for u in offered}
    data = {**form_data(services, case_id, letter, SCR_PATH), "chief_executive": wrong}
    before = [(t.id, t.state) for t in ready(services, case_id)]
    with pytest.raises(InvalidSubmission) as refused:
        complete_task(services, letter.id, SUPERUSER, data)
    [error] = refused.value.errors
    assert error.field == "chief_executive" and "is not from" in error.message
    assert [(t.id, t.state) for t in ready(services, case_id)] == before


def test_a_reassignment_moves_the_role_and_the_history_says_why(dorset: Services) -> None:
    services = dorset
    case_id, countersign = until(services, "countersign", {"referrer_agency": "police"})
    assign_role(services, Assignment("dorset.police.lead", "safeguarding_lead", "dorset", case_id, "police"))
    with pytest.raises(InvalidSubmission):  # not police: may not hold the police safeguarding lead's role
        claims.reassign_task(services, countersign.id, "dorset.admin", "dorset.education.lead", "cover")
    seed_users(services, [{"username": "dorset.police.lead2", "display_name": "Second police lead",
                           "board": "dorset", "agency": "police", "roles": []}])
    claims.reassign_task(services, countersign.id, "dorset.admin", "dorset.police.lead2", "Lead on leave")
    with services.uow() as uow:
        held = {(a.username, a.role) for a in uow.people.on_case(case_id)}
        events = [e for e in uow.events.for_case(case_id) if e.kind in ("role_removed", "task_reassigned")]
    assert ("dorset.police.lead2", "safeguarding_lead") in held
    assert not any(u != "dorset.police.lead2" and r == "safeguarding_lead" for u, r in held)
    assert {e.detail.get("reason") for e in events} == {"Lead on leave"}
    assert countersign.id not in {t.id for t in queries.my_tasks(services, "dorset.police.lead")}


def test_a_missed_decision_deadline_stays_on_the_case_and_the_accountable_inboxes_until_the_decision(
        dorset: Services) -> None:
    services = dorset
    case_id, decision = until(services, "chair_decision")
    services.clock.advance(timedelta(days=40))  # type: ignore[attr-defined]
    fire_due_timers(services)
    view = queries.case_view(services, case_id, "dorset.admin")
    missed = [d for d in view.deadlines if d.missed]
    assert [d.title for d in missed] == ["Decision due"]
    assert any(e.kind == "deadline_missed" and e.detail["title"] == "Decision due" for e in view.events)
    for person in ("dorset.chair", "dorset.admin"):
        assert [m.title for m in queries.missed_deadlines(services, person)] == ["Decision due"]
    assert queries.missed_deadlines(services, "dorset.referrer") == []
    services.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    fire_due_timers(services)  # a later sweep does not settle it: only the step or an extension does
    assert [m.title for m in queries.missed_deadlines(services, "dorset.chair")] == ["Decision due"]
    complete_task(services, decision.id, SUPERUSER, form_data(services, case_id, decision, SCR_PATH))
    assert not [d for d in queries.case_view(services, case_id, "dorset.admin").deadlines if d.missed]
    assert queries.missed_deadlines(services, "dorset.chair") == []


def test_a_deadline_that_passed_before_someones_step_is_recorded_by_that_step(dorset: Services) -> None:
    services = dorset
    case_id, gather = until(services, "prep_gather")
    services.clock.advance(timedelta(weeks=10))  # type: ignore[attr-defined]
    complete_task(services, gather.id, SUPERUSER, form_data(services, case_id, gather, SCR_PATH))  # no worker ran
    with services.uow() as uow:
        events = [e for e in uow.events.for_case(case_id) if e.kind == "deadline_missed"]
        missed = [t for t in uow.timers.for_case(case_id) if t.missed]
    assert sorted(e.detail["agency"] for e in events) == sorted(AGENCIES)
    assert [t.title for t in missed] == ["IMR due", "IMR due"]
