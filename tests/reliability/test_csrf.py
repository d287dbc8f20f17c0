"""T-S2, CSRF: every state-changing page route of the app, sent by a signed-in person without a token, with a token
of another person's session, and with that token from another site, is refused with 400 and changes nothing; the
JSON API ignores the session cookie altogether (bearer tokens only), so a forged request to it is a 401. With the
right token the same harness sees the change, so it can tell."""

from __future__ import annotations

from flask import Flask

from engine.casework.services import Services
from tests.reliability.world import POLICE, Route, World, body, fill, fingerprint, routes, signed_in

ELSEWHERE = {"Origin": "https://evil.example", "Referer": "https://evil.example/form"}


def writes(app: Flask) -> list[Route]:
    """Every page route that changes something: POST, PUT and DELETE outside the API."""
    return [r for r in routes(app) if r.method != "GET" and not r.rule.startswith("/api/")]


def path_of(route: Route, world: World) -> str:
    return fill(route.rule, world.cases["A"], world.tasks["A/police"], world.docs["A/police"])


def test_every_page_that_changes_something_refuses_a_request_without_the_persons_own_token(
        app: Flask, services: Services, world: World, database_url: str) -> None:
    admin, police = signed_in(app, services, "dorset.admin"), signed_in(app, services, POLICE)
    stranger = signed_in(app, services, "dorset.chair")
    foreign = stranger.browser.token("/")
    before = fingerprint(database_url)
    answers: dict[str, int] = {}

    for route in writes(app):
        person = police if route.rule.startswith("/tasks/") else admin
        path, data = path_of(route, world), body(route, world, "A/police", person.username)
        client = person.browser.client
        answers[f"{route.method} {path} without a token"] = client.open(
            path, method=route.method, data=data).status_code
        answers[f"{route.method} {path} with another session's token"] = client.open(
            path, method=route.method, data={**data, "csrf_token": foreign}).status_code
        answers[f"{route.method} {path} from another site"] = client.open(
            path, method=route.method, data={**data, "csrf_token": foreign}, headers=ELSEWHERE).status_code

    assert len(answers) >= 3 * 28, f"only {len(answers)} requests: the sweep lost its routes"
    assert {k: v for k, v in answers.items() if v != 400} == {}
    assert fingerprint(database_url) == before, "a refused request changed what the database keeps"
    assert admin.browser.client.get("/").status_code == 200, "a forged sign-out did not sign anyone out"


def test_with_the_persons_own_token_the_same_request_goes_through_and_the_harness_sees_the_change(
        app: Flask, services: Services, world: World, database_url: str) -> None:
    police = signed_in(app, services, POLICE)
    before = fingerprint(database_url)
    path = f"/tasks/{world.tasks['A/police']}/claim"

    assert police.browser.client.post(path, data={}).status_code == 400
    assert fingerprint(database_url) == before
    assert police.browser.post(path, {}, token_from="/").status_code == 302
    assert fingerprint(database_url) != before


def test_the_api_takes_no_session_cookie_so_a_forged_request_from_a_signed_in_browser_is_401(
        app: Flask, services: Services, world: World, database_url: str) -> None:
    police = signed_in(app, services, POLICE)
    before = fingerprint(database_url)
    answers = {}
    for route in routes(app):
        if route.rule.startswith("/api/") and route.method != "GET":
            path = path_of(route, world)
            answers[f"{route.method} {path}"] = police.browser.client.open(
                path, method=route.method, json=body(route, world, "A/police", POLICE), headers=ELSEWHERE).status_code
    assert len(answers) >= 8
    assert {k: v for k, v in answers.items() if v != 401} == {}
    assert fingerprint(database_url) == before
