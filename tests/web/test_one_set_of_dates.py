"""One set of dates: at every step of a whole Dorset case and a whole Bournemouth & Poole case, each waiting task shows
the same due date in the inbox, on its task page, in the case page's "Waiting to be done", on the timeline and in
the new-work mail."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from flask import Flask

from engine.casework.accounts import set_password_hash
from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.mail import queue_mail
from engine.casework.services import Services
from engine.ports import TaskRow
from tests.drive import SCR_PATH, SUPERUSER, form_data, grant_everything, in_driving_order, ready
from tests.web.conftest import PASSWORD, another_browser
from web.accounts import Passwords

TIME = re.compile(r'<time datetime="([^"]+)">')


def _row(page: str, marker: str) -> str:
    """The HTML of the table row carrying `marker` (an attribute), up to its end."""
    start = page.index(marker)
    return page[start:page.index("</tr>", start)]


def _due(html: str) -> datetime | None:
    found = TIME.search(html)
    return datetime.fromisoformat(found.group(1)) if found else None


def _timeline_dues(page: str, task: TaskRow) -> set[datetime | None]:
    """The due dates the timeline gives the task's step (for its agency, when the step runs once per agency)."""
    row = _row(page, f'data-element="{task.name}"')
    listed = re.findall(r'<li data-agency="([^"]*)" data-due="([^"]*)">', row)
    if listed:
        return {datetime.fromisoformat(d) if d else None for a, d in listed if a == (task.agency or "")}
    return {_due(row)}


def _mail_due(services: Services, task: TaskRow) -> str | None:
    with services.uow() as uow:
        bodies = [m.body for m in uow.mail.for_case(task.case_id) if m.key.startswith(f"task:{task.id}:")]
    found = re.search(r"^Due: (.+)$", bodies[-1], re.M) if bodies else None
    return found.group(1) if found else None


def _spoken(due: datetime | None) -> str:
    return f"{due.day} {due:%B %Y}" if due is not None else "no due date"


@pytest.mark.parametrize("board", ["dorset", "bournemouth-poole"])
def test_every_view_of_a_due_date_agrees_at_every_step_of_a_whole_case(
        app: Flask, services: Services, board: str) -> None:
    grant_everything(services, board, ["police", "social_care", "health_acute"])
    record = start_case(services, board, SUPERUSER)
    case_id = record.id or 0
    set_password_hash(services, SUPERUSER, Passwords(fast=True).hash(PASSWORD))
    reader = another_browser(app)  # the driver holds every role: every task's page is theirs to read
    reader.sign_in(SUPERUSER)
    checked = 0
    for _step in range(400):
        tasks = ready(services, case_id)
        if not tasks:
            break
        queue_mail(services)
        case_page = reader.client.get(f"/cases/{case_id}").get_data(as_text=True)
        inbox = reader.client.get("/").get_data(as_text=True)
        for task in tasks:
            due = task.due_at
            assert _due(_row(case_page, f'data-task-id="{task.id}"')) == due, f"case page: {task.name}"
            assert due in _timeline_dues(case_page, task), f"timeline: {task.name}"
            assert _due(_row(inbox, f'data-task-id="{task.id}"')) == due, f"inbox: {task.name}"
            body = reader.client.get(f"/tasks/{task.id}").get_data(as_text=True)
            assert _due(body[body.index("<h1>"):]) == due, f"task page: {task.name}"
            mailed = _mail_due(services, task)
            assert mailed in (None, _spoken(due)), f"mail: {task.name}"
            checked += 1
        task = in_driving_order(services, case_id, tasks)[0]
        complete_task(services, task.id, SUPERUSER, form_data(services, case_id, task, SCR_PATH))
    assert not ready(services, case_id), "the case did not reach its end"
    assert checked > 40
