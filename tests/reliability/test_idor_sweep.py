"""T-Z2, the IDOR sweep: each person replays every route of the app that takes a case, task or document id with the
ids of another case, board or agency put in (alone, and beside their own case's id). Every answer is a refusal
(404, or 403 that says nothing of the case), none carries a canary of what they may not read, and nothing in the
database changes. With the case check removed (a deliberately broken build) the same sweep finds the leaks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from engine.casework import access
from engine.casework.services import Services
from tests.reliability.world import (
    CANARIES,
    REACH,
    Person,
    Reach,
    Route,
    World,
    body,
    bound_everywhere,
    fill,
    fingerprint,
    refusal_audit,
    routes,
    signed_in,
    text_of,
)


def foreign_paths(app: Flask, world: World, reach: Reach) -> Iterator[tuple[Route, str, str | None]]:
    """(route, path, task key) for every route with an object id, filled with ids the person may not reach: another
    case's own ids, and their own case's id beside another's task or document."""
    own = world.cases[reach.own_case] if reach.own_case else None
    for route in routes(app):
        objects = route.objects
        if "<task_id>" in objects:
            for key in reach.foreign_tasks:
                case = world.case_of(key)
                yield route, fill(route.rule, case, world.tasks[key]), key
                if "<int:case_id>" in objects and own not in (None, case):
                    yield route, fill(route.rule, own, world.tasks[key]), key
        elif "<int:document_id>" in objects:
            for key in reach.foreign_docs:
                case = world.case_of(key)
                yield route, fill(route.rule, case, doc=world.docs[key]), None
                if own not in (None, case):
                    yield route, fill(route.rule, own, doc=world.docs[key]), None
        elif "<int:case_id>" in objects:
            for key in reach.foreign_cases:
                yield route, fill(route.rule, world.cases[key]), None


def sweep(app: Flask, world: World, person: Person) -> tuple[int, list[str]]:
    """How many requests were sent, and each answer that let something through or leaked a canary."""
    username, reach = person.username, REACH[person.username]
    sent, failures = 0, []
    for route, path, task_key in foreign_paths(app, world, reach):
        answer = person.send(route, path, body(route, world, task_key, username))
        sent += 1
        text = text_of(answer)
        leaked = [c for c in reach.foreign_canaries if c in text]
        if answer.status_code not in (403, 404) or leaked:
            failures.append(f"{username}: {route.method} {path} -> {answer.status_code} {leaked or ''}")
    return sent, failures


def test_nobody_reaches_another_case_board_or_agency_by_putting_its_ids_in_any_route(
        app: Flask, services: Services, world: World, database_url: str) -> None:
    people = [signed_in(app, services, username) for username in sorted(REACH)]
    before = fingerprint(database_url, refusal_audit)

    swept = {person.username: sweep(app, world, person) for person in people}

    sent = {username: count for username, (count, _) in swept.items()}
    assert min(sent.values()) >= 40, f"the sweep lost its routes: {sent}"
    failures = [f for _, found in swept.values() for f in found]
    assert failures == [], "\n".join(failures)
    assert fingerprint(database_url, refusal_audit) == before, "a refused request changed what the database keeps"


def test_the_sweep_sees_what_a_person_may_reach_with_their_own_ids(
        app: Flask, services: Services, world: World) -> None:
    person: Person = signed_in(app, services, "dorset.police.imr")
    reach = REACH["dorset.police.imr"]
    case, task, doc = world.cases["A"], world.tasks["A/police"], world.docs["A/police"]
    answers: dict[str, Any] = {}
    for route in routes(app):
        if route.method == "GET" and route.objects:
            path = fill(route.rule, case, task, doc)
            answers[path] = person.send(route, path)
    succeeded = [p for p, a in answers.items() if a.status_code == 200]
    assert len(succeeded) >= 6, succeeded
    assert any(CANARIES["A/police"] in text_of(a) for a in answers.values()), "their own agency's answers are shown"
    assert not any(c in text_of(a) for a in answers.values() for c in reach.foreign_canaries)


def test_with_the_case_check_removed_the_sweep_reports_the_leaks(
        app: Flask, services: Services, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def careless(uow: Any, case_id: int, username: str) -> Any:
        return uow.cases.get(case_id)  # the bug: anyone signed in reads any case

    for module, name in list(bound_everywhere(access.readable_case)):
        monkeypatch.setattr(module, name, careless)

    _, failures = sweep(app, world, signed_in(app, services, "dorset.police.imr"))

    assert any(" 200" in f for f in failures), "the sweep cannot tell a broken build"
