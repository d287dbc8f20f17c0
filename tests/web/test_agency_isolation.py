"""One agency's answers never reach another agency's pages or API responses (RELIABILITY.md T-Z3)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from engine.casework.accounts import issue_token
from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.ports import Assignment
from engine.workflow.runtime import Case
from tests.drive import SCR_PATH, SUPERUSER, drive_until, form_data, grant_everything, ready, standing_steps
from tests.web.conftest import Browser

CANARY = "Zebediah Canaryfield"
AGENCIES = ["police", "health_commissioning"]
POLICE, HEALTH = "dorset.police.imr", "dorset.healthcommissioning.imr"
SCOPED = ("imr_author", "chief_executive")


def with_canary(data: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The data with the canary written into every free-text answer (top level, lists and rows)."""
    def mark(value: Any, spec: dict[str, Any]) -> Any:
        if isinstance(value, str) and not {"enum", "oneOf", "format", "const"} & spec.keys():
            return f"{CANARY} {value}"
        if isinstance(value, list):
            return [mark(v, spec.get("items", {})) for v in value]
        if isinstance(value, dict):
            return {k: mark(v, spec.get("properties", {}).get(k, {})) for k, v in value.items()}
        return value
    properties = schema.get("properties", {})
    return {k: v if properties.get(k, {}).get("x-assign-role") else mark(v, properties.get(k, {}))
            for k, v in data.items()}


@pytest.fixture
def health_answered(services: Services) -> Iterator[tuple[int, list[str]]]:
    """A Dorset case whose health IMR work has been answered with the canary; returns the case and health tasks."""
    grant_everything(services, "dorset", AGENCIES)
    record = start_case(services, "dorset", SUPERUSER)
    case_id = record.id or 0
    drive_until(services, case_id, lambda tasks: set(AGENCIES) <= {t.agency for t in tasks if t.agency},
                {**SCR_PATH, "agencies": AGENCIES})
    for user, agency in ((POLICE, "police"), (HEALTH, "health_commissioning")):
        for role in SCOPED:
            assign_role(services, Assignment(user, role, "dorset", case_id, agency))
    answered: list[str] = []
    standing = standing_steps(services, case_id)
    for _ in range(40):  # the health agency's own work, with the panel's steps in between; police work waits
        tasks = ready(services, case_id)
        health = [t for t in tasks if t.agency == "health_commissioning" and t.role in SCOPED]
        others = [t for t in tasks if t.agency != "police" and t not in health and not standing(t)]
        if len(answered) >= 4 or not (health or others):
            break
        task = (health or others)[0]
        with services.uow() as uow:
            schema = services.process_of(uow, uow.cases.get(case_id)).form(task.form or "")
        data = form_data(services, case_id, task, SCR_PATH)
        if health:
            complete_task(services, task.id, HEALTH, with_canary(data, schema))
            answered.append(task.id)
        else:
            complete_task(services, task.id, SUPERUSER, data)
    assert answered, "the health agency had no task to answer"
    yield case_id, answered


def crawl(browser: Browser, starts: list[str]) -> dict[str, str]:
    """Every same-site page reachable by following links from `starts` (no sign-out), path -> body."""
    seen: dict[str, str] = {}
    queue = list(starts)
    while queue and len(seen) < 200:
        path = queue.pop(0)
        if path in seen:
            continue
        answer = browser.client.get(path)
        body = answer.get_data(as_text=True) + "".join(f"{k}: {v}\n" for k, v in answer.headers.items())
        seen[path] = body
        for link in re.findall(r'href="(/[^"#]*)"', body):
            link = link.replace("&amp;", "&")
            if not link.startswith(("/static/", "/logout", "//")) and link not in seen:
                queue.append(link)
    return seen


def test_the_health_imr_never_appears_on_any_page_the_police_imr_author_can_reach(
        app: Flask, services: Services, health_answered: tuple[int, list[str]]) -> None:
    case_id, health_tasks = health_answered
    police = Browser(app.test_client())
    police.sign_in(POLICE)
    pages = crawl(police, ["/", "/cases/", f"/cases/{case_id}", *(f"/tasks/{t}" for t in health_tasks)])
    assert f"/cases/{case_id}" in pages and len(pages) >= 3
    assert [path for path, body in pages.items() if CANARY in body] == []
    assert all(police.client.get(f"/tasks/{t}").status_code == 404 for t in health_tasks)


def test_the_health_imr_never_appears_in_any_api_answer_to_the_police_imr_author(
        app: Flask, services: Services, health_answered: tuple[int, list[str]]) -> None:
    case_id, health_tasks = health_answered
    client = app.test_client()
    token = {"Authorization": f"Bearer {issue_token(services, POLICE)}"}
    with services.uow() as uow:
        documents = [s.id for s in uow.submissions.for_case(case_id)]
    paths = ["/api/inbox", "/api/cases", f"/api/cases/{case_id}", f"/api/cases/{case_id}/documents",
             *(f"/api/cases/{case_id}/documents/{d}" for d in documents),
             *(f"/api/tasks/{t}" for t in health_tasks), *(f"/api/tasks/{t}/draft" for t in health_tasks)]
    bodies = {p: client.get(p, headers=token) for p in paths}
    # Malformed and refused requests, whose error answers must not echo anything either.
    bodies |= {f"POST {t}": client.post(f"/api/tasks/{t}", json={"data": {"x": 1}}, headers=token)
               for t in health_tasks}
    bodies["POST malformed"] = client.post(f"/api/tasks/{health_tasks[0]}", data="{not json", headers=token)
    leaks = [p for p, answer in bodies.items()
             if CANARY in answer.get_data(as_text=True) or any(CANARY in v for _, v in answer.headers.items())]
    assert leaks == []
    assert all(bodies[f"/api/cases/{case_id}/documents/{d}"].status_code in (200, 404) for d in documents)


def test_the_health_imr_is_in_the_case_file_for_its_own_agency_and_the_panel_but_not_in_workflow_data(
        app: Flask, services: Services, health_answered: tuple[int, list[str]]) -> None:
    case_id, _ = health_answered
    with services.uow() as uow:
        state = uow.cases.get(case_id).state
        kept = [s for s in uow.submissions.for_case(case_id) if CANARY in str(s.data)]
    assert kept, "the canary answers are kept in the case file"
    assert CANARY.encode() not in state  # gzip is no disguise: state is stored compressed, so check it decoded too
    with services.uow() as uow:
        record = uow.cases.get(case_id)
        restored = Case.restore(services.process_of(uow, record), services.catalogue, record.state)
    assert CANARY not in restored.dump()
    for reader in (HEALTH, "dorset.admin"):
        browser = Browser(app.test_client())
        browser.sign_in(reader)
        page = browser.client.get(f"/cases/{case_id}/documents/{kept[0].id}")
        assert page.status_code == 200 and CANARY in page.get_data(as_text=True)
