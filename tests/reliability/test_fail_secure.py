"""T-Z4, fail-secure: when an access check breaks (it raises, the database is down for the request, a person's
role rows are missing, nobody is signed in) the answer is a refusal or an error page, never the case's data; and the
timer worker, running with no user, moves only the case whose timer fell due."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, Response
from sqlalchemy.exc import OperationalError

from engine.casework import access, casefile, queries
from engine.casework.services import Services
from engine.casework.timers import fire_due_timers
from engine.errors import NotFound
from engine.store.people import SqlPeopleRepository
from tests.reliability.world import CANARIES, Person, World, asked, bound_everywhere, fill, routes, signed_in, text_of
from web import create_app

ADMIN = "dorset.admin"  # reads every answer on the board's cases: what a fault must not hand to anyone
CHECKS = ["readable_case", "task_for", "check_task", "reads_case_file", "may_act", "grants", "administers",
          "administered_case", "monitored_case", "monitored_boards", "owns_procedures"]


@pytest.fixture
def served(services: Services) -> Flask:
    """The app as production runs it: an exception becomes a 500 page instead of reaching the test."""
    return create_app(services, {"TESTING": False, "FAST_PASSWORD_HASHING": True, "SECRET_KEY": "test"})


def every_page(app: Flask, person: Person, world: World) -> dict[str, Any]:
    """Every GET route, filled with the ids of case A that the person may read: path -> answer. An exception that
    escapes the app (its error page failed too) is what a WSGI server answers then: a bare 500."""
    case, task, doc = world.cases["A"], world.tasks["A/police"], world.docs["A/police"]
    answers = {}
    for path in dict.fromkeys(fill(r.rule, case, task, doc) for r in routes(app) if r.method == "GET"):
        try:
            answers[path] = person.browser.client.get(path, headers=person.bearer)
        except Exception:  # noqa: BLE001 - the server's own 500, asserted like any other answer
            answers[path] = Response("Internal Server Error", 500)
    return answers


def showing_data(answers: dict[str, Any]) -> list[str]:
    """The paths whose answer holds any canary."""
    return [p for p, a in answers.items() if any(c in text_of(a) for c in CANARIES.values())]


def broken(name: str) -> Callable[..., Any]:
    def fails(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(f"{name}: the role store did not answer")
    return fails


def test_with_every_check_working_the_administrator_reads_the_answers(served: Flask, services: Services,
                                                                      world: World) -> None:
    shown = showing_data(every_page(served, signed_in(served, services, ADMIN), world))
    assert len(shown) >= 2, shown  # the control: the sweep below can see data when it is there


def test_an_access_check_that_raises_refuses_where_it_is_asked_and_never_widens_what_is_shown(
        served: Flask, services: Services, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    person = signed_in(served, services, ADMIN)
    before = every_page(served, person, world)
    for check in CHECKS:
        with monkeypatch.context() as faulty:
            for module, name in list(bound_everywhere(getattr(access, check))):
                faulty.setattr(module, name, broken(check))
            after = every_page(served, person, world)

        reached = [p for p in after if after[p].status_code != before[p].status_code]
        assert reached, f"no page asks {check}: the fault was never injected"
        let_in = {p: after[p].status_code for p in reached if after[p].status_code < 400}
        assert let_in == {}, f"{check} failed and let these in"
        assert set(showing_data(after)) <= set(showing_data(before)), f"{check} failed and more was shown"
        assert all(check not in after[p].get_data(as_text=True) for p in reached), "an error page says nothing of why"


def test_a_database_that_fails_mid_session_answers_errors_and_no_data(
        served: Flask, services: Services, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    person = signed_in(served, services, ADMIN)

    def down() -> Any:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("the database is down"))

    monkeypatch.setattr(services, "uow", down)
    answers = every_page(served, person, world)

    assert showing_data(answers) == []
    assert {p: a.status_code for p, a in answers.items() if a.status_code < 500 and p not in (
        "/login", "/favicon.ico", "/api/openapi.json")} == {}, "only pages that need no database still answer"
    assert all("the database is down" not in a.get_data(as_text=True) for a in answers.values())


def test_a_database_that_fails_mid_session_is_answered_503(
        served: Flask, services: Services, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    person = signed_in(served, services, ADMIN)
    monkeypatch.setattr(services, "uow", lambda: (_ for _ in ()).throw(
        OperationalError("SELECT 1", {}, ConnectionRefusedError("down"))))
    assert person.browser.client.get(f"/cases/{world.cases['A']}").status_code == 503


def test_a_person_whose_role_rows_are_missing_is_told_nothing_is_there(
        served: Flask, services: Services, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    person = signed_in(served, services, ADMIN)
    monkeypatch.setattr(SqlPeopleRepository, "assignments_of", lambda self, username: [])

    answers = every_page(served, person, world)

    assert showing_data(answers) == []
    case = world.cases["A"]
    for path in (f"/cases/{case}", f"/api/cases/{case}", f"/cases/{case}/documents/{world.docs['A/police']}",
                 f"/tasks/{world.tasks['A/police']}", f"/monitor/cases/{case}", f"/cases/{case}/key"):
        assert answers[path].status_code == 404, path


def test_nobody_signed_in_reaches_nothing_through_the_use_cases(services: Services, world: World) -> None:
    case = world.cases["A"]
    for nobody in ("", None):
        with services.uow() as uow, pytest.raises(NotFound):
            access.readable_case(uow, case, nobody)  # type: ignore[arg-type]
        with services.uow() as uow, pytest.raises(NotFound):
            access.task_for(services, uow, world.tasks["A/police"], nobody)  # type: ignore[arg-type]
        with pytest.raises(NotFound):
            casefile.documents(services, case, nobody)  # type: ignore[arg-type]
        with pytest.raises(NotFound):
            queries.case_view(services, case, nobody)  # type: ignore[arg-type]


def test_the_timer_worker_with_no_user_moves_only_the_case_whose_timer_fell_due(simple: Services) -> None:
    early = asked(simple)
    simple.clock.advance(timedelta(days=20))  # type: ignore[attr-defined]
    late = asked(simple)
    with simple.uow() as uow:
        [due] = [t.due_at for t in uow.timers.for_case(early)]
        untouched = (uow.cases.get(late).lock_version, uow.timers.for_case(late), uow.tasks.for_case(late))
    simple.clock.set(due + timedelta(minutes=1))  # type: ignore[attr-defined]

    assert fire_due_timers(simple) == 1

    with simple.uow() as uow:
        assert (uow.cases.get(late).lock_version, uow.timers.for_case(late), uow.tasks.for_case(late)) == untouched
        assert [t.fired_at for t in uow.timers.for_case(early)] == [due + timedelta(minutes=1)]


def test_a_menu_check_that_fails_hides_its_link_and_the_page_still_renders(
        served: Flask, services: Services, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    person = signed_in(served, services, ADMIN)
    assert "/monitor" in person.browser.client.get("/").get_data(as_text=True)  # the control: the link is there
    for module, name in list(bound_everywhere(access.monitored_boards)):
        monkeypatch.setattr(module, name, broken("monitored_boards"))

    answer = person.browser.client.get("/")

    assert answer.status_code == 200
    assert 'href="/monitor' not in answer.get_data(as_text=True)
