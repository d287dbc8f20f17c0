"""What changed between two versions of a procedure: its diagrams and forms element by element (the list a process
owner reads and the canvas highlights), and SpiffWorkflow's task-spec view of the same change (what running cases
see), computed once per pair of compiled versions."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.util.diff import SpecDiff, diff_dependencies

from engine.workflow import state_codec
from engine.workflow.specs import CompiledProcess
from engine.workflow.xmlsafe import BPMN, SPIFF, parse_xml_safely

BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
REGISTRY = state_codec._REGISTRY  # the one serializer registry: SpecDiff compares specs in their serialized form

Detail = tuple[str, str, str]  # what, before, after


@dataclass(frozen=True)
class Change:
    """One element or form added, removed, changed or only moved on the canvas between two versions."""

    kind: str  # added, removed, changed, moved
    element: str  # the element id (a form: its path under forms/)
    name: str
    type: str  # in words: "user task", "timer event", "sequence flow", "lane", "form"
    file: str
    details: tuple[Detail, ...] = ()


@dataclass(frozen=True)
class SpecChange:
    """A task spec of the process (or of one it calls) that a new version adds, removes or changes."""

    process: str
    element: str
    name: str
    what: tuple[str, ...] = ()  # for a change: what changed, in words


@dataclass(frozen=True)
class SpecChanges:
    """The task-spec side of a new version: steps added, removed, changed; called processes added or removed."""

    added: tuple[SpecChange, ...] = ()
    removed: tuple[SpecChange, ...] = ()
    changed: tuple[SpecChange, ...] = ()
    added_processes: tuple[str, ...] = ()
    removed_processes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when no step or called process differs."""
        return not (self.added or self.removed or self.changed or self.added_processes or self.removed_processes)


# ---- diagrams and forms, element by element -------------------------------------------------------------------

# Parts of an element (folded into its own details), never elements of their own.
_PARTS = {"documentation", "extensionElements", "incoming", "outgoing", "conditionExpression", "script",
          "multiInstanceLoopCharacteristics", "standardLoopCharacteristics", "ioSpecification",
          "dataInputAssociation", "dataOutputAssociation", "laneSet", "childLaneSet", "flowNodeRef", "text"}
_MULTI_INSTANCE = {"loopCardinality": "cardinality", "loopDataInputRef": "collection",
                   "loopDataOutputRef": "output collection", "inputDataItem": "item",
                   "outputDataItem": "output item", "completionCondition": "completion condition"}


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _ns(node: etree._Element) -> str | None:
    return etree.QName(node).namespace if isinstance(node.tag, str) else None


def _words(camel: str) -> str:
    """`userTask` -> 'user task', `sequenceFlow` -> 'sequence flow'."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", camel).lower()


def _text(node: etree._Element | None) -> str:
    """An element's text, each line stripped, blank lines dropped (indentation is not a change)."""
    if node is None:
        return ""
    lines = ("".join(node.itertext())).splitlines()
    return "\n".join(line.strip() for line in lines if line.strip())


def _is_part(node: etree._Element) -> bool:
    return _local(node) in _PARTS or _local(node).endswith("EventDefinition")


def _type_in_words(node: etree._Element) -> str:
    """What a person calls the element: 'timer event', 'user task', 'sequence flow', 'event sub-process'."""
    definitions = [_local(c) for c in node if _ns(c) == BPMN and _local(c).endswith("EventDefinition")]
    if definitions:
        return f"{_words(definitions[0][: -len('EventDefinition')])} event"
    if _local(node) == "subProcess" and node.get("triggeredByEvent") == "true":
        return "event sub-process"
    return _words(_local(node))


def _elements(root: etree._Element) -> Iterator[etree._Element]:
    """Every BPMN element with an id that a person sees as one thing (tasks, events, flows, lanes, processes)."""
    for node in root.iter():
        if node is root or _ns(node) != BPMN or not node.get("id") or _is_part(node):
            continue
        if any(_is_part(a) for a in node.iterancestors() if _ns(a) == BPMN and _local(a) not in
               ("laneSet", "childLaneSet")):
            continue
        yield node


@dataclass
class _Document:
    """One diagram file indexed for comparison: elements by id, lanes and flows of each node, canvas positions."""

    elements: dict[str, etree._Element] = field(default_factory=dict)
    lane_of: dict[str, str] = field(default_factory=dict)
    incoming: dict[str, list[str]] = field(default_factory=dict)
    outgoing: dict[str, list[str]] = field(default_factory=dict)
    layout: dict[str, str] = field(default_factory=dict)


def _index(root: etree._Element) -> _Document:
    doc = _Document()
    for node in _elements(root):
        doc.elements[node.get("id", "")] = node
        if _local(node) == "lane":
            for ref in node.iterchildren(f"{{{BPMN}}}flowNodeRef"):
                doc.lane_of[_text(ref)] = node.get("name") or node.get("id", "")
        if _local(node) == "sequenceFlow":
            doc.outgoing.setdefault(node.get("sourceRef", ""), []).append(node.get("id", ""))
            doc.incoming.setdefault(node.get("targetRef", ""), []).append(node.get("id", ""))
    for shape in root.iter(f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge"):
        points = [f"{float(p.get('x', 0)):g},{float(p.get('y', 0)):g}"
                  for p in shape.iter(f"{{{DC}}}Bounds", f"{{{DI}}}waypoint")]
        doc.layout[shape.get("bpmnElement", "")] = " ".join(points)
    return doc


def _profile(node: etree._Element, doc: _Document) -> dict[str, str]:
    """Everything about an element a process owner may change, as (what -> value) in reading order."""
    found: dict[str, str] = {"type": _type_in_words(node), "name": node.get("name") or ""}
    for attribute, value in sorted(node.attrib.items()):
        name = etree.QName(attribute).localname
        if name not in ("id", "name") and etree.QName(attribute).namespace is None:
            found[_words(name)] = value
    element = node.get("id", "")
    if _local(node) not in ("lane", "process", "collaboration", "participant", "sequenceFlow", "messageFlow"):
        found["lane"] = doc.lane_of.get(element, "")
    found["documentation"] = "\n".join(_text(d) for d in node.iterchildren(f"{{{BPMN}}}documentation"))
    for child in node:
        _part(child, found)
    if _local(node) != "sequenceFlow":
        found["incoming flows"] = ", ".join(sorted(doc.incoming.get(element, [])))
        found["outgoing flows"] = ", ".join(sorted(doc.outgoing.get(element, [])))
    return {k: v for k, v in found.items() if v or k in ("name",)}


def _part(child: etree._Element, found: dict[str, str]) -> None:
    """Fold one child of an element (its condition, timer, script, properties, loop settings) into its details."""
    local = _local(child)
    if local == "conditionExpression":
        found["condition"] = _text(child)
    elif local == "script":
        found["script"] = _text(child)
    elif local.endswith("EventDefinition"):
        kind = _words(local[: -len("EventDefinition")])
        for timer in ("timeDuration", "timeDate", "timeCycle"):
            for value in child.iterchildren(f"{{{BPMN}}}{timer}"):
                found[f"timer ({_words(timer)})"] = _text(value)
        for attribute, value in sorted(child.attrib.items()):
            if etree.QName(attribute).localname != "id" and etree.QName(attribute).namespace is None:
                found[f"{kind} {_words(etree.QName(attribute).localname)}"] = value
    elif local == "extensionElements":
        for extension in child:
            if _ns(extension) == SPIFF and _local(extension) == "properties":
                for prop in extension.iterchildren(f"{{{SPIFF}}}property"):
                    found[f"property {prop.get('name', '')}"] = prop.get("value") or _text(prop)
            elif isinstance(extension.tag, str):
                found[_words(_local(extension))] = _text(extension)
    elif local in ("multiInstanceLoopCharacteristics", "standardLoopCharacteristics"):
        label = "multi-instance" if local.startswith("multi") else "loop"
        for attribute, value in sorted(child.attrib.items()):
            if etree.QName(attribute).localname != "id":
                found[f"{label} {_words(etree.QName(attribute).localname)}"] = value
        for setting in child:
            words = _MULTI_INSTANCE.get(_local(setting), _words(_local(setting)))
            found[f"{label} {words}"] = setting.get("name") or setting.get("id") or _text(setting)
        found.setdefault(label, "yes")
    elif local == "ioSpecification":
        for kind in ("dataInput", "dataOutput"):
            names = [d.get("name") or d.get("id", "") for d in child.iterchildren(f"{{{BPMN}}}{kind}")]
            if names:
                found[_words(kind) + "s"] = ", ".join(names)
    elif local in ("dataInputAssociation", "dataOutputAssociation"):
        refs = [_text(r) for r in child if _local(r) in ("sourceRef", "targetRef")]
        key = "data read" if local == "dataInputAssociation" else "data written"
        found[key] = ", ".join(filter(None, [found.get(key, ""), " -> ".join(refs)]))


def _details(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[Detail, ...]:
    keys = list(dict.fromkeys([*before, *after]))
    return tuple((k, before.get(k, ""), after.get(k, "")) for k in keys if before.get(k, "") != after.get(k, ""))


def _bpmn_changes(file: str, old: str | None, new: str | None) -> list[Change]:
    """The element changes of one diagram file (added, removed, changed; moved when only its shape moved)."""
    before = _index(parse_xml_safely(old.encode(), file)) if old is not None else _Document()
    after = _index(parse_xml_safely(new.encode(), file)) if new is not None else _Document()
    changes: list[Change] = []
    for element, node in after.elements.items():
        profile = _profile(node, after)
        name, kind = node.get("name") or "", profile["type"]
        if element not in before.elements:
            changes.append(Change("added", element, name, kind, file, _details({}, profile)))
            continue
        details = _details(_profile(before.elements[element], before), profile)
        if details:
            changes.append(Change("changed", element, name, kind, file, details))
        elif before.layout.get(element, "") != after.layout.get(element, ""):
            changes.append(Change("moved", element, name, kind, file,
                                  (("position", before.layout.get(element, ""), after.layout.get(element, "")),)))
    for element, node in before.elements.items():
        if element not in after.elements:
            profile = _profile(node, before)
            changes.append(Change("removed", element, node.get("name") or "", profile["type"], file,
                                  _details(profile, {})))
    return changes


def _json(text: str | None) -> Any:
    try:
        return json.loads(text) if text is not None else None
    except json.JSONDecodeError:
        return text


def _form_changes(file: str, old: str | None, new: str | None) -> list[Change]:
    """A form added, removed or changed; for a JSON Schema, the fields added, removed and changed."""
    before, after = _json(old), _json(new)
    if before == after:
        return []
    path = file[len("forms/"):]
    kind = "form layout" if path.endswith(".uischema.json") else "form"
    title = str((after if isinstance(after, dict) else before if isinstance(before, dict) else {}).get("title", ""))
    if old is None or new is None:
        return [Change("added" if old is None else "removed", path, title, kind, file)]
    details: list[Detail] = []
    if isinstance(before, dict) and isinstance(after, dict):
        fields_before, fields_after = before.get("properties") or {}, after.get("properties") or {}
        for name in dict.fromkeys([*fields_before, *fields_after]):
            if name not in fields_before:
                details.append(("field added", "", name))
            elif name not in fields_after:
                details.append(("field removed", name, ""))
            elif fields_before[name] != fields_after[name]:
                details.append(("field changed", name, name))
        rest = ({k: v for k, v in before.items() if k != "properties"},
                {k: v for k, v in after.items() if k != "properties"})
        details.extend((k, json.dumps(rest[0].get(k, ""), sort_keys=True), json.dumps(rest[1].get(k, ""),
                                                                                     sort_keys=True))
                       for k in dict.fromkeys([*rest[0], *rest[1]]) if rest[0].get(k) != rest[1].get(k))
    return [Change("changed", path, title, kind, file, tuple(details) or (("content", "", "changed"),))]


def diagram_changes(old_files: Mapping[str, str], new_files: Mapping[str, str]) -> list[Change]:
    """Every element of the version files ("bpmn/<path>.bpmn", "forms/<path>.json") added, removed, changed or
    only moved on the canvas, file by file (InvalidDiagram when a diagram cannot be parsed safely)."""
    changes: list[Change] = []
    for file in sorted(set(old_files) | set(new_files)):
        old, new = old_files.get(file), new_files.get(file)
        if old == new:
            continue
        if file.endswith(".bpmn"):
            changes.extend(_bpmn_changes(file, old, new))
        elif file.endswith(".json"):
            changes.extend(_form_changes(file, old, new))
    return changes


# ---- the task-spec side: SpiffWorkflow's SpecDiff, once per pair of compiled versions --------------------------

_WHAT = {"name": "id", "bpmn_id": "id", "bpmn_name": "name", "description": "name", "lane": "lane",
         "documentation": "documentation", "extensions": "properties", "inputs": "incoming flows",
         "outputs": "outgoing flows", "cond_task_specs": "conditions", "default_task_spec": "default flow",
         "event_definition": "event (timer, message or signal)", "typename": "type of step",
         "manual": "who does it (a person or the engine)", "io_specification": "inputs and outputs",
         "data_input_associations": "data it reads", "data_output_associations": "data it writes",
         "spec": "called process", "task_spec": "the step repeated", "cardinality": "multi-instance settings",
         "data_input": "multi-instance settings", "data_output": "multi-instance settings",
         "input_item": "multi-instance settings", "output_item": "multi-instance settings",
         "condition": "completion or loop condition", "script": "script", "prescript": "script",
         "postscript": "script", "cancel_activity": "whether it interrupts", "lookahead": "planning depth"}


def in_words(keys: list[str]) -> tuple[str, ...]:
    """What changed in a task spec, in a process owner's words (SpecDiff's serialized keys)."""
    return tuple(dict.fromkeys(_WHAT.get(k, k.replace("_", " ")) for k in keys))


@dataclass
class VersionDiff:
    """SpiffWorkflow's SpecDiff of a process and of each process it calls, between two compiled versions."""

    old: CompiledProcess
    new: CompiledProcess
    top: SpecDiff
    called: dict[str, SpecDiff | None]  # by called-process name; None: the new version no longer has it
    added_called: list[str]


_CACHE: dict[tuple[int, int], VersionDiff] = {}
_CACHE_SIZE = 32
_LOCK = threading.Lock()


def version_diff(old: CompiledProcess, new: CompiledProcess) -> VersionDiff:
    """The spec diffs between two compiled versions, computed once per pair (the cache keeps both alive)."""
    key = (id(old), id(new))
    with _LOCK:
        found = _CACHE.get(key)
        if found is not None and found.old is old and found.new is new:
            return found
        top = SpecDiff(REGISTRY, old.spec, new.spec)
        called, added = diff_dependencies(REGISTRY, old.subprocess_specs, new.subprocess_specs)
        found = VersionDiff(old, new, top, called, added)
        while len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = found
        return found


def _step(process: str, spec: Any, keys: list[str] | None = None, now: Any = None) -> SpecChange:
    """A step by its id in the older version (a running case knows it by that) and its name in the newer."""
    named = now if now is not None else spec
    return SpecChange(process, str(spec.bpmn_id), str(named.bpmn_name or named.bpmn_id), in_words(keys or []))


def _one(process: str, diff: SpecDiff) -> tuple[list[SpecChange], list[SpecChange], list[SpecChange]]:
    """Added, removed and changed diagram elements of one process (engine-internal specs left out)."""
    def shown(spec: Any) -> bool:
        return getattr(spec, "bpmn_id", None) is not None

    return ([_step(process, s) for s in diff.added if shown(s)],
            [_step(process, s) for s in diff.removed if shown(s)],
            [_step(process, s, keys, diff.alignment[s]) for s, keys in diff.changed.items() if shown(s)])


def spec_changes(old: CompiledProcess, new: CompiledProcess) -> SpecChanges:
    """The steps a new version adds, removes and changes, in the process and every process it calls."""
    diff = version_diff(old, new)
    added, removed, changed = _one(old.process_id, diff.top)
    for name, called in diff.called.items():
        if called is not None:
            more = _one(name, called)
            added, removed, changed = added + more[0], removed + more[1], changed + more[2]
    for name in diff.added_called:
        added.extend(_step(name, s) for s in new.subprocess_specs[name].task_specs.values()
                     if getattr(s, "bpmn_id", None) is not None)
    return SpecChanges(tuple(_unique(added)), tuple(_unique(removed)), tuple(_unique(changed)),
                       tuple(diff.added_called), tuple(n for n, d in diff.called.items() if d is None))


def _unique(changes: list[SpecChange]) -> list[SpecChange]:
    """One entry per (process, element): a multi-instance step and the step it repeats are one element."""
    seen: dict[tuple[str, str], SpecChange] = {}
    for change in changes:
        key = (change.process, change.element)
        if key in seen:
            seen[key] = SpecChange(change.process, change.element, change.name,
                                   tuple(dict.fromkeys([*seen[key].what, *change.what])))
        else:
            seen[key] = change
    return list(seen.values())
