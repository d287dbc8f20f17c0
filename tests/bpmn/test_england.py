"""The England procedure (Working Together 2023, chapter 5) as one diagram: tests/fixtures/england/lcspr_england.bpmn.

Serious incident notification within 5 working days of the local authority learning of the incident, a rapid review
within 15 working days of the notification, the decision on a local child safeguarding practice review, the review,
publication and action tracking. The clock starts on Monday 21 December 2026, so the working-day deadlines cross
Christmas Day, Boxing Day (observed Monday 28th) and New Year's Day. Each path runs straight and with a save and
restore of the case after every step.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from engine.workflow.fields import unread_fields
from engine.workflow.specs import CompiledProcess, compile_processes, properties, read_forms
from tests.bpmn.harness import Drive, repository_catalogue

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "england"
DIAGRAM = "england/lcspr_england.bpmn"
PROCESS = "lcspr_england"
MONDAY = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI = "http://www.omg.org/spec/BPMN/20100524/DI"
AGENCIES = ["police", "social_care", "health_acute"]


def diagrams() -> dict[str, bytes]:
    return {DIAGRAM: (FIXTURE / "lcspr_england.bpmn").read_bytes()}


def forms() -> dict[str, bytes]:
    return read_forms(FIXTURE / "forms")


@cache
def england() -> CompiledProcess:
    """The procedure compiled with its forms (keyed england/<name>.schema.json) and the role catalogue of forms/."""
    return compile_processes(diagrams(), forms(), repository_catalogue(), [PROCESS])[PROCESS]


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def midnight(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def inbox(drive: Drive) -> dict[str, list[tuple[str | None, datetime | None]]]:
    """Each ready task's (agency, due date), as the inbox shows them."""
    found: dict[str, list[tuple[str | None, datetime | None]]] = {}
    for task in drive.tasks():
        found.setdefault(task.name, []).append((task.agency, task.due_at))
    return {name: sorted(rows, key=lambda r: r[0] or "") for name, rows in found.items()}


def milestones(drive: Drive) -> dict[str, datetime]:
    return {t.title or t.name: t.due_at for t in drive.case.waiting_timers()}


def escalations(drive: Drive) -> list[tuple[datetime, str, str]]:
    return [(when, n.element, n.role) for when, n in drive.notices_of("escalation")]


def incident() -> dict[str, Any]:
    return {"learned_on": "2026-12-21", "harm": "died", "abuse_or_neglect": True, "looked_after": False,
            "agencies": AGENCIES}


def sent(day: str, *to: str) -> dict[str, Any]:
    return {"sent_on": day, "sent_to": list(to) or ["national_panel"]}


def decision(answer: str, day: str) -> dict[str, Any]:
    return {"decision": answer, "decided_on": day, "reasons": "recorded in the case file"}


def report(day: str) -> dict[str, Any]:
    return {"completed_on": day, "recommendations": 3, "learning": "recorded in the case file"}


def summary(day: str) -> dict[str, Any]:
    return {"submitted_on": day, "known_to_agency": True, "summary": "recorded in the case file"}


def notified_before_christmas(save_restore: bool) -> Drive:
    """A case whose incident was learned of on Monday 21 December and notified on Wednesday 23 December."""
    drive = Drive(PROCESS, save_restore=save_restore, start=MONDAY, process=england())
    drive.complete("record_incident", incident())
    drive.advance_to(at("2026-12-23"))
    drive.complete("notify_panel", sent("2026-12-23", "national_panel", "safeguarding_partners"))
    return drive


def rapid_review_done(drive: Drive, answer: str) -> None:
    """The agencies' summaries, the rapid review, the decision and its sending, all in time."""
    drive.advance_to(at("2027-01-11"))
    for task in drive.tasks("imr_author"):
        drive.complete_task(task, summary("2027-01-11"))
    drive.advance_to(at("2027-01-14"))
    drive.complete("rapid_review", report("2027-01-14"))
    drive.advance_to(at("2027-01-15"))
    drive.complete("decide_review", decision(answer, "2027-01-15"))
    drive.complete("send_rapid_review", sent("2027-01-15"))


# ------------------------------------------------------------------------------------------ the diagram
def test_the_england_procedure_is_one_diagram_of_8_to_14_steps_on_at_most_5_forms_with_every_field_set_first() -> None:
    process = england()
    steps = [s for s in process.task_specs() if getattr(s, "manual", False)]
    names = {s.bpmn_id for s in steps}
    used = {properties(s)["formJsonSchemaFilename"] for s in steps}
    assert 8 <= len(names) <= 14
    assert len(used) <= 5 and all(f.startswith("england/") for f in used)
    assert {s.lane for s in steps} <= {r.lane for r in repository_catalogue().roles}
    assert unread_fields(diagrams(), forms()) == []


def test_every_element_of_the_england_diagram_cites_working_together_2023_and_is_drawn() -> None:
    root = etree.fromstring((FIXTURE / "lcspr_england.bpmn").read_bytes())
    elements = [n for n in root.iter() if isinstance(n.tag, str)
                and etree.QName(n).localname.endswith(("Task", "Event", "Gateway", "subProcess"))]
    uncited = [n.get("id") for n in elements
               if not re.search(r"Working Together 2023, chapter 5", n.findtext(f"{{{BPMN}}}documentation") or "")]
    assert len(elements) > 30 and uncited == []
    drawn = {e.get("bpmnElement") for e in root.iter(f"{{{DI}}}BPMNShape", f"{{{DI}}}BPMNEdge")}
    wanted = {n.get("id") for n in elements} | {f.get("id") for f in root.iter(f"{{{BPMN}}}sequenceFlow")}
    assert wanted - drawn == set()


# ------------------------------------------------------------------------------------------ the paths
@pytest.mark.parametrize("save_restore", [False, True], ids=["straight", "save-restore"])
def test_a_case_runs_to_its_end_with_working_day_deadlines_across_christmas_and_new_year(save_restore: bool) -> None:
    drive = Drive(PROCESS, save_restore=save_restore, start=MONDAY, process=england())
    assert inbox(drive) == {"record_incident": [(None, None)]}
    drive.complete("record_incident", incident())
    # 5 working days from Monday 21 December: 22, 23, 24, (Christmas, weekend, Boxing Day on the 28th) 29, 30.
    assert inbox(drive) == {"notify_panel": [(None, midnight("2026-12-30"))]}
    assert milestones(drive) == {"Notification due": midnight("2026-12-30")}

    drive.advance_to(at("2026-12-23"))
    drive.complete("notify_panel", sent("2026-12-23", "national_panel", "safeguarding_partners"))
    # From Wednesday 23 December: 10 working days (New Year's Day skipped) for the summaries, 15 for the review.
    assert inbox(drive) == {"agency_summary": [(a, midnight("2027-01-11")) for a in sorted(AGENCIES)]}
    assert milestones(drive) == {"Rapid review due": midnight("2027-01-18")}

    rapid_review_done(drive, "yes")
    assert escalations(drive) == [] and milestones(drive) == {}
    # The decision of Friday 15 January: the reviewer is commissioned within 10 working days.
    assert inbox(drive) == {"commission_review": [(None, midnight("2027-01-29"))]}
    drive.advance_to(at("2027-01-22"))
    drive.complete("commission_review", sent("2027-01-22", "reviewer"))
    assert inbox(drive) == {"panel_contributions": [(None, midnight("2027-03-05"))]}
    drive.advance_to(at("2027-03-05"))
    drive.complete("panel_contributions", summary("2027-03-05"))
    assert inbox(drive) == {"write_report": [(None, midnight("2027-06-15"))]}  # 5 months after the decision

    drive.advance_to(at("2027-06-01"))
    drive.complete("write_report", report("2027-06-01"))
    assert inbox(drive) == {"approve_report": [(None, midnight("2027-06-15"))]}
    drive.complete("approve_report", decision("no", "2027-06-02"))  # back to the reviewer
    drive.advance_to(at("2027-06-08"))
    drive.complete("write_report", report("2027-06-08"))
    assert inbox(drive) == {"approve_report": [(None, midnight("2027-06-22"))]}
    drive.advance_to(at("2027-06-10"))
    drive.complete("approve_report", decision("yes", "2027-06-10"))
    assert inbox(drive) == {"send_final_report": [(None, midnight("2027-06-17"))]}
    drive.advance_to(at("2027-06-11"))
    drive.complete("send_final_report", sent("2027-06-11", "national_panel", "secretary_of_state"))
    # Not before 7 working days after the copy (22 June); by 6 months after the decision (15 July).
    assert inbox(drive) == {"publish_report": [(None, midnight("2027-07-15"))]}
    drive.advance_to(at("2027-07-01"))
    drive.complete("publish_report", sent("2027-07-01", "public"))

    assert inbox(drive) == {"track_actions": [(None, at("2027-07-29"))]}
    drive.complete("track_actions", decision("no", "2027-07-01"))
    assert inbox(drive) == {} and milestones(drive) == {"12 weeks": at("2027-09-23")}
    drive.advance_to(at("2027-09-23", hour=10))  # twelve weeks later, the next check: due 20 working days on
    assert inbox(drive) == {"track_actions": [(None, at("2027-10-21", hour=10))]}
    drive.complete("track_actions", decision("yes", "2027-09-23"))
    assert drive.case.completed and escalations(drive) == []


@pytest.mark.parametrize("save_restore", [False, True], ids=["straight", "save-restore"])
def test_a_notification_not_sent_in_5_working_days_escalates_to_the_partnership_chair_and_stays_to_do(
        save_restore: bool) -> None:
    drive = Drive(PROCESS, save_restore=save_restore, start=MONDAY, process=england())
    drive.complete("record_incident", incident())
    assert inbox(drive) == {"notify_panel": [(None, midnight("2026-12-30"))]}
    (deadline,) = drive.case.waiting_timers()
    assert (deadline.title, deadline.accountable) == ("Notification due", ("lscb_administrator", "lscb_chair"))
    drive.advance_to(at("2026-12-29", hour=23))
    assert escalations(drive) == []
    drive.advance_to(at("2026-12-30"))
    assert escalations(drive) == [(at("2026-12-30"), "ev_notification_escalation", "lscb_chair")]
    assert inbox(drive) == {"notify_panel": [(None, midnight("2026-12-30"))]} and milestones(drive) == {}
    drive.advance_to(at("2026-12-31"))
    drive.complete("notify_panel", sent("2026-12-31"))
    # The rapid review counts from the notification actually sent: 15 working days from Thursday 31 December.
    assert milestones(drive) == {"Rapid review due": midnight("2027-01-22")}


@pytest.mark.parametrize("save_restore", [False, True], ids=["straight", "save-restore"])
def test_a_rapid_review_not_sent_in_15_working_days_escalates_to_the_chair_and_the_administrator(
        save_restore: bool) -> None:
    drive = notified_before_christmas(save_restore)
    drive.advance_to(at("2027-01-18"))  # no agency has sent its summary yet
    assert escalations(drive) == [(at("2027-01-18"), "ev_rr_escalation", "lscb_chair"),
                                  (at("2027-01-18"), "ev_rr_escalation_admin", "lscb_administrator")]
    assert set(inbox(drive)) == {"agency_summary"}
    for task in drive.tasks("imr_author"):
        drive.complete_task(task, summary("2027-01-18"))
    assert inbox(drive) == {"rapid_review": [(None, midnight("2027-01-18"))]}


@pytest.mark.parametrize("save_restore", [False, True], ids=["straight", "save-restore"])
def test_no_local_review_ends_the_case_once_the_national_panel_has_the_rapid_review(save_restore: bool) -> None:
    drive = notified_before_christmas(save_restore)
    rapid_review_done(drive, "no")
    assert drive.case.completed and inbox(drive) == {} and escalations(drive) == []
