"""Changing a real diagram and deploying it changes new cases, with no code change; running cases stay put."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from engine.authoring.versions import deploy
from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.services import Services
from engine.workflow.specs import read_diagrams
from tests.drive import SCR_PATH, SUPERUSER, drive_until, form_data, grant_everything, ready

ROOT = Path(__file__).resolve().parents[2]
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
IMR_FILE = ROOT / "bpmn" / "common" / "imr.bpmn"
AGENCIES = ["police", "social_care"]


def deploy_repository(services: Services) -> None:
    deploy(services, read_diagrams([ROOT / "bpmn"]), by="tester")


def deadline_timer_id(text: str, expression: str) -> str:
    """The id of the boundary event whose timer date is `expression` (e.g. the IMR's `imr_due`)."""
    root = etree.fromstring(text.encode())
    for node in root.iter(f"{{{BPMN}}}timeDate"):
        if (node.text or "").strip() == expression:
            return str(node.getparent().getparent().get("id"))
    raise AssertionError(f"no timer {expression} in the diagram")


def timers_of(services: Services, case_id: int) -> dict[str, Any]:
    with services.uow() as uow:
        return {t.name: t.due_at for t in uow.timers.for_case(case_id)}  # type: ignore[attr-defined]


def case_at_imr_stage(services: Services, board: str, timer: str) -> int:
    record = start_case(services, board, SUPERUSER)
    assert record.id is not None
    case_id = record.id
    drive_until(services, case_id, lambda _tasks: timer in timers_of(services, case_id),
                {**SCR_PATH, "agencies": AGENCIES})
    return case_id


@pytest.mark.parametrize("board", ["dorset", "bournemouth-poole"])
def test_moving_the_imr_escalation_two_weeks_earlier_changes_new_cases_only(
        repository_services: Services, board: str) -> None:
    services = repository_services
    deploy_repository(services)
    grant_everything(services, board, AGENCIES)
    text = IMR_FILE.read_text()
    escalation = deadline_timer_id(text, "imr_due")
    old_case = case_at_imr_stage(services, board, escalation)
    shipped = timers_of(services, old_case)[escalation]

    edited = text.replace(">imr_due</bpmn:timeDate>", ">add_weeks(imr_due, -2)</bpmn:timeDate>")
    versions = deploy(services, {"common/imr.bpmn": edited.encode()}, by="owner")
    assert len(versions) == 2, "both boards call the shared IMR process, so both get a new version"
    new_case = case_at_imr_stage(services, board, escalation)

    assert timers_of(services, new_case)[escalation] == shipped - timedelta(weeks=2)
    assert timers_of(services, old_case)[escalation] == shipped
    with services.uow() as uow:
        assert uow.cases.get(new_case).version_id != uow.cases.get(old_case).version_id


def add_user_task_after_first(text: str, form: str) -> tuple[str, str]:
    """The diagram with a new user task after its first user task, in the same lane; returns (xml, task name)."""
    root = etree.fromstring(text.encode())
    process = root.find(f"{{{BPMN}}}process")
    assert process is not None
    first = process.find(f"{{{BPMN}}}userTask")
    assert first is not None
    flow = next(f for f in process.iter(f"{{{BPMN}}}sequenceFlow") if f.get("sourceRef") == first.get("id"))
    old_target = flow.get("targetRef")
    new = etree.SubElement(process, f"{{{BPMN}}}userTask", id="added_check", name="Check the referral is complete")
    extensions = etree.SubElement(new, f"{{{BPMN}}}extensionElements")
    props = etree.SubElement(extensions, "{http://spiffworkflow.org/bpmn/schema/1.0/core}properties")
    etree.SubElement(props, "{http://spiffworkflow.org/bpmn/schema/1.0/core}property",
                     name="formJsonSchemaFilename", value=form)
    flow.set("targetRef", "added_check")
    etree.SubElement(process, f"{{{BPMN}}}sequenceFlow", id="added_flow", sourceRef="added_check",
                     targetRef=str(old_target))
    for lane in root.iter(f"{{{BPMN}}}lane"):
        refs = [r.text for r in lane.iterfind(f"{{{BPMN}}}flowNodeRef")]
        if first.get("id") in refs:
            etree.SubElement(lane, f"{{{BPMN}}}flowNodeRef").text = "added_check"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode(), "Check the referral is complete"


@pytest.mark.parametrize("board,path", [("dorset", "dorset/scr_dorset.bpmn"),
                                        ("bournemouth-poole", "bournemouth-poole/scr_bournemouth_poole.bpmn")])
def test_a_new_user_task_in_an_existing_lane_reaches_new_cases_only(
        repository_services: Services, board: str, path: str) -> None:
    services = repository_services
    deploy_repository(services)
    grant_everything(services, board, AGENCIES)
    old = start_case(services, board, SUPERUSER)
    [first_old] = ready(services, old.id or 0)
    edited, title = add_user_task_after_first((ROOT / "bpmn" / path).read_text(), str(first_old.form))
    deploy(services, {path: edited.encode()}, by="owner")
    new = start_case(services, board, SUPERUSER)
    for case_id in (old.id or 0, new.id or 0):
        [first] = ready(services, case_id)
        complete_task(services, first.id, SUPERUSER, form_data(services, case_id, first, SCR_PATH))
    assert title in [t.title for t in ready(services, new.id or 0)]
    assert title not in [t.title for t in ready(services, old.id or 0)]
    [added] = [t for t in ready(services, new.id or 0) if t.title == title]
    assert added.role == first_old.role, "the new task sits in the lane of the task before it"
