"""Signing in, starting a case and reading the inbox, as people see them in a real browser."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, LiveServer, sign_in


def test_a_wrong_password_shows_the_error_message_and_stays_on_the_sign_in_page(page: Any) -> None:
    sign_in(page, "dorset.chair", "not the password")
    expect(page.get_by_role("alert")).to_have_text("That user name and password do not match an account.")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_the_referrer_who_starts_a_case_lands_on_the_referral_form(page: Any) -> None:
    sign_in(page, "dorset.referrer")
    page.get_by_role("link", name="Start a case").click()
    page.get_by_label("Dorset LSCB").check()
    page.get_by_role("button", name="Start the referral").click()
    expect(page).to_have_url(re.compile(r"/tasks/[^/]+$"))
    expect(page.get_by_role("heading", name="Complete the Request for SCR proforma")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Case DSCB-\S+ started"))
    expect(page.get_by_role("link", name=re.compile(r"^Case DSCB-"))).to_be_visible()
    expect(page.get_by_role("button", name="Submit")).to_be_visible()


def test_the_dorset_administrators_inbox_lists_tasks_by_case_reference_and_never_a_bournemouth_and_poole_case(
        page: Any, live_server: LiveServer) -> None:
    dorset = live_server.advance("dorset", "dorset.referrer", "dorset.police.lead")
    elsewhere = live_server.advance("bournemouth-poole", "bp.referrer", "bp.police.lead")
    sign_in(page, "dorset.admin")
    expect(page.get_by_role("heading", name="Your inbox")).to_be_visible()
    row = page.locator("tr[data-task=receive_proforma]").filter(has_text=dorset)
    expect(row.get_by_role("link", name=dorset)).to_be_visible()
    expect(row).to_contain_text("Receive and distribute the proforma")
    rows = page.locator("table.inbox tbody tr")
    expect(page.locator("#count-all")).to_have_text(str(rows.count()))
    for reference in rows.locator("td:first-child").all_inner_texts():
        assert reference.startswith("DSCB-"), reference
    expect(page.locator("main")).not_to_contain_text(elsewhere)
    expect(page.locator("main")).not_to_contain_text("BPSCB-")
    expect(page.get_by_label("Case")).not_to_contain_text("BPSCB-")


def test_signing_out_returns_to_the_sign_in_page(page: Any) -> None:
    sign_in(page, "dorset.manager")
    expect(page.get_by_text("Signed in as dorset.manager")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_keyboard_only_tab_reaches_the_user_name_the_password_and_sign_in_in_order(page: Any) -> None:
    page.goto("/login")

    def focused() -> str:
        return str(page.evaluate("() => document.activeElement.id || document.activeElement.textContent.trim()"))

    page.keyboard.press("Tab")
    assert focused() == "Skip to content"
    page.keyboard.press("Tab")
    assert focused() == "username"
    page.keyboard.type("dorset.qa")
    page.keyboard.press("Tab")
    assert focused() == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    assert focused() == "Sign in"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your inbox")).to_be_visible()
    expect(page.get_by_text("Signed in as dorset.qa")).to_be_visible()
