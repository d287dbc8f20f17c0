"""The packs pages: the LSCB administrator sees what each pack would hold, builds one with a button, follows its
progress, then downloads the zip (sha256 shown, never cached, audited) or reads every finding and what to do; one
document is exported anonymised as Word by whoever may read it (issue 13, items 2 and 7)."""

from __future__ import annotations

import io
import re
import zipfile

from engine.casework.services import Services
from engine.documents.authoring import upload
from engine.documents.keys import save_key
from engine.documents.library import library
from engine.documents.pack import start_pack
from tests.service.test_document_build import KEEPER, KEY, NAMES, a_case, reference
from tests.web.conftest import Browser
from tests.wordfiles import word


def signed_in(browser: Browser, username: str) -> Browser:
    browser.sign_in(username)
    return browser


def test_the_keeper_builds_the_ofsted_pack_with_one_button_and_downloads_it(browser: Browser,
                                                                           services: Services) -> None:
    case_id = a_case(services)
    signed_in(browser, KEEPER)
    assert 'id="packs-link"' in browser.client.get(f"/cases/{case_id}").get_data(as_text=True)
    page = browser.client.get(f"/cases/{case_id}/packs").get_data(as_text=True)
    assert "Pack for Ofsted and the DfE" in page and "Publication set" in page
    assert "Individual Management Review (Police), anonymised" in page
    assert "Serious Case Review: action plan, if the case holds one" in page
    assert 'id="no-releases"' in page

    started = browser.post(f"/cases/{case_id}/packs/ofsted", {}, token_from=f"/cases/{case_id}/packs")

    assert started.status_code == 303
    release_page = started.headers["Location"]
    page = browser.client.get(release_page).get_data(as_text=True)
    assert "Released." in page and 'id="release-download"' in page
    assert re.search(r'<progress id="release-progress" max="12" value="12">', page)
    sha = re.search(r'id="release-sha256">([0-9a-f]{64})<', page)
    assert sha is not None
    assert browser.client.get(release_page + ".json").get_json() == {"status": "released", "done": 12, "total": 12,
                                                                     "findings": []}
    download = browser.client.get(release_page + "/download")
    assert download.status_code == 200 and download.headers["Cache-Control"] == "no-store"
    assert download.headers["Content-Disposition"] == (
        f'attachment; filename="{reference(services, case_id)}-ofsted.zip"')
    assert len(zipfile.ZipFile(io.BytesIO(download.data)).namelist()) == 6
    listing = browser.client.get(f"/cases/{case_id}/packs").get_data(as_text=True)
    assert sha.group(1)[:12] in listing and "Released" in listing
    with services.uow() as uow:
        assert [e.detail["sha256"] for e in uow.events.for_case(case_id) if e.kind == "pack_downloaded"] == [
            sha.group(1)]


def test_a_refused_pack_lists_every_finding_and_what_to_do_without_the_name(browser: Browser,
                                                                           services: Services) -> None:
    case_id = a_case(services)
    summary = word("The review looked at how agencies worked with Child A.", comment="Ask Mandy Quist about this")
    upload(services, KEEPER, case_id, library(services).outline("executive_summary"), "summary.docx", summary)
    signed_in(browser, KEEPER)

    started = browser.post(f"/cases/{case_id}/packs/publication", {}, token_from=f"/cases/{case_id}/packs")
    page = browser.client.get(started.headers["Location"]).get_data(as_text=True)

    assert "Not released" in page and 'id="release-next"' in page
    findings = re.findall(r"<li>([^<]*executive-summary\.docx[^<]*)</li>", page)
    assert findings, page
    assert not [n for n in NAMES if n in page]
    assert browser.client.get(started.headers["Location"] + "/download").status_code == 409
    state = browser.client.get(started.headers["Location"] + ".json").get_json()
    assert state["status"] == "refused" and state["findings"] == [f.replace("&#39;", "'") for f in findings]


def test_a_pack_being_built_shows_its_progress_and_refreshes_itself(browser: Browser, services: Services) -> None:
    case_id = a_case(services)
    release_id = start_pack(services, KEEPER, case_id, "ofsted")
    signed_in(browser, KEEPER)

    page = browser.client.get(f"/cases/{case_id}/releases/{release_id}").get_data(as_text=True)

    assert '<progress id="release-progress" max="12" value="0">0 of 12</progress>' in page
    assert '<meta http-equiv="refresh" content="2">' in page and "documents/release.js" in page
    assert "Waiting to start." in page


def test_one_document_is_exported_anonymised_as_word_by_whoever_may_read_it(browser: Browser,
                                                                            services: Services) -> None:
    case_id = a_case(services)
    signed_in(browser, "dorset.police.imr")

    answer = browser.client.get(f"/cases/{case_id}/documents/imr/export/docx?agency=police")

    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Content-Disposition"] == (
        f'attachment; filename="{reference(services, case_id)}-imr-police.docx"')
    assert zipfile.ZipFile(io.BytesIO(answer.data)).read("word/document.xml").count(b"Child A") >= 1
    assert browser.client.get(f"/cases/{case_id}/documents/imr/export/docx?agency=social_care").status_code == 403
    assert browser.client.get(f"/cases/{case_id}/packs").status_code == 403  # packs are the keeper's


def test_an_export_while_the_key_is_incomplete_says_why_and_delivers_nothing(browser: Browser,
                                                                            services: Services) -> None:
    case_id = a_case(services)
    with services.uow() as uow:
        version = uow.documents.key(case_id).lock_version  # type: ignore[union-attr]
    save_key(services, KEEPER, case_id, {**KEY, "people": [{**KEY["people"][0], "pseudonym": ""}, *KEY["people"][1:]]},
             expected_version=version)
    signed_in(browser, "dorset.panelchair")

    answer = browser.client.get(f"/cases/{case_id}/documents/synopsis/export/docx")

    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "person 1 (child, subject) has no pseudonym" in page and "Content-Disposition" not in answer.headers
