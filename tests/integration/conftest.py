"""Fixtures for the store against real databases: a SQLite file and a PostgreSQL schema per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import count

import pytest
from sqlalchemy import Engine

from engine.ports import CaseRecord, VersionRecord
from engine.store import SqlUnitOfWork, init_db, make_engine, uow_factory
from tests.databases import empty_database, unreachable

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)

NewUow = Callable[[], SqlUnitOfWork]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL to an empty database: a fresh SQLite file, or a uniquely named PostgreSQL schema."""
    with empty_database(request.param, tmp_path_factory.mktemp("db") / "store.db", "it",
                        unreachable=unreachable) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the migrated empty database, disposed afterwards."""
    eng = make_engine(database_url, pool_size=10, max_overflow=10)
    try:
        init_db(eng)
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def new_uow(engine: Engine) -> NewUow:
    """Factory of fresh units of work."""
    return uow_factory(engine)


@pytest.fixture
def make_case(new_uow: NewUow) -> Callable[..., int]:
    """Create a committed case (board 'north' by default) and return its id."""
    numbers = count(1)
    version_ids: list[int] = []

    def make(board: str = "north", state: bytes = b'{"tasks": {}}') -> int:
        with new_uow() as uow:
            if not version_ids:
                version = uow.versions.add(
                    VersionRecord(None, "scr", "hash-1", {"scr.bpmn": "<xml/>"}, T0, "admin")
                )
                assert version.id is not None
                version_ids.append(version.id)
            case = uow.cases.add(
                CaseRecord(None, f"SCR-{next(numbers):04d}", board, "scr", version_ids[0], state, "open", T0, T0)
            )
            uow.commit()
        assert case.id is not None
        return case.id

    return make
