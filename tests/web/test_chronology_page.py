"""The chronology page: an agency imports its file and sees its own entries, can undo the import, the
administrator reads the merge and exports it only through a complete key, and a bad file changes nothing."""

from __future__ import annotations

import csv
import io

from engine.casework.cases import start_case
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.documents.keys import key_state, save_key
from engine.ports import Assignment
from tests.web.conftest import Browser

ROWS = [["Date", "Person", "Entry", "Source document", "Child seen"],
        ["03/02/2023 10:30", "Child A", "Home visit; child seen in her bedroom.", "Visit log 17", "yes"],
        ["05/02/2023", "Child A", "Strategy discussion with social care.", "Minutes", "no"]]


def csv_file(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def police_case(services: Services) -> int:
    case = start_case(services, "dorset", "dorset.referrer")
    assert case.id is not None
    assign_role(services, Assignment("dorset.police.imr", "imr_author", "dorset", case.id, "police"))
    return case.id


def test_an_agency_imports_its_chronology_and_can_undo_the_import(browser: Browser, services: Services) -> None:
    case_id = police_case(services)
    browser.sign_in("dorset.police.imr")
    token = browser.token(f"/cases/{case_id}/chronology")
    done = browser.client.post(f"/cases/{case_id}/chronology/import", data={
        "csrf_token": token, "agency": "police", "file": (io.BytesIO(csv_file(ROWS)), "police.csv")},
        content_type="multipart/form-data", follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "Imported 2 entries for Police." in page and "Home visit; child seen in her bedroom." in page
    assert "Your agency" in page and "Integrated chronology" not in page
    undone = browser.post(f"/cases/{case_id}/chronology/undo", {"batch": page.split('name="batch" value="')[1]
                                                                 .split('"')[0]})
    assert undone.status_code == 303
    assert "No entries yet." in browser.client.get(f"/cases/{case_id}/chronology").get_data(as_text=True)


def test_a_bad_row_refuses_the_file_naming_row_and_column(browser: Browser, services: Services) -> None:
    case_id = police_case(services)
    browser.sign_in("dorset.police.imr")
    bad = [*ROWS, ["31/02/2023", "Child A", "Impossible date", "x", "yes"]]
    page = browser.client.post(f"/cases/{case_id}/chronology/import", data={
        "csrf_token": browser.token(f"/cases/{case_id}/chronology"), "agency": "police",
        "file": (io.BytesIO(csv_file(bad)), "police.csv")}, content_type="multipart/form-data",
        follow_redirects=True).get_data(as_text=True)
    assert "Nothing was imported." in page and "row 4" in page and "No entries yet." in page


def test_the_administrator_exports_the_merge_only_through_a_complete_key(browser: Browser,
                                                                         services: Services) -> None:
    case_id = police_case(services)
    browser.sign_in("dorset.admin")
    browser.client.post(f"/cases/{case_id}/chronology/import", data={
        "csrf_token": browser.token(f"/cases/{case_id}/chronology"), "agency": "police",
        "file": (io.BytesIO(csv_file(ROWS)), "police.csv")}, content_type="multipart/form-data")
    refused = browser.client.get(f"/cases/{case_id}/chronology.csv")
    assert refused.status_code == 422 and "anonymisation key is complete" in refused.get_data(as_text=True)
    people = [{"real": name, "kind": "professional", "role": title, "pseudonym": f"Professional {n}"}
              for n, (name, title) in enumerate(key_state(services, "dorset.admin", case_id).professionals, 1)]
    save_key(services, "dorset.admin", case_id, {"people": [
        {"real": "Tayla Quist", "kind": "child", "pseudonym": "Child A"}, *people]}, expected_version=None)
    exported = browser.client.get(f"/cases/{case_id}/chronology.csv")
    assert exported.status_code == 200
    assert "Home visit; child seen in her bedroom." in exported.get_data(as_text=True)
