"""A throw-away PostgreSQL schema per test or run, so parallel runs on one database never meet."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, create_engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

POSTGRES_URL = os.environ.get("SCR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def postgres_schema(prefix: str, base: str = POSTGRES_URL) -> Iterator[str | None]:
    """A URL whose search_path is a new, uniquely named schema (dropped afterwards); None when unreachable."""
    admin = create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    schema = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    try:
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        except OperationalError:
            yield None
            return
        yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    finally:
        admin.dispose()



@contextmanager
def postgres_database(prefix: str, base: str = POSTGRES_URL) -> Iterator[str | None]:
    """A URL to a new, empty database (`<prefix>_<random>`, dropped afterwards); None when unreachable. For what a
    schema cannot stand in for: pg_dump/pg_restore, and servers that set their own search_path."""
    admin = create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"CREATE DATABASE {name}")
        except OperationalError:
            yield None
            return
        try:
            yield make_url(base).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        admin.dispose()

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
