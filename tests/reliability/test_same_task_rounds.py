"""T-C1 in full: 25 rounds of 8 people submitting the same task at the same instant (a barrier, never a sleep), on
SQLite and PostgreSQL. Each round: one success and seven conflicts naming the winner, the case's version up by
exactly one, one completion in the audit and the case file, one next task, one mail about it. (tests/service/
test_working_at_once.py has one round on the real Dorset procedure.)"""

from __future__ import annotations

from collections import Counter

from engine.casework.accounts import seed_users
from engine.casework.cases import start_case
from engine.casework.completion import Completed, complete_task
from engine.casework.mail import queue_mail
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.errors import Claimed, Conflict
from engine.ports import Assignment, UserRecord
from tests.drive import ready
from tests.reliability.together import at_once

ROUNDS, PEOPLE = 25, [f"referrer.{n}" for n in range(8)]


def test_eight_people_submitting_one_task_at_once_give_one_success_and_seven_conflicts_in_every_round(
        simple: Services) -> None:
    services = simple
    seed_users(services, [{"username": p, "display_name": p, "board": "fx", "roles": []} for p in PEOPLE])
    with services.uow() as uow:
        uow.people.add_user(UserRecord("carl", "Carl Chair", "fx", None, "carl@example.org"))
        uow.commit()
    totals: Counter[str] = Counter()
    for _ in range(ROUNDS):
        case_id = start_case(services, "fx", "rita").id or 0
        for person in PEOPLE:
            assign_role(services, Assignment(person, "referrer", "fx", case_id))
        [ask] = ready(services, case_id)
        with services.uow() as uow:
            version = uow.cases.get(case_id).lock_version

        outcomes = at_once(services, [(lambda p=p, t=ask.id: complete_task(services, t, p, {"question": p}))
                                      for p in PEOPLE])

        wins = [p for p, o in zip(PEOPLE, outcomes, strict=True) if isinstance(o, Completed)]
        conflicts = [o for o in outcomes if isinstance(o, Conflict) and not isinstance(o, Claimed)]
        assert len(wins) == 1 and len(conflicts) == 7, outcomes
        assert all(f"completed by {wins[0]}" in str(c) for c in conflicts)
        with services.uow() as uow:
            assert uow.cases.get(case_id).lock_version == version + 1
            completed = [e.actor for e in uow.events.for_case(case_id) if e.kind == "task_completed"]
            kept = [(s.username, s.data["question"]) for s in uow.submissions.for_case(case_id)]
        assert completed == wins and kept == [(wins[0], wins[0])], "the winner's answers, once"
        assert [t.name for t in ready(services, case_id)] == ["decide"]
        totals.update(type(o).__name__ for o in outcomes)

    assert queue_mail(services) == ROUNDS, "one mail about each round's next task"
    assert totals == {"Completed": ROUNDS, "TaskCompleted": 7 * ROUNDS}  # the 409 that names the winner
