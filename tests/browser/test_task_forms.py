"""A task's form in a real browser: refused with messages beside each field, then accepted and passed on."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from engine.casework.cases import start_case
from tests.browser.conftest import ROOT, LiveServer, sign_in

REFERRAL = ROOT / "forms" / "common" / "request_proforma.schema.json"
LEAD = "dorset.police.lead"


def _required(schema_file: Path) -> list[tuple[str, str]]:
    """(name, title) of each required field of a form."""
    schema = json.loads(schema_file.read_text())
    return [(name, schema["properties"][name]["title"]) for name in schema["required"]]


def test_the_referrer_submits_the_referral_empty_sees_what_is_missing_then_completes_it_for_the_lead(
        page: Any, new_page: Callable[[], Any], live_server: LiveServer) -> None:
    reference = start_case(live_server.services, "dorset", "dorset.referrer").reference
    sign_in(page, "dorset.referrer")
    page.locator("tr[data-task=proforma]").filter(has_text=reference).get_by_role(
        "link", name="Complete the Request for SCR proforma").click()
    expect(page.get_by_role("link", name=f"Case {reference}")).to_be_visible()

    page.get_by_role("button", name="Submit").click()
    required = _required(REFERRAL)
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text(f"There are {len(required)} problems with this form")
    expect(summary.get_by_role("listitem")).to_have_count(len(required))
    for name, title in required:
        field = page.locator(".field").filter(has=page.locator(f"#f-{name}"))
        expect(field).to_contain_text(title)
        expect(field.locator(".error-message")).to_be_visible()
    expect(page.get_by_label("Designation")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Name of person requesting the review").fill("A. Referrer")
    page.get_by_label("Designation").fill("Team manager")
    page.get_by_label("Agency (required)", exact=True).select_option(label="Police")
    page.get_by_label("Name of family").fill("Family X, 1 High Street")
    page.get_by_label("Brief family history").fill("Known to services since 2019.")
    page.get_by_label("May other children be at risk", exact=False).select_option(label="No")
    page.get_by_label("Outline of concerns").fill("A serious injury to a child.")
    page.get_by_label("Why an SCR is considered appropriate").fill("Abuse is suspected and agencies could learn.")
    page.get_by_label("Discussed with my line manager").check()
    page.get_by_label("Date signed").fill("2024-01-31")
    page.get_by_label("Agency safeguarding lead who will counter-sign").select_option(value=LEAD)
    page.get_by_role("button", name="Submit").click()

    expect(page.get_by_role("heading", name="Your inbox")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Done: Complete the Request for SCR proforma.")
    expect(page.get_by_role("status")).to_contain_text(
        re.compile(rf"sent to Agency safeguarding lead for Police \([^)]*{re.escape(LEAD)}"))
    expect(page.locator("tr[data-task]").filter(has_text=reference)).to_have_count(0)

    lead = new_page()
    sign_in(lead, LEAD)
    row = lead.locator("tr[data-task=countersign]").filter(has_text=reference)
    expect(row.get_by_role("link", name="Counter-sign the SCR request")).to_be_visible()
    row.get_by_role("link", name="Counter-sign the SCR request").click()
    expect(lead).to_have_url(re.compile(r"/tasks/[^/]+$"))
    expect(lead.get_by_role("heading", name="Counter-sign the SCR request")).to_be_visible()
