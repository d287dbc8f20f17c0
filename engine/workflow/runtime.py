"""One case's SpiffWorkflow instance: start, ready human tasks, complete, fire timers, save and restore."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine import clock as clocks
from engine.errors import Conflict, ExpressionError, NotFound, WorkflowFailed
from engine.workflow import expressions, state_codec
from engine.workflow.catalogue import Catalogue
from engine.workflow.dates import Due, due_of
from engine.workflow.forms import private_fields, role_assignments, validate_submission
from engine.workflow.script_engine import restricted_script_engine
from engine.workflow.specs import CompiledProcess, properties, shared_data

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
    documentation: str


@dataclass(frozen=True)
class PendingTimer:
    """A timer the case waits on; `accountable` names the roles answerable when it is a deadline that passes."""

    id: str
    name: str
    due_at: datetime
    title: str | None = None
    agency: str | None = None
    accountable: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notice:
    """A notification a diagram asked for (reminder, escalation, information)."""

    element: str
    role: str
    kind: str
    message: str
    agency: str | None


@dataclass(frozen=True)
class Assigned:
    """A person a form field names for a role (for one agency when the role is held per agency)."""

    field: str
    role: str
    username: str
    agency: str | None


@dataclass
class StepResult:
    """What one engine step produced besides the new state."""

    notices: list[Notice] = field(default_factory=list)
    assignments: list[tuple[str, str, str | None]] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)
    opened: list[str] = field(default_factory=list)  # ids of the human tasks the step made ready
    fired: list[PendingTimer] = field(default_factory=list)  # the timers that fired during the step


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
        self._frozen: tuple[list[HumanTask], list[PendingTimer]] | None = None

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

    def freeze(self) -> None:
        """Keep what `ready_tasks` and `waiting_timers` answer now, for a case that is only written from here on
        (a firing prepared ahead); running it again forgets them."""
        self._frozen = None
        self._frozen = (self.ready_tasks(), self.waiting_timers())

    def _run(self, clock: clocks.Clock, action: Any) -> StepResult:
        self._frozen = None
        result = StepResult()
        self._clock = clock

        def did_complete(task: Any) -> None:
            props = properties(task.task_spec)
            if isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition):
                due = _timer_instant(task)
                if due is not None:
                    result.fired.append(self._pending(task, due))
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
                raise WorkflowFailed(f"a diagram expression failed: {exc}", self._failed_element(exc)) from exc
            except (SpiffWorkflowException, WorkflowException) as exc:
                raise WorkflowFailed(str(exc), self._failed_element(exc)) from exc
            except WorkflowFailed as exc:
                if exc.element is None:
                    exc.element = self._failed_element(exc)
                raise
        return result

    def _failed_element(self, exc: Exception) -> str | None:
        """The diagram element a failed step stopped at: the one SpiffWorkflow names, or a task left in error."""
        task = getattr(exc, "task", None)
        spec = getattr(task, "task_spec", None) or getattr(exc, "task_spec", None)
        if spec is None:
            errored = self.workflow.get_tasks(state=TaskState.ERROR)
            spec = errored[0].task_spec if errored else None
        return getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)

    def _engine_work_ready(self) -> bool:
        """True when a task the engine itself runs (a fired timer, a gateway, a script) is ready."""
        return any(not t.task_spec.manual for t in self.workflow.get_tasks(state=TaskState.READY))

    def advance(self, clock: clocks.Clock) -> StepResult:
        """Fire every timer due at the clock's time and run the engine until it waits for people or time."""
        return self._run(clock, lambda _hook: None)

    def _ready_task(self, task_id: str) -> Any:
        task = self._task(task_id)
        if task is None:
            raise NotFound(f"task {task_id} is not part of this case")
        if not task.task_spec.manual:
            raise NotFound(f"task {task_id} is not a human task")
        if task.state != TaskState.READY:
            raise Conflict(f"task {task_id} is no longer waiting to be done")
        return task

    def complete(self, task_id: str, data: dict[str, Any], clock: clocks.Clock,
                 vet: Callable[[list[Assigned]], None] | None = None) -> StepResult:
        """Validate `data` against the task's form, complete the task and run on (InvalidSubmission, Conflict).

        `vet` sees the people the form names for roles before anything changes, and may refuse them.
        """
        task = self._ready_task(task_id)
        form = properties(task.task_spec).get("formJsonSchemaFilename")
        try:
            schema: dict[str, Any] = self.process.form(form) if form else {"type": "object", "properties": {}}
        except WorkflowFailed as missing:
            missing.element = task.task_spec.bpmn_id
            raise
        clean = validate_submission(schema, data)
        named = [Assigned(name, role, user, self._assigned_agency(task, role, clean))
                 for name, role, user in role_assignments(schema, clean)]
        if vet is not None:
            vet(named)
        assignments = [(a.role, a.username, a.agency) for a in named]
        private = private_fields(schema)

        waiting = {t.id for t in self.workflow.get_tasks(state=TaskState.READY, manual=True)}

        def act(hook: Any) -> None:
            # Private answers (free text: the IMR's findings, the family's details) go to the case file only,
            # read under agency rules; workflow data, shared down the whole process, never holds them.
            task.data.update({k: v for k, v in clean.items() if k not in private})
            task.run()
            hook(task)

        result = self._run(clock, act)
        result.assignments = assignments
        result.answers = clean
        result.opened = [str(t.id) for t in self.workflow.get_tasks(state=TaskState.READY, manual=True)
                         if t.id not in waiting]
        return result

    def skip(self, task_id: str, clock: clocks.Clock) -> StepResult:
        """Complete a ready human task without answers (an administrator's skip) and run on."""
        task = self._ready_task(task_id)

        def act(hook: Any) -> None:
            task.run()
            hook(task)

        return self._run(clock, act)

    def reset_to(self, task_id: str, clock: clocks.Clock) -> StepResult:
        """Move the case back to a completed human task (SpiffWorkflow's reset): everything after it is undone and
        it is waiting to be done again (NotFound when it is not a completed human task of this case)."""
        task = self._task(task_id)
        if task is None or not task.task_spec.manual or task.state != TaskState.COMPLETED:
            raise NotFound("that step is not a completed step of this case")
        removed = self.workflow.reset_from_task_id(task.id)
        for gone in removed:  # SpiffWorkflow 3.2 leaves removed timers waiting in its event manager
            self.workflow.event_manager.remove_task(gone)
        for waiting in list(self.workflow.event_manager.tasks.values()):
            if waiting.parent is None and waiting.workflow.task_tree is not waiting:
                self.workflow.event_manager.remove_task(waiting)
        return self.advance(clock)

    def terminate(self) -> None:
        """End every path of the case at once (an administrator's termination)."""
        self.workflow.cancel()

    def revise_due(self, task_id: str, at: datetime) -> None:
        """Move a ready task's due date (kept in the workflow, so the task shows it however often it is read)."""
        task = self._ready_task(task_id)
        cached = task.internal_data.get("due")
        week = cached.get("week") if isinstance(cached, dict) else None
        task.internal_data["due"] = {"at": expressions.iso(at), "week": week}

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

    def _due(self, task: Any, props: dict[str, str]) -> Due:
        """The task's due date and week (dates.due_of), fixed when it is first computed for this ready task."""
        cached = task.internal_data.get("due")
        if isinstance(cached, dict) and isinstance(cached.get("at"), str):
            week = cached.get("week")
            return Due(_aware(cached["at"]), week if isinstance(week, int) else None)
        timers = [_timer_due(s) for s in task.parent.children if s is not task] if task.parent is not None else []
        now = (self._clock or clocks.current()).now()
        due = due_of(props, {**shared_data(task.workflow), **task.data}, now, [t for t in timers if t is not None])
        if due.at is not None:
            task.internal_data["due"] = {"at": expressions.iso(due.at), "week": due.week}
        return due

    def ready_tasks(self) -> list[HumanTask]:
        """Every human task waiting to be done, with role, agency, form, due date and timetable week."""
        if self._frozen is not None:
            return list(self._frozen[0])
        tasks = []
        for task in self.workflow.get_tasks(state=TaskState.READY, manual=True):
            spec = task.task_spec
            props = properties(spec)
            role = self.catalogue.role_for_lane(spec.lane)
            due = self._due(task, props)
            tasks.append(HumanTask(
                id=str(task.id), name=spec.bpmn_id or spec.name, title=spec.bpmn_name or spec.name,
                lane=spec.lane, role=role.role if role else None, agency=self._agency_of(task),
                form=props.get("formJsonSchemaFilename"), ui_form=props.get("formUiSchemaFilename"),
                due_at=due.at, week=due.week, documentation=getattr(spec, "documentation", None) or "",
            ))
        return tasks

    def waiting_timers(self) -> list[PendingTimer]:
        """Every timer the case waits on, with the instant it falls due and what it keeps."""
        if self._frozen is not None:
            return list(self._frozen[1])
        timers = []
        for task in self.workflow.event_manager.tasks.values():
            due = _timer_due(task)
            if due is not None:
                timers.append(self._pending(task, due))
        return sorted(timers, key=lambda t: t.due_at)

    def _pending(self, task: Any, due: datetime) -> PendingTimer:
        spec = task.task_spec
        agency = task.data.get(self.catalogue.scope_variable)
        return PendingTimer(str(task.id), spec.bpmn_id or spec.name, due,
                            properties(spec).get("milestone") or spec.bpmn_name,
                            agency if isinstance(agency, str) else None, self._accountable(task))

    def _accountable(self, timer: Any) -> tuple[str, ...]:
        """For a deadline (a `milestone` timer, or one whose notices escalate), the roles answerable for it: the
        role of the step it watches and the roles its notices go to; () for a plain reminder."""
        notified, deadline = notices_after(timer.task_spec)
        if not deadline:
            return ()
        watched = _watched(timer) or _met_when(timer)
        role = self.catalogue.role_for_lane(watched.task_spec.lane) if watched is not None else None
        return tuple(dict.fromkeys([*([role.role] if role else []), *notified]))

    def _task(self, task_id: str) -> Any:
        """The workflow task with this id, or None (not an id, or not of this case)."""
        try:
            return self.workflow.get_task_from_id(UUID(task_id))
        except (ValueError, WorkflowException, KeyError):
            return None

    def settled(self, timer_ids: Iterable[str]) -> set[str]:
        """Of these fired timers, those whose deadline no longer stands: the step they watch is over, or the data
        holds the variable their `settledBy` property names (an extension recorded)."""
        found = set()
        for timer_id in timer_ids:
            timer = self._task(timer_id)
            watched = _met_when(timer) or _watched(timer) if timer is not None else None
            if watched is None or watched.state in (TaskState.COMPLETED, TaskState.CANCELLED):
                found.add(timer_id)
                continue
            variable = properties(timer.task_spec).get("settledBy")
            if variable and any(variable in t.data for t in self.workflow.get_tasks(state=TaskState.COMPLETED)):
                found.add(timer_id)
        return found


def notices_after(spec: Any) -> tuple[list[str], bool]:
    """The roles a timer's notices go to, in flow order, and whether it keeps a deadline (a `milestone`, or notices
    that escalate)."""
    notified: list[str] = []
    escalates = False
    following = list(spec.outputs)
    while following:
        step = following.pop(0)
        props = properties(step)
        if not props.get("notify"):
            continue
        notified.append(props["notify"])
        escalates = escalates or props.get("notice") == "escalation"
        following.extend(step.outputs)
    return notified, escalates or bool(properties(spec).get("milestone"))


def _watched(timer: Any) -> Any:
    """The activity a boundary timer is attached to (its sibling under the boundary split), or None."""
    parent = timer.parent
    if parent is None or not isinstance(parent.task_spec, BoundaryEventSplit):
        return None
    return next((c for c in parent.children if not isinstance(c.task_spec, BoundaryEvent)), None)


def _met_when(timer: Any) -> Any:
    """The step a deadline's `metWhen` property names (its latest task in the timer's process), or None.

    A deadline kept by a timer on a standing step or an event gateway is met when another step completes (the
    review, the Chair's decision), not when the step it sits on does."""
    element = properties(timer.task_spec).get("metWhen")
    if not element:
        return None
    same = [t for t in timer.workflow.get_tasks() if getattr(t.task_spec, "bpmn_id", None) == element]
    done = [t for t in same if t.state in (TaskState.COMPLETED, TaskState.CANCELLED)]
    return (done or same or [None])[-1]


def _timer_due(task: Any) -> datetime | None:
    """The instant a waiting timer falls due (None for anything else)."""
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, TimerEventDefinition) or task.state != TaskState.WAITING:
        return None
    return _timer_instant(task)


def _timer_instant(task: Any) -> datetime | None:
    """The instant a timer task was set for, waiting or fired."""
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):
        value = value.get("next")
    if not isinstance(value, str):
        return None
    try:
        return _aware(value)
    except ValueError:
        return None
