"""Drive real cases through the service layer with generated form data (benchmarks and smoke runs)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from engine.casework.accounts import seed_users
from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.services import Services
from engine.ports import Assignment, TaskRow
from engine.workflow.specs import CompiledProcess, properties
from tests.formfill import fill

SUPERUSER = "bench.everyone"

# Field values that steer a Dorset or B&P case down the main SCR path without loops.
SCR_PATH: dict[str, Any] = {
    "decision": "scr", "recommendation": "scr", "criteria_met": True, "appears_to_meet_criteria": True,
    "meets_criteria": True, "revisions_required": False, "revision_required": False, "imr_adequate": True,
    "adequate": True, "family_involved": True, "plan_implemented": True, "action_plan_implemented": True,
    "implemented": True, "extension_needed": False, "publish": True,
}


def with_many_agencies(forms: Mapping[str, bytes], codes: list[str]) -> dict[str, bytes]:
    """Forms whose agency pickers also accept `codes` (synthetic agencies for scale runs)."""
    changed: dict[str, bytes] = {}
    for name, data in forms.items():
        if not name.endswith(".schema.json"):
            changed[name] = data
            continue
        schema = json.loads(data)
        for prop in schema.get("properties", {}).values():
            items = prop.get("items") if isinstance(prop, dict) else None
            if not isinstance(items, dict):
                continue
            if "police" in items.get("enum", []):
                items["enum"] = list(dict.fromkeys([*items["enum"], *codes]))
                items.pop("enumNames", None)
                prop.pop("maxItems", None)
            if "police" in [option.get("const") for option in items.get("oneOf", [])]:
                known = {option.get("const") for option in items["oneOf"]}
                items["oneOf"] += [{"const": code, "title": code} for code in codes if code not in known]
                prop.pop("maxItems", None)
        changed[name] = json.dumps(schema).encode()
    return changed


def for_agency(agency: str) -> str:
    """The driver's colleague from one agency: whom forms name for a role held per agency (the server refuses a
    person of another agency)."""
    return f"{SUPERUSER}.{agency}"


def grant_everything(services: Services, board: str, agencies: list[str]) -> None:
    """One user holding every role of the board, for every agency, and a colleague from each agency (drives only)."""
    seed_users(services, [{"username": SUPERUSER, "display_name": "Bench driver", "board": board, "roles": []}])
    seed_users(services, [{"username": for_agency(code), "display_name": f"Driver's colleague ({code})",
                           "board": board, "agency": code, "roles": []}
                          for code in dict.fromkeys([*agencies, *services.catalogue.agencies])])
    with services.uow() as uow:
        for role in services.catalogue.roles:
            uow.people.assign(Assignment(SUPERUSER, role.role, board))
            if role.agency_scoped:
                for agency in dict.fromkeys([*agencies, *services.catalogue.agencies]):
                    uow.people.assign(Assignment(SUPERUSER, role.role, board, None, agency))
        uow.commit()


def ready(services: Services, case_id: int) -> list[TaskRow]:
    """The case's ready tasks."""
    with services.uow() as uow:
        return [t for t in uow.tasks.for_case(case_id) if t.state == "ready"]


def process_of_case(services: Services, case_id: int) -> CompiledProcess:
    """The compiled process version a case runs."""
    with services.uow() as uow:
        return services.process_of(uow, uow.cases.get(case_id))


def form_data(services: Services, case_id: int, task: TaskRow, choices: Mapping[str, Any],
              process: CompiledProcess | None = None) -> dict[str, Any]:
    """Generated valid data for a task's form, assigning every role-picker to the driver (`process`: the case's
    version, when the caller already has it)."""
    process = process or process_of_case(services, case_id)
    if not task.form:
        return {}
    schema = process.form(task.form)
    picked = dict(choices)
    scoped: dict[str, str] = {}
    for name, prop in schema.get("properties", {}).items():
        role = services.catalogue.role(prop.get("x-assign-role", "")) if isinstance(prop, dict) else None
        if role is not None and role.agency_scoped:
            scoped[name] = services.catalogue.agency_variable(role)
        elif isinstance(prop, dict) and prop.get("x-assign-role") and name not in picked:
            picked[name] = [SUPERUSER] if prop.get("type") == "array" else SUPERUSER
    data = fill(schema, {k: v for k, v in picked.items() if k in schema.get("properties", {})})
    for name, variable in scoped.items():
        agency = data.get(variable) or task.agency
        if name not in choices and isinstance(agency, str):
            data[name] = [for_agency(agency)] if isinstance(data.get(name), list) else for_agency(agency)
    return data


def standing_steps(services: Services, case_id: int,
                   process: CompiledProcess | None = None) -> Callable[[TaskRow], bool]:
    """Whether a ready task of the case is a standing step (property `standing`: raise an overrun, add an agency),
    open at any time while the case runs and never the work that moves it on."""
    process = process or process_of_case(services, case_id)

    def standing(task: TaskRow) -> bool:
        spec = process.element(task.name)
        return spec is not None and properties(spec).get("standing") == "true"

    return standing


def in_driving_order(services: Services, case_id: int, tasks: list[TaskRow],
                     process: CompiledProcess | None = None) -> list[TaskRow]:
    """Ready tasks in the order a driver takes them: unscoped before per-agency, oldest first, and standing steps
    only when nothing else is ready."""
    standing = standing_steps(services, case_id, process)
    return sorted(tasks, key=lambda t: (standing(t), t.agency is not None, t.created_at, t.name, t.agency or ""))


def drive_until(services: Services, case_id: int, done: Callable[[list[TaskRow]], bool],
                choices: Mapping[str, Any], max_steps: int = 400) -> list[TaskRow]:
    """Complete ready tasks (unscoped first) until `done(ready tasks)` holds; returns the ready tasks."""
    for _ in range(max_steps):
        tasks = ready(services, case_id)
        if done(tasks):
            return tasks
        if not tasks:
            raise AssertionError("the case has no ready task and the goal is not reached")
        task = in_driving_order(services, case_id, tasks)[0]
        complete_task(services, task.id, SUPERUSER, form_data(services, case_id, task, choices))
    raise AssertionError(f"goal not reached in {max_steps} steps")


def at_the_imr_authors(services: Services, board: str, agencies: list[str], choices: Mapping[str, Any]) -> int:
    """A new case driven until each agency's IMR author has a task waiting; returns its id."""
    record = start_case(services, board, SUPERUSER)
    assert record.id is not None
    drive_until(services, record.id,
                lambda tasks: {t.agency for t in tasks if t.role == "imr_author"} >= set(agencies), choices)
    return record.id


def authors_tasks(services: Services, case_id: int) -> dict[str, TaskRow]:
    """The first waiting IMR-author task of each agency."""
    found: dict[str, TaskRow] = {}
    for task in sorted(ready(services, case_id), key=lambda t: t.created_at):
        if task.role == "imr_author" and task.agency:
            found.setdefault(task.agency, task)
    return found
