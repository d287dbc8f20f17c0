"""A review's documents in a real browser: the LSCB administrator fills the case's anonymisation key, the police IMR
author uploads the IMR, the overview author writes the overview report and downloads its anonymised Word copy, and
the administrator releases the pack for Ofsted with its progress shown; then a real name left in a comment of a new
IMR upload blocks the release, and the page says which file and where without repeating the name."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from engine.casework.cases import start_case
from engine.casework.roles import assign_role
from engine.clock import FrozenClock
from engine.documents.extract import parts_of
from engine.ports import Assignment
from tests.browser.conftest import LiveServer, keep_screenshot, serve, sign_in
from tests.browser.studio import pages_on
from tests.service.conftest import T0
from tests.wordfiles import word

BOARD = "dorset"
ADMIN, IMR_AUTHOR, OVERVIEW = "dorset.admin", "dorset.police.imr", "dorset.overview"
ON_CASE = [(IMR_AUTHOR, "imr_author", "police"), ("dorset.police.ce", "chief_executive", "police"),
           (OVERVIEW, "overview_author", None), ("dorset.panelchair", "panel_chair", None)]
CHILD, MOTHER = "Tayla Quist", "Marnie Quist"
OFFICIALS = {"LSCB Chair": "Desmond Blenkinsop", "Panel Chair": "Henrietta Kettlewell",
             "overview author": "Clementine Marchbank"}  # by a word of the role's title (forms/roles.json)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """This module's own app."""
    yield from serve(tmp_path_factory.mktemp("documents"), FrozenClock(T0))


@pytest.fixture
def open_page(browser: Any, server: LiveServer) -> Iterator[Callable[[], Any]]:
    yield from pages_on(browser, server)


def a_case(server: LiveServer) -> int:
    """A Dorset case with a police IMR author and chief executive, the overview author and the panel chair."""
    case = start_case(server.services, BOARD, "dorset.referrer")
    assert case.id is not None
    for username, role, agency in ON_CASE:
        assign_role(server.services, Assignment(username, role, BOARD, case.id, agency))
    return case.id


def texts(data: bytes, name: str) -> str:
    """Every text part of a file, as the leak scan reads it."""
    return "\n".join(p.text for p in parts_of(name, data))


def signed_in(open_page: Callable[[], Any], username: str) -> Any:
    page = open_page()
    sign_in(page, username)
    return page


def fill_the_key(page: Any, case_id: int) -> None:
    """The administrator's part: the child and the mother, a pseudonym for every professional the page suggests,
    and the names of the officials who may be named."""
    page.goto(f"/cases/{case_id}/key")
    rows = page.locator("input[id^='people-'][id$='-real']")
    blank = [n for n in range(rows.count()) if not rows.nth(n).input_value()]
    for n in range(rows.count()):
        if rows.nth(n).input_value():
            page.locator(f"#people-{n}-pseudonym").fill(f"Professional {n + 1}")
    for n, (real, dob, kind, pseudonym) in zip(blank, [(CHILD, "2015-11-23", "child", "Child A"),
                                                       (MOTHER, "1990-04-02", "family", "Mother")], strict=False):
        page.locator(f"#people-{n}-real").fill(real)
        page.locator(f"#people-{n}-dob").fill(dob)
        page.locator(f"#people-{n}-role").fill("subject" if kind == "child" else "mother")
        page.locator(f"#people-{n}-kind").select_option(kind)
        page.locator(f"#people-{n}-pseudonym").fill(pseudonym)
    roles = page.locator("input[id^='permitted-'][id$='-role']")
    for n in range(roles.count()):
        title = roles.nth(n).input_value()
        for words, name in OFFICIALS.items():
            if words in title:
                page.locator(f"#permitted-{n}-name").fill(name)
    page.get_by_role("button", name="Save the key").click()
    expect(page.locator("#key-complete")).to_contain_text("The key is complete")
    keep_screenshot(page, "documents-key")


def upload_imr(page: Any, case_id: int, data: bytes, name: str) -> None:
    """The IMR author's part: the police IMR uploaded as a Word file from the case's documents."""
    page.goto(f"/cases/{case_id}/documents")
    keep_screenshot(page, "documents-list")
    page.get_by_role("link", name=re.compile("Individual Management Review")).first.click()
    page.locator("#file").set_input_files({"name": name, "mimeType": "application/vnd.openxmlformats-officedocument."
                                           "wordprocessingml.document", "buffer": data})
    page.locator("#upload").click()
    expect(page.locator("#current-upload")).to_contain_text(name)


def release_pack(page: Any, case_id: int) -> Any:
    """The administrator builds and releases the Ofsted pack and waits for the outcome."""
    page.goto(f"/cases/{case_id}/packs")
    keep_screenshot(page, "documents-packs")
    page.locator("#start-ofsted").click()
    expect(page.locator("#release-state")).to_contain_text(re.compile("Released|Not released"), timeout=60_000)
    return page


def test_the_key_an_imr_the_report_and_the_pack_then_a_planted_name_blocks_release(
        open_page: Callable[[], Any], server: LiveServer, tmp_path: Path) -> None:
    case_id = a_case(server)
    admin = signed_in(open_page, ADMIN)
    fill_the_key(admin, case_id)

    author = signed_in(open_page, IMR_AUTHOR)
    upload_imr(author, case_id, word(f"{CHILD} was seen at home with {MOTHER} on 3 February 2023.",
                                     "Practice fell short of the standard expected."), "police-imr.docx")
    keep_screenshot(author, "documents-imr-uploaded")

    overview = signed_in(open_page, OVERVIEW)
    overview.goto(f"/cases/{case_id}/documents/overview_report")
    overview.locator("#text-analysis").fill(f"With hindsight, {CHILD}'s wishes and feelings were never recorded.")
    overview.locator("#section-analysis").get_by_role("button", name="Save section").click()
    expect(overview.locator("body")).to_contain_text("Saved")
    with overview.expect_download() as download:
        overview.locator("#export-docx").click()
    report = Path(download.value.path()).read_bytes()
    said = texts(report, "overview.docx")
    assert "Child A's wishes and feelings were never recorded" in said and "Tayla" not in said
    keep_screenshot(overview, "documents-overview")

    released = release_pack(admin, case_id)
    expect(released.locator("#release-state")).to_contain_text("Released.")
    keep_screenshot(released, "documents-pack-released")
    with released.expect_download() as download:
        released.locator("#release-download").click()
    with zipfile.ZipFile(download.value.path()) as pack:
        names = pack.namelist()
        everything = "\n".join(texts(pack.read(n), n) for n in names)
    assert any("imr" in n for n in names) and any("overview" in n for n in names)
    assert "Child A was seen at home with Mother" in everything
    assert "Tayla" not in everything and "Quist" not in everything

    upload_imr(author, case_id, word("Child A was seen at home.", comment=f"Ask {CHILD}'s school about this."),
               "police-imr-v2.docx")
    refused = release_pack(admin, case_id)
    expect(refused.locator("#release-state")).to_contain_text("Not released")
    expect(refused.locator("#findings")).to_contain_text("comment")
    expect(refused.locator("#findings")).to_contain_text("imr")
    assert "Tayla" not in refused.content() and "Quist" not in refused.content()
    keep_screenshot(refused, "documents-pack-refused")
