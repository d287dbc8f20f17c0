"""A database of the run's own (a new PostgreSQL database, or an SQLite file), and the cases the load works on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.authoring.versions import deploy
from engine.bootstrap import build_services
from engine.casework.accounts import issue_token, seed_users
from engine.casework.cases import start_case
from engine.ports import Assignment
from tests.chaos.server import FORMS, ROOT
from tests.databases import empty_database

DIAGRAM = ROOT / "tests" / "fixtures" / "bpmn" / "simple.bpmn"
BOARD = "fx"
PEOPLE = ("chaos.ann", "chaos.bob")  # both hold every role the fixture's tasks need: they race for each one


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """The URL of an empty database of `kind` (postgresql: CREATE DATABASE, dropped afterwards; else SQLite)."""
    with empty_database(kind, workdir / "chaos.sqlite3", "chaos", whole=True) as url:
        yield url

def prepare(url: str, cases: int) -> tuple[list[int], dict[str, str]]:
    """Migrate, deploy the fixture procedure, seed both people with a token each, start `cases` cases on which both
    hold every role; the case ids and each person's token."""
    services, engine = build_services(url, FORMS)
    try:
        deploy(services, {DIAGRAM.name: DIAGRAM.read_bytes()}, by="chaos")
        seed_users(services, [{"username": who, "display_name": who, "board": BOARD, "roles": ["chair"]}
                              for who in PEOPLE])
        initiator = services.catalogue.initiator_role()
        assert initiator is not None
        ids = []
        for _ in range(cases):
            record = start_case(services, BOARD, PEOPLE[0])
            assert record.id is not None
            ids.append(record.id)
        with services.uow() as uow:
            for case_id in ids:
                for who in PEOPLE[1:]:
                    uow.people.assign(Assignment(who, initiator.role, BOARD, case_id))
            uow.commit()
        return ids, {who: issue_token(services, who) for who in PEOPLE}
    finally:
        engine.dispose()
