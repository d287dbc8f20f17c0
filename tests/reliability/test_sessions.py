"""T-S1, sessions and cookies: the cookie production sends, a new session on every sign-in (a planted one is never
adopted), signing out ending the session for every copy of its cookie, idle and absolute limits on the engine
clock, and no script that keeps anything in the browser's storage. (tests/web/test_pages.py has the cookie copied
before signing out, a new session per sign-in and the idle limit; these add what RELIABILITY.md asks beyond them.)"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from flask import Flask

from engine.casework.services import Services
from tests.web.conftest import Browser
from web import create_app

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
PRODUCTION = {"TESTING": True, "FAST_PASSWORD_HASHING": True, "SECRET_KEY": "x" * 32, "SESSION_COOKIE_SECURE": True}


def test_production_sends_the_session_cookie_secure_http_only_same_site_and_asks_for_https_only(
        services: Services) -> None:
    browser = Browser(create_app(services, PRODUCTION).test_client())
    signed = browser.sign_in("dorset.chair")
    cookie = signed.headers["Set-Cookie"]
    assert signed.status_code == 302
    assert {"Secure", "HttpOnly", "SameSite=Lax"} <= {part.strip() for part in cookie.split(";")}
    assert signed.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_a_session_planted_before_sign_in_is_replaced_not_adopted(app: Flask) -> None:
    browser = Browser(app.test_client())
    browser.client.get("/login")
    planted = browser.client.get_cookie("session")
    browser.sign_in("dorset.chair")
    signed = browser.client.get_cookie("session")
    assert signed is not None and (planted is None or planted.value != signed.value)
    attacker = app.test_client()
    if planted is not None:
        attacker.set_cookie("session", planted.value)
    answer = attacker.get("/")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"], "the planted cookie signs no one in"


def test_after_signing_out_the_old_cookie_gets_401_from_the_api_and_the_sign_in_page_from_pages(app: Flask) -> None:
    browser = Browser(app.test_client())
    browser.sign_in("dorset.chair")
    old = browser.client.get_cookie("session")
    assert old is not None
    browser.post("/logout", {}, token_from="/")
    replay = app.test_client()
    replay.set_cookie("session", old.value)
    assert replay.get("/api/inbox").status_code == 401, "the API never takes a cookie, signed out or not"
    page = replay.get("/cases/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_a_session_in_use_all_day_ends_after_twelve_hours(browser: Browser, services: Services) -> None:
    browser.sign_in("dorset.chair")
    for _ in range(12 * 3 - 1):  # a request every 20 minutes: never idle
        services.clock.advance(timedelta(minutes=20))  # type: ignore[attr-defined]
        assert browser.client.get("/").status_code == 200
    services.clock.advance(timedelta(minutes=21))  # type: ignore[attr-defined]
    page = browser.client.get("/", follow_redirects=True)
    assert "Your session reached its maximum length. Please sign in again." in page.get_data(as_text=True)
    assert browser.client.get("/").status_code == 302, "and it stays ended"


def test_a_session_idle_for_twenty_nine_minutes_goes_on(browser: Browser, services: Services) -> None:
    browser.sign_in("dorset.chair")
    services.clock.advance(timedelta(minutes=29))  # type: ignore[attr-defined]
    assert browser.client.get("/").status_code == 200


def test_a_session_ended_for_idleness_cannot_be_revived_by_its_cookie(app: Flask, services: Services) -> None:
    browser = Browser(app.test_client())
    browser.sign_in("dorset.chair")
    kept = browser.client.get_cookie("session")
    assert kept is not None
    services.clock.advance(timedelta(minutes=31))  # type: ignore[attr-defined]
    browser.client.get("/")
    services.clock.advance(timedelta(minutes=-30))  # type: ignore[attr-defined]  (even were the clock set back)
    replay = app.test_client()
    replay.set_cookie("session", kept.value)
    assert replay.get("/").status_code == 302


def test_no_script_of_the_app_keeps_anything_in_the_browsers_storage_or_reads_its_cookies() -> None:
    scripts = [p for p in STATIC.rglob("*.js")]
    assert scripts, "the scan found no scripts"
    found = [str(p.relative_to(STATIC)) for p in scripts
             if re.search(r"localStorage|sessionStorage|indexedDB|document\.cookie", p.read_text(errors="replace"))]
    assert found == []
