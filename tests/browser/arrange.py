"""Arranging cases quickly through the services layer, and driving task forms and crawls in the browser.

Used by the browser tests that act as every role and check what each agency and board may see. Cases are
moved on by a per-board driver account (every role, every agency, no password: it never signs in); people who
sign in are demo accounts or accounts made here, all with the browser tests' PASSWORD.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urldefrag, urlsplit

from werkzeug.datastructures import MultiDict

from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.services import Services
from engine.errors import InvalidSubmission
from engine.ports import Assignment, TaskRow, UserRecord
from engine.workflow.catalogue import load_catalogue
from engine.workflow.forms import validate_submission
from engine.workflow.specs import compile_processes, read_diagrams, read_forms
from tests.browser.conftest import PASSWORD, ROOT
from tests.drive import SCR_PATH, in_driving_order, ready, standing_steps
from tests.formfill import fill
from web import formrender

# (task being completed, role a person field assigns, the agency it is given for or None) -> username; for a role
# held per agency the person must be of that agency (the server refuses anyone else).
Picker = Callable[[TaskRow, str, str | None], str]


# ---------------------------------------------------------------- which roles act where (from the diagrams)

@dataclass(frozen=True)
class UserTask:
    """One user task of a board's compiled diagram (or of a process it calls)."""

    board: str
    name: str
    role: str
    form: str | None


@cache
def user_tasks() -> tuple[UserTask, ...]:
    """Every user task of each board's compiled diagram, with the role its lane names and its form."""
    catalogue = load_catalogue(ROOT / "forms")
    compiled = compile_processes(read_diagrams([ROOT / "bpmn"]), read_forms(ROOT / "forms"), catalogue)
    found: list[UserTask] = []
    for board in catalogue.boards:
        process = compiled.get(board.process)
        if process is None:
            continue
        for spec in (process.spec, *process.subprocess_specs.values()):
            for task_spec in spec.task_specs.values():
                role = catalogue.role_for_lane(getattr(task_spec, "lane", None))
                if getattr(task_spec, "manual", False) and role is not None:
                    properties = (getattr(task_spec, "extensions", None) or {}).get("properties", {}) or {}
                    found.append(UserTask(board.code, task_spec.bpmn_id, role.role,
                                          properties.get("formJsonSchemaFilename")))
    return tuple(found)


def roles_with_tasks() -> dict[str, list[UserTask]]:
    """Role -> the user tasks it owns across the boards' diagrams (boards in forms/boards.json order)."""
    found: dict[str, list[UserTask]] = {}
    for task in user_tasks():
        found.setdefault(task.role, []).append(task)
    return found


def tasks_with_widget(widget: str) -> list[tuple[UserTask, str]]:
    """(task, field) for each user task whose form has a required top-level field rendered as `widget`."""
    found = []
    for task in user_tasks():
        if not task.form:
            continue
        schema = json.loads((ROOT / "forms" / task.form).read_text())
        ui_file = ROOT / "forms" / task.form.replace(".schema.json", ".uischema.json")
        ui = json.loads(ui_file.read_text()) if ui_file.exists() else {}
        required = set(schema.get("required", []))
        found += [(task, f.name) for f in formrender.fields(schema, ui) if f.widget == widget and f.name in required]
    return found


def catalogue_roles() -> list[str]:
    """Every role of forms/roles.json, in its order."""
    return [r["role"] for r in json.loads((ROOT / "forms" / "roles.json").read_text())["roles"]]


def health_agency() -> str:
    """The first agency forms/agencies.json marks as health."""
    agencies = json.loads((ROOT / "forms" / "agencies.json").read_text())["agencies"]
    return str(next(a["code"] for a in agencies if a.get("health")))


# ---------------------------------------------------------------- people

@cache
def _password_hash() -> str:
    from web.accounts import Passwords

    return Passwords(fast=True).hash(PASSWORD)


def person(services: Services, username: str, board: str, agency: str | None = None,
           roles: Sequence[tuple[str, int | None, str | None]] = ()) -> str:
    """An account that signs in with PASSWORD, holding (role, case id or None, agency) on `board`."""
    with services.uow() as uow:
        if uow.people.get_user(username) is None:
            uow.people.add_user(UserRecord(username, f"Browser test {username}", board, agency))
        uow.people.set_password_hash(username, _password_hash())
        for role, case_id, role_agency in roles:
            uow.people.assign(Assignment(username, role, board, case_id, role_agency))
        uow.commit()
    return username


def driver(services: Services, board: str) -> str:
    """The account that moves a board's cases on: every role board-wide, for every agency; no password."""
    username = f"br.driver.{board}"
    with services.uow() as uow:
        if uow.people.get_user(username) is None:
            uow.people.add_user(UserRecord(username, f"Browser test driver ({board})", board))
            for role in services.catalogue.roles:
                uow.people.assign(Assignment(username, role.role, board))
                if role.agency_scoped:
                    for agency in services.catalogue.agencies:
                        uow.people.assign(Assignment(username, role.role, board, None, agency))
            uow.commit()
    return username


def is_scoped(services: Services, role: str | None) -> bool:
    found = services.catalogue.role(role or "")
    return bool(found and found.agency_scoped)


def holder(services: Services, task: TaskRow, board: str, avoid: Sequence[str] = ()) -> str:
    """Someone who may sign in and act on `task`: an existing holder with a password, else a new account."""
    with services.uow() as uow:
        names = uow.people.holders(task.role or "", board, task.case_id,
                                   task.agency if is_scoped(services, task.role) else None)
        usable = [n for n in names if n not in avoid and not n.startswith("br.driver.")
                  and uow.people.password_hash(n) is not None]
    if usable:
        return usable[0]
    agency = task.agency if is_scoped(services, task.role) else None
    name = f"br.{task.role}.{task.case_id}" + (f".{agency}" if agency else "")
    return person(services, name, board, task.agency, [(task.role or "", task.case_id, agency)])


# ---------------------------------------------------------------- forms

def schema_of(services: Services, task: TaskRow) -> dict[str, Any]:
    """The JSON Schema of a task's form, as stored with the case's process version."""
    with services.uow() as uow:
        process = services.process_of(uow, uow.cases.get(task.case_id))
    return process.form(task.form) if task.form else {"type": "object", "properties": {}}


def pickers(schema: Mapping[str, Any]) -> dict[str, tuple[str, bool]]:
    """Field name -> (role it assigns, whether it takes a list) for each person picker of a form."""
    return {name: (str(spec["x-assign-role"]), spec.get("type") == "array")
            for name, spec in schema.get("properties", {}).items()
            if isinstance(spec, Mapping) and spec.get("x-assign-role")}


def valid_data(services: Services, task: TaskRow, picker: Picker, choices: Mapping[str, Any] | None = None,
               agencies: Sequence[str] = ()) -> dict[str, Any]:
    """Valid answers for a task's form down the main SCR path, with each person picker answered by `picker`."""
    schema = schema_of(services, task)
    steer: dict[str, Any] = {**SCR_PATH, **({"agencies": list(agencies)} if agencies else {}), **(choices or {})}
    later: dict[str, tuple[str, bool, str]] = {}
    for name, (role, many) in pickers(schema).items():
        found = services.catalogue.role(role)
        if found is not None and found.agency_scoped and name not in steer:
            later[name] = (role, many, services.catalogue.agency_variable(found))  # once the agency is known
        else:
            steer.setdefault(name, [picker(task, role, None)] if many else picker(task, role, None))
    data = fill(schema, steer)
    for name, (role, many, variable) in later.items():
        agency = data.get(variable) or task.agency
        data[name] = [picker(task, role, agency)] if many else picker(task, role, agency)
    return data


def refusals(schema: Mapping[str, Any], posted: Sequence[tuple[str, str]]) -> list[Any]:
    """The field errors the server will give for what the browser would post (empty when it would accept it)."""
    try:
        validate_submission(schema, formrender.parse(schema, MultiDict(list(posted))))
    except InvalidSubmission as refused:
        return list(refused.errors)
    return []


# ---------------------------------------------------------------- driving a case through the services layer

class NotReached(AssertionError):
    """The case could not be moved on to the wanted point along the main SCR path."""


@dataclass
class Arranged:
    case_id: int
    reference: str
    board: str
    task: TaskRow


def drive(services: Services, board: str, stop: Callable[[list[TaskRow]], TaskRow | None],
          hold: Callable[[TaskRow], bool] = lambda t: False, picker: Picker | None = None,
          agencies: Sequence[str] = (), max_steps: int = 400) -> Arranged:
    """Start a case and complete ready tasks as the driver until `stop(ready tasks)` names a task.

    Tasks for which `hold` is true are completed only when nothing else is ready, so other branches run first.
    """
    acting = driver(services, board)

    def colleague(_task: TaskRow, role: str, agency: str | None) -> str:
        return acting if agency is None else person(services, f"br.{board}.{role}.{agency}", board, agency)

    choose = picker or colleague
    record = start_case(services, board, acting)
    case_id = record.id or 0
    standing = standing_steps(services, case_id)
    for _ in range(max_steps):
        tasks = ready(services, case_id)
        # standing steps wait in their inboxes throughout: "the only ready task" means the only other one
        found = stop([t for t in tasks if not standing(t)]) or stop(tasks)
        if found is not None:
            return Arranged(case_id, record.reference, board, found)
        if not tasks:
            raise NotReached(f"case {record.reference} has no ready task and the arrangement is not reached")
        order = in_driving_order(services, case_id, tasks)
        working = [t for t in order if not standing(t)] or order
        task = next((t for t in working if not hold(t)), working[0])
        complete_task(services, task.id, acting, valid_data(services, task, choose, agencies=agencies))
    raise NotReached(f"case {record.reference}: arrangement not reached in {max_steps} steps")


def named(name: str) -> Callable[[list[TaskRow]], TaskRow | None]:
    """Stop when a task with this element id is ready."""
    return lambda tasks: next((t for t in tasks if t.name == name), None)


def called(name: str) -> Callable[[TaskRow], bool]:
    """Whether a task has this element id (to hold it back while driving)."""
    return lambda task: task.name == name


def alone_for(role: str) -> Callable[[list[TaskRow]], TaskRow | None]:
    """Stop when a task of `role` is the only ready task (so completing it must move the case on)."""
    def stop(tasks: list[TaskRow]) -> TaskRow | None:
        return tasks[0] if len(tasks) == 1 and tasks[0].role == role else None
    return stop


def submitted(services: Services, task_id: str) -> dict[str, Any]:
    """The answers a task was completed with, as the case file keeps them."""
    with services.uow() as uow:
        case_id = uow.tasks.get(task_id).case_id  # type: ignore[union-attr]
        found = [s.data for s in uow.submissions.for_case(case_id) if s.task_id == task_id]
    assert found, f"the case file has no answers for task {task_id}"
    return found[-1]


# ---------------------------------------------------------------- the browser side

def task_form(page: Any) -> Any:
    """The task's own form (the one with Submit), not sign-out, claim or other small forms on the page."""
    return page.locator("form").filter(has=page.get_by_role("button", name="Submit", exact=True))


def posted(form: Any) -> list[tuple[str, str]]:
    """What the browser would post for this form now (without the submit button's own name)."""
    entries = form.evaluate("f => Array.from(new FormData(f).entries()).map(([k, v]) => [k, String(v)])")
    return [(str(k), str(v)) for k, v in entries]


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _rows(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def fill_in(page: Any, data: Mapping[str, Any], prefix: str = "") -> None:
    """Set the task form's inputs, by name, to `data` (JSON shaped by the schema), as a person would.

    Text, textarea, date and number inputs are typed; selects chosen; radios and checkboxes ticked; lists of
    lines typed one per line. Repeating rows are filled one by one, using the page's "Add another row" button
    after filling a row when the next one is not shown (the page posts and comes back with what was typed).
    """
    for name, value in data.items():
        path = prefix + name
        if isinstance(value, Mapping):
            fill_in(page, value, path + ".")
        elif _rows(value):
            for number, row in enumerate(value):
                _ensure_row(page, path, number)
                fill_in(page, row, f"{path}.{number}.")
        else:
            _set(task_form(page), path, value)


def _ensure_row(page: Any, path: str, number: int) -> None:
    if task_form(page).locator(f'[name^="{path}.{number}."]').count():
        return
    add = task_form(page).locator(f'button[name="{formrender.ADD_ROW}"][value="{path}"]')
    assert add.count() == 1, f"the form shows no row {number + 1} of {path} and no button to add one"
    add.click()
    row = task_form(page).locator(f'[name^="{path}.{number}."]').first
    try:
        row.wait_for(state="attached")
    except Exception as exc:  # noqa: BLE001 - say what the page did instead of a bare timeout
        raise AssertionError(f"'Add another row' for {path} did not show row {number + 1}") from exc


def _set(form: Any, name: str, value: Any) -> None:
    inputs = form.locator(f'[name="{name}"]')
    assert inputs.count(), f"the form has no input named {name!r}"
    first = inputs.first
    tag = first.evaluate("e => e.tagName.toLowerCase()")
    kind = (first.get_attribute("type") or "").lower()
    values = value if isinstance(value, list) else [value]
    if tag == "select":
        first.select_option([_text(v) for v in values])
    elif tag == "textarea":
        first.fill("\n".join(_text(v) for v in values))
    elif kind == "checkbox" and isinstance(value, bool) and inputs.count() == 1 \
            and first.get_attribute("value") == "true":
        first.set_checked(value)
    elif kind == "checkbox":  # exactly these ticked: a form may come prefilled from earlier answers
        wanted = {_text(v) for v in values}
        for number in range(inputs.count()):
            box = inputs.nth(number)
            box.set_checked(box.get_attribute("value") in wanted)
    elif kind == "radio":
        for v in values:
            form.locator(f'[name="{name}"][value="{_text(v)}"]').check()
    else:
        first.fill(_text(value))


def crawl(page: Any, base_url: str, starts: Sequence[str], max_pages: int = 80, max_depth: int = 4,
          keep: Callable[[str], bool] = lambda path: True) -> Iterator[tuple[str, int, str]]:
    """Breadth-first over the app's links from `starts`: (path, HTTP status, page HTML) of each page.

    Follows <a href> only (never a form, so nothing is changed; never a download), skips static files,
    sign-out, other sites and links for which `keep(path)` is false.
    """
    origin = urlsplit(base_url).netloc
    queue: deque[tuple[str, int]] = deque((s, 0) for s in starts)
    seen: set[str] = set()
    while queue and len(seen) < max_pages:
        path, depth = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        response = page.goto(path)
        yield path, response.status if response else 0, page.content()
        if depth >= max_depth:
            continue
        for href in page.eval_on_selector_all("a[href]:not([download])", "links => links.map(a => a.href)"):
            url = urlsplit(urldefrag(href)[0])
            if url.scheme not in ("http", "https") or url.netloc != origin:
                continue
            target = url.path + (f"?{url.query}" if url.query else "")
            if target.startswith("/static/") or any(w in target for w in ("logout", "signout", "sign-out")):
                continue
            if target not in seen and keep(target):
                queue.append((target, depth + 1))
