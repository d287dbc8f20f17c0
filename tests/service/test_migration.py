"""Running cases and new versions (RELIABILITY.md T-V1, T-V3): cases stay on their version until a process owner
moves them; a move is previewed, refused when unsafe (nothing changes), audited, undoable, and runs in bulk."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from engine.authoring import migration
from engine.authoring.migration import (
    migrate_case,
    pinned_cases,
    preview_case,
    run_in_background,
    run_job,
    run_queued_jobs,
    start_job,
    undo_migration,
)
from engine.authoring.versions import deploy
from engine.casework.cases import start_case
from engine.casework.services import Services
from engine.casework.worker import start_background_worker
from engine.errors import Conflict, InvalidSubmission, MigrationNotSafe, NotFound, NotPermitted
from engine.ports import VersionRecord
from engine.workflow.specs import read_diagrams
from tests.drive import SCR_PATH, SUPERUSER, drive_until, grant_everything, ready

ROOT = Path(__file__).resolve().parents[2]
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DORSET = "dorset/scr_dorset.bpmn"
AGENCIES = ["police", "social_care"]
CHOICES = {**SCR_PATH, "agencies": AGENCIES}
OWNER = "dorset.owner"  # holds process_owner on the Dorset board (forms/users.json)


# ---- building v2 by editing the deployed XML ---------------------------------------------------------------------

def _edit(text: str, change: Callable[[etree._Element], None]) -> str:
    root = etree.fromstring(text.encode())
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()


def _by_id(root: etree._Element, element: str) -> etree._Element:
    return next(n for n in root.iter() if n.get("id") == element)


def _flows(root: etree._Element) -> list[etree._Element]:
    return list(root.iter(f"{{{BPMN}}}sequenceFlow"))


def remove_elements(text: str, *elements: str) -> str:
    """The diagram without these elements, the flows touching them, their lane entries, shapes and `reads`."""
    def change(root: etree._Element) -> None:
        flows = {f.get("id") for f in _flows(root) if f.get("sourceRef") in elements or f.get("targetRef") in elements}
        gone = set(elements) | flows
        for node in [n for n in root.iter() if n.get("id") in gone]:
            node.getparent().remove(node)
        for ref in [r for r in root.iter(f"{{{BPMN}}}flowNodeRef", f"{{{BPMN}}}incoming", f"{{{BPMN}}}outgoing")
                    if r.text in gone]:
            ref.getparent().remove(ref)
        for shape in [s for s in root.iter(f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge")
                      if s.get("bpmnElement") in gone]:
            shape.getparent().remove(shape)
        for prop in root.iter(f"{{{SPIFF}}}property"):
            if prop.get("name") == "reads":
                prop.set("value", ", ".join(r.strip() for r in prop.get("value", "").split(",")
                                            if r.strip() not in gone))
    return _edit(text, change)


def remove_step(text: str, element: str) -> str:
    """The diagram without one step of a straight path: its incoming flow now leads to its successor."""
    def reroute(root: etree._Element) -> None:
        [into] = [f for f in _flows(root) if f.get("targetRef") == element]
        [out] = [f for f in _flows(root) if f.get("sourceRef") == element]
        out.set("sourceRef", into.get("sourceRef", ""))
        for ref in _by_id(root, into.get("sourceRef", "")).iterchildren(f"{{{BPMN}}}outgoing"):
            if ref.text == into.get("id"):
                ref.text = out.get("id")
    return remove_elements(_edit(text, reroute), element)


def add_step_after(text: str, element: str, new_id: str, title: str) -> str:
    """The diagram with a new user task (same lane and form) right after `element`."""
    def change(root: etree._Element) -> None:
        node = _by_id(root, element)
        [flow] = [f for f in _flows(root) if f.get("sourceRef") == element]
        form = next(p.get("value") for p in node.iter(f"{{{SPIFF}}}property")
                    if p.get("name") == "formJsonSchemaFilename")
        new = etree.SubElement(node.getparent(), f"{{{BPMN}}}userTask", id=new_id, name=title)
        props = etree.SubElement(etree.SubElement(new, f"{{{BPMN}}}extensionElements"), f"{{{SPIFF}}}properties")
        etree.SubElement(props, f"{{{SPIFF}}}property", name="formJsonSchemaFilename", value=form)
        etree.SubElement(node.getparent(), f"{{{BPMN}}}sequenceFlow", id=f"{new_id}_flow", sourceRef=new_id,
                         targetRef=flow.get("targetRef", ""))
        flow.set("targetRef", new_id)
        for lane in root.iter(f"{{{BPMN}}}lane"):
            if element in [r.text for r in lane.iterfind(f"{{{BPMN}}}flowNodeRef")]:
                etree.SubElement(lane, f"{{{BPMN}}}flowNodeRef").text = new_id
    return _edit(text, change)


def move_to_new_lane(text: str, element: str, lane_name: str) -> str:
    """The diagram with `element` in a new lane of its process (a catalogue role the process had no lane for)."""
    def change(root: etree._Element) -> None:
        for ref in [r for r in root.iter(f"{{{BPMN}}}flowNodeRef") if r.text == element]:
            lane_set = ref.getparent().getparent()
            ref.getparent().remove(ref)
        lane = etree.SubElement(lane_set, f"{{{BPMN}}}lane", id="lane_added_in_v2", name=lane_name)
        etree.SubElement(lane, f"{{{BPMN}}}flowNodeRef").text = element
    return _edit(text, change)


def move_to_lane(text: str, element: str, lane_name: str) -> str:
    """The diagram with `element` moved to the lane called `lane_name` of its process."""
    def change(root: etree._Element) -> None:
        for ref in [r for r in root.iter(f"{{{BPMN}}}flowNodeRef") if r.text == element]:
            ref.getparent().remove(ref)
        [lane] = [lane for lane in root.iter(f"{{{BPMN}}}lane") if lane.get("name") == lane_name
                  and element in {n.get("id") for n in lane.getparent().getparent()}]
        etree.SubElement(lane, f"{{{BPMN}}}flowNodeRef").text = element
    return _edit(text, change)


def dorset_text() -> str:
    return (ROOT / "bpmn" / DORSET).read_text()


def publish(services: Services, text: str) -> VersionRecord:
    """Deploy (and so publish) an edited Dorset diagram; returns the new Dorset version."""
    [version] = [v for v in deploy(services, {DORSET: text.encode()}, by=OWNER) if v.process_id == "scr_dorset"]
    return version


# ---- cases ----------------------------------------------------------------------------------------------------------

@pytest.fixture
def services(repository_services: Services) -> Services:
    """The repository's procedures deployed, with a driver holding every Dorset role."""
    deploy(repository_services, read_diagrams([ROOT / "bpmn"]), by="tester")
    grant_everything(repository_services, "dorset", AGENCIES)
    return repository_services


def case_after(services: Services, steps: int) -> int:
    """A new Dorset case driven `steps` steps down the main path (0: just started)."""
    record = start_case(services, "dorset", SUPERUSER)
    assert record.id is not None
    done = iter(range(steps + 1))
    drive_until(services, record.id, lambda _tasks: next(done) == steps, CHOICES)
    return record.id


def finish(services: Services, case_id: int) -> None:
    drive_until(services, case_id, lambda tasks: not tasks, CHOICES, max_steps=400)


def ready_names(services: Services, case_id: int) -> list[str]:
    return sorted(t.name for t in ready(services, case_id))


def snapshot(services: Services, case_id: int) -> tuple[Any, ...]:
    """Everything a migration may change about a case: its row, task and timer rows, history and migrations."""
    with services.uow() as uow:
        return (uow.cases.get(case_id),
                sorted((t.id, t.name, t.title, t.role, t.state, t.claimed_by) for t in uow.tasks.for_case(case_id)),
                sorted((t.id, t.name, t.due_at, t.fired_at) for t in uow.timers.for_case(case_id)),
                len(uow.events.for_case(case_id)), len(uow.migrations.for_case(case_id)))


def version_of(services: Services, case_id: int) -> tuple[int, str]:
    with services.uow() as uow:
        record = uow.cases.get(case_id)
        return record.version_id, uow.versions.get(record.version_id).content_hash


def role_of(services: Services, case_id: int, task: str) -> set[str | None]:
    with services.uow() as uow:
        return {t.role for t in uow.tasks.for_case(case_id) if t.name == task}


# ---- T-V1 ----------------------------------------------------------------------------------------------------------

def test_twenty_cases_started_on_v1_finish_on_v1_while_new_cases_start_on_v2(services: Services) -> None:
    # twenty cases spread over the wait states: just referred, at the decision, the review's branches running, both
    # agencies' IMRs under way (their timers waiting), one agency's IMR done and the other's not, the overview ...
    old_cases = [case_after(services, steps) for steps in range(0, 60, 3)]
    assert len(old_cases) == 20
    pinned = {case_id: version_of(services, case_id) for case_id in old_cases}
    v2_text = move_to_new_lane(
        remove_elements(dorset_text().replace('name="Receive and distribute the proforma"',
                                              'name="Receive the proforma"'),
                        "exec_summary_overdue_timer", "exec_summary_overdue", "exec_summary_overdue_end"),
        "publication_meeting", "SCR Panel")
    v2 = publish(services, v2_text)

    new_case = case_after(services, 0)

    assert version_of(services, new_case) == (v2.id, v2.content_hash)
    assert {case_id: version_of(services, case_id) for case_id in old_cases} == pinned
    for case_id in [*old_cases, new_case]:
        finish(services, case_id)
    assert {c: version_of(services, c) for c in old_cases} == pinned
    with services.uow() as uow:
        assert {uow.cases.get(c).status for c in [*old_cases, new_case]} == {"completed"}
        titles = {t.title for t in uow.tasks.for_case(old_cases[0]) if t.name == "receive_proforma"}
        assert titles == {"Receive and distribute the proforma"}, "the case kept v1's name for the step"
        assert {t.title for t in uow.tasks.for_case(new_case) if t.name == "receive_proforma"} == {
            "Receive the proforma"}
    assert all(role_of(services, c, "publication_meeting") == {"business_manager"} for c in old_cases)
    assert role_of(services, new_case, "publication_meeting") == {"panel_member"}


# ---- T-V3: refused ------------------------------------------------------------------------------------------------

def test_a_case_whose_ready_task_v2_removes_is_refused_as_not_safe_and_nothing_changes(services: Services) -> None:
    case_id = case_after(services, 5)
    assert ready_names(services, case_id) == ["request_briefings"]
    v2 = publish(services, remove_step(dorset_text(), "request_briefings"))
    assert v2.id is not None
    before = snapshot(services, case_id)

    preview = preview_case(services, case_id, v2.id)
    with pytest.raises(MigrationNotSafe) as refused:
        migrate_case(services, case_id, v2.id, OWNER, "the briefing request is dropped")

    assert not preview.safe
    assert preview.why == ("'Ask member agencies for briefing reports' (request_briefings) is ready in this case "
                           "and the new version removes it")
    assert "migration_not_safe" in str(refused.value)
    assert refused.value.why == preview.why
    assert snapshot(services, case_id) == before


def test_a_case_that_completed_a_task_v2_removes_is_refused_and_one_not_there_yet_is_safe(
        services: Services) -> None:
    past, before_it = case_after(services, 7), case_after(services, 3)
    v2 = publish(services, remove_step(dorset_text(), "request_briefings"))
    assert v2.id is not None

    with pytest.raises(MigrationNotSafe, match="was done in this case and the new version removes it"):
        migrate_case(services, past, v2.id, OWNER, "the briefing request is dropped")
    safe = preview_case(services, before_it, v2.id)

    assert safe.safe and safe.needed, safe.why
    assert ("request_briefings", "removed", "planned") in [(t.element, t.change, t.state) for t in safe.changes]


def test_only_a_process_owner_of_the_cases_board_may_migrate_and_a_reason_is_required(services: Services) -> None:
    case_id = case_after(services, 3)
    v2 = publish(services, dorset_text().replace('name="Receive and distribute the proforma"',
                                                 'name="Receive the proforma"'))
    assert v2.id is not None
    before = snapshot(services, case_id)

    for someone in ("dorset.admin", "bp.owner"):
        with pytest.raises(NotPermitted):
            migrate_case(services, case_id, v2.id, someone, "tidying up")
    with pytest.raises(InvalidSubmission) as no_reason:
        migrate_case(services, case_id, v2.id, OWNER, "  ")
    with pytest.raises(NotFound):
        migrate_case(services, 999_999, v2.id, OWNER, "tidying up")
    with services.uow() as uow:
        other = uow.versions.latest_id("scr_bournemouth_poole")
    assert other is not None
    with pytest.raises(NotFound):
        migrate_case(services, case_id, other, OWNER, "tidying up")

    assert [e.field for e in no_reason.value.errors] == ["reason"]
    assert snapshot(services, case_id) == before


# ---- T-V3: a safe move, audited, undone, run to the end -----------------------------------------------------------

def test_a_safe_migration_is_audited_undone_exactly_and_the_case_then_runs_to_completion_on_v2(
        services: Services) -> None:
    case_id = case_after(services, 5)
    v1 = version_of(services, case_id)
    v2 = publish(services, add_step_after(dorset_text(), "request_briefings", "check_briefing_list",
                                          "Check the list of agencies asked for briefings"))
    assert v2.id is not None
    before = snapshot(services, case_id)

    moved = migrate_case(services, case_id, v2.id, OWNER, "the briefing list is checked from now on")

    assert moved is not None and moved.id is not None
    assert version_of(services, case_id) == (v2.id, v2.content_hash)
    assert snapshot(services, case_id)[1] == before[1], "the ready task keeps its id, role and claim"
    with services.uow() as uow:
        event = uow.events.for_case(case_id)[-1]
    assert (event.kind, event.actor) == ("case_migrated", OWNER)
    assert {k: event.detail[k] for k in ("from_version", "to_version", "from_hash", "to_hash", "reason")} == {
        "from_version": v1[0], "to_version": v2.id, "from_hash": v1[1], "to_hash": v2.content_hash,
        "reason": "the briefing list is checked from now on"}
    assert migrate_case(services, case_id, v2.id, OWNER, "again") is None, "already there: nothing to do"

    undone = undo_migration(services, moved.id, OWNER, "moved the wrong case")

    after = snapshot(services, case_id)
    assert undone.undone_by == OWNER
    assert (after[0].state, after[0].version_id, after[0].status) == (
        before[0].state, before[0].version_id, before[0].status), "the exact state before"
    assert after[1:3] == before[1:3]
    with services.uow() as uow:
        assert uow.events.for_case(case_id)[-1].kind == "case_migration_undone"
    with pytest.raises(Conflict, match="already undone"):
        undo_migration(services, moved.id, OWNER, "twice")

    again = migrate_case(services, case_id, v2.id, OWNER, "the briefing list is checked from now on")
    assert again is not None and again.id is not None
    drive_until(services, case_id, lambda tasks: "check_briefing_list" in [t.name for t in tasks], CHOICES)
    finish(services, case_id)
    with pytest.raises(Conflict, match="moved on since"):
        undo_migration(services, again.id, OWNER, "too late")
    with services.uow() as uow:
        assert uow.cases.get(case_id).status == "completed"
    assert version_of(services, case_id) == (v2.id, v2.content_hash)
    done = preview_case(services, case_id, v1[0])
    assert (done.needed, done.why) == (False, f"{done.reference} is completed: there is nothing to move")


def test_a_migrated_case_waiting_on_two_agencies_imrs_runs_to_completion(services: Services) -> None:
    case_id = case_after(services, 31)  # both agencies' IMR processes running, their timers waiting
    v2 = publish(services, dorset_text().replace('name="Circulate all IMRs to the SCR Panel"',
                                                 'name="Circulate every IMR to the SCR Panel"'))
    assert v2.id is not None
    timers = snapshot(services, case_id)[2]

    assert migrate_case(services, case_id, v2.id, OWNER, "clearer step name") is not None

    assert snapshot(services, case_id)[2] == timers, "every timer keeps its instant"
    finish(services, case_id)
    with services.uow() as uow:
        assert uow.cases.get(case_id).status == "completed"


def test_a_ready_task_moved_to_another_lane_goes_to_that_roles_inbox_with_its_due_date(services: Services) -> None:
    case_id = case_after(services, 5)
    [before] = ready(services, case_id)
    v2 = publish(services, move_to_lane(dorset_text(), "request_briefings", "LSCB Chair"))
    assert v2.id is not None

    assert migrate_case(services, case_id, v2.id, OWNER, "the Chair asks for the briefings") is not None

    [after] = ready(services, case_id)
    assert (after.id, after.name, after.due_at) == (before.id, before.name, before.due_at)
    assert (before.role, after.role) == ("lscb_administrator", "lscb_chair")


# ---- bulk -----------------------------------------------------------------------------------------------------------

def test_a_bulk_job_shows_progress_refuses_unsafe_cases_with_the_reason_and_migrates_the_safe_ones(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    safe, unsafe = case_after(services, 3), case_after(services, 5)
    v2 = publish(services, remove_step(dorset_text(), "request_briefings"))
    assert v2.id is not None
    start_case(services, "dorset", SUPERUSER)  # already on v2: not pinned
    unsafe_before = snapshot(services, unsafe)
    monkeypatch.setattr(migration, "BATCH", 1)
    progress: list[int] = []
    one_case = migration._one_case

    def watched(services_: Services, job: Any, pinned: Any) -> dict[str, Any]:
        with services.uow() as uow:
            progress.append(uow.migrations.get_job(job.id).done)
        return one_case(services_, job, pinned)

    monkeypatch.setattr(migration, "_one_case", watched)

    assert [p.case_id for p in pinned_cases(services, "scr_dorset", v2.id)] == [safe, unsafe]
    preview_job = run_job(services, start_job(services, "scr_dorset", v2.id, "preview", OWNER))
    job_id = start_job(services, "scr_dorset", v2.id, "migrate", OWNER, "briefing requests are dropped")
    with services.uow() as uow:
        queued = uow.migrations.get_job(job_id)
    job = run_job(services, job_id)

    assert (queued.status, queued.total) == ("queued", 2)
    assert [(r["case_id"], r["safe"], r["migrated"]) for r in preview_job.results] == [
        (safe, True, False), (unsafe, False, False)]
    assert progress == [0, 1, 0, 1], "each batch's progress is committed before the next"
    assert (job.status, job.done, job.total) == ("done", 2, 2)
    results = {r["case_id"]: r for r in job.results}
    assert results[safe]["migrated"] and results[safe]["migration"]
    assert not results[unsafe]["migrated"]
    assert results[unsafe]["why"] == ("'Ask member agencies for briefing reports' (request_briefings) is ready "
                                      "in this case and the new version removes it")
    assert version_of(services, safe)[0] == v2.id
    assert snapshot(services, unsafe) == unsafe_before
    with services.uow() as uow:
        assert [m.job_id for m in uow.migrations.for_case(safe)] == [job_id]
    assert run_job(services, job_id).results == job.results, "a job runs once"


def test_a_bulk_job_asks_for_a_process_owner_a_known_kind_and_a_reason(services: Services) -> None:
    v2 = publish(services, remove_step(dorset_text(), "request_briefings"))
    assert v2.id is not None

    with pytest.raises(NotPermitted):
        start_job(services, "scr_dorset", v2.id, "migrate", "dorset.admin", "why not")
    with pytest.raises(InvalidSubmission) as invalid:
        start_job(services, "scr_dorset", v2.id, "everything", OWNER, "")
    with pytest.raises(InvalidSubmission) as no_reason:
        start_job(services, "scr_dorset", v2.id, "migrate", OWNER, "")

    assert [e.field for e in invalid.value.errors] == ["kind"]
    assert [e.field for e in no_reason.value.errors] == ["reason"]
    with services.uow() as uow:
        assert uow.migrations.jobs() == []


def test_a_queued_job_runs_in_the_background_or_in_the_worker_without_blocking_the_request(
        services: Services) -> None:
    case_after(services, 3)
    v2 = publish(services, remove_step(dorset_text(), "request_briefings"))
    assert v2.id is not None

    thread = run_in_background(services, start_job(services, "scr_dorset", v2.id, "preview", OWNER))
    thread.join(30)
    second = start_job(services, "scr_dorset", v2.id, "preview", OWNER)
    swept = threading.Event()
    stop = start_background_worker(services, poll_seconds=0.05, swept=lambda _n: swept.set(), jobs=run_queued_jobs)
    try:
        assert swept.wait(30)
    finally:
        stop.stop()

    assert not thread.is_alive() and thread.daemon
    with services.uow() as uow:
        assert [(j.status, j.done) for j in uow.migrations.jobs()] == [("done", 1), ("done", 1)]
        assert uow.migrations.get_job(second).results[0]["safe"] is True
    assert run_queued_jobs(services) == 0
