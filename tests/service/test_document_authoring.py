"""Writing a case's documents (issue 13 item 3): an agency's IMR author writes that agency's IMR and no other, every
save is a new version and the old ones stay, a Word upload is a version of the whole, and a sign-off is bound to the
sha256 of the version signed: it holds until the next save or upload, then shows void; a stale or bad request
stores nothing."""

from __future__ import annotations

import pytest

from engine.authoring.versions import deploy
from engine.casework.cases import start_case
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.documents.authoring import (
    document_state,
    documents_of,
    filled_from,
    save_section,
    sign_off,
    upload,
)
from engine.documents.library import library
from engine.documents.outline import Outline
from engine.errors import Conflict, InvalidSubmission, NotFound, NotPermitted
from engine.ports import Assignment
from engine.workflow.specs import read_diagrams
from tests.service.conftest import ROOT
from tests.wordfiles import word

ON_CASE = [("dorset.police.imr", "imr_author", "police"), ("dorset.socialcare.imr", "imr_author", "social_care"),
           ("dorset.police.ce", "chief_executive", "police"), ("dorset.overview", "overview_author", None),
           ("dorset.panelchair", "panel_chair", None)]


@pytest.fixture
def services(repository_services: Services) -> Services:
    deploy(repository_services, read_diagrams([ROOT / "bpmn"]), by="tester")
    return repository_services


@pytest.fixture
def case_id(services: Services) -> int:
    """A Dorset case with the police and social care IMR authors, the police chief executive, the overview author
    and the panel chair."""
    case = start_case(services, "dorset", "dorset.referrer")
    assert case.id is not None
    for username, role, agency in ON_CASE:
        assign_role(services, Assignment(username, role, "dorset", case.id, agency))
    return case.id


def outline(services: Services, outline_id: str) -> Outline:
    return library(services).outline(outline_id)


def stored(services: Services, case_id: int) -> tuple[int, int, list[str]]:
    """How many versions and sign-offs the case has, and the kinds of its document events."""
    with services.uow() as uow:
        return (len(uow.documents.versions(case_id)), len(uow.documents.signoffs(case_id)),
                [e.kind for e in uow.events.for_case(case_id) if e.kind.startswith("document_")])


def test_an_imr_author_writes_their_own_agencys_imr_and_no_other(services: Services, case_id: int) -> None:
    imr = outline(services, "imr")
    state = save_section(services, "dorset.police.imr", case_id, imr, "introduction", "Events before.", "police")
    assert state.text("introduction") == "Events before." and state.may_write and not state.may_sign
    with pytest.raises(NotPermitted):
        save_section(services, "dorset.police.imr", case_id, imr, "introduction", "Not mine.", "social_care")
    with pytest.raises(NotPermitted):
        document_state(services, "dorset.police.imr", case_id, imr, "social_care")
    with pytest.raises(NotPermitted):  # the chief executive signs it but does not write it
        save_section(services, "dorset.police.ce", case_id, imr, "introduction", "Mine?", "police")
    assert stored(services, case_id)[0] == 1


def test_someone_without_a_role_on_the_case_is_told_it_does_not_exist(services: Services, case_id: int) -> None:
    imr = outline(services, "imr")
    for attempt in (lambda: documents_of(services, "dorset.education.imr", case_id),
                    lambda: document_state(services, "bp.admin", case_id, imr, "police"),
                    lambda: save_section(services, "dorset.education.imr", case_id, imr, "introduction", "x",
                                         "police")):
        with pytest.raises(NotFound):
            attempt()


def test_every_save_is_a_new_version_and_the_old_ones_stay(services: Services, case_id: int) -> None:
    imr = outline(services, "imr")
    save_section(services, "dorset.police.imr", case_id, imr, "methodology", "First draft.", "police")
    state = save_section(services, "dorset.police.imr", case_id, imr, "methodology", "Second draft.", "police")
    assert [(v.number, v.text) for v in state.history] == [(1, "First draft."), (2, "Second draft.")]
    assert state.text("methodology") == "Second draft." and state.written == 1 and state.sections == 7
    with pytest.raises(InvalidSubmission, match="Nothing has changed since version 2"):
        save_section(services, "dorset.police.imr", case_id, imr, "methodology", "Second draft.\r\n", "police")
    assert stored(services, case_id)[0] == 2


def test_a_sign_off_holds_until_a_later_save_then_shows_void(services: Services, case_id: int) -> None:
    imr = outline(services, "imr")
    state = save_section(services, "dorset.police.imr", case_id, imr, "analysis", "What happened and why.", "police")
    signed = sign_off(services, "dorset.police.ce", case_id, imr, state.sha256, "police")
    [view] = signed.signoffs
    assert view.valid and view.record.role == "chief_executive" and view.record.sha256 == state.sha256
    assert signed.awaiting() == ()
    later = save_section(services, "dorset.police.imr", case_id, imr, "analysis", "Revised analysis.", "police")
    [view] = later.signoffs
    assert not view.valid and later.sha256 != state.sha256 and later.awaiting() == ("chief_executive",)
    again = sign_off(services, "dorset.police.ce", case_id, imr, later.sha256, "police")
    assert [s.valid for s in again.signoffs] == [False, True]


def test_an_edit_to_the_executive_summary_voids_the_overview_reports_sign_off_too(services: Services,
                                                                                  case_id: int) -> None:
    report, summary = outline(services, "overview_report"), outline(services, "executive_summary")
    state = save_section(services, "dorset.overview", case_id, report, "analysis", "How and why.")
    save_section(services, "dorset.overview", case_id, summary, "review_process", "The review process.")
    state = document_state(services, "dorset.overview", case_id, report)
    [view] = sign_off(services, "dorset.panelchair", case_id, report, state.sha256).signoffs
    assert view.valid
    save_section(services, "dorset.overview", case_id, summary, "review_process", "The review process, revised.")
    [view] = document_state(services, "dorset.overview", case_id, report).signoffs
    assert not view.valid


def test_an_upload_is_a_version_of_the_whole_and_voids_earlier_sign_offs(services: Services, case_id: int) -> None:
    imr = outline(services, "imr")
    state = save_section(services, "dorset.police.imr", case_id, imr, "learning", "Lessons.", "police")
    sign_off(services, "dorset.police.ce", case_id, imr, state.sha256, "police")
    uploaded = upload(services, "dorset.police.imr", case_id, imr, "C:\\drafts\\police-imr.docx",
                      word("The whole IMR."), "police")
    assert uploaded.upload is not None and uploaded.upload.file_name == "police-imr.docx"
    assert uploaded.upload.number == 1 and [s.valid for s in uploaded.signoffs] == [False]


def test_a_stale_sign_off_is_refused_and_nothing_is_stored(services: Services, case_id: int) -> None:
    imr = outline(services, "imr")
    seen = save_section(services, "dorset.police.imr", case_id, imr, "involvement", "Seen by the CE.", "police")
    save_section(services, "dorset.police.imr", case_id, imr, "involvement", "Changed after.", "police")
    before = stored(services, case_id)
    with pytest.raises(Conflict, match="changed after you opened it"):
        sign_off(services, "dorset.police.ce", case_id, imr, seen.sha256, "police")
    assert stored(services, case_id) == before and before[1] == 0


def test_only_the_outlines_signatories_sign_and_each_as_the_first_role_they_hold(services: Services,
                                                                                 case_id: int) -> None:
    report = outline(services, "overview_report")
    state = save_section(services, "dorset.overview", case_id, report, "analysis", "How and why.")
    with pytest.raises(NotPermitted, match="Independent SCR Panel Chair or LSCB board"):
        sign_off(services, "dorset.overview", case_id, report, state.sha256)
    sign_off(services, "dorset.panelchair", case_id, report, state.sha256)
    signed = sign_off(services, "dorset.board", case_id, report, state.sha256)
    assert [(s.record.role, s.valid) for s in signed.signoffs] == [("panel_chair", True), ("lscb_board", True)]
    with pytest.raises(InvalidSubmission, match="signed this version already"):
        sign_off(services, "dorset.board", case_id, report, state.sha256)


def test_a_file_that_is_not_word_is_refused_and_nothing_is_stored(services: Services, case_id: int) -> None:
    imr = outline(services, "imr")
    for name, data in (("imr.docx", b"%PDF-1.7 not a Word file"), ("imr.docx", b""), ("imr.doc", b"\xd0\xcf\x11")):
        with pytest.raises(InvalidSubmission):
            upload(services, "dorset.police.imr", case_id, imr, name, data, "police")
    assert stored(services, case_id) == (0, 0, [])


def test_a_per_agency_document_needs_its_agency(services: Services, case_id: int) -> None:
    imr = outline(services, "imr")
    with pytest.raises(InvalidSubmission, match="Say which agency's Individual Management Review"):
        save_section(services, "dorset.police.imr", case_id, imr, "introduction", "Which one?")
    with pytest.raises(InvalidSubmission, match="no agency"):
        save_section(services, "dorset.police.imr", case_id, imr, "introduction", "Which one?", "atlantis")
    with pytest.raises(InvalidSubmission, match="no section"):
        save_section(services, "dorset.police.imr", case_id, imr, "chronology", "Not written here.", "police")
    assert stored(services, case_id) == (0, 0, [])


def test_the_list_shows_each_person_the_documents_they_may_read(services: Services, case_id: int) -> None:
    imr = outline(services, "imr")
    save_section(services, "dorset.police.imr", case_id, imr, "introduction", "Events.", "police")

    def listed(username: str) -> dict[tuple[str, str], tuple[bool, bool]]:
        return {(d.outline.id, d.agency): (d.may_write, d.may_sign)
                for d in documents_of(services, username, case_id).documents}

    assert listed("dorset.police.imr") == {("imr", "police"): (True, False)}
    assert listed("dorset.police.ce") == {("imr", "police"): (False, True)}
    everything = listed("dorset.admin")
    assert {("imr", "police"), ("imr", "social_care"), ("imr_request_letter", "police"),
            ("overview_report", ""), ("synopsis", "")} <= set(everything)
    assert everything[("imr", "police")] == (True, False)  # the keeper may upload any document
    [police] = [d for d in documents_of(services, "dorset.admin", case_id).documents
                if (d.outline.id, d.agency) == ("imr", "police")]
    assert police.written == 1 and police.last is not None and police.last.author == "dorset.police.imr"
    assert documents_of(services, "dorset.admin", case_id).agencies == ("social_care", "police")


def test_sections_filled_from_the_case_say_where_from(services: Services) -> None:
    words = {f.section.key: f.where for f in filled_from(services, outline(services, "imr"))}
    assert words["imr.chronology"] == "the agency's chronology"
    assert words["imr.recommendations"] == "the answers to Draft the IMR (Recommendations for action (few, SMART))"
    assert words["imr.on_behalf_of"] == "the case's details (agency name)"
    assert "imr.introduction" not in words
    report = {f.section.key: f.where for f in filled_from(services, outline(services, "overview_report"))}
    assert report["executive_summary.review_process"] == ("the Serious Case Review: executive summary, where it is "
                                                         "written")
    assert "overview_report.analysis" not in report
