"""Fixtures for page tests: the real app on a real database, demo users with cheap password hashes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.authoring.versions import deploy
from engine.bootstrap import build_services
from engine.casework.accounts import seed_users, set_password_hash
from engine.casework.services import Services
from engine.clock import FrozenClock
from engine.workflow.specs import read_diagrams
from tests.factor import code_now, needs_factor
from tests.service.conftest import T0, database_url  # noqa: F401  (the database fixture, SQLite or PostgreSQL)
from web import create_app
from web.accounts import Passwords

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:  # noqa: F811
    """Services with bpmn/ deployed and every demo user able to sign in with PASSWORD."""
    built, engine = build_services(database_url, ROOT / "forms", FrozenClock(T0))
    deploy(built, read_diagrams([ROOT / "bpmn"]), by="tests")
    seed_users(built, built.catalogue.users)
    hashed = Passwords(fast=True).hash(PASSWORD)
    for user in built.catalogue.users:
        set_password_hash(built, user["username"], hashed)
    try:
        yield built
    finally:
        engine.dispose()


@pytest.fixture
def app(services: Services) -> Flask:
    """The application under test (CSRF on, as in production)."""
    return create_app(services, {"TESTING": True, "FAST_PASSWORD_HASHING": True, "SECRET_KEY": "test"})


class Browser:
    """A test client that signs in and carries the CSRF token of the last page it read."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def token(self, path: str = "/login") -> str:
        page = self.client.get(path).get_data(as_text=True)
        marker = 'name="csrf_token" value="'
        start = page.index(marker) + len(marker)
        return page[start:page.index('"', start)]

    def sign_in(self, username: str, password: str = PASSWORD, second_factor: bool = True) -> Any:
        """Sign in; an administrator then confirms the second factor too (unless `second_factor` is False), as
        the studio's tests do for process owners. The answer is the sign-in form's."""
        answer = self.client.post("/login", data={"username": username, "password": password,
                                                  "csrf_token": self.token()})
        services = self.client.application.extensions["services"]
        if second_factor and answer.status_code == 302 and needs_factor(services, username):
            self.pass_second_factor(username)
        return answer

    def pass_second_factor(self, username: str) -> None:
        """Type the code the person's authenticator app shows now on /verify (enrolling on the first visit)."""
        services = self.client.application.extensions["services"]
        done = self.post("/verify", {"code": code_now(services, username)})
        assert done.status_code == 302, f"{username}: the second factor was refused ({done.status_code})"

    def post(self, path: str, data: dict[str, Any], token_from: str | None = None) -> Any:
        return self.client.post(path, data={**data, "csrf_token": self.token(token_from or path)})


@pytest.fixture
def browser(app: Flask) -> Browser:
    """A signed-out browser."""
    return Browser(app.test_client())


def another_browser(app: Flask) -> Browser:
    """A second, independent browser session."""
    return Browser(app.test_client())
