"""A throw-away PostgreSQL schema per test or run, so parallel runs on one database never meet."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, create_engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

POSTGRES_URL = os.environ.get("SCR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def postgres_schema(prefix: str, base: str = POSTGRES_URL) -> Iterator[str | None]:
    """A URL whose search_path is a new, uniquely named schema (dropped afterwards); None when unreachable."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    url = make_url(base).update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)
    # dropped only after success: a failed test may still hold locks in it, which DROP SCHEMA would wait for
    with _throwaway(base, f"CREATE SCHEMA {name}", f"DROP SCHEMA {name} CASCADE", url, after_failure=False) as made:
        yield made


@contextmanager
def postgres_database(prefix: str, base: str = POSTGRES_URL) -> Iterator[str | None]:
    """A URL to a new, empty database (`<prefix>_<random>`, dropped afterwards); None when unreachable. For what a
    schema cannot stand in for: pg_dump/pg_restore, and servers that set their own search_path."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    drop = f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"  # FORCE: ends its sessions, so it never waits
    with _throwaway(base, f"CREATE DATABASE {name}", drop, url, after_failure=True) as made:
        yield made


@contextmanager
def _throwaway(base: str, create: str, drop: str, url: str, *, after_failure: bool) -> Iterator[str | None]:
    """`url` once `create` ran on the server at `base` (None when it cannot be reached); `drop` afterwards (also
    when the block failed, if `after_failure`)."""
    admin = create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(create)
        except OperationalError:
            yield None
            return
        try:
            yield url
        except BaseException:
            if after_failure:
                with admin.connect() as conn:
                    conn.exec_driver_sql(drop)
            raise
        with admin.connect() as conn:
            conn.exec_driver_sql(drop)
    finally:
        admin.dispose()


@contextmanager
def empty_database(kind: str, sqlite_file: Path, prefix: str, *, whole: bool = False,
                   unreachable: Callable[[str], object] | None = None) -> Iterator[str]:
    """The URL of an empty database of `kind`: the SQLite file `sqlite_file`, or for "postgresql" a throw-away schema
    named after `prefix` (a whole database when `whole`), dropped afterwards. PostgreSQL out of reach calls
    `unreachable(message)`, which should raise (pytest's skip or fail, sys.exit); otherwise RuntimeError."""
    if kind != "postgresql":
        yield f"sqlite:///{sqlite_file}"
        return
    with (postgres_database if whole else postgres_schema)(prefix) as url:
        if url is None:
            message = f"PostgreSQL unreachable at {POSTGRES_URL}"
            if unreachable is not None:
                unreachable(message)
            raise RuntimeError(message)
        yield url


AUDIT_TRIGGERS = {"sqlite": ("event_refuses_update", "event_refuses_delete"),
                  "postgresql": ("event_refuses_change", "event_refuses_truncate")}


def allow_audit_tampering(conn: Connection) -> None:
    """Drop the audit table's append-only triggers (revision 0011) in this throw-away database, as someone with the
    owner's rights could, so a test can tamper with the chain and see verification catch it."""
    on = " ON event" if conn.dialect.name == "postgresql" else ""
    for trigger in AUDIT_TRIGGERS[conn.dialect.name]:
        conn.exec_driver_sql(f"DROP TRIGGER {trigger}{on}")


def unreachable(message: str) -> None:
    """Skip a PostgreSQL test locally; fail it under CI=true (CI must not skip silently)."""
    import pytest

    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
