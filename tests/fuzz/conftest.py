"""Fixtures for the fuzz tests: one arranged database per module (SQLite, or PostgreSQL as SCR_TEST_DATABASE says)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.databases import empty_database, unreachable
from tests.fuzz.arrange import Arranged, arrange


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the server's log, the schemathesis configs and reports go."""
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def database_url(workdir: Path) -> Iterator[str]:
    """An empty database of the kind this run targets, removed afterwards."""
    kind = os.environ.get("SCR_TEST_DATABASE", "sqlite")
    with empty_database(kind, workdir / "fuzz.sqlite3", "fuzz", unreachable=unreachable) as url:
        yield url


@pytest.fixture(scope="module")
def arranged(database_url: str) -> Arranged:
    """The demo users, one case waiting on two IMR authors of different agencies, and a token per role."""
    return arrange(database_url)
