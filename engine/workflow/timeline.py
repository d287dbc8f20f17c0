"""A case's review clock and timeline, planned against actual, read from the diagram: never a week or task by name.

Everything here comes from the compiled process. Human tasks with a `week` property are the timetable; their
`clock` property names the data variable (an ISO date) that week 0 counts from, and every distinct `clock` is one
timetable, as long as the largest week planned on it. Timers with a `milestone` property are the statutory
deadlines the case page shows (their date is the timer's own `timeDate` over the case data). The functions are
pure: the caller passes the task and timer rows, the few case variables they read (`facts_of`) and the time.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

from engine.errors import ExpressionError
from engine.workflow import expressions
from engine.workflow.dates import Due, as_date, due_of, evaluate, week_number
from engine.workflow.deadlines import days_left, week_of
from engine.workflow.specs import CompiledProcess, properties, shared_data

_DATE_PROPERTIES = ("due", "week", "clock", "clockDelay", "workingDay")
_LIVE = (TaskState.READY, TaskState.STARTED, TaskState.WAITING)
_WITH_DATA = (TaskState.COMPLETED, *_LIVE)
_PLAN_CACHE_SIZE = 32

ON_TIME, LATE, DONE, OPEN, OVERDUE, NOT_REACHED = "on_time", "late", "done", "open", "overdue", "not_reached"
MET, MET_LATE, DUE, NOT_SET, NOT_APPLICABLE = "met", "met_late", "due", "not_set", "not_applicable"


class TaskRow(Protocol):
    """What the timeline reads of a task that happened (casework's inbox projection row has these)."""

    @property
    def name(self) -> str: ...
    @property
    def agency(self) -> str | None: ...
    @property
    def state(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def completed_at(self) -> datetime | None: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def week(self) -> int | None: ...


class TimerRow(Protocol):
    """What the timeline reads of a timer the case waited on."""

    @property
    def name(self) -> str: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def fired_at(self) -> datetime | None: ...
    @property
    def title(self) -> str | None: ...
    @property
    def agency(self) -> str | None: ...
    @property
    def missed(self) -> bool: ...


# ------------------------------------------------------------------------------------------ what the diagram says
@dataclass(frozen=True)
class Step:
    """A human task of the diagram: its title, its date properties (`due`, `week`, `clock`, `workingDay`) and the
    `timeDate` expressions of the timers attached to it."""

    element: str
    title: str
    props: tuple[tuple[str, str], ...]
    rank: int
    timers: tuple[str, ...] = ()

    @property
    def week(self) -> str | None:
        """The `week` property (a number or an expression)."""
        return dict(self.props).get("week")

    @property
    def clock(self) -> str | None:
        """The data variable week 0 counts from."""
        return dict(self.props).get("clock")

    def due(self, data: Mapping[str, Any], now: datetime) -> Due:
        """When the step is due on this case's data (dates.due_of, as the runtime computes it once it is ready)."""
        timers = [d for d in (as_date(evaluate(t, data, now)) for t in self.timers) if d is not None]
        return due_of(dict(self.props), data, now, timers)


@dataclass(frozen=True)
class MilestoneSpec:
    """A timer the diagram marks `milestone`: the deadline it keeps and the activity it watches."""

    element: str
    title: str
    expression: str | None
    attached_to: str | None
    rank: int
    met_on: str | None = None  # the data variable recording the day it was met (its `metOn` property)


@dataclass(frozen=True)
class Plan:
    """The timetable of one compiled process: steps in flow order, milestones, and the labels of its clocks."""

    steps: tuple[Step, ...]
    milestones: tuple[MilestoneSpec, ...]
    clock_labels: dict[str, str]
    variables: frozenset[str]


_plans: dict[str, Plan] = {}


def plan_of(process: CompiledProcess) -> Plan:
    """The timetable the diagram draws (cached per content hash: a version never changes)."""
    cached = _plans.get(process.content_hash)
    if cached is None:
        if len(_plans) >= _PLAN_CACHE_SIZE:
            _plans.clear()
        cached = _plans[process.content_hash] = _read_plan(process)
    return cached


def _successors(process: CompiledProcess, task_spec: Any) -> list[Any]:
    """What can follow a task spec: its outputs, the start of a process it calls, the body of a loop."""
    following = list(task_spec.outputs)
    called = getattr(task_spec, "spec", None)
    if isinstance(called, str) and called in process.subprocess_specs:
        following.append(process.subprocess_specs[called].start)
    child = getattr(task_spec, "task_spec", None)
    if isinstance(child, str) and child in task_spec._wf_spec.task_specs:
        following.append(task_spec._wf_spec.task_specs[child])
    return following


def _walk(process: CompiledProcess, starts: Iterable[Any]) -> dict[str, int]:
    """Element id -> fewest steps from `starts` to it, following the flow into called processes."""
    ranks: dict[str, int] = {}
    seen: set[int] = set()
    queue = deque((s, 0) for s in starts)
    while queue:
        task_spec, depth = queue.popleft()
        if id(task_spec) in seen:
            continue
        seen.add(id(task_spec))
        element = getattr(task_spec, "bpmn_id", None)
        if element and element not in ranks:
            ranks[element] = depth
        queue.extend((n, depth + 1) for n in _successors(process, task_spec))
    return ranks


_reach: dict[tuple[str, str, str], frozenset[str]] = {}
_REACH_CACHE_SIZE = 20_000


def _reachable(process: CompiledProcess, starts: Iterable[Any]) -> frozenset[str]:
    """The elements that can still follow `starts`: the union of what follows each, each walked once per version
    (a version never changes; keyed by its content hash and the task spec's name in its process)."""
    found: set[str] = set()
    for task_spec in starts:
        key = (process.content_hash, task_spec._wf_spec.name, task_spec.name)
        reach = _reach.get(key)
        if reach is None:
            if len(_reach) >= _REACH_CACHE_SIZE:
                _reach.clear()
            reach = _reach[key] = frozenset(_walk(process, [task_spec]))
        found |= reach
    return frozenset(found)


def _read_plan(process: CompiledProcess) -> Plan:
    ranks = _walk(process, [process.spec.start])
    last = max(ranks.values(), default=0) + 1
    steps: dict[str, Step] = {}
    milestones: list[MilestoneSpec] = []
    attached: dict[str, str] = {}
    timer_sources: dict[str, list[str]] = {}
    for task_spec in process.task_specs():
        if isinstance(task_spec, BoundaryEventSplit):
            watched = [o for o in task_spec.outputs if not isinstance(o, BoundaryEvent)]
            for event in task_spec.outputs:
                if isinstance(event, BoundaryEvent) and watched:
                    attached[event.bpmn_id] = watched[0].bpmn_id
                    definition = getattr(event, "event_definition", None)
                    if isinstance(definition, TimerEventDefinition) and isinstance(definition.expression, str) \
                            and not definition.expression.strip().strip("\"'").startswith("P"):
                        timer_sources.setdefault(watched[0].bpmn_id, []).append(definition.expression)
    variables: set[str] = set()
    for task_spec in process.task_specs():
        element = getattr(task_spec, "bpmn_id", None)
        if not element:
            continue
        props = properties(task_spec)
        rank = ranks.get(element, last)
        if getattr(task_spec, "manual", False) and element not in steps:
            dated = tuple(sorted((k, v) for k, v in props.items() if k in _DATE_PROPERTIES))
            steps[element] = Step(element, task_spec.bpmn_name or element, dated, rank,
                                  tuple(timer_sources.get(element, ())))
            variables |= {props[k] for k in ("clock", "clockDelay") if props.get(k)}
            variables |= _names(props.get("week")) | _names(props.get("due"))
            for attached_source in timer_sources.get(element, ()):
                variables |= _names(attached_source)
        definition = getattr(task_spec, "event_definition", None)
        if props.get("milestone") and isinstance(definition, TimerEventDefinition):
            source = definition.expression if isinstance(definition.expression, str) else None
            milestones.append(MilestoneSpec(element, props["milestone"], source,
                                            props.get("metWhen") or attached.get(element), rank, props.get("metOn")))
            variables |= _names(source) | ({props["metOn"]} if props.get("metOn") else set())
    ordered = tuple(sorted(steps.values(), key=lambda s: (s.rank, s.element)))
    clocks_used = {s.clock for s in ordered if s.clock}
    return Plan(ordered, tuple(sorted(milestones, key=lambda m: (m.rank, m.element))),
                _labels(process, clocks_used), frozenset(variables))


def _names(source: str | None) -> set[str]:
    """The data variables an expression reads (none for a plain number or an unreadable expression)."""
    if not source or source.lstrip("-").isdigit():
        return set()
    try:
        return expressions.names_in(source) - set(expressions.HELPERS) - {"defined"}
    except ExpressionError:
        return set()


def _labels(process: CompiledProcess, variables: set[str]) -> dict[str, str]:
    """What the forms call each clock variable (the title of the field that records it)."""
    labels: dict[str, str] = {}
    for name in sorted(process.files):
        if not (name.startswith("forms/") and name.endswith(".schema.json")):
            continue
        try:
            schema = json.loads(process.files[name])
        except ValueError:
            continue
        properties = schema.get("properties") if isinstance(schema, dict) else None
        if not isinstance(properties, dict):
            continue
        for variable in variables - labels.keys():
            field = properties.get(variable)
            if isinstance(field, dict) and isinstance(field.get("title"), str):
                labels[variable] = field["title"]
    return {v: labels.get(v, v.replace("_", " ").capitalize()) for v in variables}


# ------------------------------------------------------------------------------------------ what the case holds
@dataclass(frozen=True)
class CaseFacts:
    """The few things of a running workflow the clock needs: variables it reads, elements done or still ahead."""

    data: Mapping[str, Any]
    completed: frozenset[str] = frozenset()
    reachable: frozenset[str] | None = None


def facts_of(process: CompiledProcess, workflow: Any) -> CaseFacts:
    """Read, from a restored workflow, only the variables the timetable uses and which elements are done or ahead."""
    wanted = plan_of(process).variables
    data: dict[str, Any] = {}
    completed: set[str] = set()
    live: list[Any] = []
    for task in workflow.get_tasks():
        if task.state not in _WITH_DATA:
            continue
        data.update({k: v for k, v in task.data.items() if k in wanted})
        element = getattr(task.task_spec, "bpmn_id", None)
        if task.state == TaskState.COMPLETED and element:
            completed.add(element)
        elif task.state in _LIVE:
            live.append(task.task_spec)
    data.update({k: v for k, v in shared_data(workflow).items() if k in wanted and k not in data})
    return CaseFacts(data, frozenset(completed), _reachable(process, live))


# ------------------------------------------------------------------------------------------ the review clock
@dataclass(frozen=True)
class Timetable:
    """One clock of the procedure: weeks counted from a date the case records."""

    variable: str
    label: str
    weeks: int
    anchor: datetime | None
    week: int | None
    provisional: bool = False

    @property
    def ends(self) -> datetime | None:
        """When its last planned week falls due."""
        return self.anchor + timedelta(weeks=self.weeks) if self.anchor is not None else None

    @property
    def overrun(self) -> bool:
        """True once the case is past the last planned week."""
        return self.week is not None and self.week > self.weeks


@dataclass(frozen=True)
class Milestone:
    """A deadline the diagram marks, with its date and days left (or how it was met)."""

    element: str
    title: str
    due: datetime | None
    days_left: int | None
    status: str
    met_at: datetime | None = None


@dataclass(frozen=True)
class ReviewClock:
    """Where a case stands: the timetable it is on (week n of N), every timetable, and the milestones."""

    completed: bool
    current: Timetable | None
    timetables: tuple[Timetable, ...]
    milestones: tuple[Milestone, ...]


def _current_week(anchor: datetime, now: datetime) -> int:
    """Week n of a timetable: week 1 is the first seven days from the anchor, week 0 is before it."""
    return max(1, week_of(anchor, now)) if now >= anchor else 0


def timetables(process: CompiledProcess, facts: CaseFacts, now: datetime) -> tuple[Timetable, ...]:
    """Every clock of the diagram in flow order, each as long as its largest planned week."""
    plan = plan_of(process)
    longest: dict[str, int] = {}
    for step in plan.steps:
        week = week_number(step.week, facts.data, now)
        if step.clock and week is not None:
            longest[step.clock] = max(longest.get(step.clock, 0), week)
    found = []
    for variable in longest:
        anchor = as_date(facts.data.get(variable))
        found.append(Timetable(variable, plan.clock_labels[variable], longest[variable], anchor,
                               _current_week(anchor, now) if anchor is not None else None))
    return tuple(found)


def review_clock(process: CompiledProcess, facts: CaseFacts, rows: Sequence[TaskRow], timers: Sequence[TimerRow],
                 started_at: datetime, now: datetime, completed: bool = False) -> ReviewClock:
    """The case's clock: week n of N on the latest timetable that has started, and the diagram's milestones.

    Before any clock's date is recorded, the first timetable is counted provisionally from the case's start.
    """
    found = timetables(process, facts, now)
    started = [t for t in found if t.anchor is not None]
    current: Timetable | None = started[-1] if started else None
    if current is None and found:
        first = found[0]
        current = Timetable(first.variable, first.label, first.weeks, started_at, _current_week(started_at, now),
                            provisional=True)
    return ReviewClock(completed, current, found, milestones(process, facts, rows, timers, now))


def milestones(process: CompiledProcess, facts: CaseFacts, rows: Sequence[TaskRow], timers: Sequence[TimerRow],
               now: datetime) -> tuple[Milestone, ...]:
    """Each `milestone` timer: its date (its timer, else its timeDate over the case data), days left or how met."""
    found = []
    for spec in plan_of(process).milestones:
        own = [t for t in timers if t.name == spec.element]
        fired = any(t.fired_at is not None for t in own)
        due = own[-1].due_at if own else _milestone_date(spec, facts.data, now)
        watched = [r for r in rows if r.name == spec.attached_to]
        done = spec.attached_to is not None and (
            spec.attached_to in facts.completed or (bool(watched) and all(r.state == "completed" for r in watched)))
        met_at = max((r.completed_at for r in watched if r.completed_at), default=None) if done else None
        if done and spec.met_on and as_date(facts.data.get(spec.met_on)) is not None:
            met_at = as_date(facts.data.get(spec.met_on))  # the day the person recorded, not the day they typed it
        if done:
            late = fired or (due is not None and met_at is not None and met_at > due)
            found.append(Milestone(spec.element, spec.title, due, None, MET_LATE if late else MET, met_at))
            continue
        ahead = facts.reachable is None or spec.element in facts.reachable or spec.attached_to in facts.reachable
        if not ahead and not own:
            found.append(Milestone(spec.element, spec.title, due, None, NOT_APPLICABLE))
        elif due is None:
            found.append(Milestone(spec.element, spec.title, None, None, NOT_SET))
        else:
            found.append(Milestone(spec.element, spec.title, due, days_left(due, now),
                                   OVERDUE if fired or due < now else DUE))
    return tuple(found)


def _milestone_date(spec: MilestoneSpec, data: Mapping[str, Any], now: datetime) -> datetime | None:
    """A milestone's date from its timer's expression (None while the data it needs is missing)."""
    return as_date(evaluate(spec.expression, data, now)) if spec.expression else None


# ------------------------------------------------------------------------------------------ the timeline
@dataclass(frozen=True)
class Occurrence:
    """One time a step was (or is being) done: for one agency, or one round of a loop."""

    agency: str | None
    started: datetime
    completed: datetime | None
    planned: datetime | None
    status: str


@dataclass(frozen=True)
class Entry:
    """One step of the timeline: planned week and date against what happened."""

    element: str
    title: str
    week: int | None
    planned: datetime | None
    status: str
    occurrences: tuple[Occurrence, ...] = ()
    behind: bool = False

    @property
    def started(self) -> datetime | None:
        """When the step first became ready."""
        return min((o.started for o in self.occurrences), default=None)

    @property
    def completed(self) -> datetime | None:
        """When the step was last completed, once nothing of it is still open."""
        if not self.occurrences or any(o.completed is None for o in self.occurrences):
            return None
        return max(o.completed for o in self.occurrences if o.completed is not None)


@dataclass(frozen=True)
class Section:
    """The steps of one timetable in week order (timetable None: steps done outside any timetable)."""

    timetable: Timetable | None
    entries: tuple[Entry, ...]


_SEVERITY = {OVERDUE: 5, OPEN: 4, LATE: 3, ON_TIME: 2, DONE: 1, NOT_REACHED: 0}


def _status(completed: datetime | None, deadline: datetime | None, now: datetime) -> str:
    """On time or late by calendar day against the deadline (just done without one); open or overdue while not."""
    if completed is not None:
        if deadline is None:
            return DONE
        return LATE if completed.date() > deadline.date() else ON_TIME
    return OVERDUE if deadline is not None and now.date() > deadline.date() else OPEN


def timeline(process: CompiledProcess, facts: CaseFacts, rows: Sequence[TaskRow], now: datetime
             ) -> tuple[Section, ...]:
    """The diagram's timetabled steps, per clock in week order, planned against actual; then other steps done.

    A step the case can no longer reach (another branch was taken) and never did is left out.
    """
    tables = {t.variable: t for t in timetables(process, facts, now)}
    by_element: dict[str, list[TaskRow]] = {}
    for row in sorted(rows, key=lambda r: (r.created_at, r.agency or "")):
        by_element.setdefault(row.name, []).append(row)
    planned: dict[str, list[tuple[int, int, str, Entry]]] = {v: [] for v in tables}
    other: list[Entry] = []
    for step in plan_of(process).steps:
        happened = by_element.get(step.element, [])
        entry = _entry(step, step.due(facts.data, now), happened, now)
        table = tables.get(step.clock or "")
        if table is None or entry.week is None:
            if happened:
                other.append(entry)
        elif happened or facts.reachable is None or step.element in facts.reachable:
            planned[table.variable].append((entry.week, step.rank, step.element, entry))
    sections = [Section(tables[v], tuple(e for *_, e in sorted(planned[v], key=lambda p: p[:3])))
                for v in tables if planned[v]]
    if other:
        sections.append(Section(None, tuple(sorted(other, key=lambda e: e.started or now))))
    return tuple(sections)


def _entry(step: Step, due: Due, happened: list[TaskRow], now: datetime) -> Entry:
    """One timeline row: each occurrence judged by calendar day against its due date (the one the inbox shows);
    a step not reached yet is planned for the date it would be due on the case's data."""
    occurrences = []
    for row in happened:
        completed = row.completed_at if row.state == "completed" else None
        occurrences.append(Occurrence(row.agency, row.created_at, completed, row.due_at,
                                      _status(completed, row.due_at, now)))
    dated = [o.planned for o in occurrences if o.planned is not None]
    planned = min(dated) if dated else None if occurrences else due.at
    weeks = [r.week for r in happened if r.week is not None]
    week = min(weeks) if weeks else due.week
    status = max((o.status for o in occurrences), key=_SEVERITY.__getitem__, default=NOT_REACHED)
    behind = not occurrences and planned is not None and now.date() > planned.date()
    return Entry(step.element, step.title, week, planned, status, tuple(occurrences), behind)


# ------------------------------------------------------------------------------------------ the deadlines table
@dataclass(frozen=True)
class Deadline:
    """A deadline the procedure keeps on a case: still running (days left), or missed and not yet settled."""

    title: str
    agency: str | None
    due: datetime
    missed: bool
    days_left: int


def deadlines(timers: Sequence[TimerRow], now: datetime) -> tuple[Deadline, ...]:
    """Every timer the case waits on, and every deadline that passed while its step was open and is not settled
    (the step not done, no extension recorded): missed ones first, then soonest first."""
    kept = [t for t in timers if t.fired_at is None or t.missed]
    return tuple(sorted((Deadline(t.title or t.name, t.agency, t.due_at, t.fired_at is not None,
                                  days_left(t.due_at, now)) for t in kept),
                        key=lambda d: (not d.missed, d.due, d.title, d.agency or "")))
