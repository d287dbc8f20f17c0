"""Fields a diagram reads that no earlier step sets: each is refused as `field_never_set`, naming the form to ask it.

A name read by a gateway condition, a timer, a `due` or `week` property, a script's right-hand side, a
multi-instance collection or a called process's input must be set before it on some path from the start: a
field of the form of an earlier human task, a script line, a multi-instance item or output, a called process's
output (its dataOutputs; without an ioSpecification, whatever it sets), a data object of the process or of one
that calls it, or the data the process starts with. A case starts with no data (the web starts it empty), so a
board process lists any data its cases are started with in its `startData` property (comma-separated names);
a called process with an ioSpecification starts with its dataInputs (each of which must be set at the call),
one without it with whatever its callers' data holds at the call. Built-in functions, `now` and names guarded
by `defined("name")` in the same expression are never reported; neither are expressions outside the language
or private fields (checks.py refuses those), nor calls to processes the diagrams do not define.
"""

from __future__ import annotations

import ast
import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lxml import etree

from engine.errors import ExpressionError, InvalidDiagram, Problem
from engine.workflow import expressions
from engine.workflow.checks import element_properties
from engine.workflow.xmlsafe import BPMN, SPIFF, parse_xml_safely

START_DATA = "startData"
BUILT_IN = frozenset({*expressions.HELPERS, "True", "False", "None", "defined"})
_EVENTS = {"startEvent", "endEvent", "intermediateThrowEvent", "intermediateCatchEvent", "boundaryEvent"}
_GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
_ACTIVITIES = {"task", "userTask", "manualTask", "scriptTask", "sendTask", "receiveTask", "callActivity",
               "subProcess", "transaction", "adHocSubProcess"}
_HUMAN = {"userTask", "manualTask"}
_CONTAINERS = {"subProcess", "transaction", "adHocSubProcess"}
_TIMERS = ("timeDate", "timeDuration", "timeCycle")


@dataclass(frozen=True)
class _Read:
    """Names an element reads; `after`: once the node has completed (a condition on its outgoing flow)."""

    element: str
    label: str
    names: frozenset[str]
    after: bool = False


_Key = tuple[str, str]  # (file, element id): ids are unique only within one diagram file


@dataclass
class _Node:
    """One flow node and what it sets and reads."""

    id: str
    label: str
    file: str
    container: _Key
    process: str
    form: str | None = None
    sets: set[str] = field(default_factory=set)
    entry: set[str] = field(default_factory=set)  # set for its own reads and what runs inside it (an MI item)
    reads: list[_Read] = field(default_factory=list)
    preds: list[_Key] = field(default_factory=list)
    attached_to: _Key | None = None
    returns: list[_Key] = field(default_factory=list)  # nodes whose data comes back when it completes
    calls: str | None = None

    @property
    def key(self) -> _Key:
        """Where the node is: its file and id."""
        return self.file, self.id


@dataclass
class _Process:
    """A process: where it is, the data it starts with, its data objects, and whether it declares its inputs."""

    file: str
    start_data: set[str]
    data_objects: set[str]
    inputs: set[str] | None  # dataInputs of its ioSpecification; None when it has none (it gets all data)
    outputs: set[str] | None


def unread_fields(diagrams: Mapping[str, bytes], forms: Mapping[str, bytes]) -> list[Problem]:
    """Every name a diagram's expressions read that no earlier step sets (one `field_never_set` problem each)."""
    graph = _Graph(forms)
    for filename, data in sorted(diagrams.items()):
        try:
            root = parse_xml_safely(data, filename)
        except InvalidDiagram:
            continue  # compile_processes reports why the file cannot be read
        graph.add(root, filename)
    return graph.problems()


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _label(node: etree._Element) -> str:
    name, element = node.get("name"), node.get("id", "")
    return f"'{name}' ({element})" if name else element


def _guarded(tree: ast.AST) -> set[str]:
    """Names an expression asks about with defined("name"): reading them is its own business."""
    return {n.args[0].value for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "defined"
            and n.args and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str)}


def expression_reads(source: str) -> set[str]:
    """The data names an expression reads (empty when it is not in the language: checks.py reports that)."""
    try:
        expressions.check_expression(source)
    except ExpressionError:
        return set()
    tree = ast.parse(source.strip(), mode="eval")
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return names - BUILT_IN - _guarded(tree)


def script_reads(source: str) -> tuple[set[str], set[str]]:
    """(names a script reads before any of its own lines set them, names it sets)."""
    try:
        expressions.check_script(source)
    except ExpressionError:
        return set(), set()
    read: set[str] = set()
    assigned: set[str] = set()
    for statement in ast.parse(source.strip(), mode="exec").body:
        assert isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name)
        names = {n.id for n in ast.walk(statement.value) if isinstance(n, ast.Name)}
        read |= names - assigned - BUILT_IN - _guarded(statement.value)
        assigned.add(statement.targets[0].id)
    return read, assigned


def _names(items: Iterable[etree._Element]) -> set[str]:
    """The variable names of data objects, inputs, outputs or items: SpiffWorkflow keys the data by their ids."""
    return {item.get("id", "") for item in items} - {""}


class _Graph:
    """Every flow node of the diagrams, linked by sequence flows, boundary attachments, sub-processes and calls."""

    def __init__(self, forms: Mapping[str, bytes]) -> None:
        self.forms = forms
        self.nodes: dict[_Key, _Node] = {}
        self.processes: dict[str, _Process] = {}
        self._fields: dict[str, set[str]] = {}
        self._calls: dict[str, list[_Node]] = {}

    def fields_of(self, form: str | None) -> set[str]:
        """The top-level fields of a form (what its answers put into the data), empty when it cannot be read."""
        if not form:
            return set()
        if form not in self._fields:
            try:
                schema = json.loads(self.forms[form])
                properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
                self._fields[form] = set(properties) if isinstance(properties, dict) else set()
            except (KeyError, ValueError):
                self._fields[form] = set()
        return self._fields[form]

    def add(self, root: etree._Element, filename: str) -> None:
        """Add every process of one parsed diagram."""
        for process in root.iter(f"{{{BPMN}}}process"):
            process_id = process.get("id", "")
            io = process.find(f"{{{BPMN}}}ioSpecification")
            listed = element_properties(process).get(START_DATA, "")
            self.processes[process_id] = _Process(
                filename, {n.strip() for n in listed.split(",") if n.strip()},
                _names(process.iter(f"{{{BPMN}}}dataObject")),
                None if io is None else _names(io.iterfind(f"{{{BPMN}}}dataInput")),
                None if io is None else _names(io.iterfind(f"{{{BPMN}}}dataOutput")))
            self._add_container(process, (filename, process_id), process_id, filename)

    def _add_container(self, container: etree._Element, key: _Key, process_id: str, filename: str) -> None:
        children = [c for c in container if _local(c) in _EVENTS | _GATEWAYS | _ACTIVITIES]
        for child in children:
            attached = child.get("attachedToRef")
            node = _Node(child.get("id", ""), _label(child), filename, key, process_id,
                         attached_to=(filename, attached) if attached else None)
            self.nodes[node.key] = node
            self._read_node(child, node)
            if _local(child) in _CONTAINERS:
                self._add_container(child, node.key, process_id, filename)
        sources: set[_Key] = set()
        for flow in container.iterfind(f"{{{BPMN}}}sequenceFlow"):
            source, target = (filename, flow.get("sourceRef", "")), (filename, flow.get("targetRef", ""))
            sources.add(source)
            if target in self.nodes:
                self.nodes[target].preds.append(source)
            condition = flow.findtext(f"{{{BPMN}}}conditionExpression") or ""
            if condition.strip() and source in self.nodes:
                self.nodes[source].reads.append(_Read(flow.get("id", ""), "the condition of flow " + _label(flow),
                                                      frozenset(expression_reads(condition)), after=True))
        if key in self.nodes:
            self.nodes[key].returns = [(filename, c.get("id", "")) for c in children
                                       if (filename, c.get("id", "")) not in sources and _local(c) != "boundaryEvent"]

    def _read_node(self, element: etree._Element, node: _Node) -> None:
        """What one flow node sets and reads."""
        kind, props = _local(element), element_properties(element)

        def read(names: Iterable[str]) -> None:
            found = frozenset(names)
            if found:
                node.reads.append(_Read(node.id, node.label, found))

        if kind in _HUMAN:
            node.form = props.get("formJsonSchemaFilename") or None
            node.sets |= self.fields_of(node.form)
            read(expression_reads(props["due"]) if props.get("due") else ())
            week = props.get("week", "")
            read(expression_reads(week) if week and not week.lstrip("-").isdigit() else ())
        if kind == "scriptTask":
            reads, sets = script_reads(element.findtext(f"{{{BPMN}}}script") or "")
            read(reads)
            node.sets |= sets
        if kind == "callActivity":
            node.calls = element.get("calledElement")
        for tag in _TIMERS:
            for timer in element.iterfind(f"{{{BPMN}}}timerEventDefinition/{{{BPMN}}}{tag}"):
                read(expression_reads(timer.text or ""))
        for condition in element.iterfind(f"{{{BPMN}}}conditionalEventDefinition/{{{BPMN}}}condition"):
            read(expression_reads(condition.text or ""))
        own = () if kind in _CONTAINERS else element.iter(f"{{{SPIFF}}}messagePayload", f"{{{SPIFF}}}messageVariable")
        for message in own:
            if etree.QName(message).localname == "messagePayload":
                read(expression_reads(message.text or ""))
            else:
                node.sets.add((message.text or "").strip())
        loop = element.find(f"{{{BPMN}}}multiInstanceLoopCharacteristics")
        if loop is not None:
            node.entry |= _names(loop.iterfind(f"{{{BPMN}}}inputDataItem"))
            outputs = _names(loop.iterfind(f"{{{BPMN}}}outputDataItem"))
            node.sets |= outputs | {(r.text or "").strip() for r in loop.iterfind(f"{{{BPMN}}}loopDataOutputRef")}
            read((r.text or "").strip() for r in loop.iterfind(f"{{{BPMN}}}loopDataInputRef"))
            read(expression_reads(loop.findtext(f"{{{BPMN}}}loopCardinality") or ""))
            read(expression_reads(loop.findtext(f"{{{BPMN}}}completionCondition") or "") - outputs)

    def problems(self) -> list[Problem]:
        """Solve what is set before each node, then report each name read that is not."""
        self._link_calls()
        ambient = self._ambient()
        before, after = self._solve()
        found: dict[tuple[str, str, str], Problem] = {}
        for node in self.nodes.values():
            for read in node.reads:
                known = (after[node.key] if read.after else before[node.key] | node.entry) | ambient[node.process]
                for name in sorted(read.names - known - BUILT_IN):
                    key = (node.file, read.element, name)
                    found.setdefault(key, Problem("field_never_set", self._message(node, read, name),
                                                  read.element, node.file))
        return list(found.values())

    def _link_calls(self) -> None:
        """A call reads the called process's declared inputs and gets back its outputs (or all it sets)."""
        followed = {p for n in self.nodes.values() for p in n.preds}
        for node in self.nodes.values():
            if node.calls:
                self._calls.setdefault(node.calls, []).append(node)
            process = self.processes.get(node.calls or "")
            if process is None:
                continue
            if process.inputs is not None:
                missing = frozenset(process.inputs - node.entry)
                if missing:
                    node.reads.append(_Read(node.id, node.label, missing))
            if process.outputs is not None:
                node.sets |= process.outputs
            else:
                node.returns = [n.key for n in self.nodes.values() if n.container == (process.file, node.calls)
                                and n.attached_to is None and n.key not in followed]

    def _callers(self, process_id: str) -> list[_Node]:
        return self._calls.get(process_id, [])

    def _ambient(self) -> dict[str, set[str]]:
        """Data objects each process sees: its own and those of every process that calls it."""
        seen = {pid: set(p.data_objects) for pid, p in self.processes.items()}
        changed = True
        while changed:
            changed = False
            for pid in seen:
                for caller in self._callers(pid):
                    extra = seen.get(caller.process, set()) - seen[pid]
                    if extra:
                        seen[pid] |= extra
                        changed = True
        return {pid: seen.get(pid, set()) for pid in {n.process for n in self.nodes.values()} | set(seen)}

    def _seed(self, container: _Key, before: Mapping[_Key, set[str]]) -> set[str]:
        """What a node with no incoming flow starts from: its sub-process's data, or its process's start data."""
        if container in self.nodes:
            return before[container] | self.nodes[container].entry
        process = self.processes[container[1]]
        seed = set(process.start_data) | (process.inputs or set())
        if process.inputs is None:
            for caller in self._callers(container[1]):
                seed |= before[caller.key] | caller.entry
        return seed

    def _solve(self) -> tuple[dict[_Key, set[str]], dict[_Key, set[str]]]:
        """Names set on some path before and after each node (a fixpoint: loops may only add names)."""
        before: dict[_Key, set[str]] = {n: set() for n in self.nodes}
        after: dict[_Key, set[str]] = {n: set() for n in self.nodes}
        changed = True
        while changed:
            changed = False
            for node in self.nodes.values():
                known: set[str] = set()
                if node.attached_to in self.nodes:
                    known |= before[node.attached_to] | self.nodes[node.attached_to].entry
                elif not node.preds:
                    known |= self._seed(node.container, before)
                for pred in node.preds:
                    known |= after.get(pred, set())
                done = known | node.entry | node.sets
                for inner in node.returns:
                    done |= after.get(inner, set())
                if known != before[node.key] or done != after[node.key]:
                    before[node.key], after[node.key] = known, done
                    changed = True
        return before, after

    def _message(self, node: _Node, read: _Read, name: str) -> str:
        asker = self._nearest_form(node, read.after)
        where = (f"add it to the form of an earlier task, such as {asker.label} ({asker.form})" if asker
                 else "no task before it asks anything: add it to the form of a task before it")
        return (f"{read.label} reads {name!r}, which no step before it sets: {where}, set it in a script "
                f"before it, or list it in the process's {START_DATA} property")

    def _nearest_form(self, node: _Node, including: bool) -> _Node | None:
        """The nearest human task with a form before a node (the node itself when the read follows it)."""
        queue = deque([node.key] if including else self._before(node))
        seen: set[_Key] = set()
        while queue:
            current = self.nodes.get(queue.popleft())
            if current is None or current.key in seen:
                continue
            seen.add(current.key)
            if current.form:
                return current
            queue.extend(self._before(current))
        return None

    def _before(self, node: _Node) -> list[_Key]:
        """The nodes right before a node: its flows' sources, the task it is attached to, its caller."""
        found = list(node.preds)
        if node.attached_to:
            found.append(node.attached_to)
        if not node.preds and node.container in self.nodes:
            found.append(node.container)
        elif not node.preds:
            found.extend(c.key for c in self._callers(node.container[1]))
        return [f for f in found if f in self.nodes]
