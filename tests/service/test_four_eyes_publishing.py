"""The studio's rules (RELIABILITY.md T-A6): a change is checked on every save, cannot be submitted while it has
problems, and is published only when a second process owner of the board approves it; a roll-back is a
publication of an earlier version, approved the same way; a new procedure of a board becomes startable."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.authoring import studio
from engine.authoring.versions import deploy
from engine.casework.cases import start_case, startable_procedures
from engine.casework.services import Services
from engine.errors import Conflict, InvalidDiagram, InvalidSubmission, NotFound, NotPermitted
from engine.workflow.specs import read_diagrams
from tests.service.conftest import ROOT

ENGLAND = ROOT / "tests" / "fixtures" / "england"
A, B, OTHER_BOARD = "dorset.owner", "dorset.owner.second", "bp.owner"


@pytest.fixture
def services(repository_services: Services) -> Services:
    """The repository's procedures deployed, its demo users seeded."""
    deploy(repository_services, read_diagrams([ROOT / "bpmn"]), by="tests")
    return repository_services


def _draft(services: Services, who: str = A) -> int:
    published = studio.published_version(services, "scr_dorset")
    assert published is not None and published.id is not None
    draft = studio.start_draft(services, who, published.id)
    assert draft.id is not None and draft.problems == []
    return draft.id


def _main(services: Services, draft_id: int) -> str:
    return next(k for k in studio.get_draft(services, A, draft_id).files if k.endswith("scr_dorset.bpmn"))


def _change_timer(services: Services, draft_id: int) -> None:
    path = _main(services, draft_id)
    text = studio.get_draft(services, A, draft_id).files[path]
    studio.save_file(services, A, draft_id, path, text.replace('"P12W"', '"P8W"'))


def _events(services: Services, kind: str) -> list[tuple[str | None, dict[str, object]]]:
    with services.uow() as uow:
        return [(e.actor, e.detail) for e in uow.events.for_case(None) if e.kind == kind]


def test_approving_your_own_change_is_refused_and_a_second_owner_publishes_it_for_new_cases(
        services: Services) -> None:
    before = start_case(services, "dorset", "dorset.referrer")
    draft_id = _draft(services)
    _change_timer(services, draft_id)
    studio.submit(services, A, draft_id, "Monitoring every eight weeks")
    with pytest.raises(NotPermitted, match="four eyes"):
        studio.approve(services, A, draft_id)
    assert studio.published_version(services, "scr_dorset").id == before.version_id  # type: ignore[union-attr]
    version = studio.approve(services, B, draft_id)
    assert (version.deployed_by, version.approved_by, version.note) == (A, B, "Monitoring every eight weeks")
    after = start_case(services, "dorset", "dorset.referrer")
    assert after.version_id == version.id != before.version_id
    with services.uow() as uow:
        assert uow.cases.get(before.id or 0).version_id == before.version_id
    [(submitter, _)] = _events(services, "procedure_submitted")
    [(approver, detail)] = _events(services, "procedure_published")
    assert (submitter, approver, detail["submitted_by"], detail["approved_by"]) == (A, B, A, B)


def test_a_draft_with_problems_is_saved_but_cannot_be_submitted_and_nothing_is_published(
        services: Services) -> None:
    draft_id = _draft(services)
    path = _main(services, draft_id)
    text = studio.get_draft(services, A, draft_id).files[path]
    saved = studio.save_file(services, A, draft_id, path, text.replace('name="LSCB Chair"', 'name="Chief Wizard"'))
    assert any(p["code"] == "unknown_lane" for p in saved.problems)
    published = studio.published_version(services, "scr_dorset")
    with pytest.raises(InvalidDiagram):
        studio.submit(services, A, draft_id, "a lane renamed")
    assert studio.get_draft(services, A, draft_id).status == "draft"
    assert studio.published_version(services, "scr_dorset") == published


def test_a_hostile_diagram_is_refused_before_it_is_stored(services: Services) -> None:
    draft_id = _draft(services)
    path = _main(services, draft_id)
    before = studio.get_draft(services, A, draft_id)
    hostile = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    with pytest.raises(InvalidDiagram):
        studio.save_file(services, A, draft_id, path, hostile)
    with pytest.raises(InvalidDiagram):
        studio.upload_draft(services, A, "dorset", "evil.bpmn", hostile.encode())
    with pytest.raises(InvalidSubmission):
        studio.save_file(services, A, draft_id, "../../etc/passwd.bpmn", "<x/>")
    assert studio.get_draft(services, A, draft_id) == before
    assert len([d for d in studio.overview(services, A) if d.drafts]) == 1


def test_a_stale_save_is_refused_with_a_conflict(services: Services) -> None:
    draft_id = _draft(services)
    opened = studio.get_draft(services, A, draft_id).lock_version
    _change_timer(services, draft_id)
    path = _main(services, draft_id)
    text = studio.get_draft(services, A, draft_id).files[path]
    with pytest.raises(Conflict, match="reload"):
        studio.save_file(services, A, draft_id, path, text, lock_version=opened)


def test_nobody_but_the_boards_own_process_owners_sees_or_changes_its_procedures(services: Services) -> None:
    draft_id = _draft(services)
    for outsider in (OTHER_BOARD, "dorset.admin", "dorset.referrer"):
        with pytest.raises(NotFound):
            studio.get_draft(services, outsider, draft_id)
        assert studio.overview(services, outsider) == [] or outsider == OTHER_BOARD
    studio.submit(services, A, draft_id, "no change at all")
    with pytest.raises(NotFound):
        studio.approve(services, OTHER_BOARD, draft_id)


def test_rolling_back_publishes_the_earlier_version_again_once_a_second_owner_approves(
        services: Services) -> None:
    first = studio.published_version(services, "scr_dorset")
    assert first is not None and first.id is not None
    draft_id = _draft(services)
    _change_timer(services, draft_id)
    studio.submit(services, A, draft_id, "eight weeks")
    second = studio.approve(services, B, draft_id)
    back = studio.request_rollback(services, B, first.id, "eight weeks is too often")
    assert back.status == "submitted"
    with pytest.raises(NotPermitted):
        studio.approve(services, B, back.id or 0)
    again = studio.approve(services, A, back.id or 0)
    assert again.id == first.id != second.id
    assert start_case(services, "dorset", "dorset.referrer").version_id == first.id
    with services.uow() as uow:
        assert [p.version_id for p in uow.versions.publications("scr_dorset")] == [first.id, second.id, first.id]


def test_a_new_procedure_uploaded_for_a_board_becomes_startable_once_approved(services: Services) -> None:
    draft = studio.upload_draft(services, A, "dorset", "lcspr_england.bpmn",
                                (ENGLAND / "lcspr_england.bpmn").read_bytes(), "the England procedure")
    assert draft.process_id == "lcspr_england" and {p["code"] for p in draft.problems} == {"form_missing"}
    assert draft.id is not None
    for form in sorted((ENGLAND / "forms" / "england").glob("*.json")):
        draft = studio.save_file(services, A, draft.id or 0, f"forms/england/{form.name}", form.read_text())
    assert draft.problems == []
    studio.submit(services, A, draft.id or 0, "England's procedure")
    studio.approve(services, B, draft.id or 0)
    assert [p for p, _ in startable_procedures(services, "dorset")] == ["scr_dorset", "lcspr_england"]
    record = start_case(services, "dorset", "dorset.admin", process_id="lcspr_england")
    assert record.process_id == "lcspr_england"
    with pytest.raises(NotFound):
        start_case(services, "bournemouth-poole", "bp.admin", process_id="lcspr_england")
    with pytest.raises(InvalidDiagram, match="another board"):
        studio.upload_draft(services, OTHER_BOARD, "bournemouth-poole", "lcspr_england.bpmn",
                            (ENGLAND / "lcspr_england.bpmn").read_bytes())


def test_an_upload_that_is_not_a_bpmn_file_is_refused_with_what_to_do(services: Services, tmp_path: Path) -> None:
    with pytest.raises(InvalidSubmission, match=r"\.bpmn"):
        studio.upload_draft(services, A, "dorset", "notes.txt", b"hello")
    with pytest.raises(InvalidDiagram, match="executable"):
        studio.upload_draft(services, A, "dorset", "sketch.bpmn", (
            b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">'
            b'<bpmn:process id="p" isExecutable="false"/></bpmn:definitions>'))
