"""The monitor over HTTP: who sees it, the list's filters and exports (control data only), the case page,
interventions with reasons, the dashboards, and bad input answered with a message that changes nothing."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from engine.casework.cases import start_case
from engine.casework.services import Services
from tests.web.conftest import Browser


def a_case(services: Services, board: str = "dorset") -> int:
    referrer = "dorset.referrer" if board == "dorset" else "bp.referrer"
    case = start_case(services, board, referrer)
    assert case.id is not None
    return case.id


def test_only_people_who_monitor_a_board_see_the_monitor(browser: Browser, services: Services) -> None:
    case_id = a_case(services)
    with services.uow() as uow:
        reference = uow.cases.get(case_id).reference
    for person in ("dorset.referrer", "dorset.chair", "dorset.owner"):
        browser.sign_in(person)
        assert browser.client.get("/monitor/").status_code == 404
        assert "Monitor</a>" not in browser.client.get("/").get_data(as_text=True)
        browser.client.post("/logout", data={"csrf_token": browser.token("/")})
    for person in ("dorset.admin", "dorset.manager", "dorset.sysadmin"):
        browser.sign_in(person)
        page = browser.client.get("/monitor/")
        assert page.status_code == 200 and reference in page.get_data(as_text=True)
        browser.client.post("/logout", data={"csrf_token": browser.token("/")})


def test_a_board_administrator_sees_only_their_board_and_a_system_administrator_every_board(
        browser: Browser, services: Services) -> None:
    dorset, poole = a_case(services), a_case(services, "bournemouth-poole")
    with services.uow() as uow:
        ref_d, ref_p = uow.cases.get(dorset).reference, uow.cases.get(poole).reference
    browser.sign_in("dorset.admin")
    page = browser.client.get("/monitor/").get_data(as_text=True)
    assert ref_d in page and ref_p not in page
    assert browser.client.get(f"/monitor/cases/{poole}").status_code == 404
    browser.client.post("/logout", data={"csrf_token": browser.token("/")})
    browser.sign_in("dorset.sysadmin")
    page = browser.client.get("/monitor/").get_data(as_text=True)
    assert ref_d in page and ref_p in page
    assert browser.client.get(f"/monitor/cases/{poole}").status_code == 200


def test_exports_hold_control_data_only(browser: Browser, services: Services) -> None:
    case_id = a_case(services)
    with services.uow() as uow:
        reference = uow.cases.get(case_id).reference
    browser.sign_in("dorset.admin")
    text = browser.client.get("/monitor/export.csv").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:5] == ["reference", "board", "procedure", "version", "state"]
    assert rows[1][0] == reference
    book = load_workbook(io.BytesIO(browser.client.get("/monitor/export.xlsx").get_data()))
    sheet = book.active
    assert sheet is not None and sheet["A2"].value == reference
    for user in services.catalogue.users:  # no one's name or user name is exported
        assert user["display_name"] not in text and user["username"] not in text


def test_a_filter_that_makes_no_sense_is_explained(browser: Browser, services: Services) -> None:
    a_case(services)
    browser.sign_in("dorset.admin")
    answer = browser.client.get("/monitor/?week=lots", follow_redirects=True)
    assert answer.status_code == 200 and "week: Give a whole number." in answer.get_data(as_text=True)


def test_an_intervention_without_a_reason_changes_nothing_and_says_why(browser: Browser, services: Services) -> None:
    case_id = a_case(services)
    browser.sign_in("dorset.admin")
    answer = browser.post(f"/monitor/cases/{case_id}/suspend", {"reason": ""}, token_from=f"/monitor/cases/{case_id}")
    assert answer.status_code == 303
    page = browser.client.get(f"/monitor/cases/{case_id}").get_data(as_text=True)
    assert "Nothing was changed: Say why" in page
    with services.uow() as uow:
        assert uow.cases.get(case_id).status == "open"


def test_someone_who_may_only_look_cannot_step_in(browser: Browser, services: Services) -> None:
    case_id = a_case(services)
    browser.sign_in("dorset.manager")
    page = browser.client.get(f"/monitor/cases/{case_id}").get_data(as_text=True)
    assert "Suspend the case" not in page
    answer = browser.post(f"/monitor/cases/{case_id}/suspend", {"reason": "testing"},
                          token_from=f"/monitor/cases/{case_id}")
    assert answer.status_code == 403
    with services.uow() as uow:
        assert uow.cases.get(case_id).status == "open"


def test_suspending_is_audited_and_shown(browser: Browser, services: Services) -> None:
    case_id = a_case(services)
    browser.sign_in("dorset.admin")
    answer = browser.post(f"/monitor/cases/{case_id}/suspend", {"reason": "Police asked us to pause"},
                          token_from=f"/monitor/cases/{case_id}")
    assert answer.status_code == 302
    page = browser.client.get(f"/monitor/cases/{case_id}").get_data(as_text=True)
    assert "Suspended" in page and "Reason: Police asked us to pause" in page and "Resume the case" in page
    assert browser.client.get("/monitor/?state=suspended").get_data(as_text=True).count("pill suspended") == 1


def test_the_dashboards_show_their_numbers_as_tables_too(browser: Browser, services: Services) -> None:
    a_case(services)
    browser.sign_in("dorset.admin")
    for path, marks in (("/monitor/deadlines", ('id="rag-red"', 'id="weeks-table"', "<svg")),
                        ("/monitor/workload", ('id="roles-table"', "<svg")),
                        ("/monitor/heatmap", ('id="heat-table"', 'id="monitor-config"'))):
        page = browser.client.get(path)
        assert page.status_code == 200, path
        text = page.get_data(as_text=True)
        assert all(mark in text for mark in marks), path
