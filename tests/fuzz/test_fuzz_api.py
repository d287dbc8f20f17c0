"""schemathesis against the served API, per role (RELIABILITY T-F1, T-Z5), a short run of scripts/fuzz-api; and
its negative controls: the same harness against the app with a planted fault reports it."""

from __future__ import annotations

from pathlib import Path

from tests.fuzz.arrange import Arranged, fresh_tokens
from tests.fuzz.harness import PEER_ROLES, Outcome, Plan, authorise_roles, fuzz_roles, revoke_each, served

SHORT = Plan(fuzz_examples=5, authz_examples=5, timeout=240)


def found(outcomes: list[Outcome]) -> list[str]:
    """Every failure and error, each under the run that found it."""
    return [f"{o.name}: {problem}" for o in outcomes for problem in (*o.failures, *o.errors)]


def test_every_role_fuzzing_the_served_api_meets_no_error_and_no_answer_off_its_document(
        arranged: Arranged, database_url: str, workdir: Path) -> None:
    with served(database_url, workdir) as base:
        outcomes = fuzz_roles(base, arranged.tokens, workdir, SHORT)
        outcomes += authorise_roles(base, arranged.tokens, workdir, SHORT, roles=PEER_ROLES)
        outcomes += revoke_each(base, dict(list(fresh_tokens(database_url).items())[:1]), workdir, SHORT)

    assert found(outcomes) == []
    assert all(o.operations == 16 for o in outcomes if "revoke" not in o.name), "every operation was tried"
    assert all(o.test_cases > 100 for o in outcomes if "revoke" not in o.name)


def test_a_server_error_and_an_answer_of_the_wrong_content_type_are_reported(
        arranged: Arranged, database_url: str, workdir: Path) -> None:
    with served(database_url, workdir, app="tests.fuzz.broken:app", env={"SCR_FUZZ_FAULT": "crash"}) as base:
        [outcome] = fuzz_roles(base, {"board": arranged.tokens["board"]}, workdir, SHORT)

    assert not outcome.ok
    assert any(f.startswith("ST101 Server error") and "GET /api/inbox" in f for f in outcome.failures)
    assert any(f.startswith("ST105 Undocumented Content-Type") and "GET /api/cases" in f for f in outcome.failures)


def test_one_imr_author_reading_the_other_agencys_task_is_reported(
        arranged: Arranged, database_url: str, workdir: Path) -> None:
    with served(database_url, workdir, app="tests.fuzz.broken:app", env={"SCR_FUZZ_FAULT": "idor"}) as base:
        [outcome] = authorise_roles(base, arranged.tokens, workdir, SHORT, roles=PEER_ROLES[:1])

    assert [f for f in outcome.failures if f.startswith("ST402")] == [
        "ST402 Object-level authorization bypass x1: GET /api/tasks/{task_id}"]
