"""Fixtures: the real app on SQLite or PostgreSQL (as SCR_TEST_DATABASE says), the three-case world, and the small
fixture procedure (ask, then decide within six weeks) for timer tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.authoring.versions import deploy
from engine.casework.accounts import seed_users
from engine.casework.services import Services
from tests.reliability.world import World, build_world
from tests.service.conftest import database_url, fixture_services  # noqa: F401  (SQLite or PostgreSQL)
from tests.web.conftest import app, browser, services  # noqa: F401  (the app and its Services, users able to sign in)

SIMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "simple.bpmn"


@pytest.fixture
def world(services: Services) -> World:  # noqa: F811
    """Cases A and B (Dorset) and C (Bournemouth & Poole), each agency's answers marked with its canary."""
    return build_world(services)


@pytest.fixture
def simple(fixture_services: Services) -> Services:  # noqa: F811
    """The fixture board's procedure deployed: rita asks, carl (chair) decides; six weeks on, a timer escalates."""
    seed_users(fixture_services, [{"username": "adam", "display_name": "Adam Admin", "board": "fx",
                                   "roles": ["admin"]}])
    deploy(fixture_services, {"simple.bpmn": SIMPLE.read_bytes()}, by="tester")
    return fixture_services
