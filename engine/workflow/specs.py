"""Compiling validated diagrams and their forms into SpiffWorkflow specs, content-hashed per process."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.errors import InvalidDiagram, Problem, WorkflowFailed
from engine.workflow.catalogue import Catalogue
from engine.workflow.checks import check_document, owner_id, recursive_calls
from engine.workflow.xmlsafe import BPMN, SPIFF, parse_xml_safely


def properties(task_spec: Any) -> dict[str, str]:
    """The `spiffworkflow:properties` of a diagram element (empty when it has none)."""
    extensions = getattr(task_spec, "extensions", None) or {}
    return dict(extensions.get("properties", {}) or {})


def shared_data(workflow: Any) -> dict[str, Any]:
    """The data objects a step of `workflow` sees: its own process's, then those of the processes that called it.

    BPMN data objects are the process-level values every parallel branch shares (an 8.3 revised timetable written
    by one branch and read by the steps of another); the nearest process's value wins.
    """
    found: dict[str, Any] = {}
    while workflow is not None:
        for name, value in (getattr(workflow, "data_objects", None) or {}).items():
            if value is not None:
                found.setdefault(name, value)
        workflow = getattr(workflow, "parent_workflow", None)
    return found


_NOTE = r"(?:\bgaps? \d|\b[DT]\d+\b|\b[a-z]+_[a-z_]+\b|forms/|\.json\b)"
_NOTE_IN_BRACKETS = re.compile(r"\s*\([^()]*" + _NOTE + r"[^()]*\)", re.IGNORECASE)
_CODE_PREFIX = re.compile(r"\b[DT]\d+(?:, [DT]\d+)*: ")
_FOR_IMPLEMENTERS = re.compile(_NOTE, re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[a-z)'][.])\s+(?=[A-Z])")


def for_people(documentation: str) -> str:
    """An element's documentation as the person doing the step reads it: the seed paragraphs and what the step
    asks, without notes for implementers (a bracket, clause or sentence citing a gap of PROCESS.md A.5, a
    decision or timing code such as 'D6' or 'T13', a variable or element id, a file name). A process owner keeps
    such notes in brackets, clauses or sentences of their own."""
    kept = []
    for sentence in _SENTENCE_END.split(_CODE_PREFIX.sub("", _NOTE_IN_BRACKETS.sub("", documentation)).strip()):
        if re.match(r"gaps? \d", sentence, re.IGNORECASE):
            continue
        clauses = [c for c in re.split(r";\s+", sentence) if c.strip() and not _FOR_IMPLEMENTERS.search(c)]
        if clauses:
            kept.append("; ".join(clauses).rstrip(" ,;"))
    text = " ".join(kept).strip()
    return text if not text or text.endswith((".", ")", "'")) else text + "."


@dataclass
class CompiledProcess:
    """A validated process: SpiffWorkflow specs plus the files (diagrams and forms) it was built from."""

    process_id: str
    content_hash: str
    spec: Any
    subprocess_specs: dict[str, Any]
    files: dict[str, str]

    def form(self, name: str) -> dict[str, Any]:
        """The JSON Schema (or UI schema) stored with this version (WorkflowFailed when the version lacks it)."""
        try:
            return json.loads(self.files["forms/" + name])
        except KeyError:
            raise WorkflowFailed(f"this version of the procedure has no form {name!r}: a process owner must add it "
                                 "in the studio") from None

    def task_specs(self) -> Iterator[Any]:
        """Every task spec of the process and of the processes it calls."""
        for spec in (self.spec, *self.subprocess_specs.values()):
            yield from spec.task_specs.values()

    def element(self, bpmn_id: str) -> Any:
        """The task spec of a diagram element, by id, in this process or one it calls (None when there is none)."""
        found = self.__dict__.get("_elements")
        if found is None:
            found = {}
            for task_spec in self.task_specs():
                element = getattr(task_spec, "bpmn_id", None)
                if element and element not in found:
                    found[element] = task_spec
            self.__dict__["_elements"] = found
        return found.get(bpmn_id)

    def guidance(self, bpmn_id: str) -> str:
        """What the diagram says about a step (its documentation, with the seed paragraphs), for the person doing it:
        without the notes for implementers it may carry (see `for_people`)."""
        return for_people(str(getattr(self.element(bpmn_id), "documentation", None) or ""))

    def reads(self, bpmn_id: str) -> tuple[str, ...]:
        """The earlier steps whose answers a step shows the person doing it (its `reads` property, comma-separated)."""
        spec = self.element(bpmn_id)
        listed = properties(spec).get("reads", "") if spec is not None else ""
        return tuple(r.strip() for r in listed.split(",") if r.strip())

    def form_with_ui(self, name: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
        """A task's JSON Schema and its UI schema (an empty form without a name, no UI hints without a file)."""
        if not name:
            return {"type": "object", "properties": {}}, {}
        ui_name = name.replace(".schema.json", ".uischema.json")
        return self.form(name), self.form(ui_name) if "forms/" + ui_name in self.files else {}


def link_repeats(spec: Any, subprocess_specs: Mapping[str, Any]) -> None:
    """Let each multi-instance step collect instances it did not create in this process's lifetime.

    SpiffWorkflow connects a multi-instance step to its instances' completion only when it creates them (or when it
    deserializes a spec with the workflow). Our specs are compiled once per process and the state is stored
    without them, so a case whose instances were created before a restart (or by another worker) would never see
    them finish (found as a RecursionError on the next step). Connecting at compile time is idempotent.
    """
    for process in (spec, *subprocess_specs.values()):
        for task_spec in process.task_specs.values():
            if isinstance(task_spec, LoopTask):
                child = process.task_specs.get(task_spec.task_spec)
                if child is not None and not child.completed_event.is_connected(task_spec.merge_child):
                    child.completed_event.connect(task_spec.merge_child)


def content_hash(process_id: str, files: Mapping[str, str]) -> str:
    """sha256 over the process id and every file name and content, in name order."""
    digest = hashlib.sha256(process_id.encode())
    for name in sorted(files):
        digest.update(b"\0" + name.encode() + b"\0" + files[name].encode())
    return digest.hexdigest()


def compile_processes(diagrams: Mapping[str, bytes], forms: Mapping[str, bytes], catalogue: Catalogue,
                      wanted: list[str] | None = None) -> dict[str, CompiledProcess]:
    """Validate diagrams and compile every board process they define (or `wanted`); refuse on any problem."""
    problems: list[Problem] = []
    roots: dict[str, etree._Element] = {}
    needed_forms: dict[str, set[str]] = {}
    defined: list[str] = []
    owners: dict[str, str] = {}
    for filename, data in sorted(diagrams.items()):
        try:
            roots[filename] = parse_xml_safely(data, filename)
        except InvalidDiagram as exc:
            problems.extend(exc.problems)
            continue
        checked = check_document(roots[filename], filename, catalogue, forms)
        problems.extend(checked.problems)
        needed_forms[filename] = checked.forms
        defined.extend(checked.processes)
        owners.update(dict.fromkeys(checked.processes, filename))
    problems.extend(recursive_calls(roots))
    if problems:
        raise InvalidDiagram(problems)
    parser = SpiffBpmnParser(validator=VALIDATOR)
    for filename, root in roots.items():
        try:
            parser.add_bpmn_xml(root, filename=filename)
        except ValidationException as exc:
            problems.append(_spiff_problem(exc, filename, root))
        except (SpiffWorkflowException, etree.LxmlError) as exc:
            problems.append(Problem("invalid_bpmn", _in_words(_first_line(exc)), root.get("id"), filename))
    if problems:
        raise InvalidDiagram(problems)
    targets = wanted if wanted is not None else [b.process for b in catalogue.boards if b.process in defined]
    compiled: dict[str, CompiledProcess] = {}
    for process_id in targets:
        try:
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
        except ValidationException as exc:
            source = exc.file_name or owners.get(process_id)
            problems.append(_spiff_problem(exc, source, roots.get(source or ""), process_id))
            continue
        except (SpiffWorkflowException, KeyError) as exc:
            problems.append(Problem("invalid_bpmn", f"cannot build process: {_in_words(_first_line(exc))}",
                                    process_id, owners.get(process_id)))
            continue
        used = {spec.file, *(s.file for s in subprocess_specs.values())}
        files = {"bpmn/" + name: diagrams[name].decode("utf-8") for name in sorted(used) if name in diagrams}
        for name in sorted(used):
            files.update({"forms/" + f: forms[f].decode("utf-8") for f in sorted(needed_forms.get(name, ()))})
        link_repeats(spec, subprocess_specs)
        compiled[process_id] = CompiledProcess(process_id, content_hash(process_id, files), spec,
                                               subprocess_specs, files)
    if problems:
        raise InvalidDiagram(problems)
    return compiled


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_NAMESPACES = {BPMN: "bpmn:", SPIFF: "spiffworkflow:", "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi:",
               "http://www.omg.org/spec/DD/20100524/DC": "dc:", "http://www.omg.org/spec/DD/20100524/DI": "di:"}
_SCHEMA_SENTENCES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Element '([^']+)': This element is not expected\. Expected is one of \( ([^)]*) \)"),
     "{0} is not allowed here by the BPMN 2.0 schema: remove it or move it (allowed here: {1})"),
    (re.compile(r"Element '([^']+)': This element is not expected"),
     "{0} is not allowed here by the BPMN 2.0 schema: remove it or move it where BPMN allows it"),
    (re.compile(r"Element '([^']+)': The attribute '([^']+)' is required but missing"),
     "{0} needs the attribute {1}: add it (in a modeler: connect or complete the element)"),
    (re.compile(r"Element '([^']+)', attribute '[^']+': '([^']*)' is not a valid value of the atomic type 'xs:ID'"),
     "'{1}' is not a valid id for {0}: use letters, digits, '_', '-' or '.', starting with a letter or '_'"),
    (re.compile(r"Element '([^']+)', attribute '([^']+)': The attribute '[^']+' is not allowed"),
     "attribute {1} is not allowed on {0} by the BPMN 2.0 schema: remove it, or write it as a spiffworkflow "
     "property instead"),
    (re.compile(r"The process '([^']+)' was not found\. Did you mean one of the following: (.*?)\??\.?\s*$"),
     "calls process '{0}', which no diagram checked with it defines: use one of {1} instead, or add a process "
     "with that id"),
    (re.compile(r"Duplicate process ID: (\S+)"), "process id '{0}' is defined twice: use a different id for each"),
    (re.compile(r"Process (\S+) is not executable"),
     "process {0} is marked not executable: set isExecutable=\"true\" on it (in a modeler: the process's "
     "'Executable' box) to use it here"),
    (re.compile(r"No start event found"), "the process has no start event: add one before its first step"),
)


def _in_words(message: str) -> str:
    """SpiffWorkflow's and the XML schema's sentences in a process owner's words, with what to do instead."""
    message = re.sub(r"\{([^}]+)\}(\w+)", lambda m: _NAMESPACES.get(m.group(1), "") + m.group(2), message)
    for pattern, words in _SCHEMA_SENTENCES:
        found = pattern.search(message)
        if found:
            parts = [", ".join(p.strip() for p in g.split(",")[:8]) + (", ..." if g.count(",") >= 8 else "")
                     for g in found.groups()]
            return words.format(*parts)
    return f"{message.rstrip('. ')}: correct it in a modeler, using the conventions of bpmn/README.md instead"


def _spiff_problem(exc: ValidationException, filename: str | None, root: etree._Element | None,
                   process_id: str | None = None) -> Problem:
    """A SpiffWorkflow refusal naming the element: its own id, else the element on the line the schema blames."""
    element = getattr(exc, "id", None) or None
    line = getattr(exc, "line_number", None)
    if element is None and root is not None and isinstance(line, int):
        node = next((n for n in root.iter() if n.sourceline == line and isinstance(n.tag, str)), None)
        element = owner_id(node) if node is not None else None
    message = _in_words(_first_line(exc))
    if isinstance(line, int) and line > 0:
        message = f"line {line}: {message}"
    return Problem("invalid_bpmn", message, element or process_id or (root.get("id") if root is not None else None),
                   filename)


def read_diagrams(paths: list[Path], root: Path | None = None) -> dict[str, bytes]:
    """Read .bpmn files (directories are searched recursively), keyed by path relative to `root` or name."""
    return {key: file.read_bytes() for key, file in diagram_paths(paths, root).items()}


def diagram_paths(paths: list[Path], root: Path | None = None) -> dict[str, Path]:
    """The .bpmn files under `paths` (folders searched recursively) as read_diagrams keys them, with their paths."""
    found: dict[str, Path] = {}
    for path in paths:
        files = sorted(path.rglob("*.bpmn")) if path.is_dir() else [path]
        base = root or (path if path.is_dir() else path.parent)
        for file in files:
            try:
                key = file.resolve().relative_to(base.resolve()).as_posix()
            except ValueError:
                key = file.name
            found[key] = file
    return found


def read_forms(forms_dir: Path) -> dict[str, bytes]:
    """Read every JSON file under `forms_dir`, keyed by its path relative to it (as diagrams name them)."""
    return {p.relative_to(forms_dir).as_posix(): p.read_bytes() for p in sorted(forms_dir.rglob("*.json"))}
