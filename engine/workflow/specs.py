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
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.errors import InvalidDiagram, Problem
from engine.workflow.catalogue import Catalogue
from engine.workflow.checks import check_document, recursive_calls
from engine.workflow.xmlsafe import parse_xml_safely


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
        """The JSON Schema (or UI schema) stored with this version."""
        return json.loads(self.files["forms/" + name])

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
    problems.extend(recursive_calls(roots))
    if problems:
        raise InvalidDiagram(problems)
    parser = SpiffBpmnParser(validator=VALIDATOR)
    for filename, root in roots.items():
        try:
            parser.add_bpmn_xml(root, filename=filename)
        except ValidationException as exc:
            problems.append(
                Problem("invalid_bpmn", str(exc).splitlines()[0], exc.id or None, exc.file_name or filename))
        except (SpiffWorkflowException, etree.LxmlError) as exc:
            problems.append(Problem("invalid_bpmn", str(exc).splitlines()[0], None, filename))
    if problems:
        raise InvalidDiagram(problems)
    targets = wanted if wanted is not None else [b.process for b in catalogue.boards if b.process in defined]
    compiled: dict[str, CompiledProcess] = {}
    for process_id in targets:
        try:
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
        except ValidationException as exc:
            problems.append(Problem("invalid_bpmn", str(exc).splitlines()[0], exc.id or process_id,
                                    exc.file_name or None))
            continue
        except (SpiffWorkflowException, KeyError) as exc:
            problems.append(Problem("invalid_bpmn", f"cannot build process: {exc}", process_id))
            continue
        used = {spec.file, *(s.file for s in subprocess_specs.values())}
        files = {"bpmn/" + name: diagrams[name].decode("utf-8") for name in sorted(used) if name in diagrams}
        for name in sorted(used):
            files.update({"forms/" + f: forms[f].decode("utf-8") for f in sorted(needed_forms.get(name, ()))})
        compiled[process_id] = CompiledProcess(process_id, content_hash(process_id, files), spec,
                                               subprocess_specs, files)
    if problems:
        raise InvalidDiagram(problems)
    return compiled


def read_diagrams(paths: list[Path], root: Path | None = None) -> dict[str, bytes]:
    """Read .bpmn files (directories are searched recursively), keyed by path relative to `root` or name."""
    found: dict[str, bytes] = {}
    for path in paths:
        files = sorted(path.rglob("*.bpmn")) if path.is_dir() else [path]
        base = root or (path if path.is_dir() else path.parent)
        for file in files:
            try:
                key = file.resolve().relative_to(base.resolve()).as_posix()
            except ValueError:
                key = file.name
            found[key] = file.read_bytes()
    return found


def read_forms(forms_dir: Path) -> dict[str, bytes]:
    """Read every JSON file under `forms_dir`, keyed by its path relative to it (as diagrams name them)."""
    return {p.relative_to(forms_dir).as_posix(): p.read_bytes() for p in sorted(forms_dir.rglob("*.json"))}
