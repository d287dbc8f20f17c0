"""Every role that acts in a board's diagram, in a real browser: its inbox, its task refused then done, and the
next person's inbox.

The roles come from the compiled diagrams (a user task's lane names its role), not from a list kept here. For
each, a case is moved on through the services layer until a task of that role is the only ready one, so
completing it must hand the case to someone; everything after that happens in Chromium.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.arrange import (
    Arranged,
    NotReached,
    UserTask,
    alone_for,
    called,
    catalogue_roles,
    drive,
    fill_in,
    holder,
    named,
    person,
    posted,
    refusals,
    roles_with_tasks,
    schema_of,
    submitted,
    task_form,
    tasks_with_widget,
    valid_data,
)
from tests.browser.conftest import LiveServer, keep_screenshot, sign_in
from tests.drive import ready
from tests.formfill import value_for

ACTING = roles_with_tasks()
ROLES = [pytest.param(role, id=role) if role in ACTING else
         pytest.param(role, id=role, marks=pytest.mark.skip(reason=f"{role} owns no user task in any board's diagram"))
         for role in catalogue_roles()]


def arrange(live_server: LiveServer, role: str) -> tuple[str, Arranged]:
    """A case on which a task of `role` is the only ready task, on one of the boards whose diagram has one.

    Roles take turns to start from a different board, so both boards' forms are exercised; a board where the
    main SCR path never reaches the role (B&P's QA Group acts only in alternative reviews) is passed over.
    """
    boards = list(dict.fromkeys(task.board for task in ACTING[role]))
    turn = catalogue_roles().index(role) % len(boards)
    missed = []
    for board in boards[turn:] + boards[:turn]:
        try:
            return board, drive(live_server.services, board, alone_for(role), hold=lambda t: t.role == role)
        except NotReached as exc:
            missed.append(str(exc))
    raise NotReached("; ".join(missed))


def task_row(page: Any, task_id: str) -> Any:
    """The inbox row that links to this task."""
    return page.get_by_role("row").filter(has=page.locator(f'a[href$="/tasks/{task_id}"]'))


def problems_heading(count: int) -> str:
    return "There is a problem with this form" if count == 1 else f"There are {count} problems with this form"


@pytest.mark.parametrize("role", ROLES)
def test_the_role_sees_its_task_is_refused_an_invalid_form_submits_a_valid_one_and_the_next_holder_sees_the_next(
        role: str, page: Any, new_page: Callable[[], Any], live_server: LiveServer) -> None:
    services = live_server.services
    board, arranged = arrange(live_server, role)
    task, reference = arranged.task, arranged.reference
    user = holder(services, task, board)
    schema = schema_of(services, task)

    def picked(_task: Any, assigned: str, agency: str | None) -> str:
        return person(services, f"br.{assigned}.{arranged.case_id}.picked" + (f".{agency}" if agency else ""), board,
                      agency)

    data = valid_data(services, task, picked)

    # Sign in and find the task in the inbox by case reference and title.
    sign_in(page, user)
    expect(page.get_by_role("heading", name="Your inbox")).to_be_visible()
    row = task_row(page, task.id)
    expect(row.get_by_role("link", name=reference, exact=True)).to_be_visible()
    expect(row.get_by_role("link", name=task.title, exact=True)).to_be_visible()
    row.get_by_role("link", name=task.title, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/tasks/{re.escape(task.id)}$"))
    expect(page.get_by_role("heading", name=task.title, level=1)).to_be_visible()
    expect(page.get_by_role("link", name=f"Case {reference}")).to_be_visible()
    keep_screenshot(page, f"{role.replace('_', '-')}-task")  # what the role sees of its task (docs/roles.md)

    # Submit it as it stands (empty) and see what is wrong, in the summary and beside each field.
    expected = refusals(schema, posted(task_form(page)))
    if expected:
        page.get_by_role("button", name="Submit", exact=True).click()
        summary = page.get_by_role("alert").filter(has_text="with this form")
        expect(summary).to_be_visible()
        expect(summary.get_by_role("heading")).to_have_text(problems_heading(len(expected)))
        expect(summary.get_by_role("listitem")).to_have_count(len(expected))
        for error in expected:
            top = error.field.split(".")[0]
            if top not in schema.get("properties", {}):
                continue
            field = page.locator(".field").filter(has=page.locator(f"#f-{top}"))
            expect(field.locator(".error-message").filter(has_text=error.message).first).to_be_visible()
        expect(page.get_by_role("heading", name=task.title, level=1)).to_be_visible()
    else:  # the empty form is valid as it stands: nothing to refuse, so this step is skipped for this form
        print(f"{role}: {task.name} accepts an empty form; the invalid step is skipped")

    # Fill it in validly (any person picker names a new person, made before the page lists people) and submit.
    fill_in(page, data)
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_role("heading", name="Your inbox")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(f"Done: {task.title}")
    expect(page.get_by_role("status")).to_contain_text(re.compile("sent to|Nothing new is waiting"))  # who is next
    keep_screenshot(page, f"{role.replace('_', '-')}-inbox-after-submitting")
    expect(page.locator(f'a[href$="/tasks/{task.id}"]')).to_have_count(0)
    with services.uow() as uow:
        done = uow.tasks.get(task.id)
    assert done is not None and done.state == "completed" and done.completed_by == user
    kept = submitted(services, task.id)
    assert {name: kept.get(name) for name in data} == data, "the case file differs from what was typed"

    # The next person: their inbox now lists the task the case moved on to.
    following = sorted((t for t in ready(services, arranged.case_id) if t.id != task.id),
                       key=lambda t: (t.name, t.agency or ""))
    assert following, f"after {task.name} case {reference} has no ready task (it waits on a timer or ended)"
    after = following[0]
    next_user = holder(services, after, board)
    print(f"{role}: {user} did {task.name} ({task.agency or board}) on {reference}; "
          f"{next_user} now has {after.name} ({after.role}, {after.agency or 'no agency'})")
    other = new_page()
    sign_in(other, next_user)
    expect(other.get_by_role("heading", name="Your inbox")).to_be_visible()
    row = task_row(other, after.id)
    expect(row.get_by_role("link", name=reference, exact=True)).to_be_visible()
    expect(row.get_by_role("link", name=after.title, exact=True)).to_be_visible()


def _widget_cases() -> list[Any]:
    """The first task (in diagram order) whose form has a required repeating-rows field, and one with a
    required several-people picker: the widgets the role tests above may not meet."""
    cases = []
    for widget, label in (("rows", "repeating-rows"), ("person-multi", "several-people")):
        found = tasks_with_widget(widget)
        cases.append(pytest.param(found, id=label) if found else
                     pytest.param([], id=label, marks=pytest.mark.skip(reason=f"no form has a required {widget}")))
    return cases


@pytest.mark.parametrize("candidates", _widget_cases())
def test_two_rows_or_two_people_are_entered_with_the_page_controls_and_kept_as_typed(
        candidates: list[tuple[UserTask, str]], page: Any, live_server: LiveServer) -> None:
    services = live_server.services
    reached = None
    for candidate, name in candidates[:4]:  # the first one the main SCR path reaches
        try:
            reached = (candidate, name, drive(services, candidate.board, named(candidate.name),
                                              hold=called(candidate.name)))
        except NotReached:
            continue
        break
    if reached is None:
        pytest.fail(f"none of {[(c.board, c.name) for c, _ in candidates[:4]]} is reached on the main SCR path")
    spec, field, arranged = reached
    task = arranged.task
    schema = schema_of(services, task)
    prop = schema["properties"][field]
    if prop.get("x-assign-role"):
        two: list[Any] = [person(services, f"br.{prop['x-assign-role']}.{arranged.case_id}.{n}", spec.board)
                          for n in ("first", "second")]
    else:
        two = [value_for(prop["items"]) for _ in range(2)]
        two[1] = {**two[1], **{k: f"{v} (second)" for k, v in two[1].items()
                              if isinstance(v, str) and not prop["items"]["properties"][k].get("format")
                              and "enum" not in prop["items"]["properties"][k]}}
    data = valid_data(services, task, lambda _t, role, agency: person(
        services, f"br.{role}.{arranged.case_id}.picked" + (f".{agency}" if agency else ""), spec.board, agency),
        choices={field: two})
    assert data[field] == two

    sign_in(page, holder(services, task, spec.board))
    page.goto(f"/tasks/{task.id}")
    expect(page.get_by_role("heading", name=task.title, level=1)).to_be_visible()
    fill_in(page, data)
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"Done: {task.title}")
    kept = submitted(services, task.id)
    assert kept[field] == two
    assert {name: kept.get(name) for name in data} == data, "answers typed before adding a row were lost"
    if prop.get("x-assign-role"):
        with services.uow() as uow:
            held = uow.people.holders(prop["x-assign-role"], spec.board, arranged.case_id, None)
        assert set(two) <= set(held)
