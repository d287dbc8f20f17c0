"""More machines' worth of processes on one PostgreSQL: 2 web processes + 2 timer workers against 1 + 1.

Run from the repository root (PostgreSQL at SCR_TEST_POSTGRES_URL):
`.venv/bin/python -m tests.bench.scale_out [--seconds 40] [--cases 40] [--timers 500] [--threads 6]`.

For each layout it starts gunicorn (deploy/gunicorn.conf.py: preloaded, sync workers) and `run.py worker` processes
on a schema of its own, then a separate load process (tests/bench/people.py) of simulated people completing tasks of
the Dorset procedure through the API for a fixed time. Then 500 timers are made due at the same instant and the
workers fire them. It reports completions per second, the ratio between layouts, 0 lost or duplicated completions, 0
duplicate timer firings, the timer lag (fired - due) percentiles, the CPU share of app, workers, PostgreSQL and the
load process, and, as the project's yardstick, one raw SpiffWorkflow step measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from engine.authoring.versions import deploy
from engine.bootstrap import build_services
from engine.casework.accounts import issue_token
from engine.casework.cases import start_case
from engine.casework.services import Services
from engine.clock import FrozenClock, SystemClock
from engine.store.models import Event, Submission, Timer
from engine.workflow.specs import read_diagrams
from tests.databases import postgres_schema
from tests.drive import SCR_PATH, SUPERUSER, drive_until, form_data, grant_everything, in_driving_order, ready

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv" / "bin"
BOARD = "dorset"
AGENCIES = ["police", "social_care"]
SET_UP_AT = datetime(2023, 1, 2, 9, 0, tzinfo=UTC)  # before every generated date, so no timer fires while arranging
PARKED = datetime(2100, 1, 1, tzinfo=UTC)  # the timer cases' timers wait here until their turn
LAYOUTS = ((1, 1), (2, 2))
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pids: set[int]) -> float:
    """User + system CPU seconds of these processes and their children (live ones: read before stopping them)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / TICKS
    return total


def tree(root: int) -> set[int]:
    """A process and all its descendants."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
    found, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in found]
        found.update(children)
        frontier.extend(children)
    return found


def postgres_pids() -> set[int]:
    """Every PostgreSQL server process on this machine."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.add(int(entry.name))
            except OSError:
                continue
    return pids


def arrange(services: Services, load_cases: int, timer_cases: int) -> tuple[list[int], list[str]]:
    """Cases waiting at their first task for the load, and cases each holding one parked timer; returns both."""
    deploy(services, read_diagrams([ROOT / "bpmn"]), by="bench")
    grant_everything(services, BOARD, AGENCIES)
    path = {**SCR_PATH, "agencies": AGENCIES}
    load = [start_case(services, BOARD, SUPERUSER).id or 0 for _ in range(load_cases)]
    timers: list[str] = []
    for _ in range(timer_cases):
        case_id = start_case(services, BOARD, SUPERUSER).id or 0
        drive_until(services, case_id, lambda _tasks, case_id=case_id: bool(pending(services, case_id)), path)
        timer_id = pending(services, case_id)[0]
        with services.uow() as uow:
            uow.session.execute(update(Timer).where(Timer.case_id == case_id).values(due_at=PARKED))
            uow.commit()
        timers.append(timer_id)
    return load, timers


def pending(services: Services, case_id: int) -> list[str]:
    """Ids of a case's timers that have not fired."""
    with services.uow() as uow:
        return list(uow.session.scalars(select(Timer.id).where(Timer.case_id == case_id, Timer.fired_at.is_(None))))


class Layout:
    """gunicorn with `web` sync processes and `workers` timer worker processes, each in its own process group."""

    def __init__(self, url: str, web: int, workers: int, logs: Path) -> None:
        self.spawned = time.perf_counter()
        self.port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "SCR_SECRET_KEY": secrets.token_hex(32), "PYTHONPATH": str(ROOT),
               "SCR_MAIL_TRANSPORT": "none"}
        out = (logs / f"layout-{web}-{workers}.log").open("a")
        web_env = {**env, "SCR_WEB_BIND": f"127.0.0.1:{self.port}", "SCR_WEB_WORKERS": str(web),
                   "SCR_WEB_TIMEOUT": "120"}
        self.processes = [subprocess.Popen(  # the documented deployment: deploy/gunicorn.conf.py
            [str(VENV / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py")], cwd=ROOT, env=web_env,
            stdout=out, stderr=out, start_new_session=True)]
        self.processes += [subprocess.Popen(
            [str(VENV / "python"), "run.py", "worker", "--poll", "0.2"], cwd=ROOT, env=env, stdout=out, stderr=out,
            start_new_session=True) for _ in range(workers)]
        self.url = f"http://127.0.0.1:{self.port}"
        try:
            self.wait_until_answering()
        except BaseException:
            self.stop()
            raise

    def wait_until_answering(self, seconds: float = 120) -> None:
        """Poll /health until it answers (bounded)."""
        import requests

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("the app did not answer /health in time")

    def app_pids(self) -> set[int]:
        return tree(self.processes[0].pid)

    def worker_pids(self) -> set[int]:
        return set().union(*(tree(p.pid) for p in self.processes[1:]))

    def stop(self) -> None:
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(30)


def run_load(layout: Layout, url: str, token: str, cases: list[int], seconds: float, threads: int,
             workdir: Path) -> dict[str, Any]:
    """The load process for `seconds`, with the CPU each party used meanwhile."""
    settings = workdir / f"people-{layout.port}.json"
    settings.write_text(json.dumps({"database_url": url, "forms_dir": str(ROOT / "forms"), "url": layout.url,
                                    "token": token, "cases": cases, "seconds": seconds, "threads": threads,
                                    "agencies": AGENCIES, "out": str(workdir / f"people-{layout.port}.out.json")}))
    before = {"app": cpu_seconds(layout.app_pids()), "workers": cpu_seconds(layout.worker_pids()),
              "postgresql": cpu_seconds(postgres_pids())}
    started = time.perf_counter()
    people = subprocess.Popen([str(VENV / "python"), "-m", "tests.bench.people", str(settings)], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    load_cpu = 0.0
    while people.poll() is None:  # the load process's CPU, read while it lives
        load_cpu = max(load_cpu, cpu_seconds({people.pid}))
        time.sleep(0.5)
    wall = time.perf_counter() - started
    after = {"app": cpu_seconds(layout.app_pids()), "workers": cpu_seconds(layout.worker_pids()),
             "postgresql": cpu_seconds(postgres_pids())}
    if people.returncode != 0:
        raise RuntimeError(f"the load process failed ({people.returncode})")
    result = json.loads((workdir / f"people-{layout.port}.out.json").read_text())
    used = {k: after[k] - before[k] for k in before} | {"load": load_cpu}
    result["cpu_share"] = {k: round(v / (wall * (os.cpu_count() or 1)), 3) for k, v in used.items()}
    return result


def first_completion(layout: Layout, services: Services, token: str, case_id: int) -> tuple[float, str]:
    """Seconds from spawning the processes (a restart) to the first task completed through the API, and its id."""
    import requests

    task = in_driving_order(services, case_id, ready(services, case_id))[0]
    data = form_data(services, case_id, task, {**SCR_PATH, "agencies": AGENCIES})
    answer = requests.post(f"{layout.url}/api/tasks/{task.id}", json={"data": data},
                           headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert answer.status_code == 200, answer.text[:300]
    return time.perf_counter() - layout.spawned, task.id


def check_completions(services: Services, cases: list[int], acknowledged: list[str]) -> dict[str, int]:
    """Lost (acknowledged but absent) and duplicated completions of these cases."""
    with services.uow() as uow:
        rows = list(uow.session.scalars(select(Submission.task_id).where(Submission.case_id.in_(cases))))
    per_task = Counter(rows)
    return {"acknowledged": len(acknowledged), "stored": len(per_task),
            "lost": sum(1 for t in set(acknowledged) if t not in per_task),
            "duplicated": sum(1 for n in per_task.values() if n > 1)}


def fire_at_once(services: Services, timers: list[str], lead_seconds: float = 3.0,
                 deadline_seconds: float = 300) -> dict[str, Any]:
    """Make `timers` due at the same instant, wait until the running workers fired them, and measure the lag."""
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=lead_seconds)
    with services.uow() as uow:
        uow.session.execute(update(Timer).where(Timer.id.in_(timers)).values(due_at=due))
        uow.commit()
    deadline = time.monotonic() + lead_seconds + deadline_seconds
    fired: list[tuple[str, int, datetime, datetime]] = []
    while time.monotonic() < deadline:
        with services.uow() as uow:
            fired = list(uow.session.execute(select(Timer.id, Timer.case_id, Timer.due_at, Timer.fired_at)
                                             .where(Timer.id.in_(timers), Timer.fired_at.is_not(None))))
        if len(fired) == len(timers):
            break
        time.sleep(0.25)
    lags = sorted((f - d).total_seconds() for _, _, d, f in fired)
    cases = {case_id for _, case_id, _, _ in fired}
    with services.uow() as uow:
        events = uow.session.execute(select(Event.case_id, Event.detail).where(
            Event.case_id.in_(cases), Event.kind.in_(("timer_fired", "deadline_missed"))))
        per_timer = Counter((case_id, detail.get("timer"), detail.get("due_at")) for case_id, detail in events)
    return {"timers": len(timers), "fired": len(fired), "duplicate_firings": sum(n - 1 for n in per_timer.values()),
            "lag_p50_s": round(statistics.median(lags), 3) if lags else None,
            "lag_p95_s": round(lags[int(0.95 * (len(lags) - 1))], 3) if lags else None,
            "lag_max_s": round(lags[-1], 3) if lags else None}


def raw_step_ms() -> float:
    """One raw SpiffWorkflow step of the Dorset procedure (the project's yardstick), median of 20."""
    from tests.bench.run import bench_request

    with tempfile.TemporaryDirectory() as workdir:
        return float(bench_request(5, BOARD, Path(workdir))["raw_ms"]["p50"])


def main(argv: list[str] | None = None) -> int:
    """Run both layouts on one schema each and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--cases", type=int, default=40, help="cases the simulated people work on, per layout")
    parser.add_argument("--timers", type=int, default=500)
    parser.add_argument("--threads", type=int, default=6, help="simulated people")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}}
    logs = ROOT / "bench-logs"
    logs.mkdir(exist_ok=True)
    print(f"server and worker output: {logs}/layout-*.log", flush=True)
    with tempfile.TemporaryDirectory() as workdir:
        for web, workers in LAYOUTS:
            with postgres_schema("scaleout") as url:
                if url is None:
                    print("PostgreSQL is unreachable: set SCR_TEST_POSTGRES_URL", file=sys.stderr)
                    return 2
                services, engine = build_services(url, ROOT / "forms", FrozenClock(SET_UP_AT))
                arranging = time.perf_counter()
                load, timers = arrange(services, args.cases, args.timers)
                services.clock = SystemClock()  # the token must live on the servers' clock
                token = issue_token(services, SUPERUSER)
                print(f"{web}+{web and workers}: arranged {len(load)} + {len(timers)} cases in "
                      f"{time.perf_counter() - arranging:.0f} s", flush=True)
                layout = Layout(url, web, workers, logs)
                try:
                    restart, first = first_completion(layout, services, token, load[0])
                    outcome = run_load(layout, url, token, load, args.seconds, args.threads, Path(workdir))
                    checked = check_completions(services, load, [first, *outcome["completed"]])
                    timing = fire_at_once(services, timers)
                finally:
                    layout.stop()
                    engine.dispose()
                latencies = sorted(outcome["latencies"])
                results[f"{web}+{workers}"] = {
                    "completions_per_s": round(len(outcome["completed"]) / outcome["seconds"], 2),
                    "conflicts": outcome["conflicts"], "errors": outcome["errors"], **checked,
                    "latency_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1)
                    if latencies else None,
                    "cpu_share": outcome["cpu_share"], "timers": timing,
                    "restart_to_first_completed_task_s": round(restart, 2)}
                print(json.dumps({f"{web}+{workers}": results[f"{web}+{workers}"]}), flush=True)
    results["ratio_2+2_over_1+1"] = round(results["2+2"]["completions_per_s"] / results["1+1"]["completions_per_s"],
                                          2)
    results["raw_spiffworkflow_step_ms"] = raw_step_ms()
    results["completion_over_raw_step"] = round(
        1000 / results["2+2"]["completions_per_s"] / results["raw_spiffworkflow_step_ms"], 1)
    Path(ROOT / "bench-scale-out.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    ok = (results["ratio_2+2_over_1+1"] >= 1.5
          and all(results[k][n] == 0 for k in ("1+1", "2+2") for n in ("lost", "duplicated", "errors"))
          and all(results[k]["timers"]["duplicate_firings"] == 0 for k in ("1+1", "2+2"))
          and (results["2+2"]["timers"]["lag_p95_s"] or 99) <= 2.0)
    print("targets met" if ok else "TARGETS MISSED: ratio >= 1.5, 0 lost/duplicated/errors, 0 duplicate "
          "firings, timer lag p95 <= 2 s with 2 workers")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
