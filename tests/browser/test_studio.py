"""Process owners change procedures in the browser: the modeler keeps every property, a change is checked on save,
a second owner approves it, new cases follow it and cases already running stay where they were."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.authoring import studio
from engine.authoring.versions import deploy
from engine.casework.cases import start_case
from engine.clock import FrozenClock
from engine.workflow.specs import CompiledProcess, compile_processes, properties
from tests.browser.conftest import LiveServer, keep_screenshot, serve
from tests.browser.studio import clock_of, draft_opened_by, modeler_xml, open_modeler, pages_on, studio_sign_in
from tests.drive import SCR_PATH, SUPERUSER, drive_until, grant_everything

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def studio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on its own database: publishing here must not change what other tests' cases start on."""
    from tests.service.conftest import T0

    yield from serve(tmp_path_factory.mktemp("studio"), FrozenClock(T0))


@pytest.fixture
def owner_page(browser: Any, studio_server: LiveServer) -> Iterator[Any]:
    """New pages on the studio's server; console errors fail the test."""
    yield from pages_on(browser, studio_server)


def _clock(server: LiveServer) -> FrozenClock:
    return clock_of(server)


def _meaning(process: CompiledProcess) -> list[tuple[Any, ...]]:
    """What the engine runs, element by element: kind, name, lane, properties, documentation, timers, conditions."""
    rows = []
    for spec in process.task_specs():
        timer = getattr(getattr(spec, "event_definition", None), "expression", None)
        conditions = sorted(f"{getattr(c, 'args', [c])[0]} -> {target}"
                            for c, target in getattr(spec, "cond_task_specs", None) or [])
        rows.append((getattr(spec, "bpmn_id", None) or spec.name, type(spec).__name__, spec.bpmn_name,
                     getattr(spec, "lane", None), tuple(sorted(properties(spec).items())),
                     (getattr(spec, "documentation", None) or "").strip(), timer, tuple(conditions),
                     tuple(sorted(o.name for o in spec.outputs))))
    return sorted(rows, key=repr)


def test_every_diagram_survives_a_round_trip_through_the_modeler_unchanged(owner_page: Any,
                                                                            studio_server: LiveServer) -> None:
    services = studio_server.services
    page = owner_page()
    studio_sign_in(page, "dorset.owner", _clock(studio_server))
    keep_screenshot(page, "studio-procedures")
    checked = 0
    for board in ("dorset", "bournemouth-poole"):
        process_id = services.catalogue.board(board).process  # type: ignore[union-attr]
        published = studio.published_version(services, process_id)
        assert published is not None
        owner = "dorset.owner" if board == "dorset" else "bp.owner"
        if owner != "dorset.owner":
            page = owner_page()
            studio_sign_in(page, owner, _clock(studio_server))
        draft = studio.start_draft(services, owner, published.id or 0)
        for path in sorted(k for k in draft.files if k.startswith("bpmn/")):
            open_modeler(page, f"/studio/drafts/{draft.id}?path={path}")
            saved = modeler_xml(page)
            files = {**draft.files, path: saved}
            before = compile_processes(*_inputs(services, draft.files), services.catalogue, [process_id])
            after = compile_processes(*_inputs(services, files), services.catalogue, [process_id])
            assert _meaning(after[process_id]) == _meaning(before[process_id]), path
            checked += 1
    assert checked >= 5


def _inputs(services: Any, files: dict[str, str]) -> tuple[dict[str, bytes], dict[str, bytes]]:
    diagrams = {k[5:]: v.encode() for k, v in files.items() if k.startswith("bpmn/")}
    return diagrams, studio.disk_and_draft_forms(services, files)


def test_a_process_owner_sees_only_their_boards_procedures_and_a_caseworker_sees_no_studio(
        owner_page: Any, studio_server: LiveServer) -> None:
    page = owner_page()
    studio_sign_in(page, "bp.owner", _clock(studio_server))
    assert page.get_by_role("heading", name=re.compile("Bournemouth")).count() >= 1
    assert "scr_dorset" not in page.content()
    other = owner_page()
    from tests.browser.conftest import sign_in

    sign_in(other, "dorset.admin")
    assert other.get_by_role("link", name="Studio").count() == 0
    assert other.goto("/studio/").status == 404


def test_a_start_case_offers_no_choice_while_a_board_has_one_procedure(studio_server: LiveServer) -> None:
    record = start_case(studio_server.services, "dorset", "dorset.referrer")
    assert record.process_id == "scr_dorset"


ADD_TASK_AFTER_REFERRAL = """() => {
  const m = window.studioModeler, reg = m.get('elementRegistry'), modeling = m.get('modeling');
  const proforma = reg.get('proforma'), countersign = reg.get('countersign'), flow = reg.get('f_proforma__countersign');
  const shape = m.get('elementFactory').createShape({ type: 'bpmn:UserTask' });
  const at = { x: proforma.x + proforma.width / 2, y: proforma.y + proforma.height + 60 };
  const task = modeling.createShape(shape, at, proforma.parent);
  modeling.reconnectEnd(flow, task, { x: task.x, y: task.y + task.height / 2 });
  modeling.connect(task, countersign);
  m.get('selection').select(task);
  return task.id;
}"""


def _select(page: Any, element: str) -> None:
    page.evaluate("id => { const m = window.studioModeler; const e = m.get('elementRegistry').get(id);"
                  " m.get('canvas').scrollToElement(e); m.get('selection').select(e); }", element)


def _save(page: Any) -> None:
    before = page.get_attribute("body", "data-saved")
    page.get_by_role("button", name="Save and check").click()
    page.wait_for_function("b => document.body.getAttribute('data-saved') !== b", arg=before)


def test_an_owner_changes_a_timer_and_adds_a_task_and_a_second_owner_publishes_it_for_new_cases_only(
        owner_page: Any, studio_server: LiveServer) -> None:
    services = studio_server.services
    clock = _clock(studio_server)
    before = start_case(services, "dorset", "dorset.referrer")
    page = owner_page()
    studio_sign_in(page, "dorset.owner", clock)
    section = page.locator("#procedure-scr_dorset")
    section.get_by_role("button", name="Change it").first.click()
    page.wait_for_selector("body[data-modeler=ready]")

    _select(page, "monitor_interval")
    wait = page.get_by_label("Wait (for example")
    assert wait.input_value() == "12 weeks"
    wait.fill("8 weeks")
    wait.press("Tab")
    assert page.get_by_label("As the engine reads it").input_value() == '"P8W"'

    added = page.evaluate(ADD_TASK_AFTER_REFERRAL)
    page.get_by_label("Name", exact=True).fill("Tell the family the referral was made")
    page.get_by_label("Name", exact=True).press("Tab")
    _save(page)
    missing = page.locator("#problem-list li[data-code=form_missing]")
    assert "Tell the family the referral was made" in missing.first.inner_text()
    assert "formJsonSchemaFilename" in missing.first.inner_text()
    assert page.locator(f'.problem-badge[data-element="{added}"]').count() == 1
    keep_screenshot(page, "studio-invalid-draft")

    page.get_by_label("Why does the procedure change?").fill("Monitoring every 8 weeks; family told of referrals")
    page.get_by_role("button", name="Submit for approval").click()
    assert "has problems" in page.locator(".flash").inner_text()
    page.wait_for_selector("body[data-modeler=ready]")

    _select(page, added)
    page.get_by_label("Form (what the person fills in)").select_option("common/case_debrief.schema.json")
    _save(page)
    assert "No problems" in page.locator("#problem-list").inner_text()
    page.get_by_label("Why does the procedure change?").fill("Monitoring every 8 weeks; family told of referrals")
    page.get_by_role("button", name="Submit for approval").click()
    assert "second process owner" in page.locator(".flash").inner_text()
    assert page.get_by_role("button", name="Approve and publish").count() == 0
    draft_url = page.url
    token = page.locator("input[name=csrf_token]").first.input_value()
    refused = page.request.post(draft_url.split("?")[0] + "/approve", form={"csrf_token": token},
                                headers={"Accept": "application/json"})
    assert refused.status == 403 and "four eyes" in refused.json()["message"]

    second = owner_page()
    studio_sign_in(second, "dorset.owner.second", clock)
    second.goto(draft_url)
    second.get_by_role("link", name="What changes", exact=True).click()
    second.wait_for_selector("body[data-viewer=ready]")
    listed = second.locator("table.changes").inner_text()
    assert "Tell the family the referral was made" in listed and "P8W" in listed
    keep_screenshot(second, "studio-what-changes")
    second.goto(draft_url)
    second.get_by_role("button", name="Approve and publish").click()
    assert "published as version" in second.locator(".flash").inner_text()
    keep_screenshot(second, "studio-published")

    after = start_case(services, "dorset", "dorset.referrer")
    with services.uow() as uow:
        old, new = uow.cases.get(before.id or 0), uow.cases.get(after.id or 0)
        assert old.version_id == before.version_id != new.version_id
        old_process, new_process = services.process_of(uow, old), services.process_of(uow, new)
    assert new_process.element(added) is not None and old_process.element(added) is None
    assert new_process.element("monitor_interval").event_definition.expression == '"P8W"'
    assert old_process.element("monitor_interval").event_definition.expression == '"P12W"'


HOSTILE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  id="defs_xss" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="xss_proc" name="&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt; procedure" isExecutable="true">
    <bpmn:documentation>&lt;script&gt;window.__xss=1&lt;/script&gt;</bpmn:documentation>
    <bpmn:startEvent id="start" name="&lt;svg onload=&quot;window.__xss=1&quot;&gt;" />
    <bpmn:userTask id="task" name="&quot;&gt;&lt;img src=x onerror=window.__xss=1&gt;">
      <bpmn:documentation>&lt;img src=x onerror="window.__xss=1"&gt; javascript:window.__xss=1</bpmn:documentation>
    </bpmn:userTask>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="p" bpmnElement="xss_proc">
    <bpmndi:BPMNShape id="s_start" bpmnElement="start">
      <dc:Bounds x="100" y="100" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s_task" bpmnElement="task">
      <dc:Bounds x="200" y="80" width="100" height="80" /></bpmndi:BPMNShape>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def test_names_and_documentation_of_an_uploaded_diagram_never_run_as_script(
        owner_page: Any, studio_server: LiveServer, tmp_path: Path) -> None:
    page = owner_page()
    studio_sign_in(page, "bp.owner", _clock(studio_server))
    upload = tmp_path / "hostile.bpmn"
    upload.write_text(HOSTILE)
    page.get_by_label("Board").select_option("bournemouth-poole")
    page.get_by_label("Diagram (.bpmn)").set_input_files(str(upload))
    response = None
    with page.expect_navigation():
        page.get_by_role("button", name="Upload as a draft").click()
    page.wait_for_selector("body[data-modeler=ready]")
    for element in ("task", "start", "xss_proc"):
        _select(page, element) if element != "xss_proc" else None
        assert page.evaluate("typeof window.__xss") == "undefined"
    draft_url = page.url.split("?")[0]
    for url in ("/studio/", draft_url, draft_url + "/changes"):
        response = page.goto(url)
        assert response is not None and "unsafe-inline" not in response.headers["content-security-policy"].split(
            "style-src")[0]
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_timeout(0)
        assert page.evaluate("typeof window.__xss") == "undefined", url
    download = page.request.get(draft_url + "/download")
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "window.__xss" in download.text()


def test_a_form_is_written_in_the_editor_and_previewed_as_the_inbox_shows_it(
        owner_page: Any, studio_server: LiveServer) -> None:
    services = studio_server.services
    page = owner_page()
    draft_id = draft_opened_by(page, studio_server, "bp.owner", "scr_bournemouth_poole", modeler=False)
    page.get_by_label("New form file").fill("bournemouth-poole/family_contact.schema.json")
    page.get_by_role("button", name="Create form").click()
    page.wait_for_selector("body[data-preview=ready]")
    schema = ('{"type": "object", "title": "Family contact", "required": ["contacted_on"], "properties": {'
              '"contacted_on": {"type": "string", "format": "date", "title": "Date the family was contacted"},'
              '"agreed": {"type": "boolean", "title": "The family agreed to take part"}}}')
    page.get_by_label("JSON Schema").fill(schema)
    page.wait_for_function("() => document.querySelector('#preview').textContent.includes('Date the family')")
    preview = page.locator("#preview")
    assert preview.get_by_label("Date the family was contacted (required)").count() == 1
    keep_screenshot(page, "studio-form-editor")
    page.get_by_role("button", name="Save form").click()
    page.wait_for_selector("body[data-saved]")
    saved = studio.get_draft(services, "bp.owner", draft_id)
    assert "forms/bournemouth-poole/family_contact.schema.json" in saved.files
    page.get_by_label("JSON Schema").fill('{"type": "object", "properties": ')
    page.wait_for_selector("#preview-error:not([hidden])")
    assert "not valid JSON" in page.locator("#preview-error").inner_text()


def test_cases_on_the_old_version_are_checked_moved_and_moved_back_from_the_studio(
        owner_page: Any, studio_server: LiveServer) -> None:
    services = studio_server.services
    grant_everything(services, "bournemouth-poole", [])
    waiting = start_case(services, "bournemouth-poole", SUPERUSER)  # at the proforma: the change is ahead of it
    ahead = start_case(services, "bournemouth-poole", SUPERUSER)  # with the Chair: the one-month watch is running
    drive_until(services, ahead.id or 0, lambda tasks: any(t.role == "lscb_chair" for t in tasks), SCR_PATH)
    published = studio.published_version(services, "scr_bournemouth_poole")
    assert published is not None
    path = next(k for k in published.files if k.endswith("scr_bournemouth_poole.bpmn"))
    text = published.files[path]
    watch = '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">decision_due</bpmn:timeDate>'
    assert watch in text
    changed = text.replace(watch, watch.replace(">decision_due<", ">add_days(decision_due, 7)<"))
    [v2] = deploy(services, {path[5:]: changed.encode()}, by="tests")

    page = owner_page()
    studio_sign_in(page, "bp.owner", _clock(studio_server))
    page.goto("/studio/processes/scr_bournemouth_poole/cases")
    page.get_by_role("button", name="Check every case").click()
    page.wait_for_selector("#job-state[data-status=done]")
    keep_screenshot(page, "studio-migration-preview")
    rows = page.locator("table.list tbody tr")
    text = rows.all_inner_texts()
    assert any(ahead.reference in r and "not safe" in r and "changes its" in r for r in text), text
    assert any(waiting.reference in r and "safe" in r and "not safe" not in r for r in text), text

    page.goto("/studio/processes/scr_bournemouth_poole/cases")
    page.get_by_label(f"Why move {ahead.reference}").fill("the counter-signature step was renamed")
    page.get_by_role("button", name=f"Move {ahead.reference}").click()
    assert "not safe" in page.locator("main").inner_text()
    page.goto("/studio/processes/scr_bournemouth_poole/cases")
    page.get_by_label(f"Why move {waiting.reference}").fill("the counter-signature step was renamed")
    page.get_by_role("button", name=f"Move {waiting.reference}").click()
    assert "Moved to the new version" in page.locator(".flash").inner_text()
    with services.uow() as uow:
        assert uow.cases.get(waiting.id or 0).version_id == v2.id
        assert uow.cases.get(ahead.id or 0).version_id == published.id
    page.get_by_role("button", name="Undo").click()
    assert "back on its earlier version" in page.locator(".flash").inner_text()
    with services.uow() as uow:
        assert uow.cases.get(waiting.id or 0).version_id == published.id
        kinds = [e.kind for e in uow.events.for_case(waiting.id or 0)]
    assert kinds[-2:] == ["case_migrated", "case_migration_undone"]


def test_a_multi_instance_collection_and_a_notification_are_set_in_the_panel_and_saved_as_the_engine_reads_them(
        owner_page: Any, studio_server: LiveServer) -> None:
    page = owner_page()
    draft_opened_by(page, studio_server, "dorset.owner", "scr_dorset")
    many = page.evaluate("() => window.studioModeler.get('elementRegistry').filter(e => e.businessObject"
                         ".loopCharacteristics && e.businessObject.loopCharacteristics.loopDataInputRef)[0].id")
    _select(page, many)
    collection = page.get_by_label("Collection (the list field")
    assert collection.input_value() == "agencies"
    collection.fill("agencies_asked")
    collection.press("Tab")
    _select(page, "proforma")
    page.get_by_label("Tell", exact=True).select_option("lscb_administrator")
    page.get_by_label("Kind", exact=True).select_option("information")
    page.get_by_label("Message (no names").fill("A referral has arrived.")
    page.get_by_label("Message (no names").press("Tab")
    xml = modeler_xml(page)
    assert "<bpmn:loopDataInputRef>agencies_asked</bpmn:loopDataInputRef>" in xml
    assert '<spiffworkflow:property name="notify" value="lscb_administrator" />' in xml
    assert '<spiffworkflow:property name="message" value="A referral has arrived." />' in xml
    page.get_by_role("button", name="Undo").click()  # every change is a command: the last one is undone
    assert 'value="A referral has arrived."' not in modeler_xml(page)
    page.get_by_role("button", name="Redo").click()
    assert 'value="A referral has arrived."' in modeler_xml(page)
