"""A case's documents built from what it holds and anonymised, one at a time or as a pack: written sections, form
answers and the chronology fill them with pseudonyms in place of names; a name left in an uploaded IMR's comment
refuses the pack saying which file and where, never the name; nothing leaves while the key is incomplete; a
synopsis over two sides is refused as a PDF; a public pack holds public documents only; progress reaches its total
(issue 13, items 2 and 7)."""

from __future__ import annotations

import io
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docx
import pytest

from engine.authoring.versions import deploy
from engine.casework.cases import start_case
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.documents import authoring
from engine.documents.export import export_document
from engine.documents.keys import save_key
from engine.documents.library import library
from engine.documents.pack import download, packs_view, release_of, run_in_background, run_pack, start_pack
from engine.documents.packs import read_packs
from engine.errors import AnonymisationFailed, Conflict, InvalidOutline, InvalidSubmission, NotFound, NotPermitted
from engine.ports import Assignment, ChronologyRecord, SubmissionRecord
from engine.store.documents import SqlDocumentRepository
from engine.workflow.specs import read_diagrams
from tests.service.conftest import ROOT
from tests.wordfiles import word

KEEPER = "dorset.admin"
ON_CASE = [("dorset.police.imr", "imr_author", "police"), ("dorset.police.ce", "chief_executive", "police"),
           ("dorset.socialcare.imr", "imr_author", "social_care"), ("dorset.overview", "overview_author", None),
           ("dorset.panelchair", "panel_chair", None), ("dorset.panelmember", "panel_member", None)]
PROFESSIONALS = [("Augustin Jessop", "Referrer 1"), ("Georgiana Ormerod", "Practitioner P"),
                 ("Ignatius Pettigrew", "Chief Executive P"), ("Leopold Rowntree", "Practitioner S"),
                 ("Barnaby Lockyer", "Panel member 1")]
KEY: dict[str, Any] = {
    "people": [{"real": "Tayla Quist", "aliases": ["Tay"], "dob": "2015-11-23", "role": "subject", "kind": "child",
                "pseudonym": "Child A"},
               {"real": "Mandy Quist", "role": "mother", "kind": "family", "pseudonym": "Mother"},
               *({"real": real, "role": "", "kind": "professional", "pseudonym": alias}
                 for real, alias in PROFESSIONALS)],
    "addresses": ["14 Acacia Road, Poole BH1 2AB"],
    "permitted": [{"name": "Desmond Blenkinsop", "role": "LSCB Chair"},
                  {"name": "Henrietta Kettlewell", "role": "Independent SCR Panel Chair"},
                  {"name": "Clementine Marchbank", "role": "Independent overview author"}]}
NAMES = ["Tayla", "Quist", "Tay ", "Augustin", "Jessop", "Ormerod", "Pettigrew", "Rowntree", "Lockyer", "Acacia",
         "BH1"]
T = datetime(2023, 5, 2, 10, 15, tzinfo=UTC)


def save(services: Services, username: str, case_id: int, outline_id: str, texts: dict[str, str],
         agency: str = "") -> None:
    outline = library(services).outline(outline_id)
    for section, text in texts.items():
        authoring.save_section(services, username, case_id, outline, section, text, agency)


@pytest.fixture
def services(repository_services: Services) -> Services:
    deploy(repository_services, read_diagrams([ROOT / "bpmn"]), by="tester")
    return repository_services


@pytest.fixture
def case_id(services: Services) -> int:
    return a_case(services)


def a_case(services: Services) -> int:
    """A Dorset case with IMRs by police and social care, the overview report and its executive summary written,
    form answers, chronology entries of both agencies, the police IMR signed off, and a complete key."""
    case = start_case(services, "dorset", "dorset.referrer")
    assert case.id is not None
    for username, role, agency in ON_CASE:
        assign_role(services, Assignment(username, role, "dorset", case.id, agency))
    save_key(services, KEEPER, case.id, KEY, expected_version=None)
    save(services, "dorset.overview", case.id, "executive_summary", {
        "review_process": "The review looked at how agencies worked with Tayla Quist and her mother.",
        "key_issues": "Georgiana Ormerod saw Tay at 14 Acacia Road, Poole BH1 2AB, born 23/11/2015.",
        "recommendations": "- See the child alone.\n- Record the child's wishes.",
        "action_plan": "The LSCB keeps an action plan."})
    save(services, "dorset.overview", case.id, "overview_report", {
        "circumstances": "Mandy Quist called the police.", "analysis": "Leopold Rowntree did not share it."})
    save(services, "dorset.police.imr", case.id, "imr", {
        "introduction": "Tayla's mother called the police.", "analysis": "Officers did not see Tayla alone."},
         "police")
    police = authoring.document_state(services, "dorset.police.imr", case.id, library(services).outline("imr"),
                                      "police")
    authoring.sign_off(services, "dorset.police.ce", case.id, police.outline, police.sha256, "police")
    save(services, "dorset.socialcare.imr", case.id, "imr", {"introduction": "Social care knew Tayla Quist."},
         "social_care")
    save(services, "dorset.panelchair", case.id, "synopsis", {
        "context": "A child was hurt.", "issues": "Agencies did not share.", "learning": "See the child alone.",
        "actions": "Training."})
    with services.uow() as uow:
        for n, (agency, form, data) in enumerate((
                ("police", "common/imr_draft.schema.json", {"recommendations": ["Train officers to see Tayla alone."],
                                                             "good_practice": "Augustin Jessop referred quickly."}),
                ("social_care", "common/imr_draft.schema.json", {"recommendations": ["Social care: share early."]}),
                (None, "dorset/scr_action_plan.schema.json", {"scr_actions": [
                    {"action": "Audit how Tay's school shares concerns", "lead_agency": "education",
                     "timescale": "3 months"}]}))):
            uow.submissions.add(SubmissionRecord(case.id, f"task-{n}", "step", "Step", None, agency, form,
                                                 "tester", services.clock.now(), data))
        uow.documents.add_entries([
            ChronologyRecord(None, case.id, "police", T, "Officers saw Tayla Quist with Mandy Quist.",
                             subject="Tayla Quist", source="Log 1", seen=True, created_by="tester", created_at=T),
            ChronologyRecord(None, case.id, "social_care", T.replace(day=9), "Visit; Tay was not seen alone.",
                             subject="Child", source="Case note", created_by="tester", created_at=T)])
        uow.commit()
    return case.id


def texts_of(data: bytes) -> str:
    """Every paragraph and table cell of a Word file, one per line."""
    document = docx.Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(lines)


def files_of(zipped: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def reference(services: Services, case_id: int) -> str:
    with services.uow() as uow:
        case = uow.cases.get(case_id)
    assert case is not None
    return case.reference.replace("/", "-").replace(" ", "-")


def events(services: Services, case_id: int, kind: str) -> list[dict[str, Any]]:
    with services.uow() as uow:
        return [e.detail for e in uow.events.for_case(case_id) if e.kind == kind]


def run(services: Services, case_id: int, pack_id: str) -> Any:
    return run_pack(services, start_pack(services, KEEPER, case_id, pack_id))


def test_the_ofsted_pack_holds_each_document_filled_from_the_case_with_pseudonyms_in_place_of_names(
        services: Services, case_id: int) -> None:
    released = run(services, case_id, "ofsted")

    assert released.status == "released", released.findings
    ref = reference(services, case_id)
    files = files_of(released.data)
    assert list(files) == [f"{ref}-{name}.docx" for name in ("overview-report", "executive-summary",
                                                               "imr-social_care", "imr-police", "chronology",
                                                               "action-plan")]
    every = {name: texts_of(data) for name, data in files.items()}
    for name, text in every.items():
        assert not [n for n in NAMES if n in text], name
    overview, police = every[f"{ref}-overview-report.docx"], every[f"{ref}-imr-police.docx"]
    assert "The review looked at how agencies worked with Child A and her mother." in overview  # the summary's text
    assert "Practitioner P saw Child A at [address removed], Poole [postcode removed], born [date of birth removed]." \
        in overview
    assert "Desmond Blenkinsop" in overview and "Henrietta Kettlewell" in overview  # officials who may be named
    assert "SCR Panel member (the per-case panel)" in overview and "Panel member 1" not in overview  # by post
    assert "Child A's mother called the police." in police
    assert "Train officers to see Child A alone." in police  # the police answers, not social care's
    assert "Social care: share early." not in police
    assert "Officers saw Child A with Mother." in police and "Visit; Child A was not seen alone." not in police
    assert "Chief Executive P" in police and "Signed off in the system" in police  # the sign-off that holds
    assert "Visit; Child A was not seen alone." in every[f"{ref}-chronology.docx"]
    assert "Audit how Child A's school shares concerns" in every[f"{ref}-action-plan.docx"]
    assert (released.done, released.total) == (12, 12)
    assert len(released.sha256 or "") == 64
    assert events(services, case_id, "pack_released")[0]["files"] == 6


def test_a_name_left_in_an_uploaded_imrs_comment_refuses_the_pack_saying_which_file_and_where_never_the_name(
        services: Services, case_id: int) -> None:
    uploaded = word("Social care knew Tayla Quist well.", comment="Check this with Tayla's teacher")
    authoring.upload(services, KEEPER, case_id, library(services).outline("imr"), "imr.docx", uploaded,
                     "social_care")

    refused = run(services, case_id, "ofsted")

    assert refused.status == "refused" and refused.data is None
    ref = reference(services, case_id)
    assert refused.findings["findings"] == [f"{ref}-imr-social_care.docx: comment, offset 16: forename of Child A"]
    assert "Tayla" not in repr(refused.findings) + repr(events(services, case_id, "release_refused"))
    assert [e["route"] for e in events(services, case_id, "release_refused")] == ["pack:ofsted"]
    with pytest.raises(Conflict):
        download(services, KEEPER, case_id, refused.id or 0)


def test_nothing_leaves_while_the_key_is_incomplete(services: Services, case_id: int) -> None:
    with services.uow() as uow:
        version = uow.documents.key(case_id).lock_version  # type: ignore[union-attr]
    incomplete = {**KEY, "people": [{**KEY["people"][0], "pseudonym": ""}, *KEY["people"][1:]]}
    save_key(services, KEEPER, case_id, incomplete, expected_version=version)

    refused = run(services, case_id, "publication")
    assert refused.status == "refused"
    assert refused.findings["findings"] == ["person 1 (child, subject) has no pseudonym"]
    with pytest.raises(AnonymisationFailed) as export:
        export_document(services, "dorset.panelchair", case_id, "synopsis", "", "docx")
    assert export.value.findings == ["person 1 (child, subject) has no pseudonym"]
    assert len(events(services, case_id, "release_refused")) == 2


def test_one_document_leaves_anonymised_for_whoever_may_read_it_with_its_sha256_audited(
        services: Services, case_id: int) -> None:
    exported = export_document(services, "dorset.police.imr", case_id, "imr", "police", "docx")

    assert exported.name == f"{reference(services, case_id)}-imr-police.docx"
    assert "Child A's mother called the police." in texts_of(exported.data)
    [released] = events(services, case_id, "document_released")
    assert released["route"] == "export:imr:docx" and len(released["sha256"]) == 64
    with pytest.raises(NotPermitted):  # another agency's IMR author
        export_document(services, "dorset.socialcare.imr", case_id, "imr", "police", "docx")
    with pytest.raises(NotFound):
        export_document(services, "dorset.police.imr", case_id, "imr", "police", "odt")


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed (scripts/setup)")
def test_a_synopsis_running_to_three_sides_is_refused_as_a_pdf(services: Services, case_id: int) -> None:
    sentence = "Practitioners did not share what they knew about the family with each other in time. "
    long = "\n\n".join([sentence * 6] * 7)
    save(services, "dorset.panelchair", case_id, "synopsis", dict.fromkeys(("context", "issues", "learning"), long))

    with pytest.raises(InvalidSubmission) as refused:
        export_document(services, "dorset.panelchair", case_id, "synopsis", "", "pdf")

    [error] = refused.value.errors
    assert error.message.startswith("The synopsis of learning runs to ") and "the procedure allows 2 (App. 7)" in \
        error.message
    assert events(services, case_id, "document_released") == []


def test_the_publication_set_holds_only_public_documents(services: Services, case_id: int) -> None:
    released = run(services, case_id, "publication")

    ref = reference(services, case_id)
    assert released.status == "released"
    assert list(files_of(released.data)) == [f"{ref}-executive-summary.docx", f"{ref}-synopsis.docx"]
    books = library(services)
    publication = read_packs(books, services.catalogue).packs["publication"]
    assert publication.public and {d.audience for d in publication.documents} == {"public"}


def test_a_packs_file_that_would_publish_an_internal_document_is_refused_saying_where(
        services: Services, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "forms" / "documents", tmp_path / "documents")
    packs = tmp_path / "documents" / "packs.json"
    packs.write_text(packs.read_text().replace('{"outline": "synopsis"}', '{"outline": "imr"}'))
    services.documents_dir = tmp_path / "documents"

    with pytest.raises(InvalidOutline) as refused:
        read_packs(library(services), services.catalogue)

    assert str(refused.value).splitlines() == [
        f"{packs}: packs[1].documents[1].audience: a public pack holds public documents only; the Individual "
        "Management Review is internal"]


def test_progress_is_written_as_each_document_is_built_and_scanned_and_reaches_its_total(
        services: Services, case_id: int, monkeypatch: pytest.MonkeyPatch) -> None:
    release_id = start_pack(services, KEEPER, case_id, "ofsted")
    queued = release_of(services, KEEPER, case_id, release_id)
    assert (queued.status, queued.done, queued.total) == ("queued", 0, 12)
    seen: list[tuple[int, int]] = []
    original = SqlDocumentRepository.update_release

    def recorded(self: SqlDocumentRepository, release: int, **changes: Any) -> None:
        if "done" in changes and "status" not in changes:
            seen.append((changes["done"], changes["total"]))
        original(self, release, **changes)

    monkeypatch.setattr(SqlDocumentRepository, "update_release", recorded)
    thread = run_in_background(services, release_id)
    thread.join(60)

    assert not thread.is_alive()
    assert seen == [(n, 12) for n in range(13)]  # six built, then six scanned
    done = release_of(services, KEEPER, case_id, release_id)
    assert done.status == "released" and (done.done, done.total) == (12, 12)


def test_a_released_pack_is_downloaded_by_the_keeper_while_the_key_is_unchanged(
        services: Services, case_id: int) -> None:
    released = run(services, case_id, "publication")

    name, data = download(services, KEEPER, case_id, released.id or 0)
    assert name == f"{reference(services, case_id)}-publication.zip" and data == released.data
    assert events(services, case_id, "pack_downloaded") == [{"pack": "publication", "release": released.id,
                                                             "sha256": released.sha256}]
    with pytest.raises(NotPermitted):
        download(services, "dorset.police.imr", case_id, released.id or 0)
    with services.uow() as uow:
        version = uow.documents.key(case_id).lock_version  # type: ignore[union-attr]
    save_key(services, KEEPER, case_id, KEY, expected_version=version)
    with pytest.raises(Conflict, match="key has changed"):
        download(services, KEEPER, case_id, released.id or 0)
    view = packs_view(services, KEEPER, case_id)
    assert [p.pack.id for p in view.packs] == ["ofsted", "publication"]
    assert [(d.outline.id, d.agency) for d in view.packs[0].documents] == [
        ("overview_report", ""), ("executive_summary", ""), ("imr", "social_care"), ("imr", "police"),
        ("chronology", ""), ("action_plan", "")]
    assert [r.id for r in view.releases] == [released.id] and view.missing == ()


def test_only_the_keeper_starts_a_pack(services: Services, case_id: int) -> None:
    with pytest.raises(NotPermitted):
        start_pack(services, "dorset.overview", case_id, "ofsted")
    with pytest.raises(NotFound):
        start_pack(services, KEEPER, case_id, "nosuchpack")
    with services.uow() as uow:
        assert uow.documents.releases(case_id) == []
