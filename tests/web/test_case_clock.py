"""The case page's review clock and timeline: week n of N, decision and completion due, planned against actual."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from engine.authoring.versions import deploy
from engine.casework.accounts import issue_token
from engine.casework.cases import start_case
from engine.casework.services import Services
from engine.ports import TaskRow
from tests.drive import SCR_PATH, SUPERUSER, drive_until, grant_everything
from tests.web.conftest import ROOT, Browser, another_browser


def case_page(app: Flask, case_id: int | None, username: str = "dorset.admin") -> str:
    reader = another_browser(app)
    reader.sign_in(username)
    page = reader.client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    return str(page.get_data(as_text=True))


def reviewing(tasks: list[TaskRow]) -> bool:
    return any(t.name == "panel_meeting_2" for t in tasks)


def test_a_fresh_case_shows_week_1_of_its_first_timetable_and_the_milestones_to_come(
        browser: Browser, services: Services) -> None:
    record = start_case(services, "dorset", "dorset.referrer")
    browser.sign_in("dorset.referrer")
    page = browser.client.get(f"/cases/{record.id}").get_data(as_text=True)
    assert 'id="review-clock"' in page and "Week 1 of 4" in page and "provisional" in page
    assert "26-week timetable counted from Date of the decision" in page and "not recorded yet" in page
    assert "Decision due" in page and "Completion due" in page and "Set when the case reaches this point" in page


def test_a_fresh_case_shows_the_timetable_planned_against_actual(browser: Browser, services: Services) -> None:
    record = start_case(services, "dorset", "dorset.referrer")
    browser.sign_in("dorset.referrer")
    page = browser.client.get(f"/cases/{record.id}").get_data(as_text=True)
    assert 'id="timeline"' in page and "<th scope=\"col\">Due</th>" in page
    assert "Submit the SCR to Ofsted" in page and "Not reached" in page
    assert "Steps outside the timetable" in page and "Complete the Request for SCR proforma" in page


def test_after_the_decision_the_page_counts_the_weeks_of_the_review(app: Flask, services: Services) -> None:
    grant_everything(services, "dorset", list(services.catalogue.agencies))
    record = start_case(services, "dorset", SUPERUSER)
    drive_until(services, record.id or 0, reviewing, SCR_PATH)  # the forms record every date as 1 February 2024
    assert "Week 1 of 26 starts on 01 Feb 2024" in case_page(app, record.id)
    services.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    page = case_page(app, record.id)
    assert "<strong>Week 1 of 26</strong>" in page and "Counted from: Date of the decision" in page
    assert "Met on 01 Feb 2024" in page  # the decision date recorded, due a month after the case reached the Chair
    services.clock.advance(timedelta(weeks=4))  # type: ignore[attr-defined]
    page = case_page(app, record.id)
    assert "<strong>Week 5 of 26</strong>" in page
    assert "01 Aug 2024" in page and "153 days left" in page  # completion due: six months from the decision
    assert "Done on time" in page and 'class="flag">Overdue</strong>' in page  # week 1 IMR letters not sent


def test_the_api_case_carries_the_clock_and_the_timeline(app: Flask, services: Services) -> None:
    record = start_case(services, "dorset", "dorset.referrer")
    token = {"Authorization": f"Bearer {issue_token(services, 'dorset.referrer')}"}
    body = app.test_client().get(f"/api/cases/{record.id}", headers=token).get_json()
    assert (body["clock"]["current"]["week"], body["clock"]["current"]["weeks"]) == (1, 4)
    assert [m["title"] for m in body["clock"]["milestones"]] == ["Decision due", "Completion due"]
    assert body["timeline"][-1]["entries"][0]["status"] == "open"


def test_a_week_changed_in_the_deployed_diagram_changes_the_page_without_code(app: Flask, services: Services) -> None:
    text = (ROOT / "bpmn" / "dorset" / "scr_dorset.bpmn").read_text(encoding="utf-8")
    week_4 = '<spiffworkflow:property name="week" value="4" />'
    assert week_4 in text
    deploy(services, {"scr_dorset.bpmn": text.replace(week_4, week_4.replace('"4"', '"6"')).encode()})
    record = start_case(services, "dorset", "dorset.referrer")
    assert "Week 1 of 6" in case_page(app, record.id, "dorset.referrer")
