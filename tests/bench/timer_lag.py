"""Timer lag alone: `--timers` Dorset cases each waiting on a timer, made due at the same instant, fired by
`--workers` `run.py worker` processes on PostgreSQL; the lag (fired - due) percentiles and the CPU of workers and
PostgreSQL, for each of `--runs` runs.

Run from the repository root: `.venv/bin/python -m tests.bench.timer_lag [--timers 500] [--workers 2] [--runs 3]`.
The cases are arranged once into a template database (about a minute for 500) and each run starts on a copy of it,
so a run takes seconds; `--again` arranges them anew. The scale-out bench (tests/bench/scale_out.py) measures the
same lag after its load, with web processes beside the workers.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine.bootstrap import build_services
from engine.clock import FrozenClock, SystemClock
from tests.bench.scale_out import ROOT, SET_UP_AT, VENV, arrange, cpu_seconds, fire_at_once, postgres_pids, tree
from tests.databases import POSTGRES_URL

TEMPLATE, COPY = "scr_bench_timers_template", "scr_bench_timers_run"


def main(argv: list[str] | None = None) -> int:
    """Arrange (once), then run and print one line of figures per run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--again", action="store_true", help="arrange the cases anew")
    args = parser.parse_args(argv)
    base = make_url(POSTGRES_URL)
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    timers_file = ROOT / "bench-logs" / f"{TEMPLATE}.json"
    timers_file.parent.mkdir(exist_ok=True)
    with admin.connect() as conn:
        have = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": TEMPLATE})
    arranged = json.loads(timers_file.read_text()) if timers_file.exists() else []
    if args.again or not have or len(arranged) != args.timers:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {TEMPLATE}"))
        services, engine = build_services(base.set(database=TEMPLATE).render_as_string(hide_password=False),
                                          ROOT / "forms", FrozenClock(SET_UP_AT))
        started = time.perf_counter()
        _load, arranged = arrange(services, 0, args.timers)
        engine.dispose()
        timers_file.write_text(json.dumps(arranged))
        print(f"arranged {len(arranged)} timer cases in {time.perf_counter() - started:.0f} s", flush=True)
    for _ in range(args.runs):
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {COPY} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {COPY} TEMPLATE {TEMPLATE}"))
        print(json.dumps(one_run(base.set(database=COPY).render_as_string(hide_password=False), arranged,
                                 args.workers)), flush=True)
    return 0


def one_run(url: str, timers: list[str], workers: int) -> dict[str, object]:
    """Start the workers, make every timer due at once, measure, stop the workers."""
    env = {**os.environ, "DATABASE_URL": url, "SCR_SECRET_KEY": secrets.token_hex(32), "PYTHONPATH": str(ROOT),
           "SCR_MAIL_TRANSPORT": "none"}
    with (ROOT / "bench-logs" / "timer-lag.log").open("a") as out:
        processes = [subprocess.Popen([str(VENV / "python"), "run.py", "worker", "--poll", "0.2"], cwd=ROOT, env=env,
                                      stdout=out, stderr=out, start_new_session=True) for _ in range(workers)]
        services, engine = build_services(url, ROOT / "forms", SystemClock())
        try:
            time.sleep(4)  # the workers compile the process versions before their first sweep
            pids = set().union(*(tree(p.pid) for p in processes))
            database = postgres_pids()
            before = cpu_seconds(pids), cpu_seconds(database)
            figures = fire_at_once(services, timers)
            figures["worker_cpu_s"] = round(cpu_seconds(pids) - before[0], 2)
            figures["postgres_cpu_s"] = round(cpu_seconds(database) - before[1], 2)
            return {"workers": workers, **figures}
        finally:
            for process in processes:
                os.killpg(process.pid, signal.SIGTERM)
            for process in processes:
                process.wait(30)
            engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
