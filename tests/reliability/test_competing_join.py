"""T-C3, a competing join: four branches in parallel; two people complete the last two at the same instant (lined up
by a barrier, never a sleep), round after round. Both are done (steps on one case queue, so neither is refused), the
join fires once: one notice, one decision task, one mail about each."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from engine.authoring.versions import deploy
from engine.casework.accounts import seed_users
from engine.casework.cases import start_case
from engine.casework.completion import Completed, complete_task
from engine.casework.mail import queue_mail
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.ports import Assignment, UserRecord
from tests.drive import ready
from tests.reliability.together import at_once

JOIN = Path(__file__).resolve().parent / "fixtures" / "join.bpmn"
ROUNDS = 5
ANSWER = {"question": "Done"}


@pytest.fixture
def joining(fixture_services: Services) -> Services:
    """The four-branch procedure on the fixture board; rina is a second referrer; carl (chair) has an address."""
    deploy(fixture_services, {"join.bpmn": JOIN.read_bytes()}, by="tester")
    seed_users(fixture_services, [{"username": "rina", "display_name": "Rina Referrer", "board": "fx", "roles": []}])
    with fixture_services.uow() as uow:
        uow.people.add_user(UserRecord("carl", "Carl Chair", "fx", None, "carl@example.org"))
        uow.commit()
    return fixture_services


def one_round(services: Services) -> tuple[int, list[Any]]:
    """A new case with branches one and two done; branches three and four completed at once by two people."""
    case_id = start_case(services, "fx", "rita").id or 0
    assign_role(services, Assignment("rina", "referrer", "fx", case_id))
    branches = {t.name: t for t in ready(services, case_id)}
    assert sorted(branches) == ["branch_1", "branch_2", "branch_3", "branch_4"]
    for name in ("branch_1", "branch_2"):
        complete_task(services, branches[name].id, "rita", ANSWER)
    outcomes = at_once(services, [lambda: complete_task(services, branches["branch_3"].id, "rita", ANSWER),
                                  lambda: complete_task(services, branches["branch_4"].id, "rina", ANSWER)])
    return case_id, outcomes


def test_the_last_two_branches_completed_at_once_join_exactly_once_round_after_round(joining: Services) -> None:
    services = joining
    for _ in range(ROUNDS):
        case_id, outcomes = one_round(services)

        assert [type(o).__name__ for o in outcomes] == ["Completed", "Completed"], outcomes
        assert all(isinstance(o, Completed) for o in outcomes)
        with services.uow() as uow:
            tasks = Counter((t.name, t.state) for t in uow.tasks.for_case(case_id))
            notices = [n.kind for n in uow.notices.for_case(case_id)]
            completed = [e for e in uow.events.for_case(case_id) if e.kind == "task_completed"]
        assert tasks[("after_join", "ready")] == 1 and sum(n for (name, _), n in tasks.items()
                                                          if name == "after_join") == 1
        assert notices == ["joined"], "the join fired once"
        assert len(completed) == 4

    queue_mail(services)
    with services.uow() as uow:
        mail = [m for c in uow.cases.list() for m in uow.mail.for_case(c.id or 0) if m.username == "carl"]
    told = Counter(m.subject.split("] ", 1)[1] for m in mail)
    assert told == {"New task: Decide after every branch": ROUNDS, "Joined for chair": ROUNDS}, "one mail each"
