"""The LSCB administrator keeps each case's anonymisation key: saved whole, refused when malformed or stale,
audited without a name, and incomplete while anyone on the case lacks a pseudonym."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.authoring.versions import deploy
from engine.casework.accounts import seed_users
from engine.casework.cases import start_case
from engine.casework.services import Services
from engine.documents.keys import key_state, save_key
from engine.errors import Conflict, InvalidSubmission, NotFound, NotPermitted

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "simple.bpmn"
KEY: dict[str, Any] = {
    "case": "ignored: the case's own reference is kept",
    "people": [{"real": "Tayla Quist", "aliases": ["Tay"], "dob": "2015-11-23", "role": "subject", "kind": "child",
                "pseudonym": "Child A"}],
    "addresses": ["7 Larkspur Crescent, Wareham BH20 4QT"],
    "permitted": [{"name": "Carl Chair", "role": "LSCB Chair"}],
}


@pytest.fixture
def services(fixture_services: Services) -> Services:
    seed_users(fixture_services, [
        {"username": "adam", "display_name": "Adam Admin", "board": "fx", "roles": ["admin"]},
        {"username": "ozzy", "display_name": "Ozzy Admin", "board": "other", "roles": ["admin"]},
    ])
    deploy(fixture_services, {"simple.bpmn": FIXTURE.read_bytes()}, by="tester")
    return fixture_services


def started(services: Services) -> int:
    """A case started by Rita Referrer."""
    case = start_case(services, "fx", "rita")
    assert case.id is not None
    return case.id


def test_the_administrator_saves_a_key_and_reads_it_back_under_the_cases_own_reference(services: Services) -> None:
    case_id = started(services)
    state = save_key(services, "adam", case_id, KEY, expected_version=None)
    again = key_state(services, "adam", case_id)
    assert again.version == 1 and again.updated_by == "adam"
    assert again.key.case == state.case.reference and again.key.people[0].pseudonym == "Child A"


def test_the_key_is_incomplete_until_everyone_holding_a_role_on_the_case_has_a_pseudonym(services: Services) -> None:
    case_id = started(services)
    state = save_key(services, "adam", case_id, KEY, expected_version=None)
    assert state.missing == ("someone holding the role referrer on this case is not in the key",)
    assert state.professionals == (("Rita Referrer", "referrer"),)
    unnamed = {**KEY, "people": [*KEY["people"], {"real": "Rita Referrer", "kind": "professional",
                                                   "role": "referrer"}]}
    state = save_key(services, "adam", case_id, unnamed, expected_version=1)
    assert state.missing == ("person 2 (professional, referrer) has no pseudonym",)
    named = {**KEY, "people": [*KEY["people"], {"real": "Rita Referrer", "kind": "professional",
                                                 "role": "referrer", "pseudonym": "Professional R"}]}
    assert save_key(services, "adam", case_id, named, expected_version=2).missing == ()


def test_saving_the_key_leaves_an_audit_event_that_counts_and_names_no_one(services: Services) -> None:
    case_id = started(services)
    save_key(services, "adam", case_id, KEY, expected_version=None)
    with services.uow() as uow:
        [event] = [e for e in uow.events.for_case(case_id) if e.kind == "anonymisation_key_saved"]
    assert event.detail == {"people": 1, "addresses": 1, "permitted": 1, "version": 1, "complete": False}
    assert "Tayla" not in repr(event) and "Larkspur" not in repr(event)


def test_a_malformed_or_stale_key_is_refused_and_nothing_changes(services: Services) -> None:
    case_id = started(services)
    save_key(services, "adam", case_id, KEY, expected_version=None)
    with pytest.raises(InvalidSubmission) as refused:
        save_key(services, "adam", case_id, {"people": [{"real": "X", "kind": "neighbour"}]}, expected_version=1)
    assert [e.field for e in refused.value.errors] == ["people.0.kind"]
    with pytest.raises(Conflict):
        save_key(services, "adam", case_id, KEY, expected_version=None)
    state = key_state(services, "adam", case_id)
    assert state.version == 1 and state.key.people[0].real == "Tayla Quist"


def test_only_the_boards_key_keeper_reads_the_key(services: Services) -> None:
    case_id = started(services)
    with pytest.raises(NotPermitted):
        key_state(services, "carl", case_id)  # the chair of that board sees the case, not its key
    with pytest.raises(NotFound):
        key_state(services, "ozzy", case_id)  # another board's administrator does not see the case at all
    with pytest.raises(NotFound):
        save_key(services, "ozzy", case_id, KEY, expected_version=None)
