"""The probe's sign-in and API findings, closed (issue 14): an unknown name costs what a known one does, failed
sign-ins count per name and address and per address, API tokens expire and their owner can revoke them, and the
API gives a role from a form only to someone who may hold it."""

from __future__ import annotations

from datetime import timedelta

from argon2 import extract_parameters
from flask import Flask

from engine.casework import queries
from engine.casework.accounts import TOKEN_LIFETIME, issue_token
from engine.casework.cases import start_case
from engine.casework.services import Services
from tests.drive import SCR_PATH, form_data
from tests.web.conftest import PASSWORD, Browser
from web.accounts import Passwords

ATTACKER, VICTIM = "203.0.113.9", "198.51.100.7"


def from_address(app: Flask, address: str) -> Browser:
    """A browser whose requests come from `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Browser(client)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_unknown_name_is_checked_against_a_hash_as_costly_as_a_real_one() -> None:
    for passwords in (Passwords(), Passwords(fast=True)):
        assert extract_parameters(passwords.dummy) == extract_parameters(passwords.hash("a real password"))
        assert passwords.verify(None, "not a password") is False
    real, fast = (extract_parameters(p.dummy) for p in (Passwords(), Passwords(fast=True)))
    assert real.memory_cost > fast.memory_cost, "the production stand-in is not the tests' cheap one"


def test_wrong_passwords_from_elsewhere_do_not_lock_the_person_out_at_their_own_address(app: Flask) -> None:
    attacker = from_address(app, ATTACKER)
    for _ in range(5):
        assert attacker.sign_in("dorset.chair", "guess").status_code == 401
    assert attacker.sign_in("dorset.chair").status_code == 429
    assert from_address(app, VICTIM).sign_in("dorset.chair").status_code == 302


def test_guesses_spread_over_many_names_from_one_address_are_slowed(app: Flask, services: Services) -> None:
    attacker = from_address(app, ATTACKER)
    names = [u["username"] for u in services.catalogue.users]
    answers = [attacker.sign_in(name, "guess").status_code for name in names[:25]]
    assert answers[:20] == [401] * 20 and set(answers[20:]) == {429}
    assert attacker.sign_in(names[30]).status_code == 429  # even a name not tried yet
    assert from_address(app, VICTIM).sign_in(names[30]).status_code == 302
    services.clock.advance(timedelta(minutes=16))  # type: ignore[attr-defined]
    assert attacker.sign_in(names[30]).status_code == 302


def test_a_token_owner_revokes_their_token_and_it_signs_no_one_in_again(app: Flask, services: Services) -> None:
    client = app.test_client()
    token, other = issue_token(services, "dorset.chair"), issue_token(services, "dorset.chair")
    assert client.get("/api/inbox", headers=bearer(token)).status_code == 200
    assert client.delete("/api/token", headers=bearer(token)).status_code == 204
    assert client.get("/api/inbox", headers=bearer(token)).status_code == 401
    assert client.delete("/api/token", headers=bearer(token)).status_code == 401
    assert client.get("/api/inbox", headers=bearer(other)).status_code == 200, "only the token sent is revoked"


def test_the_api_refuses_a_token_past_its_lifetime(app: Flask, services: Services) -> None:
    client = app.test_client()
    token = issue_token(services, "dorset.chair")
    services.clock.advance(TOKEN_LIFETIME + timedelta(minutes=1))  # type: ignore[attr-defined]
    answer = client.get("/api/inbox", headers=bearer(token))
    assert answer.status_code == 401 and answer.get_json()["error"] == "Not signed in"


def test_the_api_refuses_a_proforma_naming_another_boards_user_and_they_learn_nothing_of_the_case(
        app: Flask, services: Services) -> None:
    client = app.test_client()
    record = start_case(services, "dorset", "dorset.referrer")
    [proforma] = [i.task for i in queries.inbox(services, "dorset.referrer") if i.task.case_id == record.id]
    data = {**form_data(services, record.id or 0, proforma, SCR_PATH), "referrer_agency": "police",
            "safeguarding_lead": "bp.police.imr"}
    refused = client.post(f"/api/tasks/{proforma.id}", json={"data": data},
                          headers=bearer(issue_token(services, "dorset.referrer")))
    assert refused.status_code == 422
    assert [d["field"] for d in refused.get_json()["details"]] == ["safeguarding_lead"]
    outsider = bearer(issue_token(services, "bp.police.imr"))
    assert record.reference not in {c["reference"] for c in client.get("/api/cases", headers=outsider).get_json()}
    assert client.get(f"/api/cases/{record.id}", headers=outsider).status_code == 404


def test_a_person_signs_in_over_https_although_their_browser_sends_no_referer(app: Flask) -> None:
    client = app.test_client()  # as behind a TLS proxy that says so; the app's Referrer-Policy is no-referrer
    page = client.get("/login", base_url="https://scr.example").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    answer = client.post("/login", base_url="https://scr.example",
                         data={"username": "dorset.referrer", "password": PASSWORD, "csrf_token": token})

    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
