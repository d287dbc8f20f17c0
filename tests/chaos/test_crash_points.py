"""RELIABILITY T-K3: the served app ending itself at each named point of a completion (SCR_TEST_HOOKS=crash:<point>).

Before the commit nothing of the step is left: the case's stored state and version are byte-identical and the task
is still ready. After the commit the step is whole: sending the same answers again is told who completed it (the
sender) and the task was completed exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from engine.faults import POINTS
from tests.chaos.server import Server
from tests.chaos.store import PEOPLE, prepare
from tests.formfill import fill

TIMES = 3  # each point, on a case of its own
ME = PEOPLE[0]


class Client:
    """One person over the API, and the database read underneath for snapshots."""

    def __init__(self, server: Server, token: str, database_url: str) -> None:
        self.url = server.url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.db = create_engine(database_url)

    def close(self) -> None:
        self.http.close()
        self.db.dispose()

    def first_ready(self, case_id: int) -> dict[str, Any]:
        return self.http.get(f"{self.url}/api/cases/{case_id}", timeout=30).json()["ready"][0]

    def task(self, task_id: str) -> dict[str, Any]:
        return self.http.get(f"{self.url}/api/tasks/{task_id}", timeout=30).json()

    def complete(self, task_id: str, answers: dict[str, Any]) -> requests.Response:
        return self.http.post(f"{self.url}/api/tasks/{task_id}", json={"data": answers}, timeout=30)

    def stored(self, case_id: int) -> tuple[Any, ...]:
        """Everything the database holds of the case, as stored: state bytes, version, tasks, answers, audit."""
        with self.db.connect() as conn:
            case = conn.execute(text('SELECT state, lock_version, status, updated_at FROM "case" WHERE id = :id'),
                                {"id": case_id}).one()
            tasks = conn.execute(text("SELECT id, state, completed_by FROM task WHERE case_id = :id ORDER BY id"),
                                 {"id": case_id}).all()
            answers = conn.execute(text("SELECT task_id, username FROM submission WHERE case_id = :id"),
                                   {"id": case_id}).all()
            audit = conn.execute(text("SELECT kind, hash FROM event WHERE case_id = :id ORDER BY id"),
                                 {"id": case_id}).all()
        return bytes(case.state), case.lock_version, case.status, case.updated_at, tasks, answers, audit


@pytest.fixture(scope="module")
def prepared(database_url: str) -> tuple[list[int], dict[str, str]]:
    """TIMES cases for each point, and each person's token."""
    return prepare(database_url, TIMES * len(POINTS))


@pytest.fixture(params=POINTS)
def crashing(request: pytest.FixtureRequest, database_url: str, prepared: tuple[list[int], dict[str, str]],
             tmp_path: Path) -> Iterator[tuple[str, Client, list[int]]]:
    """The point, a client of a server that ends itself there on every completion, and TIMES fresh cases."""
    cases, tokens = prepared
    mine = POINTS.index(request.param) * TIMES
    server = Server(database_url, tmp_path, workers=1, hooks=f"crash:{request.param}")
    client = Client(server, tokens[ME], database_url)
    try:
        server.start()
        yield request.param, client, cases[mine:mine + TIMES]
    finally:
        server.kill()
        client.close()


def test_a_completion_cut_short_at_any_point_leaves_the_case_whole(crashing: tuple[str, Client, list[int]]) -> None:
    point, client, cases = crashing
    for case_id in cases:
        task = client.first_ready(case_id)
        answers = fill(client.task(task["id"])["form"])
        before = client.stored(case_id)

        with pytest.raises(requests.ConnectionError):  # the process ended before it answered
            client.complete(task["id"], answers)

        if point != "after_commit":
            assert client.stored(case_id) == before  # state bytes, version, tasks, answers and audit untouched
            assert client.task(task["id"])["task"]["state"] == "ready"
            continue
        again = client.complete(task["id"], answers)  # the same answers sent again, as a client retries
        assert again.status_code == 409
        assert f"completed by {ME}" in again.json()["message"]
        assert client.task(task["id"])["task"]["completed_by"] == ME
        after = client.stored(case_id)
        assert after[1] == before[1] + 1  # one step saved
        assert [row.username for row in after[5] if row.task_id == task["id"]] == [ME]  # one submission
        assert sum(kind == "task_completed" for kind, _hash in after[6]) == 1  # one audit event
