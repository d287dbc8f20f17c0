"""Working with others in a real browser: drafts, taking a task, reassignment with a reason, case roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from engine.casework import queries
from engine.casework.cases import start_case
from engine.casework.roles import assign_role
from engine.ports import Assignment
from tests.browser.arrange import catalogue_roles, roles_with_tasks
from tests.browser.conftest import LiveServer, sign_in

SECOND = "dorset.police.lead"


def _referral(live_server: LiveServer) -> tuple[str, str, int]:
    """A fresh Dorset case whose referral a second person on the case could also do: (reference, task, case)."""
    record = start_case(live_server.services, "dorset", "dorset.referrer")
    [task] = [i.task for i in queries.inbox(live_server.services, "dorset.referrer") if i.task.case_id == record.id]
    assign_role(live_server.services, Assignment(SECOND, task.role or "", "dorset", record.id))
    return record.reference, task.title, record.id or 0


def test_a_saved_draft_is_there_the_next_day_and_only_for_its_author(
        page: Any, new_page: Callable[[], Any], live_server: LiveServer) -> None:
    reference, title, _ = _referral(live_server)
    sign_in(page, "dorset.referrer")
    page.locator("tr").filter(has_text=reference).get_by_role("link", name=title).click()
    page.get_by_label("Outline of concerns").fill("Half-written: bruising seen at nursery")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_contain_text("Draft saved")
    page.goto("/")
    page.locator("tr").filter(has_text=reference).get_by_role("link", name=title).click()
    expect(page.get_by_label("Outline of concerns")).to_have_value("Half-written: bruising seen at nursery")
    expect(page.locator("#draft-saved")).to_contain_text("Only you can see it")

    other = new_page()
    sign_in(other, SECOND)
    other.locator("tr").filter(has_text=reference).get_by_role("link", name=title).click()
    expect(other.get_by_label("Outline of concerns")).to_have_value("")


def test_a_task_taken_from_the_inbox_shows_who_has_it_and_an_administrator_reassigns_it_with_a_reason(
        page: Any, new_page: Callable[[], Any], live_server: LiveServer) -> None:
    reference, title, case_id = _referral(live_server)
    sign_in(page, "dorset.referrer")
    page.get_by_role("button", name=f"Take {title} on {reference}").click()
    row = page.locator("tr").filter(has_text=reference)
    expect(row).to_contain_text("you")
    expect(row.get_by_role("button", name=f"Release {title} on {reference}")).to_be_visible()

    other = new_page()
    sign_in(other, SECOND)
    expect(other.locator("tr").filter(has_text=reference)).to_contain_text("dorset.referrer")

    admin = new_page()
    sign_in(admin, "dorset.admin")
    admin.goto(f"/cases/{case_id}")
    expect(admin.get_by_role("heading", name="Documents")).to_be_visible()
    task_id = [i.task.id for i in queries.inbox(live_server.services, "dorset.referrer")
               if i.task.case_id == case_id][0]
    admin.goto(f"/tasks/{task_id}/reassign")
    admin.get_by_label("Give it to").select_option(value=SECOND)
    admin.get_by_role("button", name="Reassign").click()
    expect(admin.locator(".error-summary")).to_contain_text("Say why the task is being reassigned.")
    admin.get_by_label("Why").fill("The referrer is on leave this week")
    admin.get_by_role("button", name="Reassign").click()
    expect(admin.get_by_role("status")).to_contain_text(f"is now with {SECOND}")
    expect(admin.locator(".history")).to_contain_text("task reassigned by dorset.admin")

    other.goto("/?taken=me")
    expect(other.locator("tr").filter(has_text=reference)).to_contain_text(title)


def test_the_administrator_gives_a_case_role_and_takes_it_back(
        page: Any, new_page: Callable[[], Any], live_server: LiveServer) -> None:
    reference, _, case_id = _referral(live_server)
    sign_in(page, "dorset.admin")
    page.goto(f"/cases/{case_id}")
    page.get_by_role("link", name="Give or remove case roles").click()
    page.get_by_label("Person", exact=True).select_option(value="dorset.police.imr")
    page.get_by_label("Role", exact=True).select_option(label="IMR author (per agency)")
    page.get_by_role("button", name="Give the role").click()
    expect(page.locator(".error-summary")).to_contain_text("is given for one agency: choose it.")
    page.get_by_label("Agency (for agency roles)").select_option(label="Police")
    page.get_by_role("button", name="Give the role").click()
    expect(page.locator("#case-roles")).to_contain_text("dorset.police.imr")

    imr = new_page()
    sign_in(imr, "dorset.police.imr")
    imr.goto("/cases/")
    expect(imr.get_by_role("link", name=reference)).to_be_visible()

    page.get_by_role("button", name="Remove dorset.police.imr as IMR author").click()
    expect(page.get_by_role("status")).to_contain_text("no longer holds that role")
    imr.goto(f"/cases/{case_id}")
    expect(imr.get_by_role("heading", name="Not found")).to_be_visible()


IDLE_ROLES = [role for role in catalogue_roles() if role not in roles_with_tasks()]


@pytest.mark.parametrize("role", IDLE_ROLES)
def test_a_role_that_owns_no_task_signs_in_to_an_empty_inbox_and_sees_its_boards_cases(
        page: Any, live_server: LiveServer, role: str) -> None:
    reference, title, case_id = _referral(live_server)
    users = [u for u in live_server.services.catalogue.users if role in u.get("roles", []) and u["board"] == "dorset"]
    sign_in(page, users[0]["username"])
    expect(page.get_by_role("heading", name="Your inbox")).to_be_visible()
    expect(page.locator("#empty-inbox")).to_have_text("Nothing is waiting for you.")
    page.get_by_role("link", name="Cases", exact=True).click()
    page.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", name=f"Case {reference}")).to_be_visible()
    if live_server.services.catalogue.role(role).administers:  # type: ignore[union-attr]
        page.get_by_role("link", name="Give or remove case roles").click()
        expect(page.locator("#case-roles")).to_contain_text("dorset.referrer")
    else:
        expect(page.get_by_role("link", name="Give or remove case roles")).to_have_count(0)
        page.goto(f"/cases/{case_id}/people")
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
