"""What one agency and one board may not see, checked in a real browser by following every link a person has.

A police IMR author never meets the health IMR: not on any page reachable from their inbox, cases list and
case page, not at the health author's task address, not at the case-file address where the health IMR is
shown to those entitled to read it, and not through the API. A Bournemouth & Poole person never reaches a
Dorset case, at any address a Dorset administrator can reach for it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from playwright.sync_api import expect

from engine.casework.accounts import issue_token
from engine.ports import TaskRow
from tests.browser.arrange import (
    alone_for,
    crawl,
    drive,
    driver,
    fill_in,
    health_agency,
    holder,
    person,
    schema_of,
    submitted,
    task_form,
    valid_data,
)
from tests.browser.conftest import LiveServer, sign_in
from tests.drive import ready

BOARD = "dorset"
POLICE = "police"
IMR_DRAFT = "prep_draft"  # the IMR itself (App. 3 format); element ids are stable (bpmn/README.md)


def free_text(schema: Mapping[str, Any], text: str) -> dict[str, Any]:
    """`text` for every free-text field of a form (strings without choices or format; lists of such lines)."""
    answers: dict[str, Any] = {}
    for name, spec in schema.get("properties", {}).items():
        if not isinstance(spec, Mapping) or spec.get("x-assign-role"):
            continue
        if spec.get("type") == "string" and not ({"enum", "oneOf", "const", "format"} & set(spec)):
            answers[name] = text
        items = spec.get("items", {})
        if spec.get("type") == "array" and items.get("type") == "string" \
                and not ({"enum", "oneOf", "const", "format"} & set(items)):
            answers[name] = [text]
    return answers


def case_paths(case_id: int, task_ids: set[str]) -> Callable[[str], bool]:
    """Links about this one case: its pages and its tasks' pages."""
    def keep(path: str) -> bool:
        base = path.split("?")[0]
        return base == f"/cases/{case_id}" or base.startswith(f"/cases/{case_id}/") \
            or any(base == f"/tasks/{t}" or base.startswith(f"/tasks/{t}/") for t in task_ids)
    return keep


def test_a_police_imr_author_never_sees_the_health_imr_on_any_page_address_or_api_they_can_reach(
        page: Any, new_page: Callable[[], Any], live_server: LiveServer) -> None:
    services = live_server.services
    health = health_agency()
    suffix = uuid.uuid4().hex[:6]
    police_author = person(services, f"br.iso.{POLICE}.imr.{suffix}", BOARD, POLICE)
    health_author = person(services, f"br.iso.{health}.imr.{suffix}", BOARD, health)
    acting = driver(services, BOARD)
    authors = {POLICE: police_author, health: health_author}

    def picker(task: TaskRow, role: str, agency: str | None) -> str:
        if role == "imr_author":
            return authors.get(task.agency or "", acting)
        return acting if agency is None else person(services, f"br.iso.{role}.{agency}.{suffix}", BOARD, agency)

    def waiting(tasks: list[TaskRow]) -> TaskRow | None:
        draft = next((t for t in tasks if t.name == IMR_DRAFT and t.agency == health), None)
        police_ready = any(t.role == "imr_author" and t.agency == POLICE for t in tasks)
        return draft if draft is not None and police_ready else None

    def held(task: TaskRow) -> bool:  # keep the police IMR open and the health IMR draft for the browser
        return task.role == "imr_author" and (task.agency == POLICE or task.name == IMR_DRAFT)

    arranged = drive(services, BOARD, waiting, hold=held, picker=picker, agencies=[POLICE, health])
    case_id, reference, draft = arranged.case_id, arranged.reference, arranged.task
    canary = f"CANARY-{uuid.uuid4().hex}"

    # The health IMR author writes the IMR, with the canary in every free-text answer.
    schema = schema_of(services, draft)
    data = valid_data(services, draft, picker, choices=free_text(schema, canary))
    assert canary in str(data), "the IMR form has no free-text field to carry the canary"
    sign_in(page, health_author)
    page.get_by_role("row").filter(has=page.locator(f'a[href$="/tasks/{draft.id}"]')).get_by_role(
        "link", name=draft.title, exact=True).click()
    expect(task_form(page)).to_be_visible()
    fill_in(page, data)
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"Done: {draft.title}")
    assert canary in str(submitted(services, draft.id))
    health_next = [t for t in ready(services, case_id) if t.agency == health and t.role == "imr_author"]
    task_ids = {t.id for t in ready(services, case_id)} | {draft.id}

    # Those entitled see it: the addresses where the health IMR is shown (the case file) are the ones to try.
    shown = [path for path, status, body in crawl(page, live_server.url, [f"/cases/{case_id}"],
                                                 keep=case_paths(case_id, task_ids)) if canary in body]
    assert shown, "the health IMR author cannot find their own IMR anywhere on the case's pages"

    # The police IMR author: every page they can reach by following links.
    police = new_page()
    sign_in(police, police_author)
    visited = {}
    for path, status, body in crawl(police, live_server.url, ["/", "/cases/", f"/cases/{case_id}"]):
        visited[path] = status
        assert canary not in body, f"the health IMR shows to the police IMR author at {path}"
        assert "Signed in as" in body, f"{path} signed the police IMR author out"
    assert visited.get(f"/cases/{case_id}") == 200, f"the police IMR author cannot open case {reference}"
    police_tasks = [t for t in ready(services, case_id) if t.role == "imr_author" and t.agency == POLICE]
    assert any(path.endswith(f"/tasks/{t.id}") for t in police_tasks for path in visited), \
        "the crawl never reached the police IMR author's own task (links from the inbox missing?)"

    # ...and the health author's task and case-file addresses typed in directly.
    direct = [f"/tasks/{draft.id}", *(f"/tasks/{t.id}" for t in health_next), *shown]
    for path in dict.fromkeys(direct):
        response = police.goto(path)
        assert response is not None and response.status == 404, f"{path} answered {response and response.status}"
        expect(police.get_by_role("heading", name="Not found")).to_be_visible()
        assert canary not in police.content(), f"the health IMR shows to the police IMR author at {path}"

    # ...and through the API with a token of their own.
    bearer = {"Authorization": f"Bearer {issue_token(services, police_author)}"}
    for path in (f"/api/cases/{case_id}", f"/api/cases/{case_id}/documents", "/api/inbox", "/api/cases"):
        answer = police.request.get(path, headers=bearer)
        assert answer.status == 200, f"{path} answered {answer.status}"
        assert canary not in answer.text(), f"the health IMR shows to the police IMR author at {path}"
    for path in (f"/api/tasks/{draft.id}", *(f"/api/{p.lstrip('/')}" for p in shown if "/documents/" in p)):
        answer = police.request.get(path, headers=bearer)
        assert answer.status == 404 and canary not in answer.text(), f"{path} answered {answer.status}"


def test_a_bournemouth_and_poole_person_never_reaches_a_dorset_case_at_any_address_dorset_people_use(
        page: Any, new_page: Callable[[], Any], live_server: LiveServer) -> None:
    services = live_server.services
    arranged = drive(services, BOARD, alone_for("lscb_administrator"))  # referral and counter-signature done
    case_id, reference = arranged.case_id, arranged.reference
    task_ids = {t.id for t in ready(services, case_id)}

    # Every address about this case that the Dorset administrator reaches from the case page.
    sign_in(page, holder(services, arranged.task, BOARD))
    starts = [f"/cases/{case_id}", f"/tasks/{arranged.task.id}"]
    addresses = [path for path, status, _ in crawl(page, live_server.url, starts, keep=case_paths(case_id, task_ids))
                 if status == 200]
    assert f"/cases/{case_id}" in addresses and f"/tasks/{arranged.task.id}" in addresses

    for username in ("bp.admin", "bp.chair"):
        other = new_page()
        sign_in(other, username)
        expect(other.get_by_role("heading", name="Your inbox")).to_be_visible()
        for path, _, body in crawl(other, live_server.url, ["/", "/cases/"], max_pages=40):
            assert reference not in body, f"{username} sees Dorset case {reference} at {path}"
            assert not re.search(r"\bDSCB-\d{4}-\d+", body), f"{username} sees a Dorset case at {path}"
        for path in addresses:
            response = other.goto(path)
            assert response is not None and response.status == 404, \
                f"{username} gets {response and response.status} at {path}, not 'not found'"
            expect(other.get_by_role("heading", name="Not found")).to_be_visible()
            assert reference not in other.content(), f"{username} sees Dorset case {reference} at {path}"
