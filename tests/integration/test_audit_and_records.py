"""Audit hash chain, notices, versions and people round trips, and schema/model agreement."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import cast

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

from engine.ports import EventRow, NoticeRow, PublicationRecord, UserRecord, VersionRecord
from engine.store import SqlUnitOfWork
from engine.store.models import Base
from engine.store.repositories import SqlEventRepository, SqlNoticeRepository, SqlPeopleRepository
from tests.databases import allow_audit_tampering

NewUow = Callable[[], SqlUnitOfWork]
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def sql_events(uow: SqlUnitOfWork) -> SqlEventRepository:
    """The concrete repository, for its verification method beyond the port."""
    return cast(SqlEventRepository, uow.events)


def sql_notices(uow: SqlUnitOfWork) -> SqlNoticeRepository:
    """The concrete repository, for its outbox methods beyond the port."""
    return cast(SqlNoticeRepository, uow.notices)


def sql_people(uow: SqlUnitOfWork) -> SqlPeopleRepository:
    """The concrete repository, for its password methods beyond the port."""
    return cast(SqlPeopleRepository, uow.people)


def append_events(new_uow: NewUow, case_id: int | None, n: int) -> None:
    with new_uow() as uow:
        for i in range(n):
            uow.events.append(EventRow(case_id, T0 + timedelta(hours=i), "task.completed", "ann", {"step": i}))
        uow.commit()


def test_event_hash_chain_verifies_per_case(new_uow: NewUow, make_case: Callable[..., int]) -> None:
    first, second = make_case(), make_case()
    append_events(new_uow, first, 3)
    append_events(new_uow, second, 2)
    append_events(new_uow, None, 2)
    append_events(new_uow, first, 2)
    with new_uow() as uow:
        assert [e.detail["step"] for e in uow.events.for_case(first)] == [0, 1, 2, 0, 1]
        assert uow.events.for_case(first)[0] == EventRow(first, T0, "task.completed", "ann", {"step": 0})
        assert sql_events(uow).first_broken(first) is None
        assert sql_events(uow).first_broken(second) is None
        assert sql_events(uow).first_broken(None) is None


def test_event_hash_chain_detects_an_edited_or_deleted_event(
    engine: Engine, new_uow: NewUow, make_case: Callable[..., int]
) -> None:
    case_id = make_case()
    append_events(new_uow, case_id, 4)
    with engine.begin() as conn:
        allow_audit_tampering(conn)  # the table refuses both otherwise (tests/service/test_audit_chain.py)
        query = text("SELECT id FROM event WHERE case_id = :c ORDER BY id")
        ids = conn.execute(query, {"c": case_id}).scalars().all()
        conn.execute(text("""UPDATE event SET detail = '{"step": 99}' WHERE id = :id"""), {"id": ids[2]})
    with new_uow() as uow:
        assert sql_events(uow).first_broken(case_id) == 2

    with engine.begin() as conn:
        conn.execute(text("""UPDATE event SET detail = '{"step": 2}' WHERE id = :id"""), {"id": ids[2]})
        conn.execute(text("DELETE FROM event WHERE id = :id"), {"id": ids[1]})
    with new_uow() as uow:
        assert sql_events(uow).first_broken(case_id) == 1


def test_notices_wait_in_the_outbox_until_delivered(new_uow: NewUow, make_case: Callable[..., int]) -> None:
    case_id = make_case()
    notice = NoticeRow(case_id, T0, "chair", None, "overdue", "IMR overdue", "Timer_IMR")
    with new_uow() as uow:
        uow.notices.add(notice)
        uow.commit()
    with new_uow() as uow:
        [(notice_id, pending)] = sql_notices(uow).pending(10)
        assert pending == notice and uow.notices.for_case(case_id) == [notice]
        sql_notices(uow).mark_delivered(notice_id, T0 + timedelta(minutes=1))
        uow.commit()
    with new_uow() as uow:
        assert sql_notices(uow).pending(10) == []


def test_versions_are_found_by_hash_and_the_published_one_is_the_newest_publication(new_uow: NewUow) -> None:
    with new_uow() as uow:
        v1 = uow.versions.add(VersionRecord(None, "scr", "h1", {"a.bpmn": "<a/>"}, T0, "admin"))
        v2 = uow.versions.add(VersionRecord(None, "scr", "h2", {"a.bpmn": "<b/>"}, T0 + timedelta(1)))
        assert v1.id is not None and v2.id is not None
        assert uow.versions.latest("scr") is None  # stored but not published: no case starts on it
        uow.versions.publish(PublicationRecord(None, "scr", v1.id, T0))
        uow.versions.publish(PublicationRecord(None, "scr", v2.id, T0 + timedelta(1), approved_by="b"))
        uow.commit()
    assert v1.id is not None and v2.id is not None
    with new_uow() as uow:
        assert uow.versions.by_hash("h1") == v1
        assert uow.versions.by_hash("nope") is None
        assert uow.versions.latest("scr") == v2
        assert uow.versions.get(v2.id) == v2
        assert uow.versions.list() == [v1, v2] == list(uow.versions.of_process("scr"))
        uow.versions.publish(PublicationRecord(None, "scr", v1.id, T0 + timedelta(2), note="roll back"))
        uow.commit()
    with new_uow() as uow:
        assert uow.versions.latest_id("scr") == v1.id
        assert [p.version_id for p in uow.versions.publications("scr")] == [v1.id, v2.id, v1.id]


def test_users_are_upserted_and_keep_their_password_hash(new_uow: NewUow) -> None:
    with new_uow() as uow:
        uow.people.add_user(UserRecord("ann", "Ann", "north"))
        sql_people(uow).set_password_hash("ann", "scrypt$abc")
        uow.people.add_user(UserRecord("ann", "Ann Smith", "north", "police"))
        uow.commit()
    with new_uow() as uow:
        assert uow.people.get_user("ann") == UserRecord("ann", "Ann Smith", "north", "police")
        assert sql_people(uow).password_hash("ann") == "scrypt$abc"
        assert uow.people.get_user("bob") is None
        assert [u.username for u in uow.people.users()] == ["ann"]


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
