"""The diagrams of a process version as the monitor shows them: the one that defines the process first, then the
ones it calls, each with the processes it defines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engine.workflow.specs import CompiledProcess
from engine.workflow.xmlsafe import BPMN, parse_xml_safely


@dataclass(frozen=True)
class Diagram:
    """One diagram file of a version: its name, its XML and the processes it defines."""

    file: str
    xml: str
    processes: tuple[str, ...]


_SEEN: dict[tuple[str, str], tuple[Diagram, ...]] = {}  # (content hash, process): versions never change


def diagrams_of(files: Mapping[str, str], process_id: str, content_hash: str | None = None) -> tuple[Diagram, ...]:
    """The version's diagrams, the one defining `process_id` first (kept per version when its hash is given)."""
    key = (content_hash or "", process_id)
    if content_hash and key in _SEEN:
        return _SEEN[key]
    found = []
    for name in sorted(k for k in files if k.startswith("bpmn/") and k.endswith(".bpmn")):
        root = parse_xml_safely(files[name].encode(), name)
        processes = tuple(str(p.get("id")) for p in root.iter(f"{{{BPMN}}}process") if p.get("id"))
        found.append(Diagram(name, files[name], processes))
    ordered = tuple(sorted(found, key=lambda d: (process_id not in d.processes, d.file)))
    if content_hash:
        _SEEN[key] = ordered
    return ordered


def titles_of(process: CompiledProcess) -> dict[str, str]:
    """Element id -> its name in the diagram (the id when it has none), over the process and those it calls."""
    titles: dict[str, str] = {}
    for spec in process.task_specs():
        bpmn_id = getattr(spec, "bpmn_id", None)
        if bpmn_id:
            titles[str(bpmn_id)] = str(getattr(spec, "bpmn_name", None) or bpmn_id)
    return titles
