"""The audit log: every action leaves one event naming who, which case, what and when, and never a name from the
case (T-G1); the database refuses to change or delete events, and `run.py verify-audit` names exactly the event
someone tampered with behind its back (T-G2)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, select, text
from sqlalchemy.exc import DBAPIError

import run
from engine.authoring.versions import deploy
from engine.bootstrap import build_services
from engine.casework.accounts import seed_users
from engine.casework.cases import start_case
from engine.casework.claims import claim_task
from engine.casework.completion import complete_task
from engine.casework.queries import my_tasks
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.clock import FrozenClock
from engine.documents.export import chronology_csv
from engine.documents.keys import save_key
from engine.errors import AnonymisationFailed
from engine.ports import Assignment
from engine.store import make_engine
from engine.store.models import Event
from tests.databases import allow_audit_tampering
from tests.service.conftest import T0

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "simple.bpmn"
FIXTURE_FORMS = FIXTURE.parents[1] / "forms"
CANARY = "Zebedee Quillfeather"  # a name only the case's free text and key hold; no audit row may ever carry it
EVENT = Event.__table__
KEY: dict[str, Any] = {"people": [{"real": CANARY, "role": "subject", "kind": "child", "pseudonym": "Child A"}],
                       "addresses": [], "permitted": []}


@pytest.fixture
def services(database_url: str, tmp_path: Path) -> Iterator[Services]:
    """The fixture board whose administrator, as the real LSCB administrator, reads the case file and keeps the key;
    a second referrer; the diagram deployed."""
    forms = tmp_path / "forms"
    shutil.copytree(FIXTURE_FORMS, forms)
    roles = json.loads((forms / "roles.json").read_text())
    for role in roles["roles"]:
        role["reads_case_file"] = role["role"] == "admin"
    (forms / "roles.json").write_text(json.dumps(roles))
    built, engine = build_services(database_url, forms, FrozenClock(T0))
    try:
        seed_users(built, [
            {"username": "rita", "display_name": "Rita Referrer", "board": "fx", "roles": []},
            {"username": "carl", "display_name": "Carl Chair", "board": "fx", "roles": ["chair"]},
            {"username": "adam", "display_name": "Adam Admin", "board": "fx", "roles": ["admin"]},
            {"username": "sam", "display_name": "Sam Second", "board": "fx", "roles": []},
        ])
        deploy(built, {"simple.bpmn": FIXTURE.read_bytes()}, by="tester")
        yield built
    finally:
        engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A second connection to the test database, as anyone holding the app's database account has."""
    eng = make_engine(database_url)
    try:
        yield eng
    finally:
        eng.dispose()


def clock(services: Services) -> FrozenClock:
    """The test's clock."""
    assert isinstance(services.clock, FrozenClock)
    return services.clock


def asked(services: Services, question: str = f"Should we review what happened to {CANARY}?") -> int:
    """A case whose referrer has asked (free text naming the child); it waits for the chair."""
    case = start_case(services, "fx", "rita")
    assert case.id is not None
    ask = next(t for t in my_tasks(services, "rita") if t.case_id == case.id)
    complete_task(services, ask.id, "rita", {"question": question})
    return case.id


def decided(services: Services, case_id: int) -> None:
    """The chair decides, which closes the case."""
    decide = next(t for t in my_tasks(services, "carl") if t.case_id == case_id)
    complete_task(services, decide.id, "carl", {"decision": "no", "decided_on": "2024-02-01"})


def every_event(engine: Engine) -> list[dict[str, Any]]:
    """Every audit row as stored (times UTC-aware, detail parsed), in order."""
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(EVENT).order_by(EVENT.c.id))]


def case_event_ids(engine: Engine, case_id: int) -> list[int]:
    """The ids of a case's events, in order."""
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT id FROM event WHERE case_id = :c ORDER BY id"), {"c": case_id})
                    .scalars())


def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database_url: str,
        *args: str) -> tuple[int, str, str]:
    """Run `run.py <args>` on the test database: exit code, standard output, standard error."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    capsys.readouterr()
    code = run.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------------------------------- T-G1
def test_a_session_of_actions_leaves_one_event_each_with_who_what_where_and_when_but_no_name(
        services: Services, engine: Engine) -> None:
    seen = len(every_event(engine))
    case: dict[str, int] = {}
    session: list[dict[str, Any]] = []

    def act(user: str, kind: str, on_case: bool, do: Callable[[], object], then: tuple[str, ...] = ()) -> None:
        nonlocal seen
        clock(services).advance(timedelta(minutes=7))
        do()
        rows = every_event(engine)[seen:]
        seen += len(rows)
        assert [r["kind"] for r in rows] == [kind, *then], f"{user} {kind}: one event, then only its consequences"
        session.append(rows[0])
        assert rows[0]["actor"] == user
        assert rows[0]["case_id"] == (case["id"] if on_case else None)
        assert rows[0]["at"] == services.clock.now() and rows[0]["at"].utcoffset() == timedelta(0)

    def start() -> None:
        record = start_case(services, "fx", "rita")
        assert record.id is not None
        case["id"] = record.id

    def ready(user: str) -> str:
        return next(t.id for t in my_tasks(services, user) if t.case_id == case["id"])

    def refused_export() -> None:
        with pytest.raises(AnonymisationFailed):  # Rita and Sam hold roles on the case and have no pseudonym yet
            chronology_csv(services, "adam", case["id"])

    changed = FIXTURE.read_text().replace("cite 7.1", "cite 7.1 (as revised)").encode()
    act("tester", "version_deployed", False, lambda: deploy(services, {"simple.bpmn": changed}, by="tester"))
    act("rita", "case_started", True, start)
    act("rita", "task_claimed", True, lambda: claim_task(services, ready("rita"), "rita"))
    act("rita", "task_completed", True, lambda: complete_task(
        services, ready("rita"), "rita", {"question": f"Should we review what happened to {CANARY}?"}))
    act("adam", "role_assigned", True, lambda: assign_role(
        services, Assignment("sam", "referrer", "fx", case["id"]), by="adam"))
    act("adam", "anonymisation_key_saved", True, lambda: save_key(services, "adam", case["id"], KEY, None))
    act("adam", "release_refused", True, refused_export)
    act("carl", "task_completed", True, lambda: decided(services, case["id"]), then=("case_completed",))

    what = [(e["kind"], e["detail"].get("task") or e["detail"].get("role") or e["detail"].get("route")
             or e["detail"].get("process") or e["detail"].get("version")) for e in session]
    assert what == [("version_deployed", "simple_case"), ("case_started", session[1]["detail"]["version"]),
                    ("task_claimed", "ask"), ("task_completed", "ask"), ("role_assigned", "referrer"),
                    ("anonymisation_key_saved", 1), ("release_refused", "chronology.csv"),
                    ("task_completed", "decide")]
    assert session[4]["detail"]["user"] == "sam", "the object of a role given is whom it was given to"
    with engine.connect() as conn:
        answers = conn.execute(text("SELECT data FROM submission")).scalars().all()
    assert any(CANARY in a for a in answers), "the case file holds the name"
    stored = json.dumps(every_event(engine), default=str)
    assert CANARY.split()[1] not in stored and CANARY.split()[0] not in stored, "no name from the case is audited"


# ---------------------------------------------------------------------------------------------------- T-G2
def test_a_clean_database_verifies_and_says_how_much_it_walked(
        services: Services, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        database_url: str) -> None:
    first = asked(services)
    decided(services, first)
    second = asked(services, "Is this one for a review?")
    in_cases = len(case_event_ids(engine, first)) + len(case_event_ids(engine, second))
    outside = len(every_event(engine)) - in_cases
    code, out, _ = cli(monkeypatch, capsys, database_url, "verify-audit")
    assert code == 0
    assert out == f"audit chain ok: {in_cases} events in 2 cases; {outside} event{'s' if outside != 1 else ''} " \
                  "of no case\n"


def test_a_changed_event_is_named_exactly_and_no_other(
        services: Services, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        database_url: str) -> None:
    first, second = asked(services), asked(services, "Is this one for a review?")
    decided(services, first)
    tampered = case_event_ids(engine, first)[1]
    with engine.begin() as conn:
        allow_audit_tampering(conn)
        conn.execute(text("UPDATE event SET actor = 'someone else' WHERE id = :id"), {"id": tampered})
    code, out, err = cli(monkeypatch, capsys, database_url, "verify-audit")
    assert code == 1, err
    [line] = out.splitlines()
    assert line.startswith(f"event {tampered} of case {first} (FX-2024-0001): hash mismatch: ")
    assert "BROKEN in 1 chain" in err and f"case {second}" not in out


def test_a_deleted_event_is_named_by_the_break_it_leaves_in_the_chain(
        services: Services, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        database_url: str) -> None:
    case_id = asked(services)
    decided(services, case_id)
    before, gone, after = case_event_ids(engine, case_id)[1:4]
    with engine.begin() as conn:
        allow_audit_tampering(conn)
        conn.execute(text("DELETE FROM event WHERE id = :id"), {"id": gone})
    code, out, _ = cli(monkeypatch, capsys, database_url, "verify-audit")
    assert code == 1
    assert out.splitlines() == [
        f"event {after} of case {case_id} (FX-2024-0001): broken link: its prev_hash is not the hash of event "
        f"{before} before it (an event between them was deleted, or that event's hash was changed)"]


@pytest.mark.parametrize("statement", [
    "UPDATE event SET detail = '{}' WHERE id = :id",
    "UPDATE event SET hash = prev_hash",
    "DELETE FROM event WHERE id = :id",
    "DELETE FROM event",
])
def test_the_database_refuses_to_change_or_delete_an_audit_event(
        services: Services, engine: Engine, statement: str) -> None:
    first = case_event_ids(engine, asked(services))[0]
    before = every_event(engine)
    with pytest.raises(DBAPIError, match="audit events are append-only"), engine.begin() as conn:
        conn.execute(text(statement), {"id": first})
    assert every_event(engine) == before


def test_postgresql_refuses_to_truncate_the_audit_table(services: Services, engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's (SQLite's DELETE FROM event is refused above)")
    asked(services)
    before = every_event(engine)
    with pytest.raises(DBAPIError, match="TRUNCATE refused"), engine.begin() as conn:
        conn.execute(text("TRUNCATE event CASCADE"))
    assert every_event(engine) == before


def test_a_tombstone_lets_only_its_own_cases_earlier_events_go(services: Services, engine: Engine) -> None:
    first, second = asked(services), asked(services, "Is this one for a review?")
    with engine.begin() as conn:
        tombstone = conn.execute(insert(EVENT).values(
            case_id=None, at=services.clock.now(), kind="case_purged", actor="x", detail={"purged_case": second},
            prev_hash="", hash="").returning(EVENT.c.id)).scalar_one()
    claim_task(services, next(t.id for t in my_tasks(services, "carl") if t.case_id == second), "carl")
    for refused in (EVENT.c.case_id == first, EVENT.c.case_id.is_(None), EVENT.c.case_id == second):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(delete(EVENT).where(refused))
    with engine.begin() as conn:  # what the tombstone names and came before it may go; nothing else
        conn.execute(delete(EVENT).where(EVENT.c.case_id == second, EVENT.c.id < tombstone))
    assert [e["kind"] for e in every_event(engine) if e["case_id"] == second] == ["task_claimed"]
    assert case_event_ids(engine, first)
