"""Four IMR authors pressing Submit on their own task pages at the same moment: each is done, and each one's
answers are recorded as theirs (completions written together never mix up whose form was whose)."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from werkzeug.datastructures import MultiDict

from engine.casework.accounts import seed_users, set_password_hash
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.ports import Assignment
from tests.bench.pages import form_fields
from tests.drive import SCR_PATH, at_the_imr_authors, authors_tasks, form_data, grant_everything
from tests.web.conftest import PASSWORD, Browser, another_browser
from web.accounts import Passwords

FOUR = ["social_care", "police", "education", "health_commissioning"]
CHOICES = {**SCR_PATH, "agencies": FOUR}


def in_their_words(agency: str, data: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The answers, with every free-text field of the form (asked for or not) naming the agency that wrote it."""
    free = [k for k, spec in schema.get("properties", {}).items() if spec.get("type") == "string"
            and not {"enum", "oneOf", "format", "const", "x-assign-role"} & spec.keys()]
    assert free, "the form has a free-text field to write in"
    return {**data, **{k: f"{agency} wrote this" for k in free}}


def test_four_authors_submitting_their_pages_at_once_each_get_their_own_answers_recorded(
        app: Flask, services: Services) -> None:
    grant_everything(services, "dorset", FOUR)
    case_id = at_the_imr_authors(services, "dorset", FOUR, CHOICES)
    authors = {a: f"together.{a}" for a in FOUR}
    seed_users(services, [{"username": u, "display_name": u, "board": "dorset", "agency": a, "roles": []}
                          for a, u in authors.items()])
    hashed = Passwords(fast=True).hash(PASSWORD)
    tasks = authors_tasks(services, case_id)
    posts: dict[str, tuple[Browser, list[tuple[str, str]]]] = {}
    with services.uow() as uow:
        process = services.process_of(uow, uow.cases.get(case_id))
    for agency, username in authors.items():
        set_password_hash(services, username, hashed)
        assign_role(services, Assignment(username, "imr_author", "dorset", case_id, agency))
        schema = process.form(tasks[agency].form or "")
        answers = in_their_words(agency, form_data(services, case_id, tasks[agency], CHOICES), schema)
        person = another_browser(app)
        person.sign_in(username)
        token = person.token(f"/tasks/{tasks[agency].id}")
        posts[agency] = (person, [*form_fields(schema, answers), ("csrf_token", token)])
    start = threading.Barrier(len(FOUR), timeout=60)
    answered: dict[str, int] = {}

    def press_submit(agency: str) -> None:
        person, fields = posts[agency]
        start.wait()
        answered[agency] = person.client.post(f"/tasks/{tasks[agency].id}", data=MultiDict(fields)).status_code

    threads = [threading.Thread(target=press_submit, args=(a,)) for a in FOUR]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert answered == {a: 302 for a in FOUR}, "each is sent back to their inbox, done"
    with services.uow() as uow:
        kept = {s.username: s for s in uow.submissions.for_case(case_id) if s.username in authors.values()}
    assert set(kept) == set(authors.values())
    for agency, username in authors.items():
        texts = [v for v in kept[username].data.values() if isinstance(v, str) and v.endswith("wrote this")]
        assert texts and all(t == f"{agency} wrote this" for t in texts), f"{agency}'s answers are their own"
        assert kept[username].agency == agency
