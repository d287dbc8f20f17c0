"""An LSCB administrator monitors the board's cases in a real browser: the list with filters and a saved filter,
a mid-review case on its diagram, each intervention with its reason in the log, an errored case retried after
the diagram is fixed, and the dashboards."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from engine.authoring.migration import migrate_case
from engine.authoring.versions import deploy
from engine.casework.completion import complete_task
from engine.errors import WorkflowFailed
from engine.ports import TaskRow
from tests.browser.arrange import Arranged, drive, named, person, valid_data
from tests.browser.conftest import ROOT, LiveServer, keep_screenshot, serve, sign_in
from tests.browser.studio import pages_on
from tests.drive import ready
from tests.service.conftest import T0

BOARD = "dorset"
AGENCIES = ["police", "education", "social_care"]
ADMIN = "dorset.admin"
DIAGRAM = ROOT / "bpmn" / "dorset" / "scr_dorset.bpmn"
GATE = "countersign_outcome == 'countersigned'"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """This module's own app: publishing a broken diagram here must not touch other tests' cases."""
    from engine.clock import FrozenClock

    yield from serve(tmp_path_factory.mktemp("monitor"), FrozenClock(T0))


@pytest.fixture
def open_page(browser: Any, server: LiveServer) -> Iterator[Callable[[], Any]]:
    yield from pages_on(browser, server)


def people(server: LiveServer) -> Any:
    def pick(_task: TaskRow, role: str, agency: str | None) -> str:
        return person(server.services, f"mon.{role}.{agency or 'board'}", BOARD, agency)
    return pick


def to(server: LiveServer, name: str) -> Arranged:
    """A new Dorset case moved on until the step `name` waits."""
    return drive(server.services, BOARD, named(name), picker=people(server), agencies=AGENCIES)


def admin_page(open_page: Callable[[], Any], path: str = "/monitor/") -> Any:
    page = open_page()
    sign_in(page, ADMIN)
    page.goto(path)
    return page


def diagram_ready(page: Any) -> None:
    page.wait_for_selector("body[data-monitor='ready']")


def test_the_list_filters_by_step_and_keeps_a_saved_filter(server: LiveServer, open_page: Callable[[], Any]) -> None:
    decided = to(server, "chair_decision")
    early = to(server, "receive_proforma")
    page = open_page()
    sign_in(page, ADMIN)
    page.get_by_role("link", name="Monitor").click()
    expect(page.get_by_role("heading", name=re.compile("^Cases"))).to_be_visible()
    expect(page.get_by_role("link", name=decided.reference)).to_be_visible()
    expect(page.get_by_role("link", name=early.reference)).to_be_visible()
    page.get_by_label("Current step").select_option(label=decided.task.title)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("link", name=decided.reference)).to_be_visible()
    expect(page.get_by_role("link", name=early.reference)).to_have_count(0)
    page.get_by_label("Save these filters as").fill("Waiting for the Chair")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Filter 'Waiting for the Chair' saved.")).to_be_visible()
    page.get_by_role("link", name="Clear").click()
    expect(page.get_by_role("link", name=early.reference)).to_be_visible()
    page.get_by_role("link", name="Waiting for the Chair").click()
    expect(page.get_by_role("link", name=early.reference)).to_have_count(0)
    expect(page.get_by_role("link", name=decided.reference)).to_be_visible()
    keep_screenshot(page, "monitor-list")


def test_a_mid_review_case_shows_where_it_stands_on_its_diagram(server: LiveServer,
                                                                open_page: Callable[[], Any]) -> None:
    arranged = to(server, "prep_name_author")
    page = admin_page(open_page, f"/monitor/cases/{arranged.case_id}")
    diagram_ready(page)
    assert page.locator(".djs-element.mon-completed").count() > 3
    assert page.locator(".djs-element.mon-active").count() >= 1
    expect(page.locator(".mon-badge.progress", has_text=f"0 of {len(AGENCIES)} done")).to_be_visible()
    expect(page.locator(".mon-badge.due").first).to_be_visible()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    expect(page.get_by_role("heading", name="Event log")).to_be_visible()
    keep_screenshot(page, "monitor-case")
    third = page.locator("select[name=step] option", has_text=re.compile(r"^step 3,")).get_attribute("value")
    page.get_by_label("Show the case as it stood after").select_option(third)
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.get_by_text("Showing the case as it stood on")).to_be_visible()
    diagram_ready(page)
    expect(page.locator(".mon-badge.progress")).to_have_count(0)  # the IMRs were not asked for yet


def intervene(page: Any, form_button: str, reason: str, opener: str | None = None) -> None:
    if opener:
        page.get_by_text(opener, exact=True).first.click()
    button = page.get_by_role("button", name=form_button).first
    button.locator("xpath=ancestor::form").get_by_label(re.compile("Why")).fill(reason)
    button.click()


def test_each_intervention_leaves_its_reason_in_the_case_history(server: LiveServer,
                                                                 open_page: Callable[[], Any]) -> None:
    arranged = to(server, "chair_decision")
    page = admin_page(open_page, f"/monitor/cases/{arranged.case_id}")
    intervene(page, "Suspend the case", "Police asked us to pause")
    expect(page.get_by_text("The case is suspended")).to_be_visible()
    expect(page.locator(".event-case_suspended")).to_contain_text("Reason: Police asked us to pause")
    intervene(page, "Resume the case", "Police are content")
    expect(page.locator(".event-case_resumed")).to_contain_text("Reason: Police are content")

    row = page.locator(f"#task-{arranged.task.id}")
    row.get_by_text("Change due date").click()
    row.get_by_label("New due date").fill("2024-03-29")
    row.get_by_label("Why?").fill("Chair in hospital")
    row.get_by_role("button", name="Change the due date").click()
    expect(page.locator(f"#task-{arranged.task.id}")).to_contain_text("revised from")
    expect(page.locator(".event-due_changed")).to_contain_text("Reason: Chair in hospital")

    page.locator("#reset-task").select_option(index=0)
    intervene(page, "Move the case back", "The panel must meet again")
    expect(page.locator(".event-case_reset")).to_contain_text("Reason: The panel must meet again")

    intervene(page, "Terminate the case", "Referred in error")
    expect(page.locator(".event-case_terminated")).to_contain_text("Reason: Referred in error")
    expect(page.locator("h1 .pill")).to_have_text("Terminated")
    assert not [t for t in ready(server.services, arranged.case_id)]
    keep_screenshot(page, "monitor-interventions")


def test_an_administrator_does_a_step_on_someones_behalf(server: LiveServer, open_page: Callable[[], Any]) -> None:
    arranged = to(server, "receive_proforma")
    page = admin_page(open_page, f"/monitor/cases/{arranged.case_id}")
    page.locator(f"#task-{arranged.task.id}").get_by_role("link", name="Do it on their behalf").click()
    data = valid_data(server.services, arranged.task, people(server))
    for name, value in data.items():
        field = page.locator(f"[name='{name}']").first
        if field.count() and field.get_attribute("type") not in ("checkbox", "radio", "hidden"):
            tag = field.evaluate("e => e.tagName")
            (field.select_option(str(value)) if tag == "SELECT" else field.fill(str(value)))
        elif field.count() and field.get_attribute("type") == "checkbox" and value is True:
            field.check()
    page.get_by_label("Why are you doing this step for them?").fill("Administrator away; done from the letter")
    page.get_by_role("button", name="Submit on their behalf").click()
    expect(page.get_by_text("was done on its holder's behalf")).to_be_visible()
    expect(page.locator(".event-task_completed").first).to_contain_text("on the holder's behalf")


def test_skipping_a_step_is_audited(server: LiveServer, open_page: Callable[[], Any]) -> None:
    arranged = to(server, "cin_ofsted")
    page = admin_page(open_page, f"/monitor/cases/{arranged.case_id}")
    row = page.locator(f"#task-{arranged.task.id}")
    row.get_by_text("Skip", exact=True).click()
    row.get_by_label("Why skip it?").fill("Ofsted notified by phone; the form follows")
    row.get_by_role("button", name="Skip this step").click()
    expect(page.locator(".flash")).to_contain_text("The step was skipped on its holder's behalf.")
    expect(page.locator(".event-task_skipped")).to_contain_text("Reason: Ofsted notified by phone")
    assert arranged.task.id not in {t.id for t in ready(server.services, arranged.case_id)}


def test_an_errored_case_shows_where_it_failed_and_goes_on_after_the_fix(server: LiveServer,
                                                                       open_page: Callable[[], Any]) -> None:
    services = server.services
    text = DIAGRAM.read_text()
    assert GATE in text
    deploy(services, {"scr_dorset.bpmn": text.replace(GATE, "int(countersign_outcome) == 1").encode(),
                      **_others()}, by="tests")
    try:
        arranged = to(server, "countersign")
        with pytest.raises(WorkflowFailed):
            complete_task(services, arranged.task.id, _holder(server, arranged),
                          valid_data(services, arranged.task, people(server)))
    finally:
        deploy(services, {"scr_dorset.bpmn": text.replace(GATE, "str(countersign_outcome) == 'countersigned'")
                          .encode(), **_others()}, by="tests")
    page = admin_page(open_page, "/monitor/?state=errored")
    expect(page.get_by_role("link", name=arranged.reference)).to_be_visible()
    page.get_by_role("link", name=arranged.reference).click()
    diagram_ready(page)
    expect(page.locator("#case-error")).to_contain_text("countersign")
    assert page.locator(".djs-element.mon-errored").count() == 1
    keep_screenshot(page, "monitor-errored")
    with services.uow() as uow:
        fixed = uow.versions.latest_id("scr_dorset")
    assert fixed is not None
    migrate_case(services, arranged.case_id, fixed, "dorset.owner", "the countersign gateway is fixed")
    page.reload()
    intervene(page, "Retry the failed step", "Gateway fixed in version " + str(fixed))
    expect(page.get_by_text("The failed step ran again")).to_be_visible()
    expect(page.locator("#case-error")).to_have_count(0)
    expect(page.locator(".event-case_retried")).to_contain_text("Gateway fixed")
    assert any(t.role == "lscb_administrator" for t in ready(services, arranged.case_id))


def _others() -> dict[str, bytes]:
    """The other diagrams Dorset's procedure calls (deployed with it, unchanged)."""
    return {p.name: p.read_bytes() for p in sorted((ROOT / "bpmn" / "common").glob("*.bpmn"))}


def _holder(server: LiveServer, arranged: Arranged) -> str:
    """Whoever may complete the arranged task (the drive's acting account holds every role)."""
    return f"br.driver.{BOARD}"


def test_the_dashboards_show_pictures_and_their_numbers(server: LiveServer, open_page: Callable[[], Any]) -> None:
    to(server, "chair_decision")
    page = admin_page(open_page, "/monitor/deadlines")
    expect(page.locator("#rag-red")).to_be_visible()
    expect(page.locator("figure.chart svg")).to_be_visible()
    page.get_by_text("The same as a table").first.click()
    expect(page.locator("#weeks-table")).to_be_visible()
    keep_screenshot(page, "monitor-deadlines")
    page.get_by_role("link", name="Workload").click()
    expect(page.get_by_role("heading", name="By role")).to_be_visible()
    keep_screenshot(page, "monitor-workload")
    page.get_by_role("link", name="Heatmap").click()
    diagram_ready(page)
    assert page.locator(".mon-badge.heat").count() >= 1
    expect(page.locator("#heat-table")).to_be_visible()
    keep_screenshot(page, "monitor-heatmap")


def test_nobody_else_finds_the_monitor(server: LiveServer, open_page: Callable[[], Any]) -> None:
    arranged = to(server, "receive_proforma")
    page = open_page()
    sign_in(page, "dorset.chair")
    expect(page.get_by_role("link", name="Monitor")).to_have_count(0)
    answer = page.goto(f"/monitor/cases/{arranged.case_id}")
    assert answer is not None and answer.status == 404
    sign_in(page, "bp.admin")
    answer = page.goto(f"/monitor/cases/{arranged.case_id}")
    assert answer is not None and answer.status == 404


_ = Path
