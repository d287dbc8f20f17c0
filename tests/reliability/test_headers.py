"""T-S3, headers on every answer: every GET route of the app as an administrator, an IMR author and someone signed
out, and the app's error answers (404, 405, 400, 401, 413), each carry a CSP with no inline script and no framing,
nosniff, no referrer, no-store (static files and the tab icon aside), and HSTS once cookies are Secure; files come
as attachments."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from engine.casework.services import Services
from tests.reliability.world import POLICE, World, fill, routes, signed_in
from web import create_app

STATIC = ("/static/", "/favicon.ico")  # the same for everyone, so they may be cached
PRODUCTION = {"TESTING": True, "FAST_PASSWORD_HASHING": True, "SECRET_KEY": "x" * 32, "SESSION_COOKIE_SECURE": True}


def directives(csp: str) -> dict[str, str]:
    """A Content-Security-Policy as directive -> its sources."""
    return {part.split()[0]: " ".join(part.split()[1:]) for part in csp.split(";") if part.strip()}


def problems(path: str, answer: Any, hsts: bool) -> list[str]:
    """What one answer's headers lack."""
    headers, found = answer.headers, []
    policy = directives(headers.get("Content-Security-Policy", ""))
    scripts = policy.get("script-src", policy.get("default-src"))
    if scripts is None or "unsafe-inline" in scripts or "unsafe-eval" in scripts:
        found.append(f"script sources {scripts!r}")
    if policy.get("frame-ancestors") != "'none'":
        found.append("framing allowed")
    if headers.get("X-Content-Type-Options") != "nosniff" or headers.get("Referrer-Policy") != "no-referrer":
        found.append("nosniff / referrer policy")
    if not path.startswith(STATIC) and headers.get("Cache-Control") != "no-store":
        found.append(f"Cache-Control {headers.get('Cache-Control')!r}")
    if hsts and not headers.get("Strict-Transport-Security", "").startswith("max-age=31536000"):
        found.append("no HSTS")
    if answer.status_code == 200 and answer.mimetype not in ("text/html", "application/json", "text/plain") \
            and not path.startswith(STATIC) \
            and not headers.get("Content-Disposition", "").startswith("attachment"):
        found.append(f"{answer.mimetype} shown inline")
    return [f"{path} ({answer.status_code}): {p}" for p in found]


def sampled(app: Flask, services: Services, world: World) -> dict[str, Any]:
    """Every GET route as three people, and the error answers: label -> answer."""
    case, task, doc = world.cases["A"], world.tasks["A/police"], world.docs["A/police"]
    paths = list(dict.fromkeys(fill(r.rule, case, task, doc) for r in routes(app) if r.method == "GET"))
    paths += ["/static/app.css", "/no/such/page", "/cases/99999999999999"]
    answers: dict[str, Any] = {}
    for person in ("dorset.admin", POLICE, None):
        if person is None:
            client, bearer = app.test_client(), {}
        else:
            signed = signed_in(app, services, person)
            client, bearer = signed.browser.client, signed.bearer
        for path in paths:
            answers[f"{person}: {path}"] = client.get(path, headers=bearer)
        answers[f"{person}: 405"] = client.delete("/cases/")
        answers[f"{person}: 400"] = client.put(f"/api/tasks/{task}/draft", data="{broken", headers={
            **bearer, "Content-Type": "application/json"})
        answers[f"{person}: 413"] = client.put(f"/api/tasks/{task}/draft", data="x" * (2**20 + 1), headers=bearer)
        answers[f"{person}: csrf"] = client.post("/logout")
    return answers


@pytest.mark.parametrize("production", [False, True], ids=["development", "production"])
def test_every_answer_carries_the_security_headers(services: Services, world: World, production: bool) -> None:
    app = create_app(services, PRODUCTION if production else {
        "TESTING": True, "FAST_PASSWORD_HASHING": True, "SECRET_KEY": "test"})
    answers = sampled(app, services, world)
    statuses = {a.status_code for a in answers.values()}
    assert len(answers) >= 150 and {200, 302, 400, 401, 404, 405, 413} <= statuses, statuses
    found = [p for label, a in answers.items() for p in problems(label.split(": ", 1)[1], a, production)]
    assert found == [], "\n".join(found)


def test_the_check_finds_a_page_without_its_headers(app: Flask) -> None:
    answer = app.test_client().get("/login")
    answer.headers.remove("Content-Security-Policy")
    answer.headers["Cache-Control"] = "public"
    assert len(problems("/login", answer, hsts=True)) == 4


def test_the_api_refuses_a_body_not_labelled_json_with_415(app: Flask, services: Services, world: World) -> None:
    police = signed_in(app, services, POLICE)
    answer = police.browser.client.put(f"/api/tasks/{world.tasks['A/police']}/draft", data=json.dumps(
        {"data": {"notes": "x"}}), headers={**police.bearer, "Content-Type": "text/plain"})
    assert answer.status_code == 415
