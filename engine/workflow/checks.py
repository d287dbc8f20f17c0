"""Static checks on a parsed diagram: no code, known lanes and roles, forms present, expressions allowed."""

from __future__ import annotations

import functools
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
# Other engines' extensions, by namespace prefix. Camunda Modeler's own notes on the file (the modeler namespace:
# executionPlatform, executionPlatformVersion) and `exporter`/`exporterVersion` are tool metadata and ignored.
_TOOL_METADATA = "http://camunda.org/schema/modeler/"
_ENGINES = (("http://camunda.org/schema/zeebe/", "Camunda 8"), ("http://camunda.org/schema", "Camunda 7"),
            ("http://activiti.org", "Activiti"), ("http://flowable.org", "Flowable"))
# Decision: what only tunes the other engine (asynchronous continuations, job and task priority, history
# time-to-live, version tags, tasklist start flags, job retries, which version a call binds to, Camunda 8's
# user-task marker) changes nothing a case does here, so it is ignored. Everything else of those engines is refused,
# naming it, with what to use instead.
_ENGINE_TUNING = {
    "asyncBefore", "asyncAfter", "async", "exclusive", "jobPriority", "taskPriority", "historyTimeToLive",
    "versionTag", "isStartableInTasklist", "failedJobRetryTimeCycle", "calledElementBinding", "calledElementVersion",
    "calledElementVersionTag", "calledElementTenantId", "priorityDefinition", "userTask", "formFieldValidation",
}
_FORM = "use the spiffworkflow property formJsonSchemaFilename (a JSON Schema under forms/) instead"
_LANE = "put the task in a lane named for a role instead (allowed lane names: {lanes})"
_CODE = ("code run by the engine is not supported: use a user task, or a script task in the restricted language "
         "(`name = expression` lines), instead")
_DATA = ("data mapping is not supported: a call activity passes all the case data in and its result back; use data "
         "objects for values several steps share instead")
_LOOP = "use bpmn:loopDataInputRef with a bpmn:inputDataItem (bpmn/README.md) instead"
# Extension name (attribute or element, any of the engines above) -> (what to use instead, whether it runs code).
_FOREIGN_HINTS: dict[str, tuple[str, bool]] = {
    **dict.fromkeys(("formKey", "formRef", "formRefBinding", "formRefVersion", "formData", "formProperty",
                     "formField", "formDefinition", "userTaskForm", "formHandlerClass"), (_FORM, False)),
    **dict.fromkeys(("assignee", "candidateGroups", "candidateUsers", "assignmentDefinition"), (_LANE, False)),
    **dict.fromkeys(("dueDate", "followUpDate", "taskSchedule"),
                    ("use the spiffworkflow property due (an expression giving the date) instead", False)),
    "priority": ("tasks are ordered by their due date: use the spiffworkflow property due instead", False),
    **dict.fromkeys(("class", "expression", "delegateExpression", "type", "topic", "connector", "taskListener",
                     "executionListener", "resource", "script", "taskDefinition", "taskHeaders", "decisionRef",
                     "calledDecision", "errorEventDefinition", "field"), (_CODE, True)),
    "resultVariable": ("assign the result in the script instead: `name = expression`", False),
    **dict.fromkeys(("inputOutput", "in", "out", "ioMapping", "input", "output", "inputParameter",
                     "outputParameter"), (_DATA, False)),
    **dict.fromkeys(("properties", "property"),
                    ("use spiffworkflow:properties (formJsonSchemaFilename, due, week, ...) instead", False)),
    "initiator": ("the case records who started it; to give someone a role use a form field with x-assign-role "
                  "instead", False),
    **dict.fromkeys(("candidateStarterGroups", "candidateStarterUsers"),
                    ("who may start a case is the initiator role of forms/roles.json: use the lanes instead", False)),
    **dict.fromkeys(("collection", "elementVariable", "loopCharacteristics"), (_LOOP, False)),
    "subscription": ("message correlation is not supported: use a user task or a timer instead", False),
    **dict.fromkeys(("variableName", "variableEvents"),
                    ("write the event's condition in the restricted language instead", False)),
}
_OTHER_EXTENSION = "this engine does not read it: use the conventions of bpmn/README.md instead"
_PYTHON_FORMATS = {"", "python", "python3", "text/x-python", "text/python"}
_EMBEDDED = {f"{{{BPMN}}}subProcess", f"{{{BPMN}}}transaction", f"{{{BPMN}}}adHocSubProcess"}
_FORBIDDEN_TAGS = {
    f"{{{BPMN}}}serviceTask": "service tasks run code; use a user task or a notification event instead",
    f"{{{BPMN}}}businessRuleTask": "business rule tasks (DMN) are not supported: use an exclusive gateway with "
                                   "conditions instead",
    f"{{{SPIFF}}}preScript": "pre-scripts are not allowed; use a script task in the restricted language",
    f"{{{SPIFF}}}postScript": "post-scripts are not allowed; use a script task in the restricted language",
    f"{{{SPIFF}}}calledDecisionId": "DMN decisions are not supported: use an exclusive gateway with conditions instead",
    f"{{{SPIFF}}}serviceTaskOperator": "service tasks are not supported: use a user task or a notification event "
                                      "instead",
}
_EXPRESSION_TAGS = {
    f"{{{BPMN}}}conditionExpression", f"{{{BPMN}}}loopCardinality", f"{{{BPMN}}}completionCondition",
    f"{{{BPMN}}}condition", f"{{{SPIFF}}}messagePayload",
}
_TIMER_TAGS = {f"{{{BPMN}}}timeDuration", f"{{{BPMN}}}timeDate", f"{{{BPMN}}}timeCycle"}
_HUMAN_TAGS = {f"{{{BPMN}}}userTask", f"{{{BPMN}}}manualTask"}
_PLAIN_TASK = f"{{{BPMN}}}task"  # bpmn.io's default shape: a step a person does, like a manual task (README)
_ISO_LOOKALIKE = re.compile(r"^(R\d*/)?P[0-9YMWDTHS.]+$|^\d{4}-\d{2}-\d{2}")
_NO_TIMER_VALUE = ("the timer has no value: write a quoted duration such as \"P6W\", a date expression such as "
                   "add_months(decision_date, 1), or the name of a variable holding an ISO date")


def owner_id(node: etree._Element) -> str | None:
    """The id of the nearest ancestor-or-self element that has one (the element to blame)."""
    while node is not None:
        if isinstance(node.tag, str) and node.get("id"):
            return node.get("id")
        node = node.getparent()
    return None


def element_properties(node: etree._Element) -> dict[str, str]:
    """The `spiffworkflow:properties` of an element of a parsed diagram (empty when it has none)."""
    return {
        p.get("name", ""): p.get("value", "")
        for p in node.iterfind(f"{{{BPMN}}}extensionElements/{{{SPIFF}}}properties/{{{SPIFF}}}property")
    }


def _check_timer_text(text: str) -> tuple[str, str] | None:
    """Return (code, why) a timer expression is unusable, or None (constants must parse as ISO 8601)."""
    stripped = text.strip()
    if not stripped:
        return "timer_invalid", _NO_TIMER_VALUE
    if _ISO_LOOKALIKE.match(stripped):
        return "timer_invalid", f"timer value {stripped} must be quoted: write \"{stripped}\" (with the quotes) instead"
    try:
        expressions.check_expression(stripped)
    except ExpressionError as exc:
        return "expression_not_allowed", f"timer: {exc}"
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
        return f"a timer must give an ISO 8601 text, not {value!r}: write a quoted duration such as \"P6W\" instead"
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
                return f"timer cycle {value!r} repeats more often than once an hour: use a longer cycle instead"
        else:
            TimerEventDefinition.parse_time_or_duration(value)
    except Exception:  # SpiffWorkflow raises assorted errors for bad ISO text
        return (f"{value!r} is not an ISO 8601 duration or date: write one such as \"P6W\" or "
                "\"2027-01-16T09:00:00+00:00\" instead")
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
    lanes = ", ".join(repr(r.lane) for r in catalogue.roles if r.lane)
    ids: dict[str, etree._Element] = {}
    foreign_scripts: set[etree._Element] = set()

    def problem(code: str, message: str, node: etree._Element) -> None:
        found.problems.append(Problem(code, message, element=owner_id(node), file=filename))

    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        namespace = etree.QName(node).namespace or ""
        if _engine(namespace):
            parent = node.getparent()
            if parent is None or _engine(etree.QName(parent).namespace or "") is None:  # the outermost one only
                refusal = _foreign_element(node, lanes)
                if refusal:
                    problem(*refusal, node)
            continue
        for attribute, value in node.attrib.items():
            refusal = _foreign_attribute(node, str(attribute), value, lanes)
            if refusal:
                problem(*refusal, node)
        _duplicate_id(node, ids, problem)
        if namespace.startswith(XINCLUDE):
            problem("xinclude_not_allowed", "XInclude is not allowed in a diagram: remove it and write the text "
                    "itself instead", node)
        if node.tag in _FORBIDDEN_TAGS:
            problem("script_not_allowed", _FORBIDDEN_TAGS[node.tag], node)
        elif node.tag == f"{{{BPMN}}}scriptTask":
            _script_task(node, foreign_scripts, problem)
        elif node.tag == f"{{{BPMN}}}script":
            if node.getparent() in foreign_scripts:
                continue
            try:
                read = expressions.names_in(node.text or "", script=True)
            except ExpressionError as exc:
                problem("script_not_allowed", f"script: {exc}", node)
            else:
                _private_problem(read, private, node, problem)
        elif node.tag in _EXPRESSION_TAGS and (node.text or "").strip():
            try:
                read = expressions.names_in(node.text or "")
            except ExpressionError as exc:
                problem("expression_not_allowed", f"{etree.QName(node).localname}: {exc}", node)
            else:
                _private_problem(read, private, node, problem)
        elif node.tag in _TIMER_TAGS:
            refusal = _check_timer_text(node.text or "")
            if refusal:
                problem(*refusal, node)
        elif node.tag == f"{{{BPMN}}}timerEventDefinition" and all(node.find(t) is None for t in _TIMER_TAGS):
            problem("timer_invalid", _NO_TIMER_VALUE, node)
        elif node.tag == f"{{{BPMN}}}process":
            found.processes.append(node.get("id", ""))
        elif node.tag == f"{{{BPMN}}}lane":
            name = node.get("name")
            if not (name or "").strip():
                problem("unknown_lane", "the lane has no name: name it for the role whose people do its steps "
                        f"(allowed lane names: {lanes})", node)
            elif catalogue.role_for_lane(name) is None:
                problem("unknown_lane", f"lane '{name}' is not a role of forms/roles.json: use one of the allowed "
                        f"lane names instead: {lanes}", node)
    if len(found.processes) > MAX_PROCESSES:
        found.problems.append(Problem("too_many_processes", f"more than {MAX_PROCESSES} processes in one file: "
                                      "split them over several files instead", root.get("id"), filename))
    _check_human_tasks(root, filename, catalogue, forms, found)
    found.problems = list(dict.fromkeys(found.problems))  # the same problem of the same element once
    return found


def _engine(namespace: str) -> str | None:
    """The other engine whose extension namespace this is (None for BPMN, tool metadata and anything else)."""
    if namespace.startswith(_TOOL_METADATA):
        return None
    return next((tool for prefix, tool in _ENGINES if namespace.startswith(prefix)), None)


def _qualified(node: etree._Element, name: str) -> str:
    """`prefix:local` as the file writes it."""
    qname = etree.QName(name)
    prefix = next((p for p, ns in node.nsmap.items() if ns == qname.namespace and p), None)
    return f"{prefix}:{qname.localname}" if prefix else qname.localname


def _foreign_refusal(tool: str, local: str, shown: str, lanes: str) -> tuple[str, str] | None:
    """(code, message) for another engine's extension, or None when it only tunes that engine."""
    if local in _ENGINE_TUNING:
        return None
    hint, runs_code = _FOREIGN_HINTS.get(local, (_OTHER_EXTENSION, False))
    return ("script_not_allowed" if runs_code else "extension_not_supported",
            f"{shown} is {_article(tool)} {tool} extension, not supported here: {hint.format(lanes=lanes)}")


def _article(word: str) -> str:
    return "an" if word[:1] in "AEIOU" else "a"


def _foreign_attribute(node: etree._Element, attribute: str, value: str, lanes: str) -> tuple[str, str] | None:
    """A refusal for another engine's attribute on a BPMN element (camunda:formKey on a user task)."""
    tool = _engine(etree.QName(attribute).namespace or "")
    if tool is None:
        return None
    value = value if len(value) <= 60 else value[:57] + "..."
    return _foreign_refusal(tool, etree.QName(attribute).localname, f'{_qualified(node, attribute)}="{value}"', lanes)


def _foreign_element(node: etree._Element, lanes: str) -> tuple[str, str] | None:
    """A refusal for another engine's element (camunda:inputOutput, zeebe:taskDefinition)."""
    tool = _engine(etree.QName(node).namespace or "")
    local = etree.QName(node).localname
    if tool is None:
        return None
    if local == "calledElement" and node.get("processId"):
        return ("extension_not_supported", f"{_qualified(node, node.tag)} is {_article(tool)} {tool} extension, not "
                f"supported here: write calledElement=\"{node.get('processId')}\" on the call activity instead")
    return _foreign_refusal(tool, local, _qualified(node, node.tag), lanes)


def _names_foreign_source(node: etree._Element) -> bool:
    """True when another engine's extension supplies the step's code (zeebe:script, camunda:resource): that is said."""
    return any(_engine(etree.QName(a).namespace or "") for a in node.attrib) or any(
        isinstance(n.tag, str) and _engine(etree.QName(n).namespace or "") for n in node.iter())


def _duplicate_id(node: etree._Element, ids: dict[str, etree._Element],
                  report: Callable[[str, str, etree._Element], None]) -> None:
    """Report an id a second element uses (ids must be unique in a file)."""
    ident = node.get("id")
    if not ident:
        return
    first = ids.setdefault(ident, node)
    if first is not node:
        report("duplicate_id", f"id '{ident}' is used by two elements ({_kind(first)} and {_kind(node)}): use a "
               "different id for each (in a modeler: the element's ID field)", node)


def _kind(node: etree._Element) -> str:
    """`userTask 'Approve'`: an element's type and name, as a modeler shows it."""
    name = node.get("name")
    return f"{etree.QName(node).localname} '{name}'" if name else etree.QName(node).localname


def _script_task(node: etree._Element, foreign: set[etree._Element],
                 report: Callable[[str, str, etree._Element], None]) -> None:
    """A script task must hold a script in the restricted language (not Groovy, JavaScript, or nothing)."""
    language = (node.get("scriptFormat") or "").strip()
    if language.lower() not in _PYTHON_FORMATS:
        foreign.add(node)
        report("script_not_allowed", f"the script is written in {language} (scriptFormat): scripts here are "
               "`name = expression` lines of the restricted language; write it that way instead, with scriptFormat "
               "python or none", node)
    elif not (node.findtext(f"{{{BPMN}}}script") or "").strip() and not _names_foreign_source(node):
        report("script_missing", "the script task has no script: write `name = expression` lines in it, or use a "
               "manual task instead", node)


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


def _lane_of(node: etree._Element, lanes: Mapping[str, str]) -> str | None:
    """The lane a flow node runs in: an embedded sub-process's lane wins over its inner nodes' own (SpiffWorkflow)."""
    parent = node.getparent()
    while parent is not None and parent.tag not in _EMBEDDED and parent.tag != f"{{{BPMN}}}process":
        parent = parent.getparent()
    if parent is not None and parent.tag in _EMBEDDED:
        inherited = _lane_of(parent, lanes)
        if inherited is not None:
            return inherited
    return lanes.get(node.get("id", ""))


def _check_human_tasks(root: etree._Element, filename: str, catalogue: Catalogue, forms: Mapping[str, bytes],
                       found: Checked) -> None:
    lanes = _lanes_by_node(root)
    allowed = ", ".join(repr(r.lane) for r in catalogue.roles if r.lane)
    steps = {n.get("id") for tag in _HUMAN_TAGS for n in root.iter(tag)}
    elements = {n.get("id") for n in root.iter() if isinstance(n.tag, str) and n.get("id")}
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        props = element_properties(node)
        element = node.get("id")
        for read in (r.strip() for r in props.get("reads", "").split(",") if r.strip()):
            if read not in steps or read == element:
                found.problems.append(Problem("property_invalid", f"property reads names {read!r}, which is not "
                                              "another human task of this diagram: use the ids of such tasks "
                                              "instead", element, filename))
        if props.get("workingDay", "next") != "next":
            found.problems.append(Problem("property_invalid", "property workingDay can only be 'next' (move a date "
                                          "on a weekend or bank holiday to the next working day): write next or "
                                          "remove it", element, filename))
        if "standing" in props and (props["standing"] != "true" or node.tag != f"{{{BPMN}}}userTask"):
            found.problems.append(Problem("property_invalid", "property standing can only be 'true', on a user task "
                                          "that stays open for its role to take at any time: write true or remove "
                                          "it", element, filename))
        if node.tag == _PLAIN_TASK and _lane_of(node, lanes) is None:
            found.problems.append(Problem("no_lane", "a plain task is a step a person does, like a manual task: put "
                                          f"it in a lane named for a role (allowed lane names: {allowed}), or make it "
                                          "a user task with a form in such a lane instead", element, filename))
        if node.tag in _HUMAN_TAGS:
            if _lane_of(node, lanes) is None:
                found.problems.append(Problem("no_lane", "a person does this step, so it must sit in a lane named "
                                              f"for a role (allowed lane names: {allowed}); put it in one, or in an "
                                              "embedded sub-process that sits in one", element, filename))
            form = props.get("formJsonSchemaFilename")
            if node.tag == f"{{{BPMN}}}userTask" and not form:
                found.problems.append(Problem("form_missing", "a user task needs a form: add the spiffworkflow "
                                              "property formJsonSchemaFilename naming a JSON Schema under forms/, or "
                                              "use a manual task (no form) instead", element, filename))
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
                                              f"expression; write one instead: {exc}", element, filename))
        for key in ("clock", "clockDelay"):
            if key in props and not props[key].isidentifier():
                found.problems.append(Problem("property_invalid", f"property {key} must name a variable: write the "
                                              "variable's name instead",
                                              element, filename))
        if "metWhen" in props and (props["metWhen"] not in elements or "milestone" not in props):
            found.problems.append(Problem("property_invalid", f"property metWhen names {props['metWhen']!r}: use "
                                          "the id of a step of this diagram, on a milestone timer, instead",
                                          element, filename))
        if "milestone" in props and (not props["milestone"].strip()
                                     or node.find(f"{{{BPMN}}}timerEventDefinition") is None):
            found.problems.append(Problem("property_invalid", "property milestone must be a title on a timer event: "
                                          "write one, on a timer event",
                                          element, filename))
        for key in ("due",):
            if key in props:
                try:
                    expressions.check_expression(props[key])
                except ExpressionError as exc:
                    found.problems.append(
                        Problem("expression_not_allowed", f"property {key}: {exc}", element, filename))
        if "notify" in props and catalogue.role(props["notify"]) is None:
            found.problems.append(Problem("unknown_role", f"notify names unknown role '{props['notify']}': use a "
                                              "role of forms/roles.json instead",
                                          element, filename))


def _form_problem(name: str, forms: Mapping[str, bytes], schema: bool) -> str | None:
    if name.startswith("/") or ".." in name.split("/"):
        return f"form path {name!r} must be relative to forms/: write it as forms/ names it instead"
    if name not in forms:
        return f"form {name} not found in forms/: use the path of a .schema.json file under forms/ instead"
    return _form_content_problem(name, forms[name], schema)


@functools.lru_cache(maxsize=2048)
def _form_content_problem(name: str, data: bytes, schema: bool) -> str | None:
    """Why a form file's content is unusable (cached: one diagram names the same form many times)."""
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return f"form {name} is not valid JSON ({exc}): write valid JSON instead"
    if schema:
        if not isinstance(document, dict) or document.get("type", "object") != "object":
            return f"form {name} must be a JSON Schema of type object: write \"type\": \"object\" instead"
        try:
            Draft202012Validator.check_schema(document)
        except SchemaError as exc:
            return f"form {name} is not a valid JSON Schema ({exc.message}): correct it (use JSON Schema 2020-12)"
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
                    problems.append(Problem("recursive_call", f"calling {called} leads back to {start}, so a case "
                                            "would never end: use a sequence flow back instead",
                                            element, filename))
                    break
                if current not in seen:
                    seen.add(current)
                    stack.extend(c for c, _, _ in calls.get(current, []))
    return problems


_STEP = re.compile(r"(Event|[tT]ask|Gateway|[sS]ubProcess|callActivity|transaction)$")


@dataclass(frozen=True)
class ProcessOutline:
    """One process a file defines: its name, whether it is marked executable and whether it has any steps."""

    process_id: str
    name: str | None
    executable: bool
    has_steps: bool


@dataclass(frozen=True)
class Call:
    """A call activity: its id, the process it sits in and the process it calls (None when it names none)."""

    element: str
    process: str
    called: str | None


@dataclass
class Outline:
    """What a file defines and calls, read before compiling it (`run.py check-diagram` judges this)."""

    definitions: str | None
    processes: list[ProcessOutline] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    parsed: bool = True


def outline(root: etree._Element) -> Outline:
    """The processes a parsed diagram defines (with their steps) and the processes its call activities call."""
    found = Outline(root.get("id"))
    for process in root.iter(f"{{{BPMN}}}process"):
        ident = process.get("id", "")
        steps = any(isinstance(c.tag, str) and _STEP.search(etree.QName(c).localname) for c in process)
        found.processes.append(ProcessOutline(ident, process.get("name"), process.get("isExecutable", "true") == "true",
                                              steps))
        for call in process.iter(f"{{{BPMN}}}callActivity"):
            found.calls.append(Call(call.get("id", ""), ident, (call.get("calledElement") or "").strip() or None))
    return found


def foreign_call_target(root: etree._Element, element: str) -> bool:
    """True when a call activity names its process in another engine's extension (Camunda 8's zeebe:calledElement)."""
    node = root.find(f".//*[@id='{element}']") if "'" not in element else None
    return node is not None and any(isinstance(n.tag, str) and _engine(etree.QName(n).namespace or "")
                                    and etree.QName(n).localname == "calledElement" for n in node.iter())


def label(root: etree._Element, element: str) -> str:
    """An element as a modeler shows it: `id "name"`, and for an unnamed part (a timer) the step it belongs to."""
    node = next((n for n in root.iter() if isinstance(n.tag, str) and n.get("id") == element), None)
    if node is None:
        return element
    if node.get("name"):
        return f'{element} "{node.get("name")}"'
    parent, local = node.getparent(), etree.QName(node).localname
    if parent is not None and parent.get("id") and local.endswith(("EventDefinition", "LoopCharacteristics")):
        part = local.removesuffix("EventDefinition").removesuffix("LoopCharacteristics") or "loop"
        return f"{element} (the {part} of {label(root, parent.get('id', ''))})"
    return element


def without_processes(root: etree._Element, processes: set[str]) -> bytes:
    """The diagram serialised without the given processes (a deployed file whose processes a checked file redefines)."""
    for node in list(root.iterfind(f"{{{BPMN}}}process")):
        if node.get("id") in processes:
            root.remove(node)
    return bytes(etree.tostring(root))
