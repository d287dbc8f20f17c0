"""Eight IMR authors of one case completing their own tasks at the same moment, on PostgreSQL, beside the same
eight completions one after another and the raw SpiffWorkflow step.

Run alone: `.venv/bin/python -m tests.bench.together [--rounds N]` (tests.bench.run includes it).
Target (issue 8): no 409s, and each person's p95 at most 8 x one step, one step being the mean of the same eight
completions done one after another (so: nobody waits longer than all eight done in a row). Steps differ a lot (an
author's step that starts the next part of an IMR does more than one that does not), so the median step is also
reported.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from functools import partial
from typing import Any

from engine.casework.accounts import seed_users
from engine.casework.completion import complete_task
from engine.casework.roles import assign_role
from engine.errors import Conflict
from engine.ports import Assignment
from engine.workflow.runtime import Case
from tests.bench.run import RAW_SERIALIZER, raw_step, services_on, summary, timed
from tests.databases import postgres_schema
from tests.drive import SCR_PATH, at_the_imr_authors, authors_tasks, form_data, grant_everything

EIGHT = ["social_care", "police", "education", "health_commissioning", "health_acute", "health_community", "gp",
         "mental_health"]
CHOICES = {**SCR_PATH, "agencies": EIGHT}
TARGET_STEPS = 8


def _author(agency: str) -> str:
    return f"bench.author.{agency}"


def _case(services: Any, board: str) -> tuple[int, dict[str, Any], dict[str, dict[str, Any]]]:
    """A case at its eight IMR authors, their tasks and answers."""
    case_id = at_the_imr_authors(services, board, EIGHT, CHOICES)
    for agency in EIGHT:
        assign_role(services, Assignment(_author(agency), "imr_author", board, case_id, agency))
    tasks = authors_tasks(services, case_id)
    return case_id, tasks, {a: form_data(services, case_id, tasks[a], CHOICES) for a in EIGHT}


def bench_eight_at_once(url: str, board: str = "dorset", rounds: int = 5) -> dict[str, Any]:
    """Per round: one case's eight authors complete one by one, a twin case's eight all at once."""
    services = services_on(url)
    grant_everything(services, board, EIGHT)
    seed_users(services, [{"username": _author(a), "display_name": a, "board": board, "agency": a, "roles": []}
                          for a in EIGHT])
    sequential: list[float] = []
    rows_in_a_row: list[float] = []
    together: list[float] = []
    walls: list[float] = []
    raw: list[float] = []
    refused: list[str] = []
    retries: list[int] = []
    for _ in range(rounds):
        one_by_one, tasks, answers = _case(services, board)
        with services.uow() as uow:
            record = uow.cases.get(one_by_one)
            workflow = Case.restore(services.process_of(uow, record), services.catalogue, record.state).workflow
        full = RAW_SERIALIZER.serialize_json(workflow)
        raw.append(statistics.median(timed(partial(raw_step, full, tasks[a].id, answers[a])) for a in EIGHT[:3]))
        steps = [timed(partial(complete_task, services, tasks[a].id, _author(a), answers[a])) for a in EIGHT]
        sequential.extend(steps)
        rows_in_a_row.append(sum(steps))

        at_once, tasks, answers = _case(services, board)
        start = threading.Barrier(len(EIGHT) + 1)
        finished: dict[str, float] = {}

        def person(agency: str, tasks: dict[str, Any] = tasks, answers: dict[str, Any] = answers,
                   start: threading.Barrier = start, finished: dict[str, float] = finished) -> None:
            start.wait()
            began = time.perf_counter()
            try:
                done = complete_task(services, tasks[agency].id, _author(agency), answers[agency])
                retries.append(done.retries)
            except Conflict as exc:
                refused.append(str(exc))
            finished[agency] = (time.perf_counter() - began) * 1000

        threads = [threading.Thread(target=person, args=(a,)) for a in EIGHT]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join(120)
        walls.append((time.perf_counter() - began) * 1000)
        together.extend(finished.values())
    conflicts = len(refused)
    one_step = statistics.mean(sequential)
    per_person = summary(together)
    return {
        "rounds": rounds, "people": len(EIGHT),
        "one_step_ms": summary(sequential), "raw_step_ms": round(statistics.median(raw), 3),
        "one_step_mean_ms": round(one_step, 3), "eight_in_a_row_ms": summary(rows_in_a_row),
        "together_per_person_ms": per_person, "together_wall_ms": summary(walls),
        "p95_in_steps": round(per_person["p95"] / one_step, 2),
        "p95_over_raw_step": round(per_person["p95"] / statistics.median(raw), 2),
        "conflicts": conflicts, "retries": sum(retries),
        "target": f"no 409s, p95 <= {TARGET_STEPS} x one step",
        "met": conflicts == 0 and per_person["p95"] <= TARGET_STEPS * one_step,
    }


def print_row(row: dict[str, Any]) -> None:
    """The figures, one line each."""
    print(f"{'8 authors at once on one case, PostgreSQL: p95 per person / one step':<58} {row['p95_in_steps']:>14} "
          f"{'<= 8':>10}  {row['met']}")
    print(f"{'   p50/p95 per person; wall p50 (ms)':<58} "
          f"{str(row['together_per_person_ms']['p50']) + '/' + str(row['together_per_person_ms']['p95']) + '; ' + str(row['together_wall_ms']['p50']):>14}")  # noqa: E501
    print(f"{'   one step mean/p50; 8 in a row p50; raw step (ms)':<58} "
          f"{str(row['one_step_mean_ms']) + '/' + str(row['one_step_ms']['p50']) + '; ' + str(row['eight_in_a_row_ms']['p50']) + '; ' + str(row['raw_step_ms']):>14}")  # noqa: E501
    print(f"{'   409s; retries':<58} {str(row['conflicts']) + '; ' + str(row['retries']):>14} {'0':>10}  "
          f"{row['conflicts'] == 0}")


def main() -> int:
    """Measure on the local PostgreSQL and print the figures."""
    args = argparse.ArgumentParser()
    args.add_argument("--rounds", type=int, default=5)
    args.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    options = args.parse_args()
    with postgres_schema("benchtogether", options.postgres) as url:
        if not url:
            print("PostgreSQL unreachable: nothing measured")
            return 1
        row = bench_eight_at_once(url, rounds=options.rounds)
    print_row(row)
    print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
