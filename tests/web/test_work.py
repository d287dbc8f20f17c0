"""Working a task with others: taking and releasing it, reassignment with a reason, drafts, case roles."""

from __future__ import annotations

from flask import Flask

from engine.casework import queries
from engine.casework.accounts import issue_token
from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.ports import Assignment, TaskRow
from tests.drive import SCR_PATH, form_data, grant_everything
from tests.web.conftest import Browser, another_browser

LEAD = "dorset.police.lead"


def referral(services: Services, referrer: str = "dorset.referrer") -> TaskRow:
    """A fresh Dorset case's referral task, which a second referrer on the case could also do."""
    grant_everything(services, "dorset", list(services.catalogue.agencies))  # the person picked must exist
    record = start_case(services, "dorset", referrer)
    [task] = [i.task for i in queries.inbox(services, referrer) if i.task.case_id == record.id]
    assign_role(services, Assignment(LEAD, task.role or "", "dorset", record.id))
    return task


def signed_in(app: Flask, username: str) -> Browser:
    browser = another_browser(app)
    browser.sign_in(username)
    return browser


def test_a_task_taken_by_one_person_shows_their_name_to_the_others_and_only_they_can_submit_it(
        app: Flask, services: Services) -> None:
    task = referral(services)
    first, second = signed_in(app, "dorset.referrer"), signed_in(app, LEAD)
    assert first.post(f"/tasks/{task.id}/claim", {}, token_from="/").status_code == 302
    assert "you" in first.client.get("/").get_data(as_text=True)
    page = second.client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "dorset.referrer</strong> is working on this task" in page
    data = form_data(services, task.case_id, task, SCR_PATH)
    refused = second.client.post(f"/api/tasks/{task.id}", json={"data": data},
                                 headers={"Authorization": f"Bearer {issue_token(services, LEAD)}"})
    assert refused.status_code == 409 and "dorset.referrer is working on this task" in refused.get_json()["message"]
    assert first.post(f"/tasks/{task.id}/release", {}, token_from="/").status_code == 302
    assert "Nobody has taken this task yet" in second.client.get(f"/tasks/{task.id}").get_data(as_text=True)


def test_only_the_holder_or_an_administrator_can_release_a_taken_task(app: Flask, services: Services) -> None:
    task = referral(services)
    api = app.test_client()
    bearer = {name: {"Authorization": f"Bearer {issue_token(services, name)}"}
              for name in ("dorset.referrer", LEAD, "dorset.admin")}
    assert api.post(f"/api/tasks/{task.id}/claim", headers=bearer["dorset.referrer"]).get_json()["claimed_by"] == \
        "dorset.referrer"
    assert api.post(f"/api/tasks/{task.id}/claim", headers=bearer[LEAD]).status_code == 409
    assert api.post(f"/api/tasks/{task.id}/release", headers=bearer[LEAD]).status_code == 403
    released = api.post(f"/api/tasks/{task.id}/release", headers=bearer["dorset.admin"]).get_json()
    assert released["claimed_by"] is None


def test_an_administrator_reassigns_a_task_with_a_reason_that_the_history_keeps(
        app: Flask, services: Services) -> None:
    task = referral(services)
    admin = signed_in(app, "dorset.admin")
    path = f"/tasks/{task.id}/reassign"
    refused = admin.post(path, {"to": LEAD, "reason": "  "})
    assert refused.status_code == 422 and "Say why the task is being reassigned." in refused.get_data(as_text=True)
    assert admin.post(path, {"to": LEAD, "reason": "Referrer on leave"}).status_code == 302
    case_page = admin.client.get(f"/cases/{task.case_id}").get_data(as_text=True)
    assert "task reassigned by dorset.admin" in case_page
    with services.uow() as uow:
        [event] = [e for e in uow.events.for_case(task.case_id) if e.kind == "task_reassigned"]
    assert event.detail["reason"] == "Referrer on leave" and event.detail["to"] == LEAD
    page = signed_in(app, LEAD).client.get("/").get_data(as_text=True)
    assert task.title in page


def test_a_saved_draft_comes_back_when_the_task_is_opened_again_and_survives_a_409(
        app: Flask, services: Services) -> None:
    task = referral(services)
    first, second = signed_in(app, "dorset.referrer"), signed_in(app, LEAD)
    saved = second.post(f"/tasks/{task.id}", {"action": "draft", "concerns": "Half-written concerns"})
    assert saved.status_code == 200 and "Draft saved" in saved.get_data(as_text=True)
    reopened = second.client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Half-written concerns" in reopened and "Your draft was saved" in reopened
    data = form_data(services, task.case_id, task, SCR_PATH)
    complete_task(services, task.id, "dorset.referrer", data)
    late = second.client.get(f"/tasks/{task.id}")
    assert late.status_code == 409
    body = late.get_data(as_text=True)
    assert "completed by" in body and "dorset.referrer" in body and "Half-written concerns" in body
    assert first.client.get(f"/tasks/{task.id}").status_code == 409


def test_a_draft_is_private_to_the_person_who_saved_it(app: Flask, services: Services) -> None:
    task = referral(services)
    second = signed_in(app, LEAD)
    second.post(f"/tasks/{task.id}", {"action": "draft", "concerns": "Only mine"})
    assert "Only mine" not in signed_in(app, "dorset.referrer").client.get(f"/tasks/{task.id}").get_data(as_text=True)


def test_the_administrator_gives_and_takes_away_a_case_role_from_the_case_people_page(
        app: Flask, services: Services) -> None:
    task = referral(services)
    admin = signed_in(app, "dorset.admin")
    path = f"/cases/{task.case_id}/people"
    refused = admin.post(path, {"username": "dorset.police.imr", "role": "imr_author", "agency": ""})
    assert refused.status_code == 422 and "is given for one agency: choose it." in refused.get_data(as_text=True)
    assert admin.post(path, {"username": "dorset.police.imr", "role": "imr_author", "agency": "police"}).status_code \
        == 302
    assert f"/cases/{task.case_id}" in signed_in(app, "dorset.police.imr").client.get("/cases/").get_data(as_text=True)
    assert admin.post(path, {"action": "remove", "username": "dorset.police.imr", "role": "imr_author",
                             "agency": "police"}).status_code == 302
    assert signed_in(app, "dorset.police.imr").client.get(f"/cases/{task.case_id}").status_code == 404
    history = admin.client.get(f"/cases/{task.case_id}").get_data(as_text=True)
    assert "role assigned by dorset.admin" in history and "role removed by dorset.admin" in history


def test_someone_who_is_not_an_administrator_cannot_see_the_case_people_page(app: Flask, services: Services) -> None:
    task = referral(services)
    assert signed_in(app, "dorset.referrer").client.get(f"/cases/{task.case_id}/people").status_code == 404


def test_the_inbox_offers_to_take_a_task_and_then_to_release_it(app: Flask, services: Services) -> None:
    task = referral(services)
    referrer = signed_in(app, "dorset.referrer")
    assert f'aria-label="Take {task.title}' in referrer.client.get("/").get_data(as_text=True)
    referrer.post(f"/tasks/{task.id}/claim", {"next": "/"}, token_from="/")
    assert f'aria-label="Release {task.title}' in referrer.client.get("/").get_data(as_text=True)


def test_the_inbox_can_show_only_the_tasks_i_have_taken_or_those_nobody_has(app: Flask, services: Services) -> None:
    task = referral(services)
    referrer = signed_in(app, "dorset.referrer")
    assert task.title not in referrer.client.get("/?taken=me").get_data(as_text=True)
    referrer.post(f"/tasks/{task.id}/claim", {}, token_from="/")
    assert task.title in referrer.client.get("/?taken=me").get_data(as_text=True)
    assert task.title not in referrer.client.get("/?taken=free").get_data(as_text=True)


def test_a_long_inbox_comes_in_pages_of_fifty_with_counts_over_all_of_it(app: Flask, services: Services) -> None:
    grant_everything(services, "dorset", list(services.catalogue.agencies))
    for _ in range(55):
        start_case(services, "dorset", "dorset.referrer")
    referrer = signed_in(app, "dorset.referrer")
    first = referrer.client.get("/").get_data(as_text=True)
    assert '<span id="count-all">55</span>' in first and "Showing 1 to 50 of 55." in first
    assert first.count('data-task="') == 50 and "Next page" in first
    second = referrer.client.get("/?page=2&sort=case").get_data(as_text=True)
    assert "Showing 51 to 55 of 55." in second and second.count('data-task="') == 5
    assert "Previous page" in second and "sort=case" in second
