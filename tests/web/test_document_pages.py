"""The document pages: the list of a case's documents, and one document where its author writes each section (with
the outline's guidance), uploads a Word file, and its chief executive signs off the version shown; a later save shows
that sign-off void, a sign-off of a page gone stale is refused (409) and a bad file stores nothing (422)."""

from __future__ import annotations

import io

from engine.casework.cases import start_case
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.ports import Assignment
from tests.web.conftest import Browser
from tests.wordfiles import word

IMR = "imr?agency=police"


def police_case(services: Services) -> int:
    case = start_case(services, "dorset", "dorset.referrer")
    assert case.id is not None
    assign_role(services, Assignment("dorset.police.imr", "imr_author", "dorset", case.id, "police"))
    assign_role(services, Assignment("dorset.police.ce", "chief_executive", "dorset", case.id, "police"))
    assign_role(services, Assignment("dorset.socialcare.imr", "imr_author", "dorset", case.id, "social_care"))
    return case.id


def hidden(page: str, name: str) -> str:
    return page.split(f'name="{name}" value="')[1].split('"')[0]


def write(browser: Browser, case_id: int, section: str, text: str) -> str:
    answer = browser.post(f"/cases/{case_id}/documents/imr/sections/{section}", {"text": text, "agency": "police"},
                          token_from=f"/cases/{case_id}/documents/{IMR}")
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return browser.client.get(answer.headers["Location"]).get_data(as_text=True)


def versions(services: Services, case_id: int) -> tuple[int, int]:
    with services.uow() as uow:
        return len(uow.documents.versions(case_id)), len(uow.documents.signoffs(case_id))


def test_the_case_page_links_to_the_documents_and_the_list_shows_progress(browser: Browser,
                                                                          services: Services) -> None:
    case_id = police_case(services)
    browser.sign_in("dorset.police.imr")
    assert f'href="/cases/{case_id}/documents"' in browser.client.get(f"/cases/{case_id}").get_data(as_text=True)
    write(browser, case_id, "introduction", "Events leading up to the review.")
    page = browser.client.get(f"/cases/{case_id}/documents").get_data(as_text=True)
    assert "Individual Management Review" in page and "Police" in page
    assert "1 of 7 sections written" in page and "You may write it" in page
    assert "Social Care" not in page and "overview report" not in page  # another agency's IMR is not listed


def test_the_author_sees_guidance_and_a_text_box_per_section_and_saves_a_version(browser: Browser,
                                                                                 services: Services) -> None:
    case_id = police_case(services)
    browser.sign_in("dorset.police.imr")
    page = browser.client.get(f"/cases/{case_id}/documents/{IMR}").get_data(as_text=True)
    assert "Your qualifications and experience, and a statement that you are independent" in page
    assert page.count("<textarea") == 7 and page.count("Save section") == 7
    assert "filled from the agency&#39;s chronology" in page and "Download anonymised Word copy" in page
    assert f'href="/cases/{case_id}/documents/imr/export/docx?agency=police"' in page
    assert f'href="/cases/{case_id}/documents/imr/export/pdf?agency=police"' in page
    assert "anonymisation key and the leak scan" in page and "Sign off this version" not in page
    page = write(browser, case_id, "author_statement", "Twenty years in policing; independent of the case.")
    assert "Saved \u201cThe author\u201d as version 1." in page
    assert "Twenty years in policing; independent of the case.</textarea>" in page
    assert "Version 1, saved by dorset.police.imr" in page
    page = write(browser, case_id, "author_statement", "Twenty-one years in policing.")
    assert "as version 2." in page and versions(services, case_id) == (2, 0)


def test_the_chief_executive_signs_and_a_later_save_shows_the_sign_off_void(browser: Browser,
                                                                            services: Services) -> None:
    case_id = police_case(services)
    browser.sign_in("dorset.police.imr")
    write(browser, case_id, "analysis", "The standard expected and how far it was met.")
    chief = Browser(browser.client.application.test_client())
    chief.sign_in("dorset.police.ce")
    page = chief.client.get(f"/cases/{case_id}/documents/{IMR}").get_data(as_text=True)
    assert "<textarea" not in page and "The standard expected and how far it was met." in page
    signed = chief.post(f"/cases/{case_id}/documents/imr/signoff", {"sha256": hidden(page, "sha256"),
                                                                    "agency": "police"},
                        token_from=f"/cases/{case_id}/documents/{IMR}")
    assert signed.status_code == 303
    page = chief.client.get(signed.headers["Location"]).get_data(as_text=True)
    assert "Signed off as Agency chief executive / chief officer" in page and "badge--valid" in page
    assert "You have signed this version." in page
    page = write(browser, case_id, "analysis", "Revised after the chief executive read it.")
    assert "Void: the document changed after it was signed" in page and "badge--valid" not in page
    listed = chief.client.get(f"/cases/{case_id}/documents").get_data(as_text=True)
    assert "Void: changed after signing" in listed


def test_a_sign_off_of_a_page_gone_stale_is_refused_and_nothing_is_stored(browser: Browser,
                                                                          services: Services) -> None:
    case_id = police_case(services)
    browser.sign_in("dorset.police.imr")
    write(browser, case_id, "learning", "Lessons for the organisation.")
    chief = Browser(browser.client.application.test_client())
    chief.sign_in("dorset.police.ce")
    seen = chief.client.get(f"/cases/{case_id}/documents/{IMR}").get_data(as_text=True)
    write(browser, case_id, "learning", "Lessons, revised.")
    refused = chief.client.post(f"/cases/{case_id}/documents/imr/signoff", data={
        "sha256": hidden(seen, "sha256"), "agency": "police", "csrf_token": hidden(seen, "csrf_token")})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "The document changed after you opened it" in page
    assert "Lessons, revised." in page and versions(services, case_id) == (2, 0)


def test_an_upload_becomes_the_document_and_a_file_that_is_not_word_is_refused(browser: Browser,
                                                                               services: Services) -> None:
    case_id = police_case(services)
    browser.sign_in("dorset.police.imr")
    token = browser.token(f"/cases/{case_id}/documents/{IMR}")
    refused = browser.client.post(f"/cases/{case_id}/documents/imr/upload", data={
        "csrf_token": token, "agency": "police", "file": (io.BytesIO(b"just text"), "imr.docx")},
        content_type="multipart/form-data")
    assert refused.status_code == 422 and "That is not a Word document (.docx)" in refused.get_data(as_text=True)
    assert versions(services, case_id) == (0, 0)
    done = browser.client.post(f"/cases/{case_id}/documents/imr/upload", data={
        "csrf_token": token, "agency": "police", "file": (io.BytesIO(word("The IMR.")), "police-imr.docx")},
        content_type="multipart/form-data", follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "Uploaded police-imr.docx as version 1 of the whole document." in page
    assert "Whole document (police-imr.docx)" in page and "Uploaded version 1" in page
    listed = browser.client.get(f"/cases/{case_id}/documents").get_data(as_text=True)
    assert "uploaded version 1" in listed


def test_an_empty_save_is_refused_with_the_page_shown_again(browser: Browser, services: Services) -> None:
    case_id = police_case(services)
    browser.sign_in("dorset.police.imr")
    answer = browser.post(f"/cases/{case_id}/documents/imr/sections/methodology", {"text": "  ", "agency": "police"},
                          token_from=f"/cases/{case_id}/documents/{IMR}")
    assert answer.status_code == 422 and "Write the section before saving it." in answer.get_data(as_text=True)
    assert versions(services, case_id) == (0, 0)


def test_another_agencys_imr_is_refused_and_an_unknown_document_is_not_found(browser: Browser,
                                                                            services: Services) -> None:
    case_id = police_case(services)
    browser.sign_in("dorset.police.imr")
    assert browser.client.get(f"/cases/{case_id}/documents/imr?agency=social_care").status_code == 403
    answer = browser.post(f"/cases/{case_id}/documents/imr/sections/introduction",
                          {"text": "Not mine.", "agency": "social_care"}, token_from=f"/cases/{case_id}/documents")
    assert answer.status_code == 403 and versions(services, case_id) == (0, 0)
    assert browser.client.get(f"/cases/{case_id}/documents/no_such_document").status_code == 404
    assert browser.client.get(f"/cases/{case_id}/documents/imr").status_code == 422  # which agency's?
