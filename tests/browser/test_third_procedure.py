"""The proof that procedures change without code: the current England procedure (rapid review and local child
safeguarding practice review) is uploaded in the studio, its forms written in the form editor, a timer changed
in the modeler, published with a second owner, and a case runs on it to the end with working-day deadlines that
cross Christmas, Boxing Day and New Year's Day."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.authoring import studio
from engine.casework.completion import complete_task
from engine.casework.timers import fire_due_timers
from engine.clock import FrozenClock
from tests.bpmn import test_england as england
from tests.browser.conftest import LiveServer, keep_screenshot, serve, sign_in
from tests.browser.studio import clock_of, open_modeler, pages_on, studio_sign_in
from tests.drive import SUPERUSER, grant_everything, ready

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "england"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on its own database, its clock on Monday 21 December 2026, 9 am."""
    yield from serve(tmp_path_factory.mktemp("england"), FrozenClock(england.MONDAY))


@pytest.fixture
def pages(browser: Any, server: LiveServer) -> Iterator[Any]:
    """New pages on this module's server; script and console errors fail the test."""
    yield from pages_on(browser, server)


def _clock(server: LiveServer) -> FrozenClock:
    return clock_of(server)


def _write_form(page: Any, name: str, text: str) -> None:
    """Create a form file of the draft in the form editor and save it."""
    page.get_by_label("New form file").fill(name)
    page.get_by_role("button", name="Create form").click()
    page.wait_for_selector("body[data-preview=ready]")
    page.get_by_label("JSON Schema").fill(text)
    with page.expect_response(lambda r: r.url.endswith("/file")) as answer:
        page.get_by_role("button", name="Save form").click()
    assert answer.value.ok, answer.value.text()
    page.wait_for_function("() => /Saved at|Not saved/.test(document.getElementById('form-state').textContent)")
    assert "Saved at" in page.locator("#form-state").inner_text(), page.locator("#form-state").inner_text()
    page.get_by_role("link", name="Back to the diagram").click()
    page.wait_for_selector("body[data-modeler=ready]")


def _complete(server: LiveServer, case_id: int, name: str, data: dict[str, Any]) -> None:
    [task] = [t for t in ready(server.services, case_id) if t.name == name and t.agency is None] or [
        t for t in ready(server.services, case_id) if t.name == name][:1]
    complete_task(server.services, task.id, SUPERUSER, data)


def _advance(server: LiveServer, day: str) -> None:
    _clock(server).set(england.at(day))
    while fire_due_timers(server.services):
        pass


def test_the_england_procedure_is_added_in_the_browser_published_by_two_owners_and_a_case_runs_to_its_end(
        pages: Any, server: LiveServer) -> None:
    services = server.services
    owner = pages()
    studio_sign_in(owner, "dorset.owner", _clock(server))
    owner.get_by_label("Board").select_option("dorset")
    owner.get_by_label("Diagram (.bpmn)").set_input_files(str(FIXTURE / "lcspr_england.bpmn"))
    owner.get_by_label("What it is for (optional)").fill("The current England procedure (Working Together 2023)")
    owner.get_by_role("button", name="Upload as a draft").click()
    owner.wait_for_selector("body[data-modeler=ready]")
    missing = owner.locator("#problem-list li[data-code=form_missing]")
    assert missing.count() >= 5
    assert owner.get_by_role("link", name="write this form").count() == missing.count()
    keep_screenshot(owner, "studio-third-procedure-uploaded")

    for schema in sorted((FIXTURE / "forms" / "england").glob("*.schema.json")):
        _write_form(owner, f"england/{schema.name}", schema.read_text())
    open_modeler(owner, owner.url)
    owner.evaluate("() => { const m = window.studioModeler; const t = m.get('elementRegistry')"
                   ".filter(e => e.type === 'bpmn:IntermediateCatchEvent' && e.businessObject.eventDefinitions"
                   " && e.businessObject.eventDefinitions[0].$type === 'bpmn:TimerEventDefinition')[0];"
                   " m.get('selection').select(t); }")
    wait = owner.get_by_label("Wait (for example")
    assert wait.input_value() == "12 weeks"
    wait.fill("8 weeks")
    wait.press("Tab")
    owner.get_by_role("button", name="Save and check").click()
    owner.wait_for_selector("body[data-saved]")
    assert "No problems" in owner.locator("#problem-list").inner_text()
    owner.get_by_label("Why does the procedure change?").fill("Add the England procedure; actions checked 8-weekly")
    owner.get_by_role("button", name="Submit for approval").click()
    draft_url = owner.url

    second = pages()
    studio_sign_in(second, "dorset.owner.second", _clock(server))
    second.goto(draft_url)
    second.get_by_role("button", name="Approve and publish").click()
    assert "published as version" in second.locator(".flash").inner_text()
    published = studio.published_version(services, "lcspr_england")
    assert published is not None and published.approved_by == "dorset.owner.second"
    assert "forms/england/incident.schema.json" in published.files

    starter = pages()
    sign_in(starter, "dorset.admin")
    starter.goto("/cases/new")
    starter.get_by_label(re.compile("Rapid review and local child safeguarding practice review")).check()
    starter.get_by_role("button", name="Start the referral").click()
    starter.wait_for_url(re.compile(r"/(tasks|cases)/"))
    with services.uow() as uow:
        [record] = [c for c in uow.cases.list() if c.process_id == "lcspr_england"]
    case_id = record.id or 0
    grant_everything(services, "dorset", england.AGENCIES)
    _complete(server, case_id, "record_incident", england.incident())
    starter.goto("/")
    row = starter.locator("tr", has_text="Notify the National Panel")
    assert "30 Dec 2026" in row.inner_text()
    keep_screenshot(starter, "studio-third-procedure-inbox")

    _advance(server, "2026-12-23")
    _complete(server, case_id, "notify_panel", england.sent("2026-12-23", "national_panel"))
    _advance(server, "2027-01-11")
    for task in [t for t in ready(services, case_id) if t.name == "agency_summary"]:
        complete_task(services, task.id, SUPERUSER, england.summary("2027-01-11"))
    for day, name, data in (
            ("2027-01-14", "rapid_review", england.report("2027-01-14")),
            ("2027-01-15", "decide_review", england.decision("yes", "2027-01-15")),
            ("2027-01-15", "send_rapid_review", england.sent("2027-01-15")),
            ("2027-01-22", "commission_review", england.sent("2027-01-22", "reviewer")),
            ("2027-03-05", "panel_contributions", england.summary("2027-03-05")),
            ("2027-06-01", "write_report", england.report("2027-06-01")),
            ("2027-06-10", "approve_report", england.decision("yes", "2027-06-10")),
            ("2027-06-11", "send_final_report", england.sent("2027-06-11", "national_panel")),
            ("2027-07-01", "publish_report", england.sent("2027-07-01", "public")),
            ("2027-07-01", "track_actions", england.decision("no", "2027-07-01"))):
        _advance(server, day)
        _complete(server, case_id, name, data)
    _clock(server).advance(timedelta(weeks=8, hours=1))  # the changed timer: eight weeks, not twelve
    while fire_due_timers(services):
        pass
    _complete(server, case_id, "track_actions", england.decision("yes", "2027-08-27"))
    with services.uow() as uow:
        assert uow.cases.get(case_id).status == "completed"
