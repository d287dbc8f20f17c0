"""Casework people can trust, in a real browser: the counter-signer reads what they sign, the Chair sees the
panel's recommendation and starts from its agencies, a picker refuses another agency's chief executive, every view
of a date agrees, and a missed deadline stays red until the step is done.

These tests run on a server of their own whose clock starts on 4 December 2026 (Christmas falls inside the
pre-decision month), and keep screenshots of what each role sees in docs/screenshots/ (docs/roles.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from engine.casework.completion import complete_task
from engine.casework.timers import fire_due_timers
from engine.clock import FrozenClock
from engine.ports import TaskRow
from tests import formfill
from tests.browser.arrange import Arranged, drive, fill_in, holder, named, person, task_form, valid_data
from tests.browser.conftest import LiveServer, keep_screenshot, serve, sign_in
from tests.drive import in_driving_order, ready

START = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
FORMS_DATE = "2026-12-07"
BOARD = "dorset"
AGENCIES = ["police", "education"]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """This module's own app and clock (a deadline is missed here by moving the clock on); the forms it fills
    record their dates as Monday 7 December 2026."""
    recorded, formfill.DATE = formfill.DATE, FORMS_DATE
    try:
        yield from serve(tmp_path_factory.mktemp("trust"), FrozenClock(START))
    finally:
        formfill.DATE = recorded


def people(server: LiveServer) -> Any:
    """Name, for each role a form gives, a person who may hold it and signs in (of the agency, when per agency)."""
    def pick(_task: TaskRow, role: str, agency: str | None) -> str:
        return person(server.services, f"br.{role}.{agency or 'board'}", BOARD, agency)
    return pick


def to(server: LiveServer, name: str) -> Arranged:
    """A new Dorset case moved on until the step `name` waits."""
    return drive(server.services, BOARD, named(name), picker=people(server), agencies=AGENCIES)


def open_task(page: Any, task: TaskRow) -> None:
    page.goto(f"/tasks/{task.id}")
    expect(page.get_by_role("heading", name=task.title, level=1)).to_be_visible()


def test_the_counter_signer_reads_the_referral_they_sign_and_is_told_who_acts_next(
        page: Any, live_server: LiveServer) -> None:
    services = live_server.services
    arranged = to(live_server, "countersign")
    task, lead = arranged.task, holder(services, arranged.task, BOARD)
    referral = next(s for s in _submissions(live_server, arranged.case_id) if s["name"] == "proforma")
    sign_in(page, lead)
    open_task(page, task)
    earlier = page.locator("section.earlier")
    expect(earlier.get_by_role("heading", name="What you are working from")).to_be_visible()
    expect(earlier).to_contain_text(referral["title"])
    expect(page.locator("section.guidance")).to_contain_text("7.1")
    expect(page.locator("main")).not_to_contain_text(re.compile(r"\bgap \d", re.I))
    keep_screenshot(page, "safeguarding-lead-countersign")
    earlier.get_by_role("link", name="Open as a document").first.click()
    expect(page.get_by_role("heading", name=referral["title"], level=1)).to_be_visible()
    keep_screenshot(page, "safeguarding-lead-reads-the-referral")

    open_task(page, task)
    data = valid_data(services, task, people(live_server))
    fill_in(page, data)
    task_form(page).get_by_role("button", name="Submit", exact=True).click()
    status = page.get_by_role("status")
    expect(status).to_contain_text(f"Done: {task.title}.")
    expect(status).to_contain_text(re.compile(r"sent to LSCB administrator \([^)]*dorset\.admin[^)]*\)"))
    keep_screenshot(page, "safeguarding-lead-after-submitting")


def test_the_chair_sees_the_panels_recommendation_and_the_agencies_come_prefilled(
        page: Any, live_server: LiveServer) -> None:
    arranged = to(live_server, "chair_decision")
    meeting = next(s for s in _submissions(live_server, arranged.case_id) if s["name"] == "panel_meeting_1")
    sign_in(page, "dorset.chair")
    open_task(page, arranged.task)
    earlier = page.locator("section.earlier")
    expect(earlier).to_contain_text("Recommendation to the LSCB Chair")
    expect(earlier).to_contain_text(meeting["title"])
    form = task_form(page)
    for agency in meeting["data"]["proposed_agencies"]:
        expect(form.locator(f'input[name="agencies"][value="{agency}"]')).to_be_checked()
    expect(form.get_by_label(re.compile("Terms of reference approved"))).to_have_value(
        meeting["data"]["draft_terms_of_reference"])
    keep_screenshot(page, "lscb-chair-decision")


def test_a_chief_executive_of_another_agency_is_not_offered_and_is_refused_if_forced(
        page: Any, live_server: LiveServer) -> None:
    services = live_server.services
    arranged = to(live_server, "imr_letter")
    letter = arranged.task
    other = next(a for a in AGENCIES if a != letter.agency)
    wrong = person(services, f"br.chief_executive.{other}", BOARD, other)
    sign_in(page, "dorset.admin")
    open_task(page, letter)
    picker = task_form(page).locator('select[name="chief_executive"]')
    offered = [o for o in picker.locator("option").all_inner_texts() if not o.startswith("Choose")]
    assert offered and all(services.catalogue.agency_name(letter.agency) in o for o in offered), offered
    assert wrong not in picker.locator("option").evaluate_all("os => os.map(o => o.value)")
    data = valid_data(services, letter, people(live_server))
    fill_in(page, {k: v for k, v in data.items() if k != "chief_executive"})
    picker.evaluate("(s, name) => { s.add(new Option(name, name)); s.value = name; }", wrong)
    task_form(page).get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator(".error-summary")).to_contain_text(
        f"is not from {services.catalogue.agency_name(letter.agency)}")
    keep_screenshot(page, "lscb-administrator-wrong-agency-refused")
    assert letter.id in {t.id for t in ready(services, arranged.case_id)}, "the refused step changed nothing"


def test_the_inbox_the_task_page_the_case_page_and_the_timeline_give_one_date_along_a_whole_case(
        page: Any, live_server: LiveServer) -> None:
    services = live_server.services
    arranged = to(live_server, "proforma")  # a new case, nothing done yet
    sign_in(page, "dorset.admin")
    checked: set[str] = set()
    shown = False
    for _step in range(400):
        tasks = ready(services, arranged.case_id)
        if not tasks:
            break
        for task in (t for t in tasks if t.role == "lscb_administrator" and t.id not in checked):
            _one_date(page, arranged.case_id, task)
            checked.add(task.id)
            if not shown and task.agency:  # the IMR letters, early in the review: the page to show in docs
                expect(page.locator("#timeline")).to_contain_text("Weeks counted from")
                keep_screenshot(page, "lscb-administrator-case-page")
                shown = True
        order = in_driving_order(services, arranged.case_id, tasks)
        complete_task(services, order[0].id, "br.driver.dorset", valid_data(services, order[0], people(live_server),
                                                                           agencies=AGENCIES))
    assert not ready(services, arranged.case_id) and len(checked) >= 10 and shown, len(checked)


def _one_date(page: Any, case_id: int, task: TaskRow) -> None:
    """The task's due date as the inbox, its page, the case page's waiting list and the timeline show it."""
    page.goto("/")
    inbox_due = _time(page.locator(f'tr[data-task-id="{task.id}"]'))
    open_task(page, task)
    task_due = _time(page.locator("h1 + p"))
    page.goto(f"/cases/{case_id}")
    waiting_due = _time(page.locator(f'tr[data-task-id="{task.id}"]'))
    timeline_row = page.locator(f'#timeline tr[data-element="{task.name}"]')
    listed = timeline_row.locator(f'li[data-agency="{task.agency or ""}"]')
    timeline_due = listed.first.get_attribute("data-due") or None if listed.count() else _time(timeline_row)
    expected = task.due_at.isoformat() if task.due_at else None
    assert inbox_due == task_due == waiting_due == expected, (task.name, inbox_due, task_due, waiting_due)
    if timeline_row.count():
        assert timeline_due == expected, (task.name, timeline_due)


def test_a_missed_deadline_stays_red_on_the_case_and_in_the_chairs_inbox_until_the_decision(
        page: Any, live_server: LiveServer) -> None:
    services = live_server.services
    arranged = to(live_server, "chair_decision")
    services.clock.advance(timedelta(days=40))  # type: ignore[attr-defined]
    fire_due_timers(services)
    sign_in(page, "dorset.chair")
    missed = page.locator("#missed-deadlines")
    expect(missed).to_contain_text("Decision due")
    expect(missed).to_contain_text(arranged.reference)
    keep_screenshot(page, "lscb-chair-inbox-missed-deadline")
    page.goto(f"/cases/{arranged.case_id}")
    row = page.locator("#deadlines tr.deadline--missed").filter(has_text="Decision due")
    expect(row).to_contain_text("Missed on")
    expect(row.locator("td").first).to_have_css("color", "rgb(164, 0, 15)")
    expect(page.locator(".history")).to_contain_text("Deadline missed: Decision due")
    keep_screenshot(page, "lscb-chair-case-missed-deadline")

    decision = arranged.task
    complete_task(services, decision.id, "br.driver.dorset", valid_data(services, decision, people(live_server)))
    page.goto("/")
    expect(page.locator("#missed-deadlines li").filter(has_text=arranged.reference)).to_have_count(0)
    page.goto(f"/cases/{arranged.case_id}")
    expect(page.locator("#deadlines tr.deadline--missed")).to_have_count(0)
    expect(page.locator(".history")).to_contain_text("Deadline missed: Decision due")  # the history keeps it


def test_a_long_form_comes_in_sections_with_tick_boxes_beside_their_labels(
        page: Any, live_server: LiveServer) -> None:
    arranged = to(live_server, "panel_meeting_1")
    sign_in(page, "dorset.panel")
    open_task(page, arranged.task)
    form = task_form(page)
    expect(form.locator("fieldset.form-section > legend").first).to_be_visible()
    box = form.locator('input[type="checkbox"]').first
    label = form.locator(f'label[for="{box.get_attribute("id")}"]')
    box_at, label_at = box.bounding_box(), label.bounding_box()
    assert box_at and label_at and label_at["x"] > box_at["x"] + box_at["width"] - 1
    assert abs((label_at["y"] + min(label_at["height"], 24) / 2) - (box_at["y"] + box_at["height"] / 2)) < 14
    expect(page.locator("main")).not_to_contain_text(re.compile(r"\bgap \d|\(social_care\)|\b1 tasks\b", re.I))
    keep_screenshot(page, "standing-panel-meeting-1")


# ------------------------------------------------------------------------------------------ helpers
def _submissions(server: LiveServer, case_id: int) -> list[dict[str, Any]]:
    with server.services.uow() as uow:
        return [{"name": s.name, "title": s.title, "data": s.data, "id": s.id}
                for s in uow.submissions.for_case(case_id)]


def _time(scope: Any) -> str | None:
    found = scope.locator("time").first
    return found.get_attribute("datetime") if scope.locator("time").count() else None

