"""What an administrator's monitor shows of a case, read from its loaded workflow once per step and stored: each
element's tasks by state, multi-instance progress, and the few facts the timetable needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.util.task import TaskState

from engine import clock as clocks
from engine.workflow.specs import CompiledProcess
from engine.workflow.timeline import CaseFacts, facts_of, timetables

# SpiffWorkflow's task states as the monitor names them; the rest (future, likely, maybe, cancelled) are not shown.
SHOWN = {TaskState.COMPLETED: "completed", TaskState.READY: "active", TaskState.STARTED: "active",
         TaskState.WAITING: "waiting", TaskState.ERROR: "errored"}
ORDER = ("errored", "active", "waiting", "completed")  # an element shows the first of these it has


@dataclass(frozen=True)
class Projection:
    """The monitor's view of a case after a step (stored on the case row; see engine.store.models.Case)."""

    elements: dict[str, dict[str, Any]]
    facts: dict[str, Any]
    clock_started_at: datetime | None
    clock_weeks: int | None


def element_states(workflow: Any) -> dict[str, dict[str, Any]]:
    """element id -> {"state": what it shows, "completed"/"active"/"waiting"/"errored": task counts, and for a
    multi-instance element "done" and "of"}; the elements of called diagrams are included under their own ids."""
    found: dict[str, dict[str, Any]] = {}
    for task in workflow.get_tasks():
        spec = task.task_spec
        element = getattr(spec, "bpmn_id", None)
        shown = SHOWN.get(task.state)
        if not element or shown is None:
            continue
        entry = found.setdefault(element, {})
        if isinstance(spec, MultiInstanceTask):
            info = spec.task_info(task)
            done, running, future = (len(info.get(k) or ()) for k in ("completed", "running", "future"))
            entry["done"] = entry.get("done", 0) + done
            entry["of"] = entry.get("of", 0) + done + running + future
            continue  # its instances are counted as themselves
        entry[shown] = entry.get(shown, 0) + 1
    for entry in found.values():
        entry["state"] = next((s for s in ORDER if entry.get(s)), "completed" if "done" in entry else "active")
    return found


def facts_json(facts: CaseFacts) -> dict[str, Any]:
    """CaseFacts as JSON (values the timetable reads are dates and flags already)."""
    return {"data": {k: v for k, v in facts.data.items() if isinstance(v, (str, int, float, bool, type(None)))},
            "completed": sorted(facts.completed),
            "reachable": None if facts.reachable is None else sorted(facts.reachable)}


def facts_from_json(value: dict[str, Any] | None) -> CaseFacts | None:
    """CaseFacts back from `facts_json` (None when the case has not been projected yet)."""
    if not isinstance(value, dict):
        return None
    reachable = value.get("reachable")
    return CaseFacts(dict(value.get("data") or {}), frozenset(value.get("completed") or ()),
                     None if reachable is None else frozenset(reachable))


def project(process: CompiledProcess, workflow: Any, now: datetime) -> Projection:
    """The monitor's projection of a loaded case."""
    facts = facts_of(process, workflow)
    started = [t for t in timetables(process, facts, now) if t.anchor is not None]
    current = started[-1] if started else None
    return Projection(element_states(workflow), facts_json(facts),
                      clocks.utc(current.anchor) if current is not None and current.anchor else None,
                      current.weeks if current is not None else None)
