"""Static checks on a parsed diagram: no code, known lanes and roles, forms present, expressions allowed."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.errors import ExpressionError, Problem
from engine.workflow import expressions
from engine.workflow.catalogue import Catalogue
from engine.workflow.forms import private_fields as forms_private_fields
from engine.workflow.xmlsafe import BPMN, SPIFF, XINCLUDE

MAX_PROCESSES = 20
MIN_CYCLE = timedelta(hours=1)
# A month or year in the date part of an ISO 8601 duration ("P1M", "P6M", "P1Y", "R/P1M"; not "PT1M", minutes).
_CALENDAR_DURATION = re.compile(r"P(?:\d+[YMWD])*?\d+([YM])")
_FORBIDDEN_NAMESPACES = ("http://camunda.org/schema", "http://activiti.org", "http://flowable.org")
_FORBIDDEN_TAGS = {
    f"{{{BPMN}}}serviceTask": "service tasks run code; use a user task or a notification event",
    f"{{{BPMN}}}businessRuleTask": "business rule tasks (DMN) are not supported",
    f"{{{SPIFF}}}preScript": "pre-scripts are not allowed; use a script task in the restricted language",
    f"{{{SPIFF}}}postScript": "post-scripts are not allowed; use a script task in the restricted language",
    f"{{{SPIFF}}}calledDecisionId": "DMN decisions are not supported",
    f"{{{SPIFF}}}serviceTaskOperator": "service tasks are not supported",
}
_EXPRESSION_TAGS = {
    f"{{{BPMN}}}conditionExpression", f"{{{BPMN}}}loopCardinality", f"{{{BPMN}}}completionCondition",
    f"{{{BPMN}}}condition", f"{{{SPIFF}}}messagePayload",
}
_TIMER_TAGS = {f"{{{BPMN}}}timeDuration", f"{{{BPMN}}}timeDate", f"{{{BPMN}}}timeCycle"}
_HUMAN_TAGS = {f"{{{BPMN}}}userTask", f"{{{BPMN}}}manualTask"}
_ISO_LOOKALIKE = re.compile(r"^(R\d*/)?P[0-9YMWDTHS.]+$|^\d{4}-\d{2}-\d{2}")


def _owner_id(node: etree._Element) -> str | None:
    """The id of the nearest ancestor-or-self element that has one (the element to blame)."""
    while node is not None:
        if isinstance(node.tag, str) and node.get("id"):
            return node.get("id")
        node = node.getparent()
    return None


def _properties(node: etree._Element) -> dict[str, str]:
    return {
        p.get("name", ""): p.get("value", "")
        for p in node.iterfind(f"{{{BPMN}}}extensionElements/{{{SPIFF}}}properties/{{{SPIFF}}}property")
    }


def _check_timer_text(text: str) -> tuple[str, str] | None:
    """Return (code, why) a timer expression is unusable, or None (constants must parse as ISO 8601)."""
    stripped = text.strip()
    if _ISO_LOOKALIKE.match(stripped):
        return "timer_invalid", f"timer value {stripped} must be quoted: \"{stripped}\""
    try:
        expressions.check_expression(stripped)
    except ExpressionError as exc:
        return "expression_not_allowed", f"timer expression is outside the restricted language: {exc}"
    reason = _timer_value_problem(stripped)
    return ("timer_invalid", reason) if reason else None


def _timer_value_problem(stripped: str) -> str | None:
    """Why a constant timer value is not usable ISO 8601 (None when fine or data-dependent)."""
    try:
        value = expressions.evaluate(stripped, {})
    except ExpressionError as exc:
        if "unknown variable" in str(exc):
            return None  # depends on workflow data (e.g. a computed deadline); checked when it runs
        return str(exc)
    if not isinstance(value, str):
        return "a timer must give an ISO 8601 text"
    calendar = _CALENDAR_DURATION.search(value)
    if calendar:
        unit = "years" if calendar.group(1) == "Y" else "months"
        return (f"timer {value!r} counts {unit}, which SpiffWorkflow does not count on the calendar (31 January "
                "+ P1M gives 2 March): compute the date with add_months(...) in a script task and use it as the "
                "timer's timeDate")
    try:
        if value.startswith("R"):
            _, start, duration = TimerEventDefinition.parse_iso_recurring_interval(value)
            if isinstance(duration, timedelta) and duration < MIN_CYCLE:
                return f"timer cycle {value!r} repeats more often than once an hour"
        else:
            TimerEventDefinition.parse_time_or_duration(value)
    except Exception:  # SpiffWorkflow raises assorted errors for bad ISO text
        return f"{value!r} is not an ISO 8601 duration or date"
    return None


@dataclass
class Checked:
    """What static checks learned about one file: problems, forms it needs, process ids it defines."""

    problems: list[Problem] = field(default_factory=list)
    forms: set[str] = field(default_factory=set)
    processes: list[str] = field(default_factory=list)


def check_document(root: etree._Element, filename: str, catalogue: Catalogue, forms: Mapping[str, bytes]) -> Checked:
    """Static checks the engine relies on: no code, known lanes, forms present, expressions in the language."""
    found = Checked()
    private = private_fields(forms)

    def problem(code: str, message: str, node: etree._Element) -> None:
        found.problems.append(Problem(code, message, element=_owner_id(node), file=filename))

    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        namespace = etree.QName(node).namespace or ""
        if namespace.startswith(_FORBIDDEN_NAMESPACES) or any(
            str(k).startswith("{" + ns) for k in node.attrib for ns in _FORBIDDEN_NAMESPACES
        ):
            problem("script_not_allowed", "Camunda/Activiti/Flowable extensions are not supported", node)
        if namespace.startswith(XINCLUDE):
            problem("xinclude_not_allowed", "XInclude is not allowed in a diagram", node)
        if node.tag in _FORBIDDEN_TAGS:
            problem("script_not_allowed", _FORBIDDEN_TAGS[node.tag], node)
        elif node.tag == f"{{{BPMN}}}script":
            try:
                read = expressions.names_in(node.text or "", script=True)
            except ExpressionError as exc:
                problem("script_not_allowed", f"script is outside the restricted language: {exc}", node)
            else:
                _private_problem(read, private, node, problem)
        elif node.tag in _EXPRESSION_TAGS and (node.text or "").strip():
            try:
                read = expressions.names_in(node.text or "")
            except ExpressionError as exc:
                problem("expression_not_allowed", f"expression is outside the restricted language: {exc}", node)
            else:
                _private_problem(read, private, node, problem)
        elif node.tag in _TIMER_TAGS:
            refusal = _check_timer_text(node.text or "")
            if refusal:
                problem(*refusal, node)
        elif node.tag == f"{{{BPMN}}}process":
            found.processes.append(node.get("id", ""))
        elif node.tag == f"{{{BPMN}}}lane":
            name = node.get("name")
            if catalogue.role_for_lane(name) is None:
                problem("unknown_lane", f"lane '{name}' is not a role of forms/roles.json", node)
    if len(found.processes) > MAX_PROCESSES:
        found.problems.append(Problem("too_many_processes", f"more than {MAX_PROCESSES} processes", file=filename))
    _check_human_tasks(root, filename, catalogue, forms, found)
    return found


def private_fields(forms: Mapping[str, bytes]) -> set[str]:
    """Field names some form marks `x-private`: their answers stay in the case file, out of workflow data."""
    names: set[str] = set()
    for name, data in forms.items():
        if not name.endswith(".schema.json"):
            continue
        try:
            schema = json.loads(data)
        except ValueError:
            continue  # reported as form_invalid where a task uses it
        if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
            names |= forms_private_fields(schema)
    return names


def _private_problem(read: set[str], private: set[str], node: etree._Element,
                     report: Callable[[str, str, etree._Element], None]) -> None:
    """Report an expression that reads a private field (it never reaches workflow data, so it cannot be read)."""
    hidden = sorted(read & private)
    if hidden:
        report("private_field_in_expression", f"expression reads {', '.join(hidden)}, which a form keeps private "
               "(x-private): the diagram cannot see it; remove x-private from the form or route on another field", node)


def _lanes_by_node(root: etree._Element) -> dict[str, str]:
    index: dict[str, str] = {}
    for lane in root.iter(f"{{{BPMN}}}lane"):
        for ref in lane.iterfind(f"{{{BPMN}}}flowNodeRef"):
            index[(ref.text or "").strip()] = lane.get("name", "")
    return index


def _check_human_tasks(root: etree._Element, filename: str, catalogue: Catalogue, forms: Mapping[str, bytes],
                       found: Checked) -> None:
    lanes = _lanes_by_node(root)
    steps = {n.get("id") for tag in _HUMAN_TAGS for n in root.iter(tag)}
    elements = {n.get("id") for n in root.iter() if isinstance(n.tag, str) and n.get("id")}
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        props = _properties(node)
        element = node.get("id")
        for read in (r.strip() for r in props.get("reads", "").split(",") if r.strip()):
            if read not in steps or read == element:
                found.problems.append(Problem("property_invalid", f"property reads names {read!r}, which is not "
                                              "another human task of this diagram", element, filename))
        if props.get("workingDay", "next") != "next":
            found.problems.append(Problem("property_invalid", "property workingDay can only be 'next' (move a date "
                                          "on a weekend or bank holiday to the next working day)", element, filename))
        if "standing" in props and (props["standing"] != "true" or node.tag != f"{{{BPMN}}}userTask"):
            found.problems.append(Problem("property_invalid", "property standing can only be 'true', on a user task "
                                          "that stays open for its role to take at any time", element, filename))
        if node.tag in _HUMAN_TAGS:
            if element not in lanes:
                found.problems.append(Problem("no_lane", "a human task must sit in a lane (a role)", element, filename))
            form = props.get("formJsonSchemaFilename")
            if node.tag == f"{{{BPMN}}}userTask" and not form:
                found.problems.append(Problem("form_missing", "user task names no formJsonSchemaFilename",
                                              element, filename))
            for key in ("formJsonSchemaFilename", "formUiSchemaFilename"):
                name = props.get(key)
                if not name:
                    continue
                reason = _form_problem(name, forms, schema=key == "formJsonSchemaFilename")
                if reason:
                    found.problems.append(Problem("form_missing" if "not found" in reason else "form_invalid",
                                                  reason, element, filename))
                else:
                    found.forms.add(name)
        if "week" in props and not props["week"].lstrip("-").isdigit():
            try:
                expressions.check_expression(props["week"])
            except ExpressionError as exc:
                found.problems.append(Problem("property_invalid", f"property week must be a whole number or an "
                                              f"expression: {exc}", element, filename))
        for key in ("clock", "clockDelay"):
            if key in props and not props[key].isidentifier():
                found.problems.append(Problem("property_invalid", f"property {key} must name a variable",
                                              element, filename))
        if "metWhen" in props and (props["metWhen"] not in elements or "milestone" not in props):
            found.problems.append(Problem("property_invalid", f"property metWhen names {props['metWhen']!r}: it "
                                          "must be the id of a step of this diagram, on a milestone timer",
                                          element, filename))
        if "milestone" in props and (not props["milestone"].strip()
                                     or node.find(f"{{{BPMN}}}timerEventDefinition") is None):
            found.problems.append(Problem("property_invalid", "property milestone must be a title on a timer event",
                                          element, filename))
        for key in ("due",):
            if key in props:
                try:
                    expressions.check_expression(props[key])
                except ExpressionError as exc:
                    found.problems.append(
                        Problem("expression_not_allowed", f"property {key}: {exc}", element, filename))
        if "notify" in props and catalogue.role(props["notify"]) is None:
            found.problems.append(Problem("unknown_role", f"notify names unknown role '{props['notify']}'",
                                          element, filename))


def _form_problem(name: str, forms: Mapping[str, bytes], schema: bool) -> str | None:
    if name.startswith("/") or ".." in name.split("/"):
        return f"form path {name!r} must be relative to forms/"
    if name not in forms:
        return f"form {name} not found in forms/"
    try:
        document = json.loads(forms[name])
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return f"form {name} is not valid JSON: {exc}"
    if schema:
        if not isinstance(document, dict) or document.get("type", "object") != "object":
            return f"form {name} must be a JSON Schema of type object"
        try:
            Draft202012Validator.check_schema(document)
        except SchemaError as exc:
            return f"form {name} is not a valid JSON Schema: {exc.message}"
    return None


def recursive_calls(roots: Mapping[str, etree._Element]) -> list[Problem]:
    """Call activities that lead back to their own process (a case would never end)."""
    calls: dict[str, list[tuple[str, str, str]]] = {}
    for filename, root in roots.items():
        for process in root.iter(f"{{{BPMN}}}process"):
            calls[process.get("id", "")] = [
                (c.get("calledElement", ""), c.get("id", ""), filename)
                for c in process.iter(f"{{{BPMN}}}callActivity")
            ]
    problems = []
    for start, edges in calls.items():
        for called, element, filename in edges:
            seen, stack = set(), [called]
            while stack:
                current = stack.pop()
                if current == start:
                    problems.append(Problem("recursive_call", f"calling {called} leads back to {start}",
                                            element, filename))
                    break
                if current not in seen:
                    seen.add(current)
                    stack.extend(c for c, _, _ in calls.get(current, []))
    return problems
