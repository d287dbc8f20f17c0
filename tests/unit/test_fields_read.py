"""Every name a diagram reads must be set before it: a form of an earlier task, a script, a data object, start data."""

from __future__ import annotations

import json
from pathlib import Path

from engine.errors import Problem
from engine.workflow.fields import unread_fields
from engine.workflow.specs import read_diagrams, read_forms

ROOT = Path(__file__).resolve().parents[2]
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="x">')


def form(*fields: str) -> bytes:
    return json.dumps({"type": "object", "properties": {f: {"type": "string"} for f in fields}}).encode()


FORMS = {"fx/ask.schema.json": form("reason", "asked_on"), "fx/decide.schema.json": form("decision", "decided_on")}


def props(**values: str) -> str:
    inner = "".join(f'<spiffworkflow:property name="{k}" value="{v}" />' for k, v in values.items())
    return (f"<bpmn:extensionElements><spiffworkflow:properties>{inner}</spiffworkflow:properties>"
            "</bpmn:extensionElements>")


def task(element: str, form_name: str, name: str = "", **values: str) -> str:
    return (f'<bpmn:userTask id="{element}" name="{name or element}">'
            f'{props(formJsonSchemaFilename=form_name, **values)}</bpmn:userTask>')


def flow(source: str, target: str, condition: str = "") -> str:
    body = f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>" if condition else ""
    return (f'<bpmn:sequenceFlow id="f_{source}__{target}" sourceRef="{source}" targetRef="{target}">{body}'
            "</bpmn:sequenceFlow>")


def script(element: str, source: str) -> str:
    return f'<bpmn:scriptTask id="{element}"><bpmn:script>{source}</bpmn:script></bpmn:scriptTask>'


def chain(*elements: str) -> str:
    return "".join(flow(a, b) for a, b in zip(elements, elements[1:], strict=False))


def diagram(*bodies: str) -> bytes:
    """A file of processes, each given as (attributes and) body text."""
    return (HEAD + "".join(bodies) + "</bpmn:definitions>").encode()


def process(body: str, process_id: str = "p", head: str = "") -> str:
    return f'<bpmn:process id="{process_id}" isExecutable="true">{head}{body}</bpmn:process>'


def check(*bodies: str) -> list[Problem]:
    return unread_fields({"d.bpmn": diagram(*bodies)}, FORMS)


def never_set(problems: list[Problem]) -> list[tuple[str | None, str]]:
    """(element, first quoted name) of each problem."""
    assert all(p.code == "field_never_set" and p.file == "d.bpmn" for p in problems)
    return [(p.element, p.message.split("reads '")[1].split("'")[0]) for p in problems]


def test_a_condition_reading_a_field_no_earlier_form_asks_is_refused_naming_it_and_the_form_to_ask_it() -> None:
    problems = check(process(
        '<bpmn:startEvent id="start" />' + task("ask", "fx/ask.schema.json", "Ask the question")
        + '<bpmn:exclusiveGateway id="gw" /><bpmn:endEvent id="yes" /><bpmn:endEvent id="no" />'
        + chain("start", "ask", "gw") + flow("gw", "yes", "decision == 'yes'") + flow("gw", "no")))
    assert never_set(problems) == [("f_gw__yes", "decision")]
    assert problems[0].message == (
        "the condition of flow f_gw__yes reads 'decision', which no step before it sets: add it to the form of an "
        "earlier task, such as 'Ask the question' (ask) (fx/ask.schema.json), set it in a script before it, or list "
        "it in the process's startData property")


def test_a_condition_reading_a_field_an_earlier_form_asks_passes() -> None:
    assert check(process(
        '<bpmn:startEvent id="start" />' + task("decide", "fx/decide.schema.json")
        + '<bpmn:exclusiveGateway id="gw" /><bpmn:endEvent id="yes" /><bpmn:endEvent id="no" />'
        + chain("start", "decide", "gw") + flow("gw", "yes", "decision == 'yes'") + flow("gw", "no"))) == []


def test_a_due_date_reading_the_steps_own_answer_is_refused_because_the_answer_comes_after_it() -> None:
    problems = check(process(
        '<bpmn:startEvent id="start" />' + task("decide", "fx/decide.schema.json", due="add_days(decided_on, 2)")
        + '<bpmn:endEvent id="end" />' + chain("start", "decide", "end")))
    assert never_set(problems) == [("decide", "decided_on")]
    assert "no task before it asks anything" in problems[0].message


def test_a_script_line_reads_what_its_earlier_lines_set_but_not_what_its_later_lines_set() -> None:
    lines = "a = add_days(asked_on, 1)\nb = add_days(a, 1)\nc = add_days(d, 1)\nd = a"
    problems = check(process(
        '<bpmn:startEvent id="start" />' + task("ask", "fx/ask.schema.json")
        + script("dates", lines)
        + '<bpmn:endEvent id="end" />' + chain("start", "ask", "dates", "end")))
    assert never_set(problems) == [("dates", "d")]


def test_a_timer_on_a_task_sees_what_was_set_before_the_task_but_not_the_tasks_own_answers() -> None:
    problems = check(process(
        '<bpmn:startEvent id="start" />' + task("ask", "fx/ask.schema.json") + task("decide", "fx/decide.schema.json")
        + '<bpmn:boundaryEvent id="early" attachedToRef="decide" cancelActivity="false"><bpmn:timerEventDefinition>'
        '<bpmn:timeDate>add_weeks(asked_on, 1)</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
        + '<bpmn:boundaryEvent id="own" attachedToRef="decide" cancelActivity="false"><bpmn:timerEventDefinition>'
        '<bpmn:timeDate>add_weeks(decided_on, 1)</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
        + '<bpmn:endEvent id="end" /><bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" />'
        + chain("start", "ask", "decide", "end") + flow("early", "e1") + flow("own", "e2")))
    assert never_set(problems) == [("own", "decided_on")]
    assert "'decide' (decide) (fx/decide.schema.json)" in problems[0].message


def test_a_field_set_on_one_branch_of_a_choice_counts_but_one_set_on_a_parallel_branch_only_after_the_join() -> None:
    choice = check(process(
        '<bpmn:startEvent id="start" /><bpmn:exclusiveGateway id="split" /><bpmn:exclusiveGateway id="merge" />'
        + task("decide", "fx/decide.schema.json")
        + script("use", "due = add_days(decided_on, 1)")
        + '<bpmn:endEvent id="end" />' + chain("start", "split", "decide", "merge", "use", "end")
        + flow("split", "merge")))
    assert choice == []
    parallel = check(process(
        '<bpmn:startEvent id="start" /><bpmn:parallelGateway id="split" /><bpmn:parallelGateway id="join" />'
        + task("decide", "fx/decide.schema.json")
        + script("early", "x = add_days(decided_on, 1)")
        + script("late", "y = add_days(decided_on, 1)")
        + '<bpmn:endEvent id="end" />' + chain("start", "split", "decide", "join", "late", "end")
        + chain("split", "early", "join")))
    assert never_set(parallel) == [("early", "decided_on")]


def test_a_loop_may_read_what_a_later_step_of_the_same_loop_sets() -> None:
    assert check(process(
        '<bpmn:startEvent id="start" /><bpmn:exclusiveGateway id="merge" /><bpmn:exclusiveGateway id="again" />'
        + script("count", 'rounds = rounds + 1 if defined("rounds") else 1')
        + task("decide", "fx/decide.schema.json", week="rounds")
        + '<bpmn:endEvent id="end" />' + chain("start", "merge", "count", "decide", "again", "end")
        + flow("again", "merge", "decision == 'no'"))) == []


def test_data_objects_multi_instance_items_and_listed_start_data_count_as_set() -> None:
    body = ('<bpmn:dataObject id="shared_flag" /><bpmn:startEvent id="start" />'
            '<bpmn:userTask id="each">'
            + props(formJsonSchemaFilename="fx/ask.schema.json", due="add_days(opened_on, 2)",
                    week="1 if agency == 'police' else 2")
            + '<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>agencies</bpmn:loopDataInputRef>'
            '<bpmn:loopDataOutputRef>answers</bpmn:loopDataOutputRef><bpmn:inputDataItem id="agency" name="agency" />'
            '<bpmn:outputDataItem id="reason" name="reason" /></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>'
            '<bpmn:exclusiveGateway id="gw" /><bpmn:endEvent id="a" /><bpmn:endEvent id="b" />'
            + chain("start", "each", "gw") + flow("gw", "a", "shared_flag and len(answers) > 0") + flow("gw", "b"))
    listed = props(startData="agencies, opened_on")
    assert check(process(body, head=listed)) == []
    assert sorted(never_set(check(process(body)))) == [("each", "agencies"), ("each", "opened_on")]


def test_a_called_process_without_inputs_sees_its_callers_data_and_gives_back_what_it_sets() -> None:
    caller = process('<bpmn:startEvent id="start" />' + task("ask", "fx/ask.schema.json")
                     + '<bpmn:callActivity id="call" calledElement="inner" />'
                     + script("after", "z = add_days(decided_on, 1)")
                     + '<bpmn:endEvent id="end" />' + chain("start", "ask", "call", "after", "end"), "outer")
    inner = process('<bpmn:startEvent id="in_start" />'
                    + script("in_use", "w = add_days(asked_on, 1)")
                    + task("in_decide", "fx/decide.schema.json") + '<bpmn:endEvent id="in_end" />'
                    + chain("in_start", "in_use", "in_decide", "in_end"), "inner")
    assert check(caller, inner) == []


def test_a_called_process_with_inputs_needs_them_at_the_call_and_gives_back_only_its_outputs() -> None:
    caller = process('<bpmn:startEvent id="start" />' + task("ask", "fx/ask.schema.json")
                     + '<bpmn:callActivity id="call" calledElement="inner" />'
                     + script("after", "z = add_days(result, 1)\nq = decided_on")
                     + '<bpmn:endEvent id="end" />' + chain("start", "ask", "call", "after", "end"), "outer")
    io = ('<bpmn:ioSpecification><bpmn:dataInput id="asked_on" /><bpmn:dataInput id="opened_on" />'
          '<bpmn:dataOutput id="result" /><bpmn:inputSet><bpmn:dataInputRefs>asked_on</bpmn:dataInputRefs>'
          '<bpmn:dataInputRefs>opened_on</bpmn:dataInputRefs></bpmn:inputSet><bpmn:outputSet>'
          '<bpmn:dataOutputRefs>result</bpmn:dataOutputRefs></bpmn:outputSet></bpmn:ioSpecification>')
    inner = process('<bpmn:startEvent id="in_start" />' + task("in_decide", "fx/decide.schema.json")
                    + script("in_out", "result = add_days(opened_on, 1)") + '<bpmn:endEvent id="in_end" />'
                    + chain("in_start", "in_decide", "in_out", "in_end"), "inner", head=io)
    assert sorted(never_set(check(caller, inner))) == [("after", "decided_on"), ("call", "opened_on")]


def test_an_embedded_sub_process_sees_the_data_before_it_and_gives_back_what_it_sets() -> None:
    sub = ('<bpmn:subProcess id="sub"><bpmn:startEvent id="s_start" />'
           + script("s_use", "w = add_days(asked_on, 1)")
           + '<bpmn:endEvent id="s_end" />' + chain("s_start", "s_use", "s_end") + "</bpmn:subProcess>")
    assert check(process(
        '<bpmn:startEvent id="start" />' + task("ask", "fx/ask.schema.json") + sub
        + script("after", "v = add_days(w, 1)")
        + '<bpmn:endEvent id="end" />' + chain("start", "ask", "sub", "after", "end"))) == []


def test_built_in_functions_now_and_names_guarded_by_defined_are_never_reported() -> None:
    assert check(process(
        '<bpmn:startEvent id="start" />'
        + script("s", 'due = add_working_days(now(), 5)\nlate = max(due, later) if defined("later") else due')
        + '<bpmn:endEvent id="end" />' + chain("start", "s", "end"))) == []


def test_the_same_element_ids_in_two_files_are_two_different_steps() -> None:
    asks = diagram(process('<bpmn:startEvent id="start" />' + task("t", "fx/ask.schema.json")
                           + script("s", "x = asked_on")
                           + chain("start", "t", "s"), "one"))
    decides = diagram(process('<bpmn:startEvent id="start" />' + task("t", "fx/decide.schema.json")
                              + script("s", "x = asked_on")
                              + chain("start", "t", "s"), "two"))
    problems = unread_fields({"a.bpmn": asks, "b.bpmn": decides}, FORMS)
    assert [(p.file, p.element) for p in problems] == [("b.bpmn", "s")]


def test_a_file_that_is_not_xml_or_an_expression_outside_the_language_is_left_to_the_other_checks() -> None:
    outside = process('<bpmn:startEvent id="start" />'
                      + script("s", "import os")
                      + chain("start", "s"))
    assert unread_fields({"bad.bpmn": b"<not xml", "d.bpmn": diagram(outside)}, FORMS) == []


# The Dorset administrator's receipt of the proforma is due two days after the receipt date that the same step
# records, so its due date can never be computed when it becomes ready (reported to the diagram's owner).
KNOWN = {("dorset/scr_dorset.bpmn", "receive_proforma", "proforma_received_date")}


def test_the_boards_procedures_read_only_fields_set_before_them_but_one_known_due_date() -> None:
    problems = unread_fields(read_diagrams([ROOT / "bpmn"]), read_forms(ROOT / "forms"))
    found = {(p.file, p.element, p.message.split("reads '")[1].split("'")[0]) for p in problems}
    assert found <= KNOWN
