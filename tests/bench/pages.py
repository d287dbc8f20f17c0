"""Benchmarks through the real Flask app: the inbox page on a large store, a task submitted over HTTP.

Run by `tests.bench.run`; `python -m tests.bench.pages --profile [--postgres]` profiles the inbox page instead.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, insert, select
from werkzeug.datastructures import MultiDict

from engine.bootstrap import build_services
from engine.casework import queries
from engine.casework.accounts import set_password_hash
from engine.casework.services import Services
from engine.clock import FrozenClock
from engine.store.models import AppUser, ProcessVersion, RoleAssignment, Task
from engine.store.models import Case as CaseRow
from engine.workflow.runtime import Case
from tests.bench.run import (
    RAW_SERIALIZER,
    ROOT,
    T0,
    agencies_for,
    mid_review,
    raw_step,
    services_on,
    summary,
    timed,
)
from tests.databases import POSTGRES_URL, postgres_schema
from tests.drive import SCR_PATH, SUPERUSER, form_data, grant_everything, ready
from tests.factor import code_now, needs_factor
from web import create_app
from web.accounts import Passwords
from web.formrender import parse

PASSWORD = "bench password, never used outside benchmarks"
INBOX_TARGET_MS = 50.0
HTTP_RATIO_TARGET = 1.5
CORE = ("social_care", "police", "education", "health_commissioning", "health_acute")
AGENCIES = (*CORE, "health_community", "gp", "mental_health", "probation", "housing", "youth_offending", "cafcass")
BOARDS = ("dorset", "bournemouth-poole")
TYPICAL = "bench.imr.police"  # police IMR author on 24 cases, panel member on 6: 30 tasks
ADMIN = "bench.admin.dorset"  # LSCB administrator of Dorset: every administrator task of the board
# Ready tasks of an open case, by phase: (role, agency); "each" is one task per core agency, "referrer" one agency.
PHASES: tuple[tuple[str, tuple[tuple[str, str | None], ...]], ...] = (
    ("referral", (("safeguarding_lead", "referrer"),)),
    ("screening", (("lscb_administrator", None), ("lscb_chair", None))),
    ("standing_panel", (("standing_panel", None),)),
    ("imr", (("imr_author", "each"), ("lscb_administrator", None))),
    ("imr_signoff", (("chief_executive", "each"),)),
    ("panel", (("panel_chair", None), ("panel_member", None))),
    ("overview", (("overview_author", None), ("health_overview_author", None))),
    ("signoff", (("lscb_board", None), ("qa_group", None), ("business_manager", None))),
)
BOARD_STAFF = (("lscb_administrator", 3), ("lscb_chair", 1), ("business_manager", 2), ("standing_panel", 8),
               ("qa_group", 6), ("lscb_board", 12), ("process_owner", 1), ("system_administrator", 1))
TASKS_PER_CASE = 20


@dataclass(frozen=True)
class SeededCase:
    """One bulk-inserted case: id, board and the phase its ready tasks belong to (None when closed)."""

    id: int
    board: str
    phase: str | None


class Stopwatch:
    """WSGI middleware recording the server time of each request in milliseconds (body included)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.samples: list[float] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Run the request and drain its body before stopping the clock."""
        start = time.perf_counter()
        body = self.app(environ, start_response)
        try:
            chunks = list(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        self.samples.append((time.perf_counter() - start) * 1000)
        return chunks


def timed_app(services: Services) -> tuple[Flask, Stopwatch]:
    """The production app (CSRF on) around `services`, with a stopwatch on its WSGI entry point."""
    app = create_app(services, {"TESTING": True, "FAST_PASSWORD_HASHING": True, "SECRET_KEY": "bench"})
    stopwatch = Stopwatch(app.wsgi_app)
    app.wsgi_app = stopwatch  # type: ignore[method-assign]
    return app, stopwatch


@contextmanager
def started_heap() -> Iterator[None]:
    """The heap as a production worker holds it once web/wsgi.py has built the app: what exists now is frozen out of
    the collector (gc.freeze), so a full collection scans only what requests leave behind (about 1 ms) instead of
    every module, spec and cache loaded at start-up (80-110 ms on this machine, once every ~35 administrator inbox
    pages: enough to put the p95 of 100 pages over 50 ms in about one run in five). Unfrozen afterwards."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the page at `path`."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def signed_in(app: Flask, username: str) -> tuple[FlaskClient, str]:
    """A browser signed in as `username` through the sign-in form (with the second factor, for an administrator),
    and its CSRF token."""
    client = app.test_client()
    answer = client.post("/login", data={"username": username, "password": PASSWORD,
                                         "csrf_token": csrf_token(client, "/login")})
    assert answer.status_code == 302, f"sign-in of {username} failed ({answer.status_code})"
    services = app.extensions["services"]
    if needs_factor(services, username):
        answer = client.post("/verify", data={"code": code_now(services, username),
                                              "csrf_token": csrf_token(client, "/verify")})
        assert answer.status_code == 302, f"second factor of {username} failed ({answer.status_code})"
    return client, csrf_token(client, "/")


def populate_people(url: str, cases: int, users: int, password_hash: str) -> dict[str, int]:
    """Bulk-insert `cases` cases (40% open, by phase) of 20 task rows each, and `users` people with their roles."""
    engine = create_engine(url)
    with engine.begin() as conn:
        version_id = conn.execute(insert(ProcessVersion).values(
            process_id="bench", content_hash=uuid.uuid4().hex, files={}, deployed_at=T0,
            deployed_by="bench").returning(ProcessVersion.id)).scalar_one()
        run = uuid.uuid4().hex[:6]
        shape = {f"W-{run}-{i:05d}": (BOARDS[i % 2], PHASES[(i // 10) % len(PHASES)][0] if i % 10 < 4 else None)
                 for i in range(cases)}
        conn.execute(insert(CaseRow), [
            dict(reference=reference, board=board, process_id="bench", version_id=version_id, state=b"",
                 status="open" if phase else "closed", created_at=T0, updated_at=T0, data_summary={}, lock_version=1)
            for reference, (board, phase) in shape.items()])
        mine = select(CaseRow.reference, CaseRow.id).where(CaseRow.reference.like(f"W-{run}-%"))
        ids = dict(conn.execute(mine).all())
        seeded = [SeededCase(ids[reference], board, phase) for reference, (board, phase) in shape.items()]
        rows: list[dict[str, Any]] = []
        ready_rows = 0
        for n, case in enumerate(seeded):
            of_case = task_rows(case, n)
            ready_rows += sum(row["state"] == "ready" for row in of_case)
            rows += of_case
            if len(rows) >= 20_000:
                conn.execute(insert(Task), rows)
                rows = []
        if rows:
            conn.execute(insert(Task), rows)
        people, roles = people_of(seeded, users)
        conn.execute(insert(AppUser), [
            dict(username=name, display_name=name.replace(".", " ").title(), board=board, agency=agency,
                 password_hash=password_hash, email=f"{name}@example.org") for name, board, agency in people])
        conn.execute(insert(RoleAssignment), [
            dict(username=name, role=role, board=board, case_id=case_id, agency=agency)
            for name, role, board, case_id, agency in roles])
    if engine.dialect.name == "postgresql":  # what autovacuum would do within a minute of a bulk load
        with engine.begin() as conn:
            conn.exec_driver_sql('ANALYZE "case", task, app_user, role_assignment')
    engine.dispose()
    return {"cases": len(seeded), "task_rows": len(seeded) * TASKS_PER_CASE, "ready_task_rows": ready_rows,
            "users": len(people), "role_assignments": len(roles)}


def task_rows(case: SeededCase, n: int) -> list[dict[str, Any]]:
    """The case's 20 task rows: its phase's ready tasks, the rest completed."""
    ready_tasks: list[tuple[str, str | None]] = []
    for role, agency in dict(PHASES).get(case.phase or "", ()):
        if agency == "each":
            ready_tasks += [(role, a) for a in CORE]
        else:
            ready_tasks.append((role, CORE[n % len(CORE)] if agency == "referrer" else agency))
    done = [("completed_step", None)] * (TASKS_PER_CASE - len(ready_tasks))
    due = T0 + timedelta(days=n % 60 - 20)  # about a third overdue, some due within a week
    return [dict(id=str(uuid.uuid4()), case_id=case.id, name=f"{case.phase or 'done'}_{role}_{k}",
                 title=f"{role.replace('_', ' ').capitalize()} for {case.phase or 'the case'}", lane=None, role=role,
                 agency=agency, form=None, created_at=T0 - timedelta(days=30 - k), due_at=due + timedelta(days=k),
                 week=k, state="ready" if k < len(ready_tasks) else "completed",
                 completed_at=None if k < len(ready_tasks) else T0, completed_by=None)
            for k, (role, agency) in enumerate([*ready_tasks, *done])]


def people_of(cases: list[SeededCase], count: int) -> tuple[list[tuple[str, str, str | None]],
                                                             list[tuple[str, str, str, int | None, str | None]]]:
    """`count` users (name, board, agency) and their role assignments (name, role, board, case, agency)."""
    rng = random.Random(2024)
    open_cases: dict[tuple[str, str], list[int]] = {}
    for case in cases:
        if case.phase:
            open_cases.setdefault((case.board, case.phase), []).append(case.id)
    users: list[tuple[str, str, str | None]] = []
    roles: set[tuple[str, str, str, int | None, str | None]] = set()
    imr_cases = open_cases[("dorset", "imr")]
    users.append((TYPICAL, "dorset", "police"))
    roles |= {(TYPICAL, "imr_author", "dorset", c, "police") for c in imr_cases[:24]}
    roles |= {(TYPICAL, "panel_member", "dorset", c, None) for c in open_cases[("dorset", "panel")][:6]}
    users.append((ADMIN, "dorset", None))
    roles.add((ADMIN, "lscb_administrator", "dorset", None, None))
    for board in BOARDS:
        for role, number in BOARD_STAFF:
            for k in range(number):
                users.append((f"{board}.{role}.{k}", board, None))
                roles.add((f"{board}.{role}.{k}", role, board, None, None))
        for agency in AGENCIES:  # agency-scoped roles held board-wide
            for role, number in (("safeguarding_lead", 2), ("chief_executive", 1)):
                for k in range(number):
                    users.append((f"{board}.{agency}.{role}.{k}", board, agency))
                    roles.add((f"{board}.{agency}.{role}.{k}", role, board, None, agency))
    if count < len(users):
        raise ValueError(f"at least {len(users)} users are needed for the board and agency roles")
    for k in range(count - len(users)):  # practitioners holding case roles on a few cases each
        name, board, agency = f"worker.{k:04d}", BOARDS[k % 2], rng.choice(AGENCIES)
        users.append((name, board, agency))
        for _ in range(rng.randint(1, 4)):
            kind = rng.random()
            if kind < 0.5:
                role, phase, scope = "imr_author", "imr", agency
            elif kind < 0.75:
                role, phase, scope = "panel_member", "panel", None
            elif kind < 0.85:
                role, phase, scope = "panel_chair", "panel", None
            elif kind < 0.95:
                role, phase, scope = "overview_author", "overview", None
            else:
                role, phase, scope = "referrer", "referral", None
            roles.add((name, role, board, rng.choice(open_cases[(board, phase)]), scope))
    return users, sorted(roles, key=lambda r: (r[0], r[1], r[3] or 0, r[4] or ""))


def bench_inbox_page(url: str, cases: int = 10_000, users: int = 2_000, requests: int = 200,
                     warmup: int = 20) -> dict[str, Any]:
    """Server time of GET / (the inbox page) for a typical user and a board administrator on a large store."""
    services, engine = build_services(url, ROOT / "forms", FrozenClock(T0))
    start = time.perf_counter()
    results: dict[str, Any] = populate_people(url, cases, users, Passwords(fast=True).hash(PASSWORD))
    results["seed_s"] = round(time.perf_counter() - start, 1)
    app, stopwatch = timed_app(services)
    # The administrator's page is several times slower: half as many requests keep the run short.
    for label, username, count in (("imr_author", TYPICAL, requests), ("board_admin", ADMIN, max(requests // 2, 20))):
        client, _ = signed_in(app, username)
        shown = len(queries.inbox(services, username))
        with started_heap():
            for _ in range(warmup):
                client.get("/")
            stopwatch.samples.clear()
            for _ in range(count):
                assert client.get("/").status_code == 200
        figure = summary(stopwatch.samples)
        results[label] = {"user": username, "tasks": shown, **figure, "target_ms": INBOX_TARGET_MS,
                          "met": figure["p95"] <= INBOX_TARGET_MS}
    engine.dispose()
    return results


def profile_inbox_page(url: str, username: str = ADMIN, requests: int = 20, top: int = 25) -> str:
    """cProfile of `requests` inbox pages for `username` on a freshly seeded large store (cumulative time)."""
    services, engine = build_services(url, ROOT / "forms", FrozenClock(T0))
    populate_people(url, 10_000, 2_000, Passwords(fast=True).hash(PASSWORD))
    app, _ = timed_app(services)
    client, _ = signed_in(app, username)
    for _ in range(5):
        client.get("/")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        client.get("/")
    profiler.disable()
    engine.dispose()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def _kind(spec: Mapping[str, Any]) -> str:
    kind = spec.get("type", "string")
    return next((k for k in kind if k != "null"), "string") if isinstance(kind, list) else str(kind)


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def form_fields(schema: Mapping[str, Any], data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """The fields a browser posts for `data` on the form of `schema` (what web.formrender.parse reads back)."""
    posted: list[tuple[str, str]] = []
    for name, spec in schema.get("properties", {}).items():
        if name not in data:
            continue
        value, path = data[name], f"{prefix}{name}"
        if _kind(spec) == "object":
            posted += form_fields(spec, value, path + ".")
        elif _kind(spec) == "array" and _kind(spec.get("items", {})) == "object":
            for i, row in enumerate(value):
                posted += form_fields(spec["items"], row, f"{path}.{i}.")
        elif _kind(spec) == "array":
            posted += [(path, _text(item)) for item in value]  # ticked boxes, picked people or one line each
        else:
            posted.append((path, _text(value)))
    return posted


def add_users(url: str, count: int) -> None:
    """Bulk-insert `count` people without roles, half of them on each board."""
    if count <= 0:
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(AppUser), [dict(username=f"person.{k:05d}", display_name=f"Person {k}", board=BOARDS[k % 2],
                                            agency=AGENCIES[k % len(AGENCIES)], email=f"person.{k}@example.org")
                                       for k in range(count)])
    engine.dispose()


def bench_http_submit(count: int, board: str, workdir: Path, users: int = 0) -> dict[str, Any]:
    """POST /tasks/<id> (form-encoded, CSRF, session) vs raw SpiffWorkflow, on a mid-review case (+ `users` people)."""
    agencies = agencies_for(count)
    url = f"sqlite:///{workdir / f'http{count}-{users}.sqlite3'}"
    services = services_on(url, agencies)
    add_users(url, users)
    grant_everything(services, board, agencies)
    set_password_hash(services, SUPERUSER, Passwords(fast=True).hash(PASSWORD))
    case_id = mid_review(services, board, agencies)
    app, stopwatch = timed_app(services)
    client, token = signed_in(app, SUPERUSER)
    ours: list[float] = []
    raw: list[float] = []
    for task in [t for t in ready(services, case_id) if t.agency][: min(count, 20)]:
        data = form_data(services, case_id, task, {**SCR_PATH, "agencies": agencies})
        with services.uow() as uow:
            record = uow.cases.get(case_id)
            process = services.process_of(uow, record)
            case = Case.restore(process, services.catalogue, record.state)
        schema = process.form(task.form) if task.form else {}
        posted = MultiDict([*form_fields(schema, data), ("csrf_token", token), ("action", "submit")])
        assert parse(schema, posted) == data, f"form fields of {task.name} do not parse back to the data"
        full = RAW_SERIALIZER.serialize_json(case.workflow)
        raw.append(statistics.median(timed(partial(raw_step, full, task.id, data)) for _ in range(3)))
        answer = client.post(f"/tasks/{task.id}", data=posted)
        assert answer.status_code == 302, f"POST /tasks/{task.id} answered {answer.status_code}"
        ours.append(stopwatch.samples[-1])
        with client.session_transaction() as session:
            session.pop("_flashes", None)  # the inbox the browser is sent to would show and drop the message
    ratio = statistics.median(ours) / statistics.median(raw)
    return {"agencies": count, "users_added": users, "http_ms": summary(ours), "raw_ms": summary(raw),
            "ratio": round(ratio, 2), "target": HTTP_RATIO_TARGET, "met": ratio <= HTTP_RATIO_TARGET}


def main(argv: list[str] | None = None) -> int:
    """Print a cProfile of the inbox page (board administrator unless --user), on SQLite or --postgres."""
    args = argparse.ArgumentParser()
    args.add_argument("--profile", action="store_true", help="print a cProfile of the inbox page")
    args.add_argument("--user", default=ADMIN, help=f"who signs in ({ADMIN} or {TYPICAL})")
    args.add_argument("--postgres", nargs="?", const=POSTGRES_URL, help="profile on a throw-away schema of this server")
    options = args.parse_args(argv)
    if not options.profile:
        args.print_help()
        return 2
    if options.postgres:
        with postgres_schema("benchprofile", options.postgres) as url:
            if url is None:
                print(f"PostgreSQL at {options.postgres} is unreachable")
                return 1
            print(profile_inbox_page(url, options.user))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        print(profile_inbox_page(f"sqlite:///{Path(tmp) / 'profile.sqlite3'}", options.user))
    return 0


if __name__ == "__main__":
    sys.exit(main())
