"""The anonymisation key page: the LSCB administrator fills it as a form or imports it as JSON, sees what still
blocks release, and exports it; bad input and stale saves change nothing and say why."""

from __future__ import annotations

import io
import json

from engine.casework.cases import start_case
from engine.casework.services import Services
from engine.documents.keys import key_state
from tests.web.conftest import Browser

KEY = {"case": "x", "people": [
    {"real": "Tayla Quist", "aliases": ["Tay"], "dob": "2015-11-23", "role": "subject", "kind": "child",
     "pseudonym": "Child A"},
    {"real": "Augustin Jessop", "aliases": [], "role": "referrer", "kind": "professional",
     "pseudonym": "Referrer 1"}],
    "addresses": ["7 Larkspur Crescent, Wareham BH20 4QT"],
    "permitted": [{"name": "Carol Chairwoman", "role": "LSCB Chair"}]}


def a_case(services: Services) -> int:
    case = start_case(services, "dorset", "dorset.referrer")
    assert case.id is not None
    return case.id


def test_the_administrator_fills_the_key_as_a_form_and_is_told_what_still_blocks_release(
        browser: Browser, services: Services) -> None:
    case_id = a_case(services)
    browser.sign_in("dorset.admin")
    case_page = browser.client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f'href="/cases/{case_id}/key"' in case_page
    page = browser.client.get(f"/cases/{case_id}/key").get_data(as_text=True)
    assert "Augustin Jessop" in page  # the referrer, offered as a row to key
    saved = browser.post(f"/cases/{case_id}/key", {
        "people-0-real": "Tayla Quist", "people-0-aliases": "Tay, Tay-Tay", "people-0-dob": "2015-11-23",
        "people-0-role": "subject", "people-0-kind": "child", "people-0-pseudonym": "Child A",
        "people-1-real": "Augustin Jessop", "people-1-role": "referrer",
        "people-1-kind": "professional", "people-1-pseudonym": "",
        "addresses": "7 Larkspur Crescent, Wareham BH20 4QT\n",
        "permitted-0-name": "Carol Chairwoman", "permitted-0-role": "LSCB Chair", "version": "",
        "people-2-real": "", "people-2-kind": "family", "people-2-pseudonym": ""})  # a spare row left as it was
    text = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "Documents cannot be released yet" in text
    assert "person 2 (professional, referrer) has no pseudonym" in text
    state = key_state(services, "dorset.admin", case_id)
    assert state.version == 1 and state.key.people[0].aliases == ("Tay", "Tay-Tay")


def test_a_key_file_imports_whole_and_exports_in_the_same_shape(browser: Browser, services: Services) -> None:
    case_id = a_case(services)
    browser.sign_in("dorset.admin")
    imported = browser.client.post(f"/cases/{case_id}/key", data={
        "csrf_token": browser.token(f"/cases/{case_id}/key"), "version": "",
        "key_file": (io.BytesIO(json.dumps(KEY).encode()), "key.json")}, content_type="multipart/form-data")
    assert imported.status_code == 200 and "The key is complete" in imported.get_data(as_text=True)
    exported = browser.client.get(f"/cases/{case_id}/key.json")
    assert "attachment" in exported.headers["Content-Disposition"]
    body = exported.get_json()
    assert body["people"] == [KEY["people"][0], {**KEY["people"][1], "dob": None}]
    assert body["case"] != "x"  # the case's own reference


def test_a_file_that_is_not_a_key_or_a_stale_save_changes_nothing_and_says_why(
        browser: Browser, services: Services) -> None:
    case_id = a_case(services)
    browser.sign_in("dorset.admin")
    token = browser.token(f"/cases/{case_id}/key")
    refused = browser.client.post(f"/cases/{case_id}/key", data={
        "csrf_token": token, "key_file": (io.BytesIO(b"{oops"), "key.json")}, content_type="multipart/form-data")
    assert refused.status_code == 422 and "not a JSON key" in refused.get_data(as_text=True)
    bad_kind = browser.post(f"/cases/{case_id}/key", {"people-0-real": "A B", "people-0-kind": "neighbour"})
    assert bad_kind.status_code == 422 and "Must be one of child, family, professional" in bad_kind.get_data(
        as_text=True)
    assert key_state(services, "dorset.admin", case_id).version is None
    browser.post(f"/cases/{case_id}/key", {"people-0-real": "A B", "version": ""})
    stale = browser.post(f"/cases/{case_id}/key", {"people-0-real": "C D", "version": ""})
    assert stale.status_code == 409 and "Someone else saved this key" in stale.get_data(as_text=True)
    assert key_state(services, "dorset.admin", case_id).key.people[0].real == "A B"
