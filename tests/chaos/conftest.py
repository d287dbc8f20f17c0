"""Fixtures for the crash tests: the database kind this run targets, reachable, and a prepared database."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from tests.chaos.store import database
from tests.databases import POSTGRES_URL, unreachable


@pytest.fixture(scope="module")
def kind() -> str:
    """sqlite or postgresql, as SCR_TEST_DATABASE says (PostgreSQL unreachable: skipped here, failed under CI)."""
    chosen = os.environ.get("SCR_TEST_DATABASE", "sqlite")
    if chosen == "postgresql":
        probe = create_engine(POSTGRES_URL, poolclass=NullPool, connect_args={"connect_timeout": 3})
        try:
            with probe.connect():
                pass
        except OperationalError:
            unreachable(f"PostgreSQL unreachable at {POSTGRES_URL}")
        finally:
            probe.dispose()
    return chosen


@pytest.fixture(scope="module")
def database_url(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database of the module's own (a new PostgreSQL database, dropped afterwards; or an SQLite file)."""
    with database(kind, tmp_path_factory.mktemp("chaos")) as url:
        yield url
