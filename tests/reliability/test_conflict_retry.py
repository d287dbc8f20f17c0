"""T-C4, what the loser of a race is told: two people submit the same referral through the API at the same instant;
one is done, the other gets 409. Reading the task again shows it completed by the winner, and submitting again is
the same 409 naming who and when (never a 500, never a second completion); the task page says the same."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from flask import Flask

from engine.casework.accounts import issue_token
from engine.casework.cases import start_case
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.ports import Assignment
from tests.drive import SCR_PATH, form_data, grant_everything, ready
from tests.service.racing import AtOnce
from tests.web.conftest import Browser

REFERRER, LEAD = "dorset.referrer", "dorset.police.lead"


def raced(app: Flask, services: Services) -> tuple[str, dict[str, Any], dict[str, dict[str, str]], dict[str, int]]:
    """A Dorset referral both may submit, submitted by both at once: (task, answers, tokens, status per person)."""
    grant_everything(services, "dorset", list(services.catalogue.agencies))
    case_id = start_case(services, "dorset", REFERRER).id or 0
    assign_role(services, Assignment(LEAD, "referrer", "dorset", case_id))
    [task] = ready(services, case_id)
    data = form_data(services, case_id, task, SCR_PATH)
    tokens = {p: {"Authorization": f"Bearer {issue_token(services, p)}"} for p in (REFERRER, LEAD)}
    services.clock.advance(timedelta(minutes=7))  # type: ignore[attr-defined]
    statuses: dict[str, int] = {}
    real, services.uow = services.uow, AtOnce(services, 2)  # type: ignore[method-assign]

    def submit(person: str) -> None:
        statuses[person] = app.test_client().post(f"/api/tasks/{task.id}", json={"data": data},
                                                  headers=tokens[person]).status_code

    threads = [threading.Thread(target=submit, args=(p,)) for p in (REFERRER, LEAD)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        services.uow = real  # type: ignore[method-assign]
    return task.id, data, tokens, statuses


def test_the_loser_reads_who_completed_it_and_when_and_a_retry_is_the_same_409(app: Flask, services: Services) -> None:
    task, data, tokens, statuses = raced(app, services)
    assert sorted(statuses.values()) == [200, 409], statuses
    winner = next(p for p, s in statuses.items() if s == 200)
    loser = next(p for p, s in statuses.items() if s == 409)
    client = app.test_client()

    again = client.get(f"/api/tasks/{task}", headers=tokens[loser]).get_json()["task"]
    retried = [client.post(f"/api/tasks/{task}", json={"data": data}, headers=tokens[loser]) for _ in range(3)]

    assert (again["state"], again["completed_by"]) == ("completed", winner)
    assert again["completed_at"].startswith("2024-01-31T09:07")
    assert [r.status_code for r in retried] == [409] * 3
    assert all(r.get_json()["message"] == f"this task was completed by {winner} at 31 Jan 2024 09:07" for r in retried)
    with services.uow() as uow:
        row = uow.tasks.get(task)
        assert row is not None
        completions = [e for e in uow.events.for_case(row.case_id) if e.kind == "task_completed"]
        kept = uow.submissions.for_case(row.case_id)
    assert [e.actor for e in completions] == [winner] and [s.username for s in kept] == [winner]


def test_the_losers_task_page_says_who_completed_it_and_when(app: Flask, services: Services) -> None:
    task, _, _, statuses = raced(app, services)
    winner = next(p for p, s in statuses.items() if s == 200)
    loser = next(p for p, s in statuses.items() if s == 409)
    page = Browser(app.test_client())
    page.sign_in(loser)

    answer = page.client.get(f"/tasks/{task}")

    assert answer.status_code == 409
    assert f"was completed by\n  <strong>{winner}</strong> on 31 Jan 2024 at 09:07." in answer.get_data(as_text=True)


def test_the_api_409_carries_the_code_task_already_completed(app: Flask, services: Services) -> None:
    task, data, tokens, statuses = raced(app, services)
    loser = next(p for p, s in statuses.items() if s == 409)
    answer = app.test_client().post(f"/api/tasks/{task}", json={"data": data}, headers=tokens[loser]).get_json()
    assert answer.get("code") == "task_already_completed" or answer["error"] == "task_already_completed"
