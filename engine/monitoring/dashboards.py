"""The administrators' dashboards, from the projection tables: statutory deadlines across cases with a RAG status,
cases by week of the timetable against plan, workload by person, role and agency, and the heatmap of a diagram
(cases waiting at each element now; median and 90th-percentile time per step over finished steps)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from engine.casework.services import Services
from engine.errors import NotFound
from engine.monitoring.caselist import monitored
from engine.monitoring.diagrams import Diagram, diagrams_of, titles_of
from engine.ports import TimerRow
from engine.workflow.deadlines import days_left, week_of

AMBER = timedelta(weeks=2)  # issue 12: amber when a deadline falls due within two weeks
DEADLINE_ROWS = 200


@dataclass(frozen=True)
class DeadlineLine:
    """One statutory deadline of a case: red (missed or overdue), amber (due within two weeks) or green."""

    timer: TimerRow
    reference: str
    board: str
    rag: str
    days_left: int


@dataclass(frozen=True)
class WeekBar:
    """Open cases in week n of their timetable: on plan and behind it."""

    week: int
    on_plan: int
    behind: int


@dataclass(frozen=True)
class Deadlines:
    """The deadline dashboard: counts by colour, the deadlines (missed first, then soonest), the weeks chart."""

    counts: dict[str, int]
    lines: tuple[DeadlineLine, ...]
    weeks: tuple[WeekBar, ...]
    plan_weeks: int
    shown: int


def deadlines(services: Services, username: str, limit: int = DEADLINE_ROWS) -> Deadlines:
    """Statutory deadlines across the person's boards and the weeks chart."""
    boards = monitored(services, username)
    now = services.clock.now()
    with services.uow() as uow:
        rows, counts = uow.monitor.deadlines(boards, now, now + AMBER, limit)
        clocks = uow.monitor.open_clocks(boards)
    lines = []
    for timer, reference, board in rows:
        if timer.fired_at is not None or timer.due_at < now:
            rag = "red"
        elif timer.due_at < now + AMBER:
            rag = "amber"
        else:
            rag = "green"
        lines.append(DeadlineLine(timer, reference, board, rag, days_left(timer.due_at, now)))
    on_plan: Counter[int] = Counter()
    behind: Counter[int] = Counter()
    plan_weeks = 26
    for created, clock_started, clock_weeks, planned_by in clocks:
        week = week_of(clock_started or created, now)
        plan_weeks = max(plan_weeks, clock_weeks or 0)
        (behind if planned_by is not None and planned_by < now else on_plan)[week] += 1
    top = max([plan_weeks, *on_plan, *behind])
    weeks = tuple(WeekBar(w, on_plan[w], behind[w]) for w in range(0, top + 1) if w <= plan_weeks or on_plan[w]
                  or behind[w])
    return Deadlines(counts, tuple(lines), weeks, plan_weeks, len(lines))


@dataclass(frozen=True)
class Load:
    """Ready steps over open cases, and how many of them are overdue."""

    label: str
    ready: int
    overdue: int


@dataclass(frozen=True)
class Workload:
    """Who has what: by person (the steps they have taken), by role and by agency."""

    people: tuple[Load, ...]
    roles: tuple[Load, ...]
    agencies: tuple[Load, ...]


def workload(services: Services, username: str) -> Workload:
    """Ready steps of open cases across the person's boards, grouped three ways, most first."""
    boards = monitored(services, username)
    now = services.clock.now()
    catalogue = services.catalogue
    with services.uow() as uow:
        rows = uow.monitor.workload(boards, now)
    people: dict[str, list[int]] = {}
    roles: dict[str, list[int]] = {}
    agencies: dict[str, list[int]] = {}
    for by, role, agency, ready, overdue in rows:
        definition = catalogue.role(role) if role else None
        for table, key in ((people, by or "not taken yet"), (roles, definition.title if definition else role or "-"),
                           (agencies, catalogue.agency_name(agency) if agency else "no one agency")):
            counts = table.setdefault(key, [0, 0])
            counts[0] += ready
            counts[1] += overdue

    def ranked(table: dict[str, list[int]]) -> tuple[Load, ...]:
        return tuple(Load(k, v[0], v[1]) for k, v in sorted(table.items(), key=lambda kv: (-kv[1][0], kv[0])))

    return Workload(ranked(people), ranked(roles), ranked(agencies))


@dataclass(frozen=True)
class Heat:
    """One element of the heatmap: cases waiting there now, and how long finished steps took (hours)."""

    element: str
    waiting: int
    finished: int
    median_hours: int | None
    p90_hours: int | None


@dataclass(frozen=True)
class Heatmap:
    """The heatmap of a procedure: its diagrams and each element's numbers."""

    process_id: str
    board: str | None
    diagrams: tuple[Diagram, ...]
    elements: tuple[Heat, ...]
    titles: dict[str, str]


def percentile(counts: Sequence[tuple[int, int]], fraction: float) -> int | None:
    """The value below which `fraction` of the counted values lie (nearest rank), from (value, count) pairs."""
    total = sum(n for _v, n in counts)
    if not total:
        return None
    rank = max(1, -(-int(total * fraction * 1000) // 1000))  # ceil(total * fraction), at least the first
    seen = 0
    for value, n in sorted(counts):
        seen += n
        if seen >= rank:
            return value
    return sorted(counts)[-1][0]


def heatmap(services: Services, username: str, process_id: str, board: str | None = None) -> Heatmap:
    """The heatmap of one procedure over the person's boards (or one of them)."""
    boards = monitored(services, username)
    if board is not None and boards is not None and board not in boards:
        raise NotFound("no such board")
    with services.uow() as uow:
        version_id = uow.versions.latest_id(process_id)
        if version_id is None:
            raise NotFound("no such procedure")
        process = services.process_by_id(uow, version_id)
        waiting = uow.monitor.waiting(board, boards, process_id)
        times = uow.monitor.step_times(board, boards, process_id)
    found = []
    for element in sorted(set(waiting) | set(times)):
        counts = times.get(element, [])
        found.append(Heat(element, waiting.get(element, 0), sum(n for _h, n in counts), percentile(counts, 0.5),
                          percentile(counts, 0.9)))
    titles = titles_of(process)
    return Heatmap(process_id, board, diagrams_of(process.files, process_id, process.content_hash), tuple(found),
                   titles)


def procedures(services: Services, username: str) -> list[str]:
    """The procedures the person's boards' cases run (the heatmap's picker)."""
    boards = monitored(services, username)
    with services.uow() as uow:
        return uow.monitor.processes(boards)
