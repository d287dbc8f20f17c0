"""T-L3 (RELIABILITY.md), the fail-closed gate: a real name left in a draft executive summary (in a reviewer's
comment of the uploaded Word file, which the key does not rewrite) and every route that would take it out refuses,
naming the part and the offset but never the name, delivering nothing, and leaving one audit event each.

Written text never gets this far: it is put through the key on its way out, so a name the key knows is replaced;
the gate is what stops whatever the key could not rewrite."""

from __future__ import annotations

import json

from engine.casework.services import Services
from engine.documents.authoring import upload
from engine.documents.library import library
from tests.service.test_document_build import KEEPER, a_case, reference
from tests.web.conftest import Browser
from tests.wordfiles import word

PLANTED = "Tayla"


def refusals(services: Services, case_id: int) -> list[dict[str, object]]:
    with services.uow() as uow:
        return [e.detail for e in uow.events.for_case(case_id) if e.kind == "release_refused"]


def test_every_route_out_refuses_a_draft_executive_summary_with_a_name_left_in_it(
        browser: Browser, services: Services) -> None:
    case_id = a_case(services)
    draft = word("The review looked at how agencies worked with Child A.",
                 comment=f"Check with {PLANTED}'s school before this goes to the panel.")
    upload(services, KEEPER, case_id, library(services).outline("executive_summary"), "summary.docx", draft)
    browser.sign_in(KEEPER)
    for fmt in ("docx", "pdf"):
        before = len(refusals(services, case_id))
        answer = browser.client.get(f"/cases/{case_id}/documents/executive_summary/export/{fmt}",
                                    headers={"Accept": "application/json"})
        said = answer.get_json()
        assert answer.status_code == 422 and said["error"] == "anonymisation_failed", fmt
        where = f"{reference(services, case_id)}-executive-summary.docx: comment, offset 11: forename of Child A"
        assert said["details"] == [where]  # the Word source of the PDF too: the PDF does not show comments
        assert PLANTED not in answer.get_data(as_text=True) and not answer.headers.get("Content-Disposition")
        assert len(refusals(services, case_id)) == before + 1
    for pack in ("publication", "ofsted"):
        before = len(refusals(services, case_id))
        started = browser.post(f"/cases/{case_id}/packs/{pack}", {}, token_from=f"/cases/{case_id}/packs")
        release = started.headers["Location"].rstrip("/").rsplit("/", 1)[1]
        progress = browser.client.get(f"/cases/{case_id}/releases/{release}.json").get_json()
        assert progress["status"] == "refused" and any("comment" in line for line in progress["findings"])
        assert PLANTED not in json.dumps(progress)
        download = browser.client.get(f"/cases/{case_id}/releases/{release}/download")
        assert download.status_code == 409 and not download.headers.get("Content-Disposition")
        assert len(refusals(services, case_id)) == before + 1
