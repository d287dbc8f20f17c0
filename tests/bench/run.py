"""Benchmarks with their targets, measured against raw SpiffWorkflow in the same run.

Run from the repository root: `.venv/bin/python -m tests.bench.run [--quick]`. Prints each figure beside its
target and writes bench-results.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from sqlalchemy import insert

from engine.authoring.versions import deploy
from engine.bootstrap import build_services
from engine.casework.accounts import seed_users
from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.queries import my_tasks
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.casework.timers import fire_due_timers
from engine.clock import FrozenClock, SystemClock
from engine.ports import Assignment
from engine.store.models import Case as CaseRow
from engine.store.models import ProcessVersion, Task, Timer
from engine.workflow import expressions
from engine.workflow.runtime import Case
from engine.workflow.specs import read_diagrams, read_forms
from tests.databases import postgres_schema
from tests.drive import SCR_PATH, SUPERUSER, drive_until, form_data, grant_everything, ready, with_many_agencies

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
REAL_AGENCIES = ["social_care", "police", "education", "health_commissioning", "health_acute"]
RAW_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
RAW_ENGINE = PythonScriptEngine(environment=TaskDataEnvironment(dict(expressions.HELPERS)))


def timed(fn: Callable[[], Any]) -> float:
    """Milliseconds one call takes."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def summary(samples: list[float]) -> dict[str, float]:
    """Median and p95 of millisecond samples."""
    ordered = sorted(samples)
    return {"p50": round(statistics.median(ordered), 3),
            "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 3), "n": len(ordered)}


def services_on(url: str, agencies: list[str] | None = None) -> Services:
    """Services with bpmn/ deployed (optionally accepting synthetic agencies) and the demo users."""
    services, _ = build_services(url, ROOT / "forms", FrozenClock(T0))
    if agencies:
        forms = with_many_agencies(read_forms(ROOT / "forms"), agencies)
        services.forms = lambda: forms
    deploy(services, read_diagrams([ROOT / "bpmn"]), by="bench")
    seed_users(services, services.catalogue.users)
    return services


def agencies_for(count: int) -> list[str]:
    """The five core agencies, then synthetic ones up to `count`."""
    return (REAL_AGENCIES + [f"agency_{i:03d}" for i in range(count)])[:count]


def mid_review(services: Services, board: str, agencies: list[str]) -> int:
    """Start a case and drive it until every agency's IMR work has begun; returns the case id."""
    record = start_case(services, board, SUPERUSER)
    assert record.id is not None
    drive_until(services, record.id, lambda tasks: {t.agency for t in tasks} >= set(agencies),
                {**SCR_PATH, "agencies": agencies})
    return record.id


def raw_step(full_json: str, task_id: str, data: dict[str, Any]) -> None:
    """Raw SpiffWorkflow's cost of the same step: deserialize with spec, complete, serialize."""
    workflow = RAW_SERIALIZER.deserialize_json(full_json)
    workflow.script_engine = RAW_ENGINE
    task = workflow.get_task_from_id(uuid.UUID(task_id))
    task.data.update(data)
    task.run()
    workflow.refresh_timers()
    workflow.do_engine_steps()
    RAW_SERIALIZER.serialize_json(workflow)


def bench_request(count: int, board: str, workdir: Path) -> dict[str, Any]:
    """Our request (load, complete, save, commit) vs raw SpiffWorkflow, on a mid-review case with `count` agencies."""
    agencies = agencies_for(count)
    services = services_on(f"sqlite:///{workdir / f'request{count}.sqlite3'}", agencies)
    grant_everything(services, board, agencies)
    case_id = mid_review(services, board, agencies)
    ours: list[float] = []
    raw: list[float] = []
    for task in [t for t in ready(services, case_id) if t.agency][: min(count, 20)]:
        data = form_data(services, case_id, task, {**SCR_PATH, "agencies": agencies})
        with services.uow() as uow:
            record = uow.cases.get(case_id)
            case = Case.restore(services.process_of(uow, record), services.catalogue, record.state)
        full = RAW_SERIALIZER.serialize_json(case.workflow)
        raw.append(statistics.median(timed(partial(raw_step, full, task.id, data)) for _ in range(3)))
        ours.append(timed(partial(complete_task, services, task.id, SUPERUSER, data)))
    ratio = statistics.median(ours) / statistics.median(raw)
    return {"agencies": count, "ours_ms": summary(ours), "raw_ms": summary(raw), "ratio": round(ratio, 2),
            "target": 1.5, "met": ratio <= 1.5}


def bench_start(board: str, workdir: Path) -> dict[str, Any]:
    """Starting a case up to its first user task, through the service layer (with its commit)."""
    services = services_on(f"sqlite:///{workdir / 'start.sqlite3'}")
    samples = [timed(lambda: start_case(services, board, "dorset.admin")) for _ in range(30)]
    result = summary(samples[5:])
    return {**result, "target_ms": 10, "met": result["p50"] <= 10}


def bench_state_size(board: str, workdir: Path) -> dict[str, Any]:
    """Stored state of a mid-review case with five agencies."""
    services = services_on(f"sqlite:///{workdir / 'size.sqlite3'}")
    grant_everything(services, board, REAL_AGENCIES)
    case_id = mid_review(services, board, REAL_AGENCIES)
    with services.uow() as uow:
        record = uow.cases.get(case_id)
        case = Case.restore(services.process_of(uow, record), services.catalogue, record.state)
    without_spec = len(record.state)
    full = len(RAW_SERIALIZER.serialize_json(case.workflow))
    stored = len(gzip.compress(record.state))
    # What the database holds is the gzip of the JSON without the spec; the uncompressed figure is shown too.
    return {"stored_bytes_gzip": stored, "json_without_spec_bytes": without_spec, "raw_full_json_bytes": full,
            "target_bytes": 70_000, "met": stored <= 70_000}


def populate(services: Services, engine_url: str, cases: int) -> None:
    """Bulk-insert `cases` cases with 20 task rows each (2 ready) and one future timer each."""
    from sqlalchemy import create_engine
    engine = create_engine(engine_url)
    roles = [r.role for r in services.catalogue.roles if r.lane]
    with engine.begin() as conn:
        version_id = conn.execute(insert(ProcessVersion).values(
            process_id="bench", content_hash=uuid.uuid4().hex, files={}, deployed_at=T0,
            deployed_by="bench").returning(ProcessVersion.id)).scalar_one()
        start = conn.execute(insert(CaseRow).values(
            reference=f"B-{uuid.uuid4().hex[:8]}", board="dorset", process_id="bench", version_id=version_id,
            state=b"", status="open", created_at=T0, updated_at=T0, data_summary={}, lock_version=1,
        ).returning(CaseRow.id)).scalar_one()
        case_rows = [dict(reference=f"B-{i}-{uuid.uuid4().hex[:6]}", board="dorset" if i % 2 else "bournemouth-poole",
                          process_id="bench", version_id=version_id, state=b"", status="open", created_at=T0,
                          updated_at=T0, data_summary={}, lock_version=1) for i in range(cases - 1)]
        conn.execute(insert(CaseRow), case_rows)
        tasks, timers = [], []
        for case_id in range(start, start + cases):
            for k in range(20):
                role = roles[(case_id * 7 + k) % len(roles)]
                tasks.append(dict(id=str(uuid.uuid4()), case_id=case_id, name=f"t{k}", title="Task", lane=None,
                                  role=role, agency="police" if k % 3 == 0 else None, form=None, created_at=T0,
                                  due_at=T0 + timedelta(days=k), week=k,
                                  state="ready" if k < 2 else "completed", completed_at=None, completed_by=None))
            timers.append(dict(id=str(uuid.uuid4()), case_id=case_id, name="deadline",
                               due_at=T0 + timedelta(days=365), fired_at=None))
            if len(tasks) > 20_000:
                conn.execute(insert(Task), tasks)
                tasks = []
        if tasks:
            conn.execute(insert(Task), tasks)
        conn.execute(insert(Timer), timers)
    engine.dispose()


def bench_scale(url: str, sizes: list[int]) -> dict[str, Any]:
    """Inbox query for one user, and a timer sweep with nothing due, as stored cases grow."""
    services, engine = build_services(url, ROOT / "forms", FrozenClock(T0))
    seed_users(services, services.catalogue.users)
    results: dict[str, Any] = {}
    stored = 0
    for size in sizes:
        populate(services, url, size - stored)
        stored = size
        with services.uow() as uow:
            some_cases = [c.id for c in uow.cases.list()][:3]
        for case_id in some_cases:
            assert case_id is not None
            assign_role(services, Assignment("dorset.police.imr", "imr_author", "dorset", case_id, "police"))
        inbox_author = [timed(lambda: my_tasks(services, "dorset.police.imr")) for _ in range(40)]
        sweep = [timed(lambda: fire_due_timers(services)) for _ in range(40)]
        results[str(size)] = {"inbox_case_level_user_ms": summary(inbox_author[5:]),
                              "timer_sweep_nothing_due_ms": summary(sweep[5:])}
    engine.dispose()
    return results


def bench_migration_preview(workdir: Path, count: int, board: str = "dorset") -> dict[str, Any]:
    """A preview job over `count` cases pinned to v1 (copies of eight real cases at assorted steps) when v2 adds a step
    and renames another, against raw SpiffWorkflow's diff_workflow over the same workflows deserialised."""
    from SpiffWorkflow.bpmn.util.diff import diff_workflow

    from engine.authoring import migration
    from engine.authoring.diff import REGISTRY
    from tests.service.test_migration import add_step_after

    url = f"sqlite:///{workdir / 'migration.sqlite3'}"
    services = services_on(url)
    grant_everything(services, board, REAL_AGENCIES[:2])
    seeds = []
    for steps in (0, 3, 5, 8, 12, 20, 31, 42):
        record = start_case(services, board, SUPERUSER)
        assert record.id is not None
        done = iter(range(steps + 1))
        drive_until(services, record.id, lambda _t, d=done, n=steps: next(d) == n,  # type: ignore[misc]
                    {**SCR_PATH, "agencies": REAL_AGENCIES[:2]})
        seeds.append(record.id)
    from sqlalchemy import create_engine, select
    engine = create_engine(url)
    with engine.begin() as conn:
        rows = conn.execute(select(CaseRow).where(CaseRow.id.in_(seeds))).mappings().all()
        conn.execute(insert(CaseRow), [
            {k: v for k, v in rows[i % len(rows)].items() if k != "id"} | {"reference": f"MIG-{i:05d}"}
            for i in range(count - len(rows))])
    engine.dispose()
    path = "dorset/scr_dorset.bpmn"
    text = add_step_after((ROOT / "bpmn" / path).read_text(), "panel_meeting_3", "after_meeting_3",
                          "Record the actions agreed at Meeting 3").replace(
        'name="Circulate all IMRs to the SCR Panel"', 'name="Circulate every IMR to the SCR Panel"')
    [v2] = [v for v in deploy(services, {path: text.encode()}, by="bench") if v.process_id == "scr_" + board]
    assert v2.id is not None
    commits: list[tuple[float, int]] = []
    save = migration._save
    started = time.perf_counter()

    def timed_save(services_: Services, job: Any) -> None:
        save(services_, job)
        commits.append((time.perf_counter() - started, job.done))

    migration._save = timed_save  # type: ignore[assignment]
    try:
        job = migration.run_job(services, migration.start_job(services, "scr_" + board, v2.id, "preview",
                                                               "dorset.owner"))
    finally:
        migration._save = save  # type: ignore[assignment]
    ours = time.perf_counter() - started
    assert job.status == "done" and job.done == count, job.status
    with services.uow() as uow:
        new = services.process_by_id(uow, v2.id)
        full = {}
        for case_id in seeds:
            record = uow.cases.get(case_id)
            case = Case.restore(services.process_of(uow, record), services.catalogue, record.state)
            full[case_id] = RAW_SERIALIZER.serialize_json(case.workflow)
    raw_diff = raw_load = 0.0
    for i in range(count):
        begin = time.perf_counter()
        workflow = RAW_SERIALIZER.deserialize_json(full[seeds[i % len(seeds)]])
        middle = time.perf_counter()
        diff_workflow(REGISTRY, workflow, new.spec, new.subprocess_specs)
        raw_load += middle - begin
        raw_diff += time.perf_counter() - middle
    return {"cases": count, "seconds": round(ours, 2), "target_seconds": 30, "met": ours <= 30,
            "safe": sum(1 for r in job.results if r["safe"]), "progress_commits": len(commits),
            "first_progress_seconds": round(next((t for t, done in commits if done), 0.0), 2),
            "raw_diff_workflow_seconds": round(raw_diff, 2), "raw_deserialize_seconds": round(raw_load, 2),
            "ratio_to_raw_diff": round(ours / raw_diff, 1), "ratio_to_raw_deserialize_and_diff":
                round(ours / (raw_diff + raw_load), 2)}


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark and print a table of figures and targets."""
    args = argparse.ArgumentParser()
    args.add_argument("--quick", action="store_true",
                      help="skip 100 agencies and the 10,000-case scale run; 2,000 cases for the inbox and monitor")
    args.add_argument("--board", default="dorset")
    args.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                      help="server for the PostgreSQL scale run (skipped when unreachable)")
    options = args.parse_args(argv)
    results: dict[str, Any] = {"measured_at": SystemClock().now().isoformat(), "python": sys.version.split()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results["start_case"] = bench_start(options.board, workdir)
        results["state_size"] = bench_state_size(options.board, workdir)
        results["request"] = [bench_request(n, options.board, workdir) for n in ([5, 20] if options.quick
                                                                                 else [5, 20, 100])]
        from tests.bench import pages  # imported here: pages imports this module's helpers

        results["request_http"] = [pages.bench_http_submit(n, options.board, workdir)
                                   for n in ([5, 20] if options.quick else [5, 20, 100])]
        results["request_http"].append(pages.bench_http_submit(5, options.board, workdir, users=2_000))
        store = dict(cases=2_000, users=400, requests=50) if options.quick else {}
        results["inbox_page"] = pages.bench_inbox_page(f"sqlite:///{workdir / 'inbox.sqlite3'}", **store)
        with postgres_schema("benchweb", options.postgres) as url:
            if url:
                results["inbox_page_postgresql"] = pages.bench_inbox_page(url, **store)
        from tests.bench import monitor  # imported here: monitor imports this module's helpers

        monitor_store = dict(cases=2_000, requests=20) if options.quick else {}
        results["monitor"] = monitor.bench_monitor(f"sqlite:///{workdir / 'monitor.sqlite3'}", **monitor_store)
        with postgres_schema("benchmonitor", options.postgres) as url:
            if url:
                results["monitor_postgresql"] = monitor.bench_monitor(url, **monitor_store)
        sizes = [1_000, 2_000] if options.quick else [1_000, 10_000]
        results["scale"] = bench_scale(f"sqlite:///{workdir / 'scale.sqlite3'}", sizes)
        with postgres_schema("bench", options.postgres) as url:
            if url:
                results["scale_postgresql"] = bench_scale(url, sizes)
        results["migration_preview"] = bench_migration_preview(workdir, 200 if options.quick else 1_000,
                                                               options.board)
        from tests.bench import studio  # imported here: studio imports this module's helpers

        studio_services = services_on(f"sqlite:///{workdir / 'studio.sqlite3'}")
        results["studio_save"] = studio.bench_validate_on_save(studio_services)
        results["studio_pages"] = studio.bench_pages(studio_services)
        from tests.bench import (
            documents,
            pack,  # imported here: pack imports this module's helpers
        )

        results["leak_scan"] = documents.bench_leak_scan()

        results["pack"] = pack.bench_pack(services_on(f"sqlite:///{workdir / 'pack.sqlite3'}"),
                                          rounds=1 if options.quick else 2)
        from tests.bench import together  # imported here: together imports this module's helpers

        with postgres_schema("benchtogether", options.postgres) as url:
            if url:
                results["eight_at_once_postgresql"] = together.bench_eight_at_once(
                    url, options.board, rounds=3 if options.quick else 5)
    print_table(results)
    (ROOT / "bench-results.json").write_text(json.dumps(results, indent=2))
    return 0


def print_table(results: dict[str, Any]) -> None:
    """One line per figure: measured, target, met."""
    from tests.bench import together

    print(f"{'figure':<58} {'measured':>14} {'target':>10}  met")
    start = results["start_case"]
    print(f"{'start a case to its first user task (p50 ms)':<58} {start['p50']:>14} {'<= 10':>10}  {start['met']}")
    size = results["state_size"]
    print(f"{'stored state, mid-review, 5 agencies (bytes as stored, gzip)':<58} {size['stored_bytes_gzip']:>14} "
          f"{'<= 70000':>10}  {size['met']}")
    print(f"{'   uncompressed JSON without spec; raw JSON with spec (B)':<58} "
          f"{str(size['json_without_spec_bytes']) + '; ' + str(size['raw_full_json_bytes']):>14}")
    for row in results["request"]:
        label = f"request / raw SpiffWorkflow, {row['agencies']} agencies (p50 {row['ours_ms']['p50']} ms)"
        print(f"{label:<58} {row['ratio']:>14} {'<= 1.5':>10}  {row['met']}")
    for row in results.get("request_http", []):
        users = f", {row['users_added']} users" if row["users_added"] else ""
        label = f"POST /tasks/<id> / raw, {row['agencies']} agencies{users} (p50 {row['http_ms']['p50']:.0f} ms)"
        print(f"{label:<58} {row['ratio']:>14} {'<= ' + str(row['target']):>10}  {row['met']}")
    for database, key in (("SQLite", "inbox_page"), ("PostgreSQL", "inbox_page_postgresql")):
        for who, row in results.get(key, {}).items():
            if isinstance(row, dict):
                label = f"GET / inbox, {who.replace('_', ' ')} ({row['tasks']} tasks), {database} (p50/p95 ms)"
                print(f"{label:<58} {str(row['p50']) + '/' + str(row['p95']):>14} "
                      f"{'<= ' + str(int(row['target_ms'])):>10}  {row['met']}")
    from tests.bench import monitor

    monitor.print_rows(results)
    for database, key in (("SQLite", "scale"), ("PostgreSQL", "scale_postgresql")):
        for size_key, row in results.get(key, {}).items():
            inbox, sweep = row["inbox_case_level_user_ms"], row["timer_sweep_nothing_due_ms"]
            print(f"{'inbox, one user, ' + size_key + ' cases, ' + database + ' (p50/p95 ms)':<58} "
                  f"{str(inbox['p50']) + '/' + str(inbox['p95']):>14} {'<= 25':>10}  {inbox['p95'] <= 25}")
            print(f"{'timer sweep, nothing due, ' + size_key + ' cases, ' + database + ' (ms)':<58} "
                  f"{str(sweep['p50']) + '/' + str(sweep['p95']):>14} {'<= 5':>10}  {sweep['p95'] <= 5}")
    if "migration_preview" in results:
        row = results["migration_preview"]
        print(f"{'migration preview of ' + str(row['cases']) + ' pinned cases, SQLite (s)':<58} {row['seconds']:>14} "
              f"{'<= 30':>10}  {row['met']}")
        progress = f"{row['progress_commits']}; {row['first_progress_seconds']}; {row['safe']}"
        print(f"{'   progress commits; first progress (s); safe cases':<58} {progress:>14}")
        print(f"{'   / raw diff_workflow alone; / raw deserialise + diff':<58} "
              f"{str(row['ratio_to_raw_diff']) + '; ' + str(row['ratio_to_raw_deserialize_and_diff']):>14}")
    if "studio_save" in results:
        from tests.bench import studio

        studio.print_rows(results)
    if "leak_scan" in results:
        from tests.bench import documents

        documents.print_scan_row(results["leak_scan"])
    if "pack" in results:
        from tests.bench import pack

        pack.print_row(results["pack"])
    if "eight_at_once_postgresql" in results:
        together.print_row(results["eight_at_once_postgresql"])


if __name__ == "__main__":
    sys.exit(main())
