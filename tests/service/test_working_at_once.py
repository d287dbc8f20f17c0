"""People working on one case at the same moment: different tasks never collide, the same task has one winner, and
the timer worker and a person both get their step (SQLite and PostgreSQL, lined up by barriers, never sleeps)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.authoring.versions import deploy
from engine.bootstrap import build_services
from engine.casework.accounts import seed_users
from engine.casework.cases import start_case
from engine.casework.completion import Completed, complete_task
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.casework.steps import RETRIES, run_again_when_stale
from engine.casework.timers import fire_due_timers
from engine.errors import Claimed, Conflict, InvalidSubmission, StaleCase, WorkflowFailed
from engine.ports import Assignment, TaskRow
from engine.workflow.runtime import Case
from engine.workflow.specs import read_diagrams
from tests.drive import (
    SCR_PATH,
    SUPERUSER,
    at_the_imr_authors,
    authors_tasks,
    form_data,
    grant_everything,
    ready,
)
from tests.service.racing import POSTGRES, AtOnce, HoldingTheCase

ROOT = Path(__file__).resolve().parents[2]
EIGHT = ["social_care", "police", "education", "health_commissioning", "health_acute", "health_community", "gp",
         "mental_health"]
CHOICES = {**SCR_PATH, "agencies": EIGHT}


def author(agency: str) -> str:
    return f"author.{agency}"


def case_at_the_imr_authors(services: Services) -> int:
    """A Dorset case whose eight agencies' IMR authors each have a task waiting; each author holds their role."""
    case_id = at_the_imr_authors(services, "dorset", EIGHT, CHOICES)
    for agency in EIGHT:
        assign_role(services, Assignment(author(agency), "imr_author", "dorset", case_id, agency))
    return case_id


def rows(services: Services, case_id: int) -> Counter[tuple[str, str | None, str]]:
    """The case's task rows as a person would count them: step, agency, state."""
    with services.uow() as uow:
        return Counter((t.name, t.agency, t.state) for t in uow.tasks.for_case(case_id))


def timer_effects(services: Services, case_id: int) -> tuple[int, int]:
    """(notices the diagram's timers have sent, timers fallen due but not yet fired) for a case."""
    now = services.clock.now()
    with services.uow() as uow:
        sent = len(uow.notices.for_case(case_id))
        left = sum(1 for t in uow.timers.for_case(case_id) if t.fired_at is None and t.due_at < now)
    return sent, left


def police_author_with_a_timer_due(services: Services) -> tuple[int, TaskRow, dict[str, Any], int]:
    """A case at its IMR authors with the clock just past its first timer: (case, the police author's task, their
    answers, notices sent so far)."""
    case_id = case_at_the_imr_authors(services)
    police = authors_tasks(services, case_id)["police"]
    data = form_data(services, case_id, police, CHOICES)
    sent_before, _ = timer_effects(services, case_id)
    with services.uow() as uow:
        first_due = min(t.due_at for t in uow.timers.for_case(case_id) if t.fired_at is None)
    services.clock.advance(first_due - services.clock.now() + timedelta(minutes=1))  # type: ignore[attr-defined]
    return case_id, police, data, sent_before


def at_once(services: Services, attempts: list[Callable[[], Any]]) -> list[Any]:
    """Run the attempts on threads lined up to start together; each outcome is its result or its exception."""
    real = services.uow
    services.uow = AtOnce(services, len(attempts))
    outcomes: list[Any] = [None] * len(attempts)

    def run(index: int) -> None:
        try:
            outcomes[index] = attempts[index]()
        except Exception as exc:  # every outcome is asserted by the caller
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(attempts))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        services.uow = real
    assert not any(t.is_alive() for t in threads), "a competitor never finished"
    return outcomes


@pytest.fixture
def dorset(repository_services: Services) -> Services:
    deploy(repository_services, read_diagrams([ROOT / "bpmn"]), by="tester")
    grant_everything(repository_services, "dorset", EIGHT)
    seed_users(repository_services, [{"username": author(a), "display_name": f"IMR author, {a}", "board": "dorset",
                                      "agency": a, "roles": []} for a in EIGHT])
    return repository_services


def test_eight_agencies_authors_completing_their_own_tasks_at_once_all_succeed(dorset: Services) -> None:
    services = dorset
    together, one_by_one = case_at_the_imr_authors(services), case_at_the_imr_authors(services)
    mine, twin = authors_tasks(services, together), authors_tasks(services, one_by_one)
    assert set(mine) == set(EIGHT)
    answers = {a: form_data(services, together, mine[a], CHOICES) for a in EIGHT}

    outcomes = at_once(services, [
        (lambda a=a: complete_task(services, mine[a].id, author(a), answers[a])) for a in EIGHT])

    assert [type(o).__name__ for o in outcomes] == ["Completed"] * 8, outcomes
    for agency in EIGHT:
        assert twin[agency].name == mine[agency].name
        complete_task(services, twin[agency].id, author(agency), answers[agency])
    assert rows(services, together) == rows(services, one_by_one), "together gives exactly what one by one gives"
    with services.uow() as uow:
        done = [e for e in uow.events.for_case(together) if e.kind == "task_completed" and e.actor != SUPERUSER]
        kept = [s for s in uow.submissions.for_case(together) if s.username != SUPERUSER]
        record = uow.cases.get(together)
    assert sorted(e.actor or "" for e in done) == sorted(author(a) for a in EIGHT)
    assert sorted(s.agency or "" for s in kept) == sorted(EIGHT)
    assert all("retries" in e.detail for e in done)
    assert record.status == "open"


def test_eight_people_submitting_the_same_task_at_once_get_one_success_and_seven_conflicts(
        dorset: Services) -> None:
    services = dorset
    record = start_case(services, "dorset", SUPERUSER)
    assert record.id is not None
    [task] = ready(services, record.id)
    people = [f"referrer.{n}" for n in range(8)]
    seed_users(services, [{"username": p, "display_name": p, "board": "dorset", "roles": []} for p in people])
    for person in people:
        assign_role(services, Assignment(person, task.role or "", "dorset", record.id, task.agency))
    data = form_data(services, record.id, task, SCR_PATH)

    outcomes = at_once(services, [(lambda p=p: complete_task(services, task.id, p, data)) for p in people])

    wins = [(p, o) for p, o in zip(people, outcomes, strict=True) if isinstance(o, Completed)]
    refused = [o for o in outcomes if isinstance(o, Conflict) and not isinstance(o, Claimed)]
    assert len(wins) == 1 and len(refused) == 7, outcomes
    winner = wins[0][0]
    assert all(f"completed by {winner}" in str(o) for o in refused), "each 409 names who did it"
    with services.uow() as uow:
        completions = [e for e in uow.events.for_case(record.id) if e.kind == "task_completed"]
        submissions = uow.submissions.for_case(record.id)
        assert uow.cases.get(record.id).lock_version == record.lock_version + 1
    assert len(completions) == 1 and len(submissions) == 1


def test_a_timer_falling_due_while_a_person_completes_a_task_on_the_case_gives_both_effects(dorset: Services) -> None:
    services = dorset
    case_id, police, data, sent_before = police_author_with_a_timer_due(services)

    person, sweep = at_once(services, [lambda: complete_task(services, police.id, author("police"), data),
                                       lambda: fire_due_timers(services)])

    # Whoever goes second works on what the first saved: the person's step fires a timer already due as it runs on,
    # and the worker fires it when it gets there first (on PostgreSQL it does: it locked the case on its first read).
    assert isinstance(person, Completed), person
    assert sweep in (0, 1), sweep
    sent, left = timer_effects(services, case_id)
    assert sent > sent_before and left == 0, "the timer's effect is there"
    assert (police.name, "police", "completed") in rows(services, case_id), "and so is the person's"
    if POSTGRES:
        assert sweep == 1


@pytest.mark.skipif(not POSTGRES, reason="SQLite lets one transaction in at a time: nothing can run beside a held step")
def test_the_worker_passes_over_a_case_a_person_is_completing_and_fires_it_right_after(dorset: Services) -> None:
    services = dorset
    case_id, police, data, sent_before = police_author_with_a_timer_due(services)
    real = services.uow
    held = HoldingTheCase(services)
    services.uow = held
    outcome: list[Any] = []

    def person() -> None:
        held.owner = threading.get_ident()
        outcome.append(complete_task(services, police.id, author("police"), data))

    thread = threading.Thread(target=person)
    thread.start()
    try:
        assert held.holding.wait(60), "the person's step never locked the case"
        assert fire_due_timers(services) == 0, "the worker neither waits for nor collides with the person"
    finally:
        held.go.set()
        thread.join(60)
        services.uow = real
    assert [type(o).__name__ for o in outcome] == ["Completed"]
    assert fire_due_timers(services) == 0, "the person's step, run on once the case was free, fired it as it went"
    sent, left = timer_effects(services, case_id)
    assert sent > sent_before and left == 0


@pytest.mark.skipif(not POSTGRES, reason="SQLite lets one transaction in at a time: a save cannot go stale there")
def test_a_step_that_finds_the_case_saved_since_it_read_it_runs_again_and_says_so(
        dorset: Services, database_url: str) -> None:
    services = dorset
    case_id = case_at_the_imr_authors(services)
    tasks = authors_tasks(services, case_id)
    late, first = tasks["police"], tasks["education"]
    late_answers, first_answers = (form_data(services, case_id, t, CHOICES) for t in (late, first))
    elsewhere, engine = build_services(database_url, ROOT / "forms", services.clock)  # another web process
    real = services.uow
    competitor: list[Any] = []

    def other_process_completes_first() -> None:
        try:
            competitor.append(complete_task(elsewhere, first.id, author("education"), first_answers))
        except Exception as exc:  # shown by the assertion below
            competitor.append(exc)

    class NotQueuing:
        """A unit of work that reads the case without queuing on it; before it saves, another process's step lands."""

        def __init__(self) -> None:
            self.inner = real()

        def __enter__(self) -> Any:
            opened = self.inner.__enter__()
            get, save = opened.cases.get, opened.cases.save
            opened.cases.get = lambda case_id, for_update=False: get(case_id)

            def save_after_the_other(record: Any) -> Any:
                other = threading.Thread(target=other_process_completes_first)
                other.start()
                other.join(60)
                return save(record)
            opened.cases.save = save_after_the_other
            return opened

        def __exit__(self, *args: object) -> None:
            self.inner.__exit__(*args)

    calls = [0]

    def uow() -> Any:
        calls[0] += 1
        return NotQueuing() if calls[0] == 2 else real()  # the first only finds the task's case

    services.uow = uow
    try:
        done = complete_task(services, late.id, author("police"), late_answers)
    finally:
        services.uow = real
        engine.dispose()
    assert [type(c).__name__ for c in competitor] == ["Completed"]
    assert done.retries == 1
    with services.uow() as uow:
        [event] = [e for e in uow.events.for_case(case_id)
                   if e.kind == "task_completed" and e.actor == author("police")]
    assert event.detail["retries"] == 1


def test_one_invalid_answer_among_eight_at_once_is_refused_alone(dorset: Services) -> None:
    services = dorset
    case_id = case_at_the_imr_authors(services)
    mine = authors_tasks(services, case_id)
    answers = {a: form_data(services, case_id, mine[a], CHOICES) for a in EIGHT}
    answers["gp"] = {"not_a_field": True}

    outcomes = dict(zip(EIGHT, at_once(services, [
        (lambda a=a: complete_task(services, mine[a].id, author(a), answers[a])) for a in EIGHT]), strict=True))

    assert isinstance(outcomes.pop("gp"), InvalidSubmission)
    assert [type(o).__name__ for o in outcomes.values()] == ["Completed"] * 7
    assert (mine["gp"].name, "gp", "ready") in rows(services, case_id), "the refused task waits, unchanged"


def test_a_step_that_keeps_finding_the_case_changed_gives_up_with_a_conflict_after_the_bounded_retries() -> None:
    attempts: list[int] = []

    def always_stale(attempt: int) -> None:
        attempts.append(attempt)
        raise StaleCase("changed by someone else")

    with pytest.raises(StaleCase):
        run_again_when_stale(always_stale)
    assert attempts == list(range(RETRIES + 1))


def test_a_diagram_failing_for_one_of_several_written_together_fails_that_one_alone(
        dorset: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    services = dorset
    case_id = case_at_the_imr_authors(services)
    mine = authors_tasks(services, case_id)
    answers = {a: form_data(services, case_id, mine[a], CHOICES) for a in EIGHT}
    complete = Case.complete

    def breaking_on_police(case: Case, task_id: str, data: dict[str, Any], clock: Any, vet: Any = None) -> Any:
        result = complete(case, task_id, data, clock, vet)  # the workflow has moved on: a failure now leaves it changed
        if task_id == mine["police"].id:
            raise WorkflowFailed("a diagram expression failed")
        return result

    monkeypatch.setattr(Case, "complete", breaking_on_police)
    outcomes = dict(zip(EIGHT, at_once(services, [
        (lambda a=a: complete_task(services, mine[a].id, author(a), answers[a])) for a in EIGHT]), strict=True))

    assert isinstance(outcomes.pop("police"), WorkflowFailed)
    assert [type(o).__name__ for o in outcomes.values()] == ["Completed"] * 7
    assert (mine["police"].name, "police", "ready") in rows(services, case_id), "the failed step changed nothing"
