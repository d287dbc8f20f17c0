"""The probe's access findings, closed (issue 14): a role is given only to a person who may hold it, whichever path
gives it, and refused on the field that named them; API tokens expire and can be revoked."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from engine.authoring.versions import deploy
from engine.casework import queries
from engine.casework.accounts import TOKEN_LIFETIME, issue_token, revoke_token, revoke_tokens, user_for_token
from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.errors import InvalidSubmission, NotFound
from engine.ports import Assignment
from engine.workflow.specs import read_diagrams
from tests.drive import SCR_PATH, form_data, ready
from tests.service.conftest import ROOT
from tests.service.test_cli import run_cli

REFERRER, OTHER_BOARD = "dorset.referrer", "bp.police.imr"


@pytest.fixture
def services(repository_services: Services) -> Services:
    deploy(repository_services, read_diagrams([ROOT / "bpmn"]), by="tester")
    return repository_services


def a_referral(services: Services) -> int:
    """A Dorset case started by its referrer, the proforma waiting."""
    return start_case(services, "dorset", REFERRER).id or 0


def held_on(services: Services, case_id: int) -> set[tuple[str, str, str | None]]:
    with services.uow() as uow:
        return {(a.username, a.role, a.agency) for a in uow.people.on_case(case_id)}


def refused_fields(services: Services, assignment: Assignment) -> list[tuple[str, str]]:
    with pytest.raises(InvalidSubmission) as refused:
        assign_role(services, assignment, by="dorset.admin")
    return [(e.field, e.message) for e in refused.value.errors]


def test_a_proforma_naming_someone_of_another_board_as_safeguarding_lead_gives_them_nothing(
        services: Services) -> None:
    case_id = a_referral(services)
    [proforma] = ready(services, case_id)
    answers = {**form_data(services, case_id, proforma, SCR_PATH), "referrer_agency": "police",
               "safeguarding_lead": OTHER_BOARD}
    with pytest.raises(InvalidSubmission) as refused:
        complete_task(services, proforma.id, REFERRER, answers)
    assert [e.field for e in refused.value.errors] == ["safeguarding_lead"]
    assert "not on this board" in refused.value.errors[0].message
    assert [t.name for t in ready(services, case_id)] == ["proforma"]
    assert (OTHER_BOARD, "safeguarding_lead", "police") not in held_on(services, case_id)
    assert queries.my_cases(services, OTHER_BOARD) == []
    with pytest.raises(NotFound):
        queries.case_view(services, case_id, OTHER_BOARD)


def test_an_administrator_cannot_give_a_case_role_to_a_person_of_another_board(services: Services) -> None:
    case_id = a_referral(services)
    before = held_on(services, case_id)
    assert refused_fields(services, Assignment(OTHER_BOARD, "safeguarding_lead", "dorset", case_id, "police")) == [
        ("username", "Ferdinand Ackroyd is not on this board: choose a person from the list.")]
    assert held_on(services, case_id) == before
    with pytest.raises(NotFound):
        queries.case_view(services, case_id, OTHER_BOARD)


def test_a_role_held_per_agency_is_given_only_to_someone_of_that_agency(services: Services) -> None:
    case_id = a_referral(services)
    [(field, message)] = refused_fields(
        services, Assignment("dorset.education.lead", "safeguarding_lead", "dorset", case_id, "police"))
    assert field == "username" and "is not from Police" in message
    assert ("dorset.education.lead", "safeguarding_lead", "police") not in held_on(services, case_id)


def test_a_user_name_that_does_not_exist_is_refused_on_the_field_not_reported_missing(services: Services) -> None:
    case_id = a_referral(services)
    assert refused_fields(services, Assignment("nobody.here", "panel_chair", "dorset", case_id)) == [
        ("username", "There is nobody called 'nobody.here': choose a person from the list.")]


def test_a_board_wide_role_is_given_only_to_a_person_of_that_board(services: Services) -> None:
    [(field, _message)] = refused_fields(services, Assignment("bp.chair", "lscb_chair", "dorset"))
    assert field == "username"
    assert queries.my_cases(services, "bp.chair") == []


def test_a_case_role_cannot_be_given_under_another_boards_name(services: Services) -> None:
    case_id = a_referral(services)
    [(field, message)] = refused_fields(
        services, Assignment(OTHER_BOARD, "safeguarding_lead", "bournemouth-poole", case_id, "police"))
    assert field == "board" and "Dorset" in message
    assert held_on(services, case_id) == {(REFERRER, "referrer", None)}


def test_an_unknown_role_or_case_is_refused_on_its_field(services: Services) -> None:
    assert [f for f, _m in refused_fields(services, Assignment("dorset.chair", "overlord", "dorset"))] == ["role"]
    assert [f for f, _m in refused_fields(services, Assignment("dorset.chair", "panel_chair", "dorset", 999))] == [
        "case"]


def test_an_eligible_person_is_given_the_role_and_the_history_says_who_gave_it(services: Services) -> None:
    case_id = a_referral(services)
    assign_role(services, Assignment("dorset.police.lead", "safeguarding_lead", "dorset", case_id, "police"),
                by="dorset.admin")
    assert ("dorset.police.lead", "safeguarding_lead", "police") in held_on(services, case_id)
    with services.uow() as uow:
        [given] = [e for e in uow.events.for_case(case_id) if e.kind == "role_assigned"
                   and e.detail["user"] == "dorset.police.lead"]
    assert given.actor == "dorset.admin"


def test_an_api_token_stops_working_once_its_lifetime_is_over(services: Services) -> None:
    token = issue_token(services, "dorset.chair")
    services.clock.advance(TOKEN_LIFETIME - timedelta(minutes=1))  # type: ignore[attr-defined]
    assert user_for_token(services, token) == "dorset.chair"
    services.clock.advance(timedelta(minutes=2))  # type: ignore[attr-defined]
    assert user_for_token(services, token) is None


def test_a_revoked_token_signs_no_one_in_and_the_history_says_so(services: Services) -> None:
    token, other = issue_token(services, "dorset.chair"), issue_token(services, "dorset.chair")
    assert revoke_token(services, token) == "dorset.chair"
    assert user_for_token(services, token) is None and user_for_token(services, other) == "dorset.chair"
    assert revoke_token(services, token) is None  # already revoked: nothing more to do
    with services.uow() as uow:
        kinds = [e.kind for e in uow.events.for_case(None)]
    assert kinds.count("api_token_revoked") == 1


def test_revoking_a_persons_tokens_ends_every_one_of_them(services: Services) -> None:
    tokens = [issue_token(services, "dorset.chair") for _ in range(3)]
    keep = issue_token(services, "dorset.admin")
    assert revoke_tokens(services, "dorset.chair", by="run.py") == 3
    assert [user_for_token(services, t) for t in tokens] == [None, None, None]
    assert user_for_token(services, keep) == "dorset.admin"
    assert revoke_tokens(services, "dorset.chair", by="run.py") == 0
    with pytest.raises(NotFound):
        revoke_tokens(services, "nobody.here", by="run.py")


def test_the_command_line_revokes_a_persons_tokens_and_gives_roles_by_the_same_rule(tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite3"
    for setup in (("init-db",), ("seed-users",)):
        assert run_cli(*setup, database=db).returncode == 0
    assert run_cli("token", "--user", "dorset.chair", database=db).returncode == 0
    revoked = run_cli("revoke-token", "--user", "dorset.chair", database=db)
    assert revoked.returncode == 0 and revoked.stdout.strip() == "revoked 1 token of dorset.chair"
    assert run_cli("revoke-token", "--user", "dorset.chair", database=db).stdout.strip() == \
        "revoked 0 tokens of dorset.chair"
    assert run_cli("revoke-token", "--user", "nobody.here", database=db).returncode == 1
    refused = run_cli("assign", "--user", "bp.chair", "--role", "lscb_chair", "--board", "dorset", database=db)
    assert refused.returncode == 3 and "username: " in refused.stderr and "not on this board" in refused.stderr
