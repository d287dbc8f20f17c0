"""One case's SpiffWorkflow instance: start, ready human tasks, complete, fire timers, save and restore."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine import clock as clocks
from engine.errors import Conflict, ExpressionError, NotFound, WorkflowFailed
from engine.workflow import expressions, state_codec
from engine.workflow.catalogue import Catalogue
from engine.workflow.forms import private_fields, role_assignments, validate_submission
from engine.workflow.script_engine import restricted_script_engine
from engine.workflow.specs import CompiledProcess, properties

clocks.install_into_spiffworkflow()
SCRIPT_ENGINE = restricted_script_engine()


@dataclass(frozen=True)
class HumanTask:
    """A ready task a person must do, as the inbox shows it."""

    id: str
    name: str
    title: str
    lane: str | None
    role: str | None
    agency: str | None
    form: str | None
    ui_form: str | None
    due_at: datetime | None
    week: int | None
    planned_at: datetime | None
    documentation: str


@dataclass(frozen=True)
class PendingTimer:
    """A timer the case waits on."""

    id: str
    name: str
    due_at: datetime


@dataclass(frozen=True)
class Notice:
    """A notification a diagram asked for (reminder, escalation, information)."""

    element: str
    role: str
    kind: str
    message: str
    agency: str | None


@dataclass
class StepResult:
    """What one engine step produced besides the new state."""

    notices: list[Notice] = field(default_factory=list)
    assignments: list[tuple[str, str, str | None]] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)


def _aware(value: str) -> datetime:
    return clocks.utc(datetime.fromisoformat(value))


class Case:
    """A running case: one SpiffWorkflow instance on one compiled process version."""

    def __init__(self, process: CompiledProcess, catalogue: Catalogue, workflow: BpmnWorkflow) -> None:
        self.process = process
        self.catalogue = catalogue
        self.workflow = workflow
        self.workflow.script_engine = SCRIPT_ENGINE
        self._clock: clocks.Clock | None = None

    @classmethod
    def start(cls, process: CompiledProcess, catalogue: Catalogue, clock: clocks.Clock,
              data: dict[str, Any] | None = None) -> tuple[Case, StepResult]:
        """Create the workflow, seed its data and run it up to its first human task or timer."""
        workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=SCRIPT_ENGINE)
        if data:
            workflow.task_tree.data.update(data)
            for child in workflow.task_tree.children:
                child.data.update(data)
        case = cls(process, catalogue, workflow)
        return case, case.advance(clock)

    @classmethod
    def restore(cls, process: CompiledProcess, catalogue: Catalogue, state: str | bytes) -> Case:
        """Rebuild a case from `dump()` output and its (cached) process version."""
        return cls(process, catalogue, state_codec.restore(state, process.spec, process.subprocess_specs))

    def dump(self) -> str:
        """Serialize the workflow state without its spec."""
        return state_codec.dump(self.workflow)

    @property
    def completed(self) -> bool:
        """True when every path of the procedure has ended."""
        return bool(self.workflow.is_completed())

    @property
    def data(self) -> dict[str, Any]:
        """Workflow-level data (the data of the last completed task)."""
        last = self.workflow.last_task
        return dict(last.data) if last is not None else {}

    def _run(self, clock: clocks.Clock, action: Any) -> StepResult:
        result = StepResult()
        self._clock = clock

        def did_complete(task: Any) -> None:
            props = properties(task.task_spec)
            role = props.get("notify")
            if role:
                agency = task.data.get(self.catalogue.scope_variable)
                result.notices.append(Notice(task.task_spec.bpmn_id or task.task_spec.name, role,
                                             props.get("notice", "information"), props.get("message", ""),
                                             agency if isinstance(agency, str) else None))

        with clocks.using(clock):
            try:
                action(did_complete)
                for _ in range(100):
                    # A timer made ready by do_engine_steps' own refresh only runs on the next step: repeat
                    # until nothing but people's tasks is ready.
                    self.workflow.refresh_timers()
                    self.workflow.do_engine_steps(did_complete_task=did_complete)
                    if not self._engine_work_ready():
                        break
            except ExpressionError as exc:
                raise WorkflowFailed(f"a diagram expression failed: {exc}") from exc
            except (SpiffWorkflowException, WorkflowException) as exc:
                raise WorkflowFailed(str(exc)) from exc
        return result

    def _engine_work_ready(self) -> bool:
        """True when a task the engine itself runs (a fired timer, a gateway, a script) is ready."""
        return any(not t.task_spec.manual for t in self.workflow.get_tasks(state=TaskState.READY))

    def advance(self, clock: clocks.Clock) -> StepResult:
        """Fire every timer due at the clock's time and run the engine until it waits for people or time."""
        return self._run(clock, lambda _hook: None)

    def _ready_task(self, task_id: str) -> Any:
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except (ValueError, WorkflowException, KeyError) as exc:
            raise NotFound(f"task {task_id} is not part of this case") from exc
        if task is None:
            raise NotFound(f"task {task_id} is not part of this case")
        if not task.task_spec.manual:
            raise NotFound(f"task {task_id} is not a human task")
        if task.state != TaskState.READY:
            raise Conflict(f"task {task_id} is no longer waiting to be done")
        return task

    def complete(self, task_id: str, data: dict[str, Any], clock: clocks.Clock) -> StepResult:
        """Validate `data` against the task's form, complete the task and run on (InvalidSubmission, Conflict)."""
        task = self._ready_task(task_id)
        form = properties(task.task_spec).get("formJsonSchemaFilename")
        schema: dict[str, Any] = self.process.form(form) if form else {"type": "object", "properties": {}}
        clean = validate_submission(schema, data)
        assignments = [(role, user, self._assigned_agency(task, role, clean))
                       for role, user in role_assignments(schema, clean)]
        private = private_fields(schema)

        def act(hook: Any) -> None:
            # Private answers (free text: the IMR's findings, the family's details) go to the case file only,
            # read under agency rules; workflow data, shared down the whole process, never holds them.
            task.data.update({k: v for k, v in clean.items() if k not in private})
            task.run()
            hook(task)

        result = self._run(clock, act)
        result.assignments = assignments
        result.answers = clean
        return result

    def _assigned_agency(self, task: Any, role_name: str, clean: dict[str, Any]) -> str | None:
        """The agency a role assigned from a form field is held for (None when the role is not scoped)."""
        role = self.catalogue.role(role_name)
        if role is None or not role.agency_scoped:
            return None
        variable = self.catalogue.agency_variable(role)
        value = clean.get(variable, task.data.get(variable))
        return value if isinstance(value, str) else None

    def _agency_of(self, task: Any) -> str | None:
        """The agency a task belongs to: for agency-scoped roles it limits who may act, else it is context."""
        role = self.catalogue.role_for_lane(task.task_spec.lane)
        variable = self.catalogue.agency_variable(role) if role is not None else self.catalogue.scope_variable
        value = task.data.get(variable)
        return value if isinstance(value, str) else None

    def _due(self, task: Any, props: dict[str, str]) -> datetime | None:
        cached = task.internal_data.get("due_at")
        if isinstance(cached, str):
            return _aware(cached)
        due: datetime | None = None
        if "due" in props:
            try:
                with clocks.using(self._clock or clocks.current()):
                    due = expressions.to_datetime(expressions.evaluate(props["due"], dict(task.data)))
            except ExpressionError:
                due = None
        if due is None and task.parent is not None:
            timers = [_timer_due(s) for s in task.parent.children if s is not task]
            candidates = [t for t in timers if t is not None]
            due = min(candidates) if candidates else None
        if due is not None:
            task.internal_data["due_at"] = expressions.iso(due)
        return due

    def _week(self, task: Any, source: str | None) -> int | None:
        """The timetable week of a task: a number, or an expression over its data (e.g. health IMRs differ)."""
        if not source:
            return None
        if source.lstrip("-").isdigit():
            return int(source)
        try:
            with clocks.using(self._clock or clocks.current()):
                value = expressions.evaluate(source, dict(task.data))
        except ExpressionError:
            return None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def ready_tasks(self) -> list[HumanTask]:
        """Every human task waiting to be done, with role, agency, form and due date."""
        tasks = []
        for task in self.workflow.get_tasks(state=TaskState.READY, manual=True):
            spec = task.task_spec
            props = properties(spec)
            role = self.catalogue.role_for_lane(spec.lane)
            week = self._week(task, props.get("week"))
            anchor = task.data.get(props.get("clock", "")) if props.get("clock") else None
            planned = None
            if week is not None and isinstance(anchor, str):
                try:
                    planned = _aware(expressions.add_weeks(anchor, week))
                except ExpressionError:
                    planned = None
            tasks.append(HumanTask(
                id=str(task.id), name=spec.bpmn_id or spec.name, title=spec.bpmn_name or spec.name,
                lane=spec.lane, role=role.role if role else None, agency=self._agency_of(task),
                form=props.get("formJsonSchemaFilename"), ui_form=props.get("formUiSchemaFilename"),
                due_at=self._due(task, props), week=week, planned_at=planned,
                documentation=getattr(spec, "documentation", None) or "",
            ))
        return tasks

    def waiting_timers(self) -> list[PendingTimer]:
        """Every timer the case waits on, with the instant it falls due."""
        timers = []
        for task in self.workflow.event_manager.tasks.values():
            due = _timer_due(task)
            if due is not None:
                timers.append(PendingTimer(str(task.id), task.task_spec.bpmn_id or task.task_spec.name, due))
        return sorted(timers, key=lambda t: t.due_at)


def _timer_due(task: Any) -> datetime | None:
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, TimerEventDefinition) or task.state != TaskState.WAITING:
        return None
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):
        value = value.get("next")
    if not isinstance(value, str):
        return None
    try:
        return _aware(value)
    except ValueError:
        return None
