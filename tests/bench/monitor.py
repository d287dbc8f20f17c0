"""The administrators' monitor on a large store (issue 12): the case list with no filter and with each single filter,
the deadline dashboard, the workload, the heatmap and the monitor page of a 20-agency case, for a board
administrator and for a system administrator (every board). Through the web app once its /monitor routes exist,
else through the engine functions those routes call.

Run by `tests.bench.run`; `python -m tests.bench.monitor [--postgres [URL]] [--cases N]` runs it alone.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import create_engine, delete, func, insert, select

from engine.casework.services import Services
from engine.monitoring import caselist, casemonitor, dashboards
from engine.store.models import AppUser, RoleAssignment, StepTime, Task, Timer
from engine.store.models import Case as CaseRow
from engine.workflow.deadlines import week_of
from engine.workflow.runtime import notices_after
from engine.workflow.specs import properties
from tests.bench.pages import (
    ADMIN,
    BOARDS,
    CORE,
    PASSWORD,
    PHASES,
    TYPICAL,
    SeededCase,
    people_of,
    signed_in,
    started_heap,
    timed_app,
)
from tests.bench.run import T0, agencies_for, mid_review, services_on, summary
from tests.databases import POSTGRES_URL, postgres_schema
from tests.drive import grant_everything
from web.accounts import Passwords

TARGETS_MS = {"case_list": 100.0, "deadlines": 150.0, "heatmap": 300.0, "case_monitor": 300.0}
SYSADMIN = f"{BOARDS[0]}.system_administrator.0"  # people_of's system administrator: every board
TASKS_PER_CASE = 20
STATE_SIZES = (6_000, 10_000, 14_000, 18_000, 24_000)  # bytes of stored (gzip) state; 5 agencies mid-review: ~14 KB
REAL_CASE_AGENCIES = 20


@dataclass(frozen=True)
class Step:
    """A user task of a deployed procedure: element id, title, lane and the role its lane stands for."""

    element: str
    title: str
    lane: str | None
    role: str | None
    scoped: bool


@dataclass(frozen=True)
class Watch:
    """A timer of a deployed procedure: element id, title, the roles answerable when it is a deadline (else None)."""

    element: str
    title: str
    accountable: str | None
    scoped: bool


@dataclass(frozen=True)
class Procedure:
    """A board's deployed procedure as the seeding needs it."""

    board: str
    process_id: str
    version_id: int
    prefix: str
    steps: tuple[Step, ...]
    timers: tuple[Watch, ...]
    weeks: int  # how many weeks its timetable plans (read from the real case's projection)


@dataclass(frozen=True)
class Shape:
    """One seeded case: its procedure, status, the index of its first ready step, how many are ready, its dates."""

    n: int
    procedure: Procedure
    status: str  # open, errored, suspended, terminated, completed
    at: int
    ready: int
    created_at: datetime
    clock_started_at: datetime | None
    seed: int

    @property
    def running(self) -> bool:
        """Open, errored or suspended: it has ready steps and pending timers."""
        return self.status in ("open", "errored", "suspended")

    def ready_steps(self) -> list[tuple[Step, str | None, datetime, int]]:
        """(step, agency, due, planned week) of each ready step."""
        rng = random.Random(self.seed)
        steps = self.procedure.steps
        plan = self.procedure.weeks
        weeks = int(plan * self.at / len(steps))
        return [(steps[self.at + k], rng.choice(CORE) if steps[self.at + k].scoped else None,
                 T0 + timedelta(days=rng.randint(-25, 45), hours=rng.randint(0, 23)), min(plan, weeks + k))
                for k in range(self.ready if self.running else 0)]

    def history(self) -> list[Step]:
        """The completed steps: those before the first ready one (early steps done again when there are fewer)."""
        steps = self.procedure.steps
        count = TASKS_PER_CASE - (self.ready if self.running else 0)
        if not self.running:
            return [steps[(k * len(steps)) // count] for k in range(count)]
        done = max(1, self.at)
        return [steps[k % done] for k in range(count)]


def _answerable(spec: Any, scoped_roles: set[str]) -> tuple[str | None, bool]:
    """The roles a timer's notices go to when it is a deadline (a milestone, or notices that escalate)."""
    notified, deadline = notices_after(spec)
    roles = list(dict.fromkeys(notified)) or ["lscb_administrator"]
    return (" ".join(roles) if deadline else None), bool(set(roles) & scoped_roles)


def procedure_of(services: Services, board: str, weeks: int) -> Procedure:
    """The board's newest deployed procedure: its user tasks and timers in diagram order (called diagrams too)."""
    catalogue = services.catalogue
    definition = catalogue.board(board)
    assert definition is not None, f"no board {board} in the catalogue"
    with services.uow() as uow:
        version_id = uow.versions.latest_id(definition.process)
        assert version_id is not None, f"{definition.process} is not deployed"
        process = services.process_by_id(uow, version_id)
    scoped_roles = catalogue.scoped_roles()
    steps: list[Step] = []
    timers: list[Watch] = []
    seen: set[str] = set()
    for spec in process.task_specs():
        element = getattr(spec, "bpmn_id", None)
        if not element or element in seen:
            continue
        if spec.manual:
            role = catalogue.role_for_lane(spec.lane)
            steps.append(Step(element, spec.bpmn_name or element, spec.lane, role.role if role else None,
                              bool(role and role.agency_scoped)))
            seen.add(element)
        elif isinstance(getattr(spec, "event_definition", None), TimerEventDefinition):
            accountable, scoped = _answerable(spec, scoped_roles)
            timers.append(Watch(element, properties(spec).get("milestone") or spec.bpmn_name or element, accountable,
                                scoped))
            seen.add(element)
    return Procedure(board, definition.process, version_id, definition.reference_prefix, tuple(steps), tuple(timers),
                     weeks)


def shapes(procedures: list[Procedure], cases: int) -> list[Shape]:
    """`cases` cases over the boards: about 76% running (2% errored, 2% suspended), 18% completed, 2% terminated;
    running cases started within 40 weeks, more of them early in their procedure than late."""
    rng = random.Random(12)
    found = []
    for n in range(cases):
        procedure = procedures[n % len(procedures)]
        draw = rng.random()
        status = ("terminated" if draw < 0.02 else "suspended" if draw < 0.04 else "errored" if draw < 0.06
                  else "completed" if draw < 0.24 else "open")
        ready = rng.choice((1, 1, 2, 2, 3))
        last = len(procedure.steps) - ready
        if status in ("completed", "terminated"):
            created = T0 - timedelta(days=rng.randint(200, 900), hours=rng.randint(0, 23))
            at = last
        else:
            created = T0 - timedelta(hours=rng.randint(24, 24 * 7 * 40))
            at = min(last, int(len(procedure.steps) * rng.random() ** 1.3))
        clock = None
        if at > len(procedure.steps) // 6:
            clock = min(T0 - timedelta(days=1), created + timedelta(weeks=rng.randint(2, 6)))
        found.append(Shape(n, procedure, status, at, ready, created, clock, rng.randrange(1 << 30)))
    return found


def case_row(shape: Shape, reference: str, state: bytes) -> dict[str, Any]:
    """The case row with its monitor projection as engine.casework.steps.projected writes it."""
    ready = sorted(shape.ready_steps(), key=lambda r: (r[2], r[0].title))
    history = shape.history()
    elements: dict[str, dict[str, Any]] = {}
    for step in history:
        entry = elements.setdefault(step.element, {"state": "completed", "completed": 0})
        entry["completed"] += 1
    for step, _agency, _due, _week in ready:
        elements[step.element] = {"state": "active", "active": 1}
    if shape.running:
        for watch in shape.procedure.timers[:2]:
            elements[watch.element] = {"state": "waiting", "waiting": 1}
    error = None
    if shape.status == "errored":
        element = ready[0][0].element
        elements[element] = {"state": "errored", "errored": 1}
        error = {"element": element, "message": "bench: a script of this step failed"}
    planned_week = min((week for *_, week in ready), default=None)
    anchor = shape.clock_started_at or shape.created_at
    facts = {"data": {}, "completed": sorted({s.element for s in history}),
             "reachable": sorted({s.element for s in shape.procedure.steps[shape.at:]}) if shape.running else []}
    return dict(
        reference=reference, board=shape.procedure.board, process_id=shape.procedure.process_id,
        version_id=shape.procedure.version_id, state=state,
        status="open" if shape.status == "errored" else shape.status, created_at=shape.created_at,
        updated_at=min(T0, shape.created_at + timedelta(days=30)), data_summary={}, lock_version=len(history) + 1,
        step="; ".join(dict.fromkeys(step.title for step, *_ in ready))[:500] or None,
        next_due_at=ready[0][2] if ready else None, planned_week=planned_week,
        planned_by=anchor + timedelta(weeks=planned_week) if planned_week is not None else None,
        clock_started_at=shape.clock_started_at,
        clock_weeks=shape.procedure.weeks if shape.clock_started_at else None,
        elements=elements, facts=facts, error=error,
        suspended_at=T0 - timedelta(days=3) if shape.status == "suspended" else None)


def task_rows(shape: Shape, case_id: int, workers: list[str], hours: Counter[tuple[str, str, str, int]]
              ) -> list[dict[str, Any]]:
    """The case's task rows (its ready steps, the rest completed history), counting each finished step's hours."""
    rng = random.Random(shape.seed + 1)
    rows = []
    started = shape.created_at
    for k, step in enumerate(shape.history()):
        created = started + timedelta(hours=k * 30)
        took = min(3_000, int(rng.lognormvariate(4.0, 1.2)))
        rows.append(dict(id=str(uuid.uuid4()), case_id=case_id, name=step.element, title=step.title, lane=step.lane,
                         role=step.role, agency=rng.choice(CORE) if step.scoped else None, form=None,
                         created_at=created, due_at=created + timedelta(days=14), week=min(shape.procedure.weeks, k),
                         state="completed", completed_at=created + timedelta(hours=took),
                         completed_by=rng.choice(workers), claimed_by=None, claimed_at=None))
        hours[(shape.procedure.board, shape.procedure.process_id, step.element, took)] += 1
    for step, agency, due, week in shape.ready_steps():
        claimed = rng.choice(workers) if rng.random() < 0.3 else None
        rows.append(dict(id=str(uuid.uuid4()), case_id=case_id, name=step.element, title=step.title, lane=step.lane,
                         role=step.role, agency=agency, form=None, created_at=min(T0, due - timedelta(days=21)),
                         due_at=due, week=week, state="ready", completed_at=None, completed_by=None,
                         claimed_by=claimed, claimed_at=T0 - timedelta(days=1) if claimed else None))
    return rows


def timer_rows(shape: Shape, case_id: int) -> list[dict[str, Any]]:
    """Pending deadlines (and a reminder) of a running case; about one in ten has missed one, unsettled; settled
    misses as history on some closed cases."""
    rng = random.Random(shape.seed + 2)
    deadlines = [w for w in shape.procedure.timers if w.accountable]
    reminders = [w for w in shape.procedure.timers if not w.accountable]
    rows = []

    def row(watch: Watch, due: datetime, fired: datetime | None, settled: datetime | None) -> dict[str, Any]:
        return dict(id=str(uuid.uuid4()), case_id=case_id, name=watch.element, due_at=due, fired_at=fired,
                    title=watch.title, agency=rng.choice(CORE) if watch.scoped else None,
                    accountable=watch.accountable, settled_at=settled)

    if shape.running:
        for watch in rng.sample(deadlines, min(len(deadlines), rng.choice((1, 1, 2)))):
            rows.append(row(watch, T0 + timedelta(days=rng.randint(-2, 120), hours=rng.randint(0, 23)), None, None))
        if reminders and rng.random() < 0.5:
            rows.append(row(rng.choice(reminders), T0 + timedelta(days=rng.randint(1, 30)), None, None))
        if rng.random() < 0.1:
            due = T0 - timedelta(days=rng.randint(1, 60))
            rows.append(row(rng.choice(deadlines), due, due + timedelta(minutes=5), None))
    elif rng.random() < 0.3:
        due = shape.created_at + timedelta(days=rng.randint(30, 150))
        rows.append(row(rng.choice(deadlines), due, due + timedelta(minutes=5), due + timedelta(days=9)))
    return rows


def populate_monitor(url: str, procedures: list[Procedure], cases: int, users: int,
                     password_hash: str) -> dict[str, Any]:
    """Bulk-insert `cases` cases with projections, 20 task rows each, timers, people with roles and step times."""
    engine = create_engine(url)
    run = uuid.uuid4().hex[:6]
    states = [random.Random(size).randbytes(size) for size in STATE_SIZES]  # gzip output does not compress
    seeded = shapes(procedures, cases)
    references = {f"{s.procedure.prefix}-{run}-{s.n:05d}": s for s in seeded}
    counts: Counter[str] = Counter()
    with engine.begin() as conn:
        rows = [case_row(s, reference, states[s.n % len(states)]) for reference, s in references.items()]
        for first in range(0, len(rows), 1_000):
            conn.execute(insert(CaseRow), rows[first:first + 1_000])
        del rows
        mine = select(CaseRow.reference, CaseRow.id).where(CaseRow.reference.like(f"%-{run}-%"))
        ids = dict(conn.execute(mine).all())
        people_cases = [SeededCase(ids[reference], s.procedure.board,
                                   PHASES[(s.n // len(procedures)) % len(PHASES)][0] if s.running else None)
                        for reference, s in references.items()]
        people, roles = people_of(people_cases, users)
        conn.execute(insert(AppUser), [
            dict(username=name, display_name=name.replace(".", " ").title(), board=board, agency=agency,
                 password_hash=password_hash, email=f"{name}@example.org") for name, board, agency in people])
        conn.execute(insert(RoleAssignment), [
            dict(username=name, role=role, board=board, case_id=case_id, agency=agency)
            for name, role, board, case_id, agency in roles])
        workers = [name for name, _board, _agency in people if name.startswith("worker.")] or [ADMIN]
        hours: Counter[tuple[str, str, str, int]] = Counter()
        tasks: list[dict[str, Any]] = []
        timers: list[dict[str, Any]] = []
        for reference, shape in references.items():
            tasks += task_rows(shape, ids[reference], workers, hours)
            timers += timer_rows(shape, ids[reference])
            counts[shape.status] += 1
            if len(tasks) >= 20_000:
                conn.execute(insert(Task), tasks)
                counts["task_rows"] += len(tasks)
                counts["ready_task_rows"] += sum(t["state"] == "ready" for t in tasks)
                tasks = []
        if tasks:
            conn.execute(insert(Task), tasks)
            counts["task_rows"] += len(tasks)
            counts["ready_task_rows"] += sum(t["state"] == "ready" for t in tasks)
        for first in range(0, len(timers), 20_000):
            conn.execute(insert(Timer), timers[first:first + 20_000])
        for board, process_id, element, took, count in conn.execute(select(  # the real case's steps too
                StepTime.board, StepTime.process_id, StepTime.element, StepTime.hours, StepTime.count)):
            hours[(board, process_id, element, took)] += count
        conn.execute(delete(StepTime))
        conn.execute(insert(StepTime), [dict(board=b, process_id=p, element=e, hours=h, count=n)
                                        for (b, p, e, h), n in hours.items()])
    if engine.dialect.name == "postgresql":  # what autovacuum would do within a minute of a bulk load
        with engine.begin() as conn:
            conn.exec_driver_sql('ANALYZE "case", task, timer, role_assignment, app_user, step_time')
    engine.dispose()
    return {"cases": len(seeded), "statuses": {k: counts[k] for k in ("open", "errored", "suspended", "completed",
                                                                      "terminated")},
            "task_rows": counts["task_rows"], "ready_task_rows": counts["ready_task_rows"], "timers": len(timers),
            "deadlines_pending": sum(1 for t in timers if t["accountable"] and t["fired_at"] is None),
            "deadlines_missed": sum(1 for t in timers if t["fired_at"] is not None and t["settled_at"] is None),
            "step_time_rows": len(hours), "users": len(people), "role_assignments": len(roles)}


@dataclass(frozen=True)
class Probe:
    """One page of the monitor: what it is (its target's key), a label, its address, and the engine call behind it."""

    kind: str
    label: str
    path: str
    call: Callable[[Services, str], Any]


def probes(procedure: Procedure, case_id: int, step: str, week: int) -> list[Probe]:
    """The case list with no filter and with each single filter, the dashboards, the heatmap and a case's page."""
    filters: dict[str, dict[str, str]] = {
        "no filter": {}, "board": {"board": procedure.board}, "process": {"process": procedure.process_id},
        "version": {"version": str(procedure.version_id)}, "state": {"state": "open"}, "step": {"step": step},
        "overdue": {"overdue": "1"}, "week": {"week": str(week)}, "plan": {"plan": "behind"},
        "assignee": {"assignee": TYPICAL}, "agency": {"agency": CORE[1]},
    }
    found = [Probe("case_list", label if not args else "&".join(f"{k}={v}" for k, v in args.items()),
                   "/monitor/" + (f"?{urlencode(args)}" if args else ""),
                   lambda services, user, a=args: caselist.case_list(services, user, a))  # type: ignore[misc]
             for label, args in filters.items()]
    return [*found,
            Probe("deadlines", "deadline dashboard", "/monitor/deadlines", dashboards.deadlines),
            Probe("workload", "workload", "/monitor/workload", dashboards.workload),
            Probe("heatmap", f"heatmap of {procedure.process_id}",
                  f"/monitor/heatmap?{urlencode({'process': procedure.process_id})}",
                  lambda services, user: dashboards.heatmap(services, user, procedure.process_id)),
            Probe("case_monitor", f"case page, {REAL_CASE_AGENCIES} agencies", f"/monitor/cases/{case_id}",
                  lambda services, user: casemonitor.monitor_view(services, case_id, user))]


def commonest(url: str, process_id: str) -> tuple[str, int]:
    """The element most running cases of the procedure wait at, and the week of the timetable most of them are in
    (what an administrator would filter by)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        name = conn.execute(select(Task.name).join(CaseRow, CaseRow.id == Task.case_id)
                            .where(Task.state == "ready", CaseRow.process_id == process_id)
                            .group_by(Task.name).order_by(func.count().desc(), Task.name).limit(1)).scalar_one()
        anchors = conn.execute(select(func.coalesce(CaseRow.clock_started_at, CaseRow.created_at))
                               .where(CaseRow.process_id == process_id, CaseRow.status == "open")).scalars()
        weeks = Counter(week_of(anchor, T0) for anchor in anchors)
    engine.dispose()
    return str(name), weeks.most_common(1)[0][0]


def _samples(run: Callable[[], float], count: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        run()
    return [run() for _ in range(count)]


def measure(services: Services, probe_list: list[Probe], username: str, requests: int, warmup: int,
            http: bool) -> dict[str, Any]:
    """p50/p95 of each probe for one person, through the web app (`http`) or the engine calls."""
    if http:
        app, stopwatch = timed_app(services)
        client, _ = signed_in(app, username)

    def one(probe: Probe) -> Callable[[], float]:
        def run() -> float:
            if http:
                answer = client.get(probe.path)
                assert answer.status_code == 200, f"GET {probe.path} as {username}: {answer.status_code}"
                return stopwatch.samples[-1]
            start = time.perf_counter()
            probe.call(services, username)
            return (time.perf_counter() - start) * 1000
        return run

    result: dict[str, Any] = {"user": username, "case_list": {}}
    for probe in probe_list:
        with started_heap():  # as a production worker runs: see tests.bench.pages.started_heap
            figure: dict[str, Any] = summary(_samples(one(probe), requests, warmup))
        target = TARGETS_MS.get(probe.kind)
        if target is not None:
            figure |= {"target_ms": target, "met": figure["p95"] <= target}
        if probe.kind == "case_list":
            figure["matches"] = caselist.case_list(services, username, dict(_args(probe.path))).total
            result["case_list"][probe.label] = figure
        else:
            result[probe.kind] = {"label": probe.label, **figure}
    worst = max(result["case_list"].items(), key=lambda kv: kv[1]["p95"])
    result["case_list_worst"] = {"label": worst[0], **worst[1]}
    return result


def _args(path: str) -> Iterator[tuple[str, str]]:
    yield from parse_qsl(urlsplit(path).query)


def bench_monitor(url: str, cases: int = 10_000, users: int = 2_000, requests: int = 40,
                  warmup: int = 5) -> dict[str, Any]:
    """Seed a large store (plus one real 20-agency case run through the engine) and time the monitor's pages."""
    agencies = agencies_for(REAL_CASE_AGENCIES)
    services = services_on(url, agencies)
    board = services.catalogue.boards[0].code
    grant_everything(services, board, agencies)
    start = time.perf_counter()
    case_id = mid_review(services, board, agencies)
    real_case_s = time.perf_counter() - start
    with services.uow() as uow:
        weeks = uow.cases.get(case_id).clock_weeks
    assert weeks, "the real case has no timetable running: drive it further"
    procedures = [procedure_of(services, b.code, weeks) for b in services.catalogue.boards]
    start = time.perf_counter()
    results: dict[str, Any] = populate_monitor(url, procedures, cases, users, Passwords(fast=True).hash(PASSWORD))
    results["seed_s"] = round(time.perf_counter() - start, 1)
    results["real_case_s"] = round(real_case_s, 1)
    results["real_case_id"] = case_id
    app, _ = timed_app(services)
    http = "monitor.index" in app.view_functions
    results["via"] = "http" if http else "engine"
    probe_list = probes(procedures[0], case_id, *commonest(url, procedures[0].process_id))
    for label, username in (("board_admin", ADMIN), ("system_admin", SYSADMIN)):
        results[label] = measure(services, probe_list, username, requests, warmup, http)
    return results


def _cell(figure: dict[str, Any]) -> str:
    return f"{figure['p50']:.1f}/{figure['p95']:.1f}"


def print_rows(results: dict[str, Any]) -> None:
    """The monitor's lines of tests.bench.run's table: per database and person, the worst case-list filter, the
    dashboards, the heatmap and the case page (p50/p95 ms)."""
    for database, key in (("SQLite", "monitor"), ("PostgreSQL", "monitor_postgresql")):
        found = results.get(key)
        if not found:
            continue
        via = "" if found["via"] == "http" else " [engine]"
        for who in ("board_admin", "system_admin"):
            person = found[who]
            short = "admin" if who == "board_admin" else "sysadmin"
            worst = person["case_list_worst"]
            lines = [(f"monitor list, worst ({worst['label'].split('=')[0]})", worst),
                     ("monitor deadline dashboard", person["deadlines"]), ("monitor heatmap", person["heatmap"]),
                     (f"monitor case page, {REAL_CASE_AGENCIES} agencies", person["case_monitor"])]
            for text, figure in lines:
                label = f"{text}, {short}, {database}{via}"
                print(f"{label[:58]:<58} {_cell(figure):>14} {'<= ' + str(int(figure['target_ms'])):>10}  "
                      f"{figure['met']}")


def print_detail(result: dict[str, Any], database: str) -> None:
    """Every figure of one run: the store, then each probe for each person (p50/p95 ms, target, matches)."""
    store = {k: v for k, v in result.items() if k not in ("board_admin", "system_admin")}
    print(f"{database}: {store}")
    for who in ("board_admin", "system_admin"):
        person = result[who]
        print(f"\n{who} ({person['user']}), via {result['via']}")
        print(f"{'page':<44} {'p50/p95 ms':>14} {'target':>8} {'met':>5} {'cases':>6}")
        for label, figure in person["case_list"].items():
            print(f"{'case list, ' + label:<44} {_cell(figure):>14} {'<= ' + str(int(figure['target_ms'])):>8} "
                  f"{figure['met']!s:>5} {figure['matches']:>6}")
        for kind in ("deadlines", "workload", "heatmap", "case_monitor"):
            figure = person[kind]
            target = f"<= {int(figure['target_ms'])}" if "target_ms" in figure else "-"
            print(f"{figure['label']:<44} {_cell(figure):>14} {target:>8} {figure.get('met', '-')!s:>5}")


def main(argv: list[str] | None = None) -> int:
    """Run the monitor bench alone on SQLite, or on a throw-away schema of a PostgreSQL server."""
    args = argparse.ArgumentParser()
    args.add_argument("--postgres", nargs="?", const=POSTGRES_URL, help="run on a throw-away schema of this server")
    args.add_argument("--cases", type=int, default=10_000, help="cases to seed (20 task rows each)")
    args.add_argument("--users", type=int, default=2_000)
    args.add_argument("--requests", type=int, default=40, help="timed requests per page and person")
    options = args.parse_args(argv)
    store = dict(cases=options.cases, users=options.users, requests=options.requests)
    if options.postgres:
        with postgres_schema("benchmonitor", options.postgres) as url:
            if url is None:
                print(f"PostgreSQL at {options.postgres} is unreachable")
                return 1
            print_detail(bench_monitor(url, **store), "PostgreSQL")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        print_detail(bench_monitor(f"sqlite:///{Path(tmp) / 'monitor.sqlite3'}", **store), "SQLite")
    return 0


if __name__ == "__main__":
    sys.exit(main())
