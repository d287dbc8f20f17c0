"""Fixtures for use-case tests: Services on a real database (SQLite, or PostgreSQL when SCR_TEST_DATABASE says)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.bootstrap import build_services
from engine.casework.accounts import seed_users
from engine.casework.services import Services
from engine.clock import FrozenClock
from tests.databases import empty_database, unreachable

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 1, 31, 9, 0, tzinfo=UTC)


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the kind this run targets, removed afterwards."""
    kind = os.environ.get("SCR_TEST_DATABASE", "sqlite")
    with empty_database(kind, tmp_path / "scr.sqlite3", "svc", unreachable=unreachable) as url:
        yield url


def _build(database_url: str, forms_dir: Path) -> Iterator[Services]:
    services, engine = build_services(database_url, forms_dir, FrozenClock(T0))
    try:
        yield services
    finally:
        engine.dispose()


@pytest.fixture
def fixture_services(database_url: str) -> Iterator[Services]:
    """Services over the tiny fixture catalogue (tests/fixtures/forms) with a frozen clock."""
    for services in _build(database_url, FIXTURES / "forms"):
        seed_users(services, [
            {"username": "rita", "display_name": "Rita Referrer", "board": "fx", "roles": []},
            {"username": "carl", "display_name": "Carl Chair", "board": "fx", "roles": ["chair"]},
            {"username": "olga", "display_name": "Olga Other", "board": "other", "roles": ["chair"]},
        ])
        yield services


@pytest.fixture
def repository_services(database_url: str) -> Iterator[Services]:
    """Services over the real forms/ catalogue with its demo users, on a frozen clock."""
    for services in _build(database_url, ROOT / "forms"):
        seed_users(services, services.catalogue.users)
        yield services
