"""Upgrading a database that already holds cases: revision 0008 moves the workflow state last and keeps it."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from engine.store import init_db, make_engine
from engine.store.db import alembic_config


def test_cases_started_before_revision_0008_keep_their_state_which_sqlite_now_stores_last(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0007")
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO process_version (id, process_id, content_hash, files, deployed_at) "
                "VALUES (1, 'scr', 'h1', '{}', '2025-01-06 09:00:00+00:00')"))
            connection.execute(text(
                "INSERT INTO \"case\" (id, reference, board, process_id, version_id, state, status, created_at, "
                "updated_at, data_summary, lock_version) VALUES (7, 'SCR-0007', 'north', 'scr', 1, :state, 'open', "
                "'2025-01-06 09:00:00+00:00', '2025-01-06 09:00:00+00:00', '{}', 3)"), {"state": b"\x1f\x8bgzip"})
        init_db(engine)
        with engine.connect() as connection:
            row = connection.execute(text("SELECT state, lock_version, reference FROM \"case\" WHERE id = 7")).one()
            columns = [c["name"] for c in inspect(connection).get_columns("case")]
            indexes = {i["name"] for i in inspect(connection).get_indexes("task")}
    finally:
        engine.dispose()
    assert (bytes(row.state), row.lock_version, row.reference) == (b"\x1f\x8bgzip", 3, "SCR-0007")
    if database_url.startswith("sqlite"):
        assert columns[-1] == "state"
    assert {"ix_task_ready_name", "ix_task_ready_agency"} <= indexes
    assert not {"ix_task_state_name", "ix_task_state_agency"} & indexes
