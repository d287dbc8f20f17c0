"""T-S4 for administrators: a second factor in the session before any administrators' page works (web/factor.py).

Every route of the administrators' blueprints (web/admin, web/monitor) is read from the app's URL map, so a route
added later is covered without touching this file; the negative control turns the check off and sees the sweep
notice."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from werkzeug.routing import IntegerConverter, Rule

from engine.casework.accounts import issue_token
from engine.casework.services import Services
from tests.factor import code_now
from tests.web.conftest import ROOT, Browser

ADMIN, OTHER_ADMIN, MANAGER = "dorset.admin", "bp.admin", "dorset.manager"  # MANAGER only looks (monitors)
NOT_ADMINISTRATORS = ["dorset.police.imr", "dorset.owner", "dorset.chair"]
ADMIN_BLUEPRINTS = ("admin", "monitor")


def admin_routes(app: Flask) -> list[tuple[str, str]]:
    """(method, path) of every route of the administrators' blueprints, its variables filled with something."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in ADMIN_BLUEPRINTS:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, _path(rule)))
    return found


def _path(rule: Rule) -> str:
    values: dict[str, Any] = {}
    for name, converter in rule._converters.items():
        items = getattr(converter, "items", None)  # any(a, b): its first choice
        values[name] = sorted(items)[0] if items else 1 if isinstance(converter, IntegerConverter) else "x"
    return rule.build(values, append_unknown=False)[1]  # type: ignore[index]


def answer(browser: Browser, method: str, path: str, json: bool = False) -> Any:
    """The route's answer to this browser (a form post carries its CSRF token)."""
    headers = {"Accept": "application/json"} if json else {}
    if method == "GET":
        return browser.client.get(path, headers=headers)
    return browser.client.open(path, method=method, data={"csrf_token": browser.token("/login")}, headers=headers)


def asks_for_factor(method: str, path: str, response: Any) -> bool:
    """Whether the answer is the second factor's: a redirect to /verify coming back here, or 403 naming /verify."""
    if method == "GET" and response.status_code == 302:
        location = urlsplit(response.headers["Location"])
        return location.path == "/verify" and parse_qs(location.query) == {"next": [path]}
    return response.status_code == 403 and "/verify" in (response.get_json(silent=True) or {}).get("message", "")


def sweep(browser: Browser, routes: list[tuple[str, str]], json: bool = False) -> dict[tuple[str, str], Any]:
    return {(m, p): answer(browser, m, p, json) for m, p in routes}


def test_an_administrator_without_the_factor_is_sent_to_verify_on_every_administrators_route(
        app: Flask, browser: Browser) -> None:
    routes = admin_routes(app)
    assert {p.split("/")[1] for _, p in routes} >= {"monitor", "tasks", "cases"}, routes  # both blueprints read
    assert len(routes) >= 15 and any(m == "POST" for m, _ in routes)
    for person in (ADMIN, MANAGER):
        browser.sign_in(person, second_factor=False)
        pages = sweep(browser, routes)
        missed = [f"{m} {p} -> {r.status_code}" for (m, p), r in pages.items() if not asks_for_factor(m, p, r)]
        assert missed == [], f"{person}: " + ", ".join(missed)
        as_json = sweep(browser, [(m, p) for m, p in routes if m == "GET"], json=True)
        assert {r.status_code for r in as_json.values()} == {403}
        message = next(iter(as_json.values())).get_json()["message"]
        assert message.startswith("Confirm your one-time code on /verify before"), message
        browser.client.post("/logout", data={"csrf_token": browser.token("/")})


def test_the_sweep_notices_a_route_that_does_not_ask(app: Flask, browser: Browser,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control: with the check switched off (nobody counts as an administrator to the gate), the same sweep
    finds the administrators' pages open without a factor."""
    monkeypatch.setattr("web.factor.factors.administrator", lambda services, username: False)
    browser.sign_in(ADMIN, second_factor=False)
    pages = sweep(browser, admin_routes(app))
    open_pages = [(m, p) for (m, p), r in pages.items() if not asks_for_factor(m, p, r)]
    assert ("GET", "/monitor/") in open_pages and pages["GET", "/monitor/"].status_code == 200
    assert len(open_pages) == len(pages)


def test_with_a_good_code_no_route_asks_again_and_next_leads_back(
        app: Flask, browser: Browser, services: Services) -> None:
    browser.sign_in(ADMIN, second_factor=False)
    sent = browser.client.get("/monitor/deadlines")
    assert sent.status_code == 302 and sent.headers["Location"] == "/verify?next=/monitor/deadlines"
    page = browser.client.get(sent.headers["Location"]).get_data(as_text=True)
    assert 'id="totp-secret"' in page and "Continue to the monitor" in page  # first visit: enrol
    done = browser.post(sent.headers["Location"], {"code": code_now(services, ADMIN)})
    assert done.status_code == 302 and done.headers["Location"] == "/monitor/deadlines"
    assert browser.client.get("/monitor/deadlines").status_code == 200
    pages = sweep(browser, admin_routes(app))
    assert [k for k, r in pages.items() if asks_for_factor(*k, r)] == []
    assert pages["GET", "/monitor/"].status_code == 200
    with services.uow() as uow:
        assert not (uow.people.totp_secret(ADMIN) or "pending:").startswith("pending:")  # enrolled


def test_a_new_session_asks_again_and_the_enrolled_code_opens_it(browser: Browser, app: Flask,
                                                                services: Services) -> None:
    browser.sign_in(ADMIN)  # enrols and confirms
    again = Browser(app.test_client())
    again.sign_in(ADMIN, second_factor=False)
    assert again.client.get("/monitor/").status_code == 302
    page = again.client.get("/verify").get_data(as_text=True)
    assert 'id="totp-secret"' not in page  # enrolled: no key shown again
    assert again.post("/verify", {"code": code_now(services, ADMIN)}).headers["Location"] == "/monitor/"
    assert again.client.get("/monitor/").status_code == 200


def test_a_wrong_code_is_refused_with_422_and_a_message_and_opens_nothing(browser: Browser,
                                                                          services: Services) -> None:
    browser.sign_in(ADMIN, second_factor=False)
    for code in ("000000", "12345", "abcdef", ""):
        wrong = browser.post("/verify?next=/monitor/", {"code": code})
        assert wrong.status_code == 422, code
        assert "that code does not match" in wrong.get_data(as_text=True)
    assert browser.client.get("/monitor/").status_code == 302
    with services.uow() as uow:
        assert (uow.people.totp_secret(ADMIN) or "").startswith("pending:")  # nothing enrolled by a wrong code


def test_verify_leads_only_to_this_site(browser: Browser, services: Services) -> None:
    browser.sign_in(ADMIN, second_factor=False)
    done = browser.post("/verify?next=https://elsewhere.example/monitor/", {"code": code_now(services, ADMIN)})
    assert done.status_code == 302 and done.headers["Location"] == "/monitor/"


@pytest.mark.parametrize("person", NOT_ADMINISTRATORS)
def test_someone_who_is_not_an_administrator_gets_what_they_got_before_and_never_the_verify_page(
        app: Flask, browser: Browser, monkeypatch: pytest.MonkeyPatch, person: str) -> None:
    routes = admin_routes(app)
    browser.sign_in(person, second_factor=False)
    pages = sweep(browser, routes)
    assert [k for k, r in pages.items() if asks_for_factor(*k, r)] == []
    with_gate = {k: r.status_code for k, r in pages.items()}
    assert set(with_gate.values()) <= {403, 404}, with_gate
    monkeypatch.setattr("web.factor.factors.administrator", lambda services, username: False)
    assert {k: r.status_code for k, r in sweep(browser, routes).items()} == with_gate  # as without the gate
    verify = browser.client.get("/verify")
    assert verify.status_code == (200 if person == "dorset.owner" else 404)  # owners have their own reason


def test_an_administrators_token_needs_no_factor_and_no_page_issues_tokens(
        browser: Browser, services: Services) -> None:
    """Tokens are issued only at the server's shell (run.py token), never to a session: a stolen password mints
    none, so token calls are not asked for the factor (web/factor.py). If a page ever issues tokens, this fails."""
    bearer = {"Authorization": f"Bearer {issue_token(services, ADMIN)}"}
    given = browser.client.post("/api/cases/999/people", json={"username": "x", "role": "x", "agency": None},
                                headers=bearer)
    assert given.status_code in (404, 422) and "Second factor" not in given.get_data(as_text=True)
    issuers = [str(p.relative_to(ROOT)) for p in Path(ROOT, "web").rglob("*.py")
               if re.search(r"\bissue_token\b", p.read_text())]
    assert issuers == [], f"{issuers} issue API tokens: ask for the second factor there first"
