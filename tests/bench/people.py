"""Simulated people completing tasks through the JSON API: the load process of tests/bench/scale_out.py.

Run as its own OS process (never threads inside the server): `python -m tests.bench.people SETTINGS.json`. Each
thread owns some cases and, until the deadline, completes the next task of one of them through
`POST /api/tasks/<id>`, choosing it and filling its form as tests/drive.py does (each person reads the process
version of its cases once, as a browser keeps a page, and then only the ready tasks). It writes one JSON document to the
settings' `out` file: the completions the server acknowledged (task ids), conflicts, errors and latencies.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import requests

from engine.bootstrap import build_services
from engine.clock import SystemClock
from tests.drive import SCR_PATH, SUPERUSER, form_data, in_driving_order, process_of_case, ready


def main(argv: list[str]) -> int:
    """Drive the cases of the settings file for its number of seconds and print what happened."""
    settings = json.loads(Path(argv[0]).read_text())
    services, engine = build_services(settings["database_url"], Path(settings["forms_dir"]), SystemClock(),
                                      migrate=False)
    lock = threading.Lock()
    done: list[str] = []
    conflicts, errors, latencies = [0], [0], []
    deadline = time.monotonic() + settings["seconds"]
    path = {**SCR_PATH, "agencies": settings["agencies"]}

    def person(cases: list[int]) -> None:
        versions = {case_id: process_of_case(services, case_id) for case_id in cases}  # a case keeps its version
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {settings['token']}"
        turn = 0
        while time.monotonic() < deadline and cases:
            case_id = cases[turn % len(cases)]
            turn += 1
            tasks = in_driving_order(services, case_id, ready(services, case_id), versions[case_id])
            if not tasks:
                cases.remove(case_id)
                continue
            task = tasks[0]
            data = form_data(services, case_id, task, path, versions[case_id])
            started = time.perf_counter()
            answer = session.post(f"{settings['url']}/api/tasks/{task.id}", json={"data": data}, timeout=30)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if answer.status_code == 200:
                    done.append(task.id)
                elif answer.status_code == 409:
                    conflicts[0] += 1
                else:
                    errors[0] += 1
                    print(f"{answer.status_code} {answer.text[:300]}", file=sys.stderr)

    threads = [threading.Thread(target=person, args=(settings["cases"][i::settings["threads"]],))
               for i in range(settings["threads"])]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(settings["seconds"] + 120)
    wall = time.perf_counter() - started
    engine.dispose()
    Path(settings["out"]).write_text(json.dumps({  # a file, not stdout: thousands of ids outgrow a pipe's buffer
        "completed": done, "conflicts": conflicts[0], "errors": errors[0], "seconds": wall, "latencies": latencies,
        "user": SUPERUSER}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
