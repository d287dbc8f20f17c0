"""Hostile diagrams through compile_processes: each is refused with a stable code naming the element (T-A1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from engine.errors import InvalidDiagram, Problem
from engine.workflow.xmlsafe import BPMN, SPIFF

SCRIPT_BODY = "asked_at = now()\ndecision_due = add_months(asked_at, 1)"
CONDITION = "decision == 'yes'"
TIMER = '<bpmn:timeDuration>"P6W"</bpmn:timeDuration>'
DECIDE_FLOWS = "<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>"
SET_DUE = '<bpmn:scriptTask id="set_due" name="Compute due date">'
DUE_PROPERTY = '<spiffworkflow:property name="due" value="decision_due" />'
CAMUNDA_NS = ('xmlns:spiffworkflow=', 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:spiffworkflow=')


def only(problems: list[Problem], code: str, element: str | None = None) -> Problem:
    """Assert every problem has `code` (and names `element`) and return the first."""
    assert {p.code for p in problems} == {code}, problems
    if element is not None:
        assert {p.element for p in problems} == {element}, problems
    assert all(p.file == "simple.bpmn" for p in problems), problems
    return problems[0]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in tmp_path so any payload that writes a relative CANARY would be seen."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _no_canary(tmp_path: Path) -> object:
    yield
    assert not (tmp_path / "CANARY").exists(), "a payload ran"


def test_the_unmodified_fixture_compiles(compile_variant: Callable[..., dict]) -> None:
    assert list(compile_variant()) == ["simple_case"]


SCRIPT_PAYLOADS = {
    "import_statement": "import os",
    "import_call": "x = __import__('os').system('touch CANARY')",
    "uuid_os": "x = uuid.os",
    "random_os": "x = random._os.system('touch CANARY')",
    "subclasses": "x = ().__class__.__mro__[1].__subclasses__()",
    "open_write": "x = open('CANARY', 'w').write('x')",
    "globals": "x = globals()",
    "getattr": "x = getattr(x, '__globals__')",
    "lambda": "f = lambda: 1",
    "comprehension": "x = [c for c in ().__class__.__bases__]",
    "def": "def f(): pass",
    "for_loop": "for i in range(3): pass",
    "while_true": "while True: pass",
    "attribute_assign": "x.y = 1",
    "bare_call": "__import__('os').system('touch CANARY')",
    "second_line": "a = 1\nimport os",
}


@pytest.mark.parametrize("payload", SCRIPT_PAYLOADS.values(), ids=SCRIPT_PAYLOADS.keys())
def test_python_in_a_script_task_is_refused_naming_the_task(refused: Callable[..., list[Problem]],
                                                             payload: str) -> None:
    only(refused((SCRIPT_BODY, payload)), "script_not_allowed", "set_due")


CONDITION_PAYLOADS = {
    "import": "__import__('os').system('touch CANARY')",
    "subclasses": "().__class__.__mro__[1].__subclasses__()",
    "open": "open('/etc/passwd').read()",
    "globals": "globals()",
    "lambda": "(lambda: 1)()",
    "generator": "any(x for x in y)",
    "walrus": "(y := 1)",
    "fstring": "f'{decision}' == 'yes'",
    "assignment": "decision = 'yes'",
}


@pytest.mark.parametrize("payload", CONDITION_PAYLOADS.values(), ids=CONDITION_PAYLOADS.keys())
def test_python_in_a_gateway_condition_is_refused_naming_the_flow(refused: Callable[..., list[Problem]],
                                                                   payload: str) -> None:
    only(refused((CONDITION, payload)), "expression_not_allowed", "f_yes")


@pytest.mark.parametrize("tag", ["timeDuration", "timeDate", "timeCycle"])
def test_python_in_a_timer_is_refused_naming_the_timer(refused: Callable[..., list[Problem]], tag: str) -> None:
    hostile = f"<bpmn:{tag}>__import__('os').system('x')</bpmn:{tag}>"
    only(refused((TIMER, hostile)), "expression_not_allowed", "late_timer")


def test_an_attribute_in_a_data_driven_timer_is_refused(refused: Callable[..., list[Problem]]) -> None:
    only(refused((TIMER, "<bpmn:timeDuration>decision_due.__class__</bpmn:timeDuration>")),
         "expression_not_allowed", "late_timer")


def test_an_unparsable_timer_is_refused(refused: Callable[..., list[Problem]]) -> None:
    problem = only(refused((TIMER, '<bpmn:timeDuration>"P6X"</bpmn:timeDuration>')), "timer_invalid", "late_timer")
    assert "P6X" in problem.message


def test_an_unquoted_timer_is_refused_suggesting_quotes(refused: Callable[..., list[Problem]]) -> None:
    problem = only(refused((TIMER, "<bpmn:timeDuration>P6W</bpmn:timeDuration>")), "timer_invalid", "late_timer")
    assert '"P6W"' in problem.message and "quoted" in problem.message


def test_a_timer_that_is_not_text_is_refused(refused: Callable[..., list[Problem]]) -> None:
    only(refused((TIMER, "<bpmn:timeDuration>42</bpmn:timeDuration>")), "timer_invalid", "late_timer")


@pytest.mark.parametrize("duration", ["P1M", "P6M", "P1Y", "R/P1M", "P1Y2M"])
def test_a_timer_counting_months_or_years_is_refused_with_a_hint_to_use_add_months(
        refused: Callable[..., list[Problem]], duration: str) -> None:
    tag = "timeCycle" if duration.startswith("R") else "timeDuration"
    problem = only(refused((TIMER, f'<bpmn:{tag}>"{duration}"</bpmn:{tag}>')), "timer_invalid", "late_timer")
    assert duration in problem.message and "add_months" in problem.message and "2 March" in problem.message


@pytest.mark.parametrize("duration", ["PT1M", "PT30M", "P6W", "P13W", "P1DT12H"])
def test_a_timer_counting_minutes_days_or_weeks_is_accepted(compile_variant: Callable[..., dict],
                                                             duration: str) -> None:
    assert compile_variant((TIMER, f'<bpmn:timeDuration>"{duration}"</bpmn:timeDuration>'))


def _milestone(met_when: str) -> tuple[str, str]:
    return ('<bpmn:outgoing>f5</bpmn:outgoing>\n      <bpmn:timerEventDefinition id="late_timer">',
            '<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="milestone" '
            'value="Decision due" /><spiffworkflow:property name="metWhen" value="' + met_when + '" />'
            '</spiffworkflow:properties></bpmn:extensionElements>'
            '<bpmn:outgoing>f5</bpmn:outgoing>\n      <bpmn:timerEventDefinition id="late_timer">')


def test_a_milestone_met_when_another_step_completes_is_accepted(compile_variant: Callable[..., dict]) -> None:
    assert compile_variant(_milestone("decide"))


def test_a_milestone_met_when_a_step_the_diagram_lacks_completes_is_refused(
        refused: Callable[..., list[Problem]]) -> None:
    problem = only(refused(_milestone("no_such_step")), "property_invalid", "late")
    assert "no_such_step" in problem.message


def test_a_clock_delay_that_is_not_a_variable_name_is_refused(refused: Callable[..., list[Problem]]) -> None:
    only(refused(('<spiffworkflow:property name="formJsonSchemaFilename" value="fx/ask.schema.json" />',
                  '<spiffworkflow:property name="formJsonSchemaFilename" value="fx/ask.schema.json" />'
                  '<spiffworkflow:property name="clockDelay" value="weeks + 4" />')), "property_invalid", "ask")


def test_a_timer_computed_from_workflow_data_is_accepted(compile_variant: Callable[..., dict]) -> None:
    assert compile_variant((TIMER, "<bpmn:timeDuration>decision_due</bpmn:timeDuration>"))


@pytest.mark.parametrize("inner", [
    "<bpmn:loopCardinality>__import__('os').system('x')</bpmn:loopCardinality>",
    "<bpmn:loopCardinality>3</bpmn:loopCardinality><bpmn:completionCondition>globals()</bpmn:completionCondition>",
    "<bpmn:loopCardinality>len(().__class__.__mro__)</bpmn:loopCardinality>",
], ids=["cardinality", "completion_condition", "cardinality_dunder"])
def test_python_in_multi_instance_settings_is_refused_naming_the_task(refused: Callable[..., list[Problem]],
                                                                       inner: str) -> None:
    mi = f"<bpmn:multiInstanceLoopCharacteristics>{inner}</bpmn:multiInstanceLoopCharacteristics>"
    only(refused((DECIDE_FLOWS, DECIDE_FLOWS + mi)), "expression_not_allowed", "decide")


def test_python_in_a_conditional_event_is_refused(refused: Callable[..., list[Problem]]) -> None:
    problems = refused(
        ('<bpmn:intermediateThrowEvent id="escalate" name="Escalate">',
         '<bpmn:intermediateCatchEvent id="escalate" name="Escalate"><bpmn:conditionalEventDefinition id="ced">'
         "<bpmn:condition>__import__('os')</bpmn:condition></bpmn:conditionalEventDefinition>"),
        ("</bpmn:intermediateThrowEvent>", "</bpmn:intermediateCatchEvent>"))
    only(problems, "expression_not_allowed", "ced")


def test_python_in_a_due_property_is_refused(refused: Callable[..., list[Problem]]) -> None:
    only(refused((DUE_PROPERTY, '<spiffworkflow:property name="due" value="open(\'/etc/passwd\')" />')),
         "expression_not_allowed", "decide")


@pytest.mark.parametrize("value", ["no_such_step", "decide", "set_due"])
def test_a_step_reading_anything_but_another_human_task_of_its_diagram_is_refused(
        refused: Callable[..., list[Problem]], value: str) -> None:
    problem = only(refused((DUE_PROPERTY, DUE_PROPERTY + f'<spiffworkflow:property name="reads" value="{value}" />')),
                   "property_invalid", "decide")
    assert value in problem.message


def test_a_working_day_rule_other_than_next_is_refused(refused: Callable[..., list[Problem]]) -> None:
    rule = '<spiffworkflow:property name="workingDay" value="previous" />'
    problem = only(refused((DUE_PROPERTY, DUE_PROPERTY + rule)), "property_invalid", "decide")
    assert "next" in problem.message


@pytest.mark.parametrize("tag", ["preScript", "postScript"])
@pytest.mark.parametrize("body", ["x = 1", "__import__('os').system('touch CANARY')"], ids=["benign", "hostile"])
def test_a_spiff_pre_or_post_script_is_refused_even_when_benign(refused: Callable[..., list[Problem]],
                                                                 tag: str, body: str) -> None:
    element = f"<spiffworkflow:{tag}>{body}</spiffworkflow:{tag}>"
    only(refused((DUE_PROPERTY, DUE_PROPERTY + "</spiffworkflow:properties>" + element
                  + "<spiffworkflow:properties>")), "script_not_allowed", "decide")


def _retag(task_id: str, tag: str) -> Callable[[etree._Element], None]:
    def edit(root: etree._Element) -> None:
        node = root.find(f".//*[@id='{task_id}']")
        assert node is not None
        node.tag = f"{{{BPMN}}}{tag}"
    return edit


@pytest.mark.parametrize("tag", ["serviceTask", "businessRuleTask"])
def test_a_service_or_business_rule_task_is_refused(refused: Callable[..., list[Problem]], tag: str) -> None:
    only(refused(_retag("set_due", tag)), "script_not_allowed", "set_due")


def test_a_spiff_service_task_operator_is_refused(refused: Callable[..., list[Problem]]) -> None:
    def edit(root: etree._Element) -> None:
        task = root.find(".//*[@id='set_due']")
        ext = etree.SubElement(task, f"{{{BPMN}}}extensionElements")
        task.insert(0, ext)
        etree.SubElement(ext, f"{{{SPIFF}}}serviceTaskOperator", id="http/GetRequest")
    problems = refused(edit)
    assert {p.code for p in problems} == {"script_not_allowed"}
    assert "set_due" in {p.element for p in problems} or "http/GetRequest" in {p.element for p in problems}


def test_a_camunda_attribute_is_refused_naming_the_element(refused: Callable[..., list[Problem]]) -> None:
    only(refused(CAMUNDA_NS, ('<bpmn:sequenceFlow id="f1"', '<bpmn:sequenceFlow camunda:expression="${x}" id="f1"')),
         "script_not_allowed", "f1")


def test_a_camunda_extension_element_is_refused(refused: Callable[..., list[Problem]]) -> None:
    listener = '<camunda:executionListener event="start" expression="${x}"/>'
    notify = '<spiffworkflow:property name="notify"'
    only(refused(CAMUNDA_NS, (notify, listener + notify)), "script_not_allowed", "escalate")


def test_an_unknown_lane_name_is_refused_naming_the_lane(refused: Callable[..., list[Problem]]) -> None:
    problem = only(refused(('name="Chair lane"', 'name="Janitor lane"')), "unknown_lane", "lane_chair")
    assert "Janitor lane" in problem.message


def test_a_user_task_with_no_form_is_refused(refused: Callable[..., list[Problem]]) -> None:
    only(refused(('<spiffworkflow:property name="formJsonSchemaFilename" value="fx/ask.schema.json" />', "")),
         "form_missing", "ask")


def test_a_user_task_naming_a_missing_form_file_is_refused(refused: Callable[..., list[Problem]]) -> None:
    problem = only(refused(('value="fx/ask.schema.json"', 'value="fx/nope.schema.json"')), "form_missing", "ask")
    assert "fx/nope.schema.json" in problem.message


def test_a_missing_ui_form_file_is_refused(refused: Callable[..., list[Problem]]) -> None:
    ui = '<spiffworkflow:property name="formUiSchemaFilename" value="fx/none.uischema.json" />'
    only(refused((DUE_PROPERTY, ui + DUE_PROPERTY)), "form_missing", "decide")


@pytest.mark.parametrize("content", [b'{"type": 12}', b'{"required": "question"}', b"{not json", b"\xff\xfe"],
                         ids=["bad_type", "bad_required", "not_json", "not_utf8"])
def test_a_form_that_is_not_valid_json_schema_is_refused(refused: Callable[..., list[Problem]],
                                                          forms: dict[str, bytes], content: bytes) -> None:
    only(refused(forms_override={**forms, "fx/ask.schema.json": content}), "form_invalid", "ask")


@pytest.mark.parametrize("path", ["/etc/passwd", "../forms/fx/ask.schema.json"])
def test_a_form_path_outside_forms_is_refused(refused: Callable[..., list[Problem]], path: str) -> None:
    only(refused(('value="fx/ask.schema.json"', f'value="{path}"')), "form_invalid", "ask")


def test_a_human_task_outside_any_lane_is_refused(refused: Callable[..., list[Problem]]) -> None:
    only(refused(("<bpmn:flowNodeRef>ask</bpmn:flowNodeRef>", "")), "no_lane", "ask")


def test_notify_naming_an_unknown_role_is_refused(refused: Callable[..., list[Problem]]) -> None:
    problem = only(refused(('name="notify" value="chair"', 'name="notify" value="janitor"')), "unknown_role",
                   "escalate")
    assert "janitor" in problem.message


def test_a_truncated_file_is_refused_as_malformed(refused: Callable[..., list[Problem]], simple_text: str) -> None:
    data = simple_text.encode()
    only(refused(raw=data[: len(data) // 2]), "malformed_xml")


@pytest.mark.parametrize("raw", [b"", b"not xml at all", b"<bpmn:definitions", b"<a><b></a>"],
                         ids=["empty", "text", "unclosed", "mismatched"])
def test_broken_xml_is_refused_as_malformed(refused: Callable[..., list[Problem]], raw: bytes) -> None:
    only(refused(raw=raw), "malformed_xml")


@pytest.mark.parametrize("raw", [
    b"<foo/>",
    b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d"/>',
    b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/WRONG" id="d"/>',
    b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
], ids=["foo", "dmn_disguised", "wrong_namespace", "svg"])
def test_a_wrong_root_is_refused_as_not_bpmn(refused: Callable[..., list[Problem]], raw: bytes) -> None:
    only(refused(raw=raw), "not_bpmn")


CALL = ('<bpmn:callActivity id="set_due" calledElement="{target}"><bpmn:incoming>f2</bpmn:incoming>'
        "<bpmn:outgoing>f3</bpmn:outgoing></bpmn:callActivity>")


def test_a_call_activity_to_a_missing_process_is_refused(refused: Callable[..., list[Problem]],
                                                          simple_text: str) -> None:
    start = simple_text.index(SET_DUE)
    end = simple_text.index("</bpmn:scriptTask>") + len("</bpmn:scriptTask>")
    problems = refused((simple_text[start:end], CALL.format(target="nowhere")))
    assert {p.code for p in problems} == {"invalid_bpmn"}
    assert "nowhere" in problems[0].message


def test_an_xsd_invalid_element_is_refused_as_invalid_bpmn(refused: Callable[..., list[Problem]]) -> None:
    only(refused(('<bpmn:startEvent id="start">', '<bpmn:startEvent id="start"><bpmn:bogus/>')), "invalid_bpmn")


def test_more_than_twenty_processes_in_one_file_are_refused(refused: Callable[..., list[Problem]]) -> None:
    extra = "".join(f'<bpmn:process id="p{i}" isExecutable="false"/>' for i in range(51))
    only(refused(("</bpmn:definitions>", extra + "</bpmn:definitions>")), "too_many_processes")


def test_every_problem_of_a_diagram_is_reported_at_once(refused: Callable[..., list[Problem]]) -> None:
    problems = refused((SCRIPT_BODY, "import os"), (CONDITION, "globals()"), ('name="Chair lane"', 'name="X"'))
    assert {(p.code, p.element) for p in problems} >= {
        ("script_not_allowed", "set_due"), ("expression_not_allowed", "f_yes"), ("unknown_lane", "lane_chair")}


def test_one_bad_file_refuses_the_whole_upload(compile_variant: Callable[..., dict], simple_text: str) -> None:
    with pytest.raises(InvalidDiagram) as info:
        compile_variant(extra={"other.bpmn": b"<foo/>"})
    assert [(p.code, p.file) for p in info.value.problems] == [("not_bpmn", "other.bpmn")]


def test_jinja_in_documentation_is_kept_as_inert_text(compile_variant: Callable[..., dict]) -> None:
    compiled = compile_variant(("cite 7.1", "{{ cycler.__init__.__globals__.os.popen('id').read() }}"))
    assert compiled["simple_case"].spec.task_specs["ask"].documentation.startswith("{{ cycler")


# --- accepted today, but T-X1 / T-A1 say they should be refused -------------------------------------------

def test_a_recursive_call_activity_is_refused(refused: Callable[..., list[Problem]], simple_text: str) -> None:
    start = simple_text.index(SET_DUE)
    end = simple_text.index("</bpmn:scriptTask>") + len("</bpmn:scriptTask>")
    refused((simple_text[start:end], CALL.format(target="simple_case")))


def test_a_one_second_timer_cycle_is_refused(refused: Callable[..., list[Problem]]) -> None:
    only(refused((TIMER, '<bpmn:timeCycle>"R/PT1S"</bpmn:timeCycle>')), "timer_invalid", "late_timer")


TIMER_CRASHES = {
    "zero_slice_step": "'P6W'[::0]",
    "unhashable_key": "{[]: 1}",
    "bad_format": "'%z' % 1",
    "deep_unary": "-" * 3000 + "1",
}


@pytest.mark.parametrize("payload", TIMER_CRASHES.values(), ids=TIMER_CRASHES.keys())
def test_a_timer_that_crashes_when_evaluated_is_refused_not_raised(refused: Callable[..., list[Problem]],
                                                                    payload: str) -> None:
    expected = "expression_not_allowed" if payload.startswith("---") else "timer_invalid"
    only(refused((TIMER, f"<bpmn:timeDuration>{payload}</bpmn:timeDuration>")), expected, "late_timer")


def test_a_condition_deep_enough_to_crash_the_parser_is_refused(refused: Callable[..., list[Problem]]) -> None:
    only(refused((CONDITION, "-" * 3000 + "1")), "expression_not_allowed", "f_yes")


def test_a_condition_reading_a_field_a_form_keeps_private_is_refused_naming_the_flow(
        refused: Callable[..., list[Problem]], forms: dict[str, bytes]) -> None:
    private = {"type": "object", "properties": {"decision": {"type": "string", "x-private": True}}}
    problem = only(refused(forms_override={**forms, "private.schema.json": json.dumps(private).encode()}),
                   "private_field_in_expression", "f_yes")
    assert "decision" in problem.message and "x-private" in problem.message


@pytest.mark.parametrize("value", ["yes", "True", ""])
def test_a_standing_step_marked_anything_but_true_is_refused(refused: Callable[..., list[Problem]], value: str) -> None:
    rule = f'<spiffworkflow:property name="standing" value="{value}" />'
    problem = only(refused((DUE_PROPERTY, DUE_PROPERTY + rule)), "property_invalid", "decide")
    assert "standing" in problem.message and "'true'" in problem.message
