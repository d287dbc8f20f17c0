"""Nothing leaves un-anonymised: the gate refuses while the key is incomplete, refuses a planted name saying where
(never what) with one audit event and nothing delivered, never publishes an internal document, and releases a
clean pack as a zip with progress and its sha256 (T-L3, T-L4)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from engine.authoring.versions import deploy
from engine.casework.accounts import seed_users
from engine.casework.cases import start_case
from engine.casework.services import Services
from engine.documents.keys import save_key
from engine.documents.release import Outgoing, release_file, run_release
from engine.errors import AnonymisationFailed, NotPermitted
from engine.ports import ReleaseRecord
from tests.wordfiles import word

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "simple.bpmn"
KEY = {"people": [{"real": "Tayla Quist", "aliases": ["Tay"], "dob": "2015-11-23", "role": "subject",
                   "kind": "child", "pseudonym": "Child A"},
                  {"real": "Rita Referrer", "role": "referrer", "kind": "professional", "pseudonym": "Professional R"}],
       "addresses": [], "permitted": [{"name": "Carl Chair", "role": "LSCB Chair"}]}


@pytest.fixture
def services(fixture_services: Services) -> Services:
    seed_users(fixture_services, [{"username": "adam", "display_name": "Adam Admin", "board": "fx",
                                   "roles": ["admin"]}])
    deploy(fixture_services, {"simple.bpmn": FIXTURE.read_bytes()}, by="tester")
    return fixture_services


def case_with_key(services: Services, key: dict[str, object] | None = KEY) -> int:
    case = start_case(services, "fx", "rita")
    assert case.id is not None
    if key is not None:
        save_key(services, "adam", case.id, key, expected_version=None)
    return case.id


def refusals(services: Services, case_id: int) -> list[dict[str, object]]:
    with services.uow() as uow:
        return [e.detail for e in uow.events.for_case(case_id) if e.kind == "release_refused"]


def test_nothing_leaves_while_the_key_is_incomplete(services: Services) -> None:
    case_id = case_with_key(services, {**KEY, "people": [{"real": "Tayla Quist", "kind": "child"}]})
    with pytest.raises(AnonymisationFailed) as refused:
        release_file(services, "adam", case_id, Outgoing("summary.docx", word("Child A was seen.")), "download")
    assert "person 1 (child) has no pseudonym" in refused.value.findings
    assert len(refusals(services, case_id)) == 1


def test_a_planted_name_is_refused_with_where_it_is_but_not_the_name_and_one_audit_event(services: Services) -> None:
    case_id = case_with_key(services)
    planted = word("Child A was seen at school.", "Carl Chair chaired.", "Later Tayla said she was hungry.")
    with pytest.raises(AnonymisationFailed) as refused:
        release_file(services, "adam", case_id, Outgoing("executive-summary.docx", planted), "download")
    assert refused.value.code == "anonymisation_failed"
    assert refused.value.findings == ["executive-summary.docx: body, offset 54: forename of Child A"]
    assert "Tayla" not in str(refused.value) + repr(refusals(services, case_id))
    assert refusals(services, case_id) == [{"route": "download", "files": 1, "findings": 1,
                                            "where": ["body, offset 54"]}]


def test_a_clean_document_leaves_with_its_sha256_audited(services: Services) -> None:
    case_id = case_with_key(services)
    clean = word("Child A was seen at school by Professional R.", "Carl Chair chaired the panel.")
    assert release_file(services, "adam", case_id, Outgoing("summary.docx", clean, "public"), "download",
                        public=True) == clean
    with services.uow() as uow:
        [event] = [e for e in uow.events.for_case(case_id) if e.kind == "document_released"]
    assert len(str(event.detail["sha256"])) == 64 and refusals(services, case_id) == []


def test_an_imr_as_written_is_never_published(services: Services) -> None:
    case_id = case_with_key(services)
    with pytest.raises(NotPermitted):
        release_file(services, "adam", case_id, Outgoing("imr.docx", word("x"), "internal"), "download",
                     public=True)


def queued(services: Services, case_id: int, kind: str) -> ReleaseRecord:
    with services.uow() as uow:
        record = uow.documents.add_release(ReleaseRecord(None, case_id, kind, "queued", "adam",
                                                         services.clock.now()))
        uow.commit()
    return record


def test_a_pack_is_released_as_one_zip_with_progress_or_refused_with_its_findings_kept(services: Services) -> None:
    case_id = case_with_key(services)
    files = [Outgoing("overview.docx", word("Child A was seen.")), Outgoing("summary.docx", word("Fine."))]
    done = run_release(services, queued(services, case_id, "ofsted"), "adam", lambda progress: files)
    assert done.status == "released" and (done.done, done.total) == (4, 4) and done.data is not None
    assert zipfile.ZipFile(io.BytesIO(done.data)).namelist() == ["overview.docx", "summary.docx"]
    leaky = [*files, Outgoing("synopsis.docx", word("Tay was hungry."))]
    refused = run_release(services, queued(services, case_id, "ofsted"), "adam", lambda progress: leaky)
    assert refused.status == "refused" and refused.data is None
    assert refused.findings["findings"] == ["synopsis.docx: body, offset 0: alias of Child A"]
    assert len(refusals(services, case_id)) == 1
