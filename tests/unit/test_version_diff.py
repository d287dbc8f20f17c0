"""What a process owner reads about a new version: each element and form added, removed, changed or moved, and the
task-spec view of the same change that running cases see."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.authoring.diff import Change, SpecChange, diagram_changes, spec_changes
from engine.errors import InvalidDiagram
from engine.workflow.specs import CompiledProcess
from tests.unit.conftest import FILENAME, Mutation, mutate

ROOT = Path(__file__).resolve().parents[2]
DORSET = "bpmn/dorset/scr_dorset.bpmn"


def files(text: str, *mutations: Mutation) -> tuple[dict[str, str], dict[str, str]]:
    """The fixture diagram as version files, before and after the mutations."""
    return {"bpmn/" + FILENAME: text}, {"bpmn/" + FILENAME: mutate(text, *mutations).decode()}


def only(changes: list[Change], element: str) -> Change:
    found = [c for c in changes if c.element == element]
    assert len(found) == 1, changes
    return found[0]


def test_the_same_files_show_no_change(simple_text: str) -> None:
    assert diagram_changes(*files(simple_text)) == []


def test_a_renamed_task_is_a_changed_user_task_with_its_old_and_new_name(simple_text: str) -> None:
    changes = diagram_changes(*files(simple_text, ('name="Decide"', 'name="Decide on the request"')))

    assert changes == [Change("changed", "decide", "Decide on the request", "user task", "bpmn/" + FILENAME,
                              (("name", "Decide", "Decide on the request"),))]


def test_a_changed_timer_shows_its_old_and_new_duration(simple_text: str) -> None:
    change = only(diagram_changes(*files(simple_text, ('"P6W"', '"P4W"'))), "late")

    assert (change.kind, change.type, change.name) == ("changed", "timer event", "Six weeks")
    assert change.details == (("timer (time duration)", '"P6W"', '"P4W"'),)


def test_a_task_moved_to_another_lane_shows_both_lanes(simple_text: str) -> None:
    moved = mutate(simple_text, ("<bpmn:flowNodeRef>ask</bpmn:flowNodeRef>", ""),
                   ("<bpmn:flowNodeRef>decide</bpmn:flowNodeRef>",
                    "<bpmn:flowNodeRef>decide</bpmn:flowNodeRef><bpmn:flowNodeRef>ask</bpmn:flowNodeRef>"))
    change = only(diagram_changes({"bpmn/x.bpmn": simple_text}, {"bpmn/x.bpmn": moved.decode()}), "ask")

    assert change.details == (("lane", "Referrer lane", "Chair lane"),)


def test_a_changed_condition_property_and_documentation_are_each_listed(simple_text: str) -> None:
    changes = diagram_changes(*files(
        simple_text, ("decision == 'yes'", "decision == 'no'"), ('value="decision_due"', 'value="asked_at"'),
        ("cite 7.1", "cite 7.2")))

    assert only(changes, "f_yes").details == (("condition", "decision == 'yes'", "decision == 'no'"),)
    assert only(changes, "decide").details == (("property due", "decision_due", "asked_at"),)
    assert only(changes, "ask").details == (("documentation", "cite 7.1", "cite 7.2"),)


def test_an_added_task_is_listed_with_its_flows_and_its_neighbours_show_their_new_flows(simple_text: str) -> None:
    changes = diagram_changes(*files(simple_text, (
        '<bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="set_due" />',
        '<bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="check" />'
        '<bpmn:userTask id="check" name="Check the request" />'
        '<bpmn:sequenceFlow id="f2b" sourceRef="check" targetRef="set_due" />')))

    added = only(changes, "check")
    assert (added.kind, added.type, added.name) == ("added", "user task", "Check the request")
    assert ("outgoing flows", "", "f2b") in added.details
    assert only(changes, "f2b").kind == "added"
    assert only(changes, "f2").details == (("target ref", "set_due", "check"),)
    assert only(changes, "set_due").details == (("incoming flows", "f2", "f2b"),)


def test_a_removed_task_is_listed_as_removed(simple_text: str) -> None:
    changes = diagram_changes(*files(simple_text, (
        '<bpmn:intermediateThrowEvent id="escalate"', '<bpmn:intermediateThrowEvent id="warn"')))

    removed = only(changes, "escalate")
    assert (removed.kind, removed.type, removed.name) == ("removed", "intermediate throw event", "Escalate")
    assert ("property notify", "chair", "") in removed.details
    assert only(changes, "warn").kind == "added"


def test_changes_of_a_multi_instance_say_which_setting_changed() -> None:
    text = (ROOT / DORSET).read_text()
    changed = text.replace("<bpmn:loopDataInputRef>agencies</bpmn:loopDataInputRef>",
                           "<bpmn:loopDataInputRef>imr_agencies</bpmn:loopDataInputRef>")

    change = only(diagram_changes({DORSET: text}, {DORSET: changed}), "imrs_call")
    assert change.details == (("multi-instance collection", "agencies", "imr_agencies"),)


def test_a_shape_moved_on_the_canvas_is_moved_not_changed() -> None:
    text = (ROOT / DORSET).read_text()
    start = text.index('bpmnElement="proforma"')
    bounds = text.index('x="', start)
    end = text.index('"', bounds + 3)
    moved = text[:bounds + 3] + str(float(text[bounds + 3:end]) + 40) + text[end:]

    [change] = diagram_changes({DORSET: text}, {DORSET: moved})
    assert (change.kind, change.element, change.type) == ("moved", "proforma", "user task")


def test_a_form_with_a_new_field_lists_the_field_and_a_new_form_is_added() -> None:
    old = {"type": "object", "title": "Ask", "properties": {"question": {"type": "string"}}}
    new = {**old, "properties": {**old["properties"], "urgent": {"type": "boolean"}}}

    changes = diagram_changes({"forms/fx/ask.schema.json": json.dumps(old)},
                              {"forms/fx/ask.schema.json": json.dumps(new), "forms/fx/new.schema.json": "{}"})

    assert changes == [
        Change("changed", "fx/ask.schema.json", "Ask", "form", "forms/fx/ask.schema.json",
               (("field added", "", "urgent"),)),
        Change("added", "fx/new.schema.json", "", "form", "forms/fx/new.schema.json"),
    ]


def test_a_diagram_with_a_doctype_is_refused_not_compared(simple_text: str) -> None:
    hostile = simple_text.replace("<bpmn:definitions", '<!DOCTYPE x [<!ENTITY e "e">]><bpmn:definitions', 1)

    with pytest.raises(InvalidDiagram) as refused:
        diagram_changes({"bpmn/x.bpmn": simple_text}, {"bpmn/x.bpmn": hostile})
    assert refused.value.problems[0].code == "doctype_not_allowed"


def test_the_task_spec_side_names_the_steps_added_removed_and_changed(
        compile_variant: Callable[..., dict[str, CompiledProcess]]) -> None:
    old = compile_variant()["simple_case"]
    new = compile_variant(
        ('name="Decide"', 'name="Decide on the request"'), ('"P6W"', '"P4W"'),
        ('<bpmn:intermediateThrowEvent id="escalate"', '<bpmn:intermediateThrowEvent id="warn"'),
        ('<bpmn:flowNodeRef>escalate</bpmn:flowNodeRef>', '<bpmn:flowNodeRef>warn</bpmn:flowNodeRef>'),
        ('sourceRef="escalate"', 'sourceRef="warn"'), ('targetRef="escalate"', 'targetRef="warn"'))["simple_case"]

    changes = spec_changes(old, new)

    changed = {c.element: c for c in changes.changed}
    assert changed["decide"] == SpecChange("simple_case", "decide", "Decide on the request", ("name",))
    assert changed["late"].what == ("outgoing flows", "event (timer, message or signal)")
    assert changed["escalate"].what == ("id",), "SpecDiff aligns a step whose id changed by its place in the flow"
    assert (changes.added, changes.removed) == ((), ())
    assert spec_changes(old, old).empty
