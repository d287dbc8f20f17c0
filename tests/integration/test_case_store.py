"""Cases: optimistic locking under competition, compressed state, aware timestamps."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, text

from engine.errors import Conflict, NotFound
from engine.store import SqlUnitOfWork
from engine.store.repositories import decompress

NewUow = Callable[[], SqlUnitOfWork]
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # as in conftest


def test_saving_a_case_with_a_stale_lock_version_raises_conflict_and_changes_nothing(
    new_uow: NewUow, make_case: Callable[..., int]
) -> None:
    case_id = make_case(state=b"original")
    with new_uow() as uow:
        stale = uow.cases.get(case_id)
    with new_uow() as uow:
        uow.cases.save(replace(stale, state=b"first writer", status="active"))
        uow.commit()

    with new_uow() as uow, pytest.raises(Conflict):
        uow.cases.save(replace(stale, state=b"second writer", status="closed"))

    with new_uow() as uow:
        stored = uow.cases.get(case_id)
    assert (stored.state, stored.status, stored.lock_version) == (b"first writer", "active", 2)


def test_eight_competing_saves_of_one_case_give_one_success_and_seven_conflicts(
    engine: Engine, new_uow: NewUow, make_case: Callable[..., int]
) -> None:
    case_id = make_case()
    competitors = 8
    barrier = threading.Barrier(competitors)
    outcomes: list[str] = []
    # PostgreSQL: read and write in one transaction (row locks make losers wait, then miss the version).
    # SQLite: BEGIN IMMEDIATE serialises whole transactions, so read first and write after the barrier.
    same_transaction = engine.dialect.name == "postgresql"

    def compete(n: int) -> None:
        try:
            with new_uow() as reader:
                case = reader.cases.get(case_id)
                if same_transaction:
                    barrier.wait(timeout=20)
                    reader.cases.save(replace(case, state=f"writer {n}".encode()))
                    reader.commit()
                    outcomes.append("saved")
                    return
            barrier.wait(timeout=20)
            with new_uow() as writer:
                writer.cases.save(replace(case, state=f"writer {n}".encode()))
                writer.commit()
            outcomes.append("saved")
        except Conflict:
            outcomes.append("conflict")
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=compete, args=(n,)) for n in range(competitors)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(outcomes) == ["conflict"] * 7 + ["saved"]
    with new_uow() as uow:
        assert uow.cases.get(case_id).lock_version == 2


def test_case_state_is_stored_gzip_compressed_and_read_back_unchanged(
    engine: Engine, new_uow: NewUow, make_case: Callable[..., int]
) -> None:
    state = b'{"data": {"week": 3}, "tasks": {' + b'"t": "ready", ' * 2000 + b"}}"
    case_id = make_case(state=state)

    with engine.connect() as conn:
        raw = conn.execute(text('SELECT state FROM "case" WHERE id = :id'), {"id": case_id}).scalar_one()
    assert bytes(raw[:2]) == b"\x1f\x8b"
    assert len(raw) < len(state) / 10
    assert decompress(bytes(raw)) == state
    with new_uow() as uow:
        assert uow.cases.get(case_id, for_update=True).state == state


def test_timestamps_read_back_as_aware_utc_and_naive_ones_are_refused(
    new_uow: NewUow, make_case: Callable[..., int]
) -> None:
    case_id = make_case()
    later = datetime(2025, 3, 1, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    with new_uow() as uow:
        case = uow.cases.get(case_id)
        uow.cases.save(replace(case, updated_at=later, data_summary={"week": 8, "chair": "A. Smith"}))
        uow.commit()

    with new_uow() as uow:
        stored = uow.cases.get(case_id)
        assert stored.created_at == T0 and stored.created_at.tzinfo is UTC
        assert stored.updated_at == later and stored.updated_at.tzinfo is UTC
        assert stored.data_summary == {"week": 8, "chair": "A. Smith"}
        with pytest.raises(Exception, match="naive datetime"):
            uow.cases.save(replace(stored, updated_at=datetime(2025, 3, 2)))


def test_listing_and_counting_cases_by_board(new_uow: NewUow, make_case: Callable[..., int]) -> None:
    north, south = make_case("north"), make_case("south")
    with new_uow() as uow:
        assert [c.id for c in uow.cases.list()] == [north, south]
        assert [c.id for c in uow.cases.list("south")] == [south]
        assert uow.cases.count() == 2
        with pytest.raises(NotFound):
            uow.cases.get(9999)


def test_leaving_a_unit_of_work_without_commit_discards_its_writes(
    new_uow: NewUow, make_case: Callable[..., int]
) -> None:
    case_id = make_case()
    with new_uow() as uow:
        uow.cases.save(replace(uow.cases.get(case_id), status="closed"))
    with new_uow() as uow:
        assert uow.cases.get(case_id).status == "open"
