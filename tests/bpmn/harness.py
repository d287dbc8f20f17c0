"""Drive one case of a real diagram on a frozen clock, optionally saving and restoring after every step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from engine.clock import FrozenClock
from engine.workflow.catalogue import Catalogue, load_catalogue
from engine.workflow.runtime import Case, HumanTask, Notice, StepResult
from engine.workflow.specs import CompiledProcess, compile_processes, read_diagrams, read_forms

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)


@cache
def repository_catalogue() -> Catalogue:
    """The role catalogue of forms/."""
    return load_catalogue(ROOT / "forms")


@cache
def repository_processes() -> dict[str, CompiledProcess]:
    """Every board process of bpmn/, compiled once per test session."""
    return compile_processes(read_diagrams([ROOT / "bpmn"]), read_forms(ROOT / "forms"), repository_catalogue())


class Drive:
    """A case under test: complete tasks by name, move the clock, collect notices (with the time they fired)."""

    def __init__(self, process_id: str, save_restore: bool = False, start: datetime = START,
                 data: dict[str, Any] | None = None, process: CompiledProcess | None = None) -> None:
        self.process = process or repository_processes()[process_id]
        self.catalogue = repository_catalogue()
        self.clock = FrozenClock(start)
        self.save_restore = save_restore
        self.notices: list[tuple[datetime, Notice]] = []
        self.assignments: list[tuple[str, str, str | None]] = []
        self.case, result = Case.start(self.process, self.catalogue, self.clock, data)
        self._after(result)

    def _after(self, result: StepResult) -> None:
        self.notices.extend((self.clock.now(), n) for n in result.notices)
        self.assignments.extend(result.assignments)
        if self.save_restore:
            self.case = Case.restore(self.process, self.catalogue, self.case.dump())

    def tasks(self, role: str | None = None) -> list[HumanTask]:
        """Ready tasks, optionally only those of one role."""
        return [t for t in self.case.ready_tasks() if role is None or t.role == role]

    def task(self, name: str, agency: str | None = None) -> HumanTask:
        """The one ready task with this element id (and agency); fails the test otherwise."""
        found = [t for t in self.case.ready_tasks() if t.name == name and (agency is None or t.agency == agency)]
        ready = sorted((t.name, t.agency) for t in self.case.ready_tasks())
        assert len(found) == 1, f"expected one ready {name!r} (agency {agency}), ready: {ready}"
        return found[0]

    def complete(self, name: str, data: dict[str, Any] | None = None, agency: str | None = None) -> HumanTask:
        """Complete the ready task `name` with form data; returns the task as it was."""
        task = self.task(name, agency)
        self._after(self.case.complete(task.id, data or {}, self.clock))
        return task

    def complete_task(self, task: HumanTask, data: dict[str, Any] | None = None) -> HumanTask:
        """Complete one particular ready task (e.g. one of several same-named IMR instances)."""
        self._after(self.case.complete(task.id, data or {}, self.clock))
        return task

    def advance(self, weeks: float = 0, days: float = 0) -> None:
        """Move the clock forward and fire whatever fell due."""
        self.clock.advance(timedelta(weeks=weeks, days=days))
        self._after(self.case.advance(self.clock))

    def advance_to(self, when: datetime) -> None:
        """Move the clock to `when` and fire whatever fell due."""
        self.clock.set(when)
        self._after(self.case.advance(self.clock))

    def notices_of(self, kind: str | None = None, role: str | None = None) -> list[tuple[datetime, Notice]]:
        """Notices fired so far, filtered by kind and role."""
        return [(at, n) for at, n in self.notices
                if (kind is None or n.kind == kind) and (role is None or n.role == role)]

    def week(self, anchor: datetime) -> int:
        """Which week (1-based, as the timetables count) the clock is in, counting from `anchor`."""
        return (self.clock.now() - anchor).days // 7 + 1
