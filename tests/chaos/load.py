"""The load process: two people race through the same cases over the API, every send and answer in the ledger.

Run as its own OS process (`python -m tests.chaos.load plan.json`), so killing the server never touches it. Each
person walks the cases in the same order and completes the first ready task of each until none is left; both
reach for the same task, so one wins and one is told 409. A send that gets no answer is sent again with the
same key until one comes; a 409 after such a send is settled by reading the task: who completed it.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.chaos.ledger import Ledger
from tests.formfill import fill

TIMEOUT = 10.0  # per request
PAUSE = 0.05  # between sends while the server is down
ROUNDS = 6  # a task still ready after this many refusals is given up (only a broken server gets there)


@dataclass(frozen=True)
class Plan:
    """What the harness hands the load process."""

    url: str
    ledger: Path
    cases: list[int]
    tokens: dict[str, str]
    seconds: float  # the load's own hard deadline

    @classmethod
    def read(cls, path: Path) -> Plan:
        raw = json.loads(path.read_text())
        return cls(raw["url"], Path(raw["ledger"]), raw["cases"], raw["tokens"], raw["seconds"])

    def write(self, path: Path) -> None:
        path.write_text(json.dumps({"url": self.url, "ledger": str(self.ledger), "cases": self.cases,
                                    "tokens": self.tokens, "seconds": self.seconds}))


class OutOfTime(Exception):
    """The load's deadline passed."""


class Person:
    """One user's thread of work, with its own HTTP session."""

    def __init__(self, plan: Plan, who: str, ledger: Ledger, deadline: float) -> None:
        self.plan, self.who, self.ledger, self.deadline = plan, who, ledger, deadline
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {plan.tokens[who]}"
        self.forms: dict[str, dict[str, Any]] = {}

    def run(self) -> None:
        """Every case in turn, until none of its tasks is ready."""
        try:
            for case in self.plan.cases:
                self.finish(case)
        finally:
            self.http.close()

    def finish(self, case: int) -> None:
        refused: dict[str, int] = {}
        while True:
            ready = self.answered(lambda: self.http.get(f"{self.plan.url}/api/cases/{case}", timeout=TIMEOUT))
            tasks = ready.json()["ready"]
            if not tasks:
                return
            task = tasks[0]
            if self.complete(case, task) != 200:
                refused[task["id"]] = refused.get(task["id"], 0) + 1
                if refused[task["id"]] >= ROUNDS:
                    self.ledger.write("STUCK", case, task["id"], self.who)
                    return

    def complete(self, case: int, task: dict[str, Any]) -> int:
        """Send the task's answers under one key until answered; the status."""
        key = uuid.uuid4().hex[:16]
        body = {"data": self.answers(task)}
        lost = 0
        while True:
            self.ledger.write("INTENT", key, case, task["id"], self.who)
            try:
                answer = self.http.post(f"{self.plan.url}/api/tasks/{task['id']}", json=body, timeout=TIMEOUT)
            except requests.RequestException as exc:
                self.ledger.write("LOST", key, "refused" if "refused" in str(exc) else type(exc).__name__)
                lost += 1
                self.pause()
                continue
            self.ledger.write("ACK", key, answer.status_code)
            if answer.status_code == 409 and lost:
                now = self.answered(lambda: self.http.get(f"{self.plan.url}/api/tasks/{task['id']}",
                                                          timeout=TIMEOUT))
                self.ledger.write("RESOLVE", key, now.json()["task"].get("completed_by") or "-")
            return answer.status_code

    def answers(self, task: dict[str, Any]) -> dict[str, Any]:
        """Valid answers for the task's form, its free-text fields naming who gave them."""
        if task["name"] not in self.forms:
            view = self.answered(lambda: self.http.get(f"{self.plan.url}/api/tasks/{task['id']}", timeout=TIMEOUT))
            self.forms[task["name"]] = view.json()["form"]
        schema = self.forms[task["name"]]
        data = fill(schema)
        for name, spec in schema.get("properties", {}).items():
            if name in data and spec.get("type") == "string" and not ({"enum", "format", "const"} & set(spec)):
                data[name] = f"answered by {self.who}"
        return data

    def answered(self, send: Callable[[], requests.Response]) -> requests.Response:
        """A read sent until the server answers it with 200."""
        while True:
            try:
                answer = send()
            except requests.RequestException:
                self.pause()
                continue
            if answer.status_code == 200:
                return answer
            raise AssertionError(f"a read was answered {answer.status_code}: {answer.text[:300]}")

    def pause(self) -> None:
        """Wait a moment before sending again (the server is restarting), or give up at the deadline."""
        if time.monotonic() > self.deadline:
            raise OutOfTime(f"{self.who} ran out of time")
        threading.Event().wait(PAUSE)


def main(plan_path: str) -> int:
    """Run both people to the end; exit 0 when both finished in time."""
    plan = Plan.read(Path(plan_path))
    ledger = Ledger(plan.ledger)
    deadline = time.monotonic() + plan.seconds
    failures: list[str] = []

    def person(who: str) -> None:
        try:
            Person(plan, who, ledger, deadline).run()
        except Exception as exc:  # reported by the exit status; the ledger holds what was done
            failures.append(f"{who}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=person, args=(who,)) for who in plan.tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ledger.close()
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
