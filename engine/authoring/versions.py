"""Checking diagrams and deploying them as new immutable, content-hashed process versions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.casework.services import Services
from engine.errors import InvalidDiagram, Problem
from engine.ports import EventRow, PublicationRecord, VersionRecord
from engine.workflow.checks import (
    Call,
    Outline,
    ProcessOutline,
    foreign_call_target,
    label,
    outline,
    without_processes,
)
from engine.workflow.fields import unread_fields
from engine.workflow.specs import CompiledProcess, compile_processes
from engine.workflow.xmlsafe import parse_xml_safely


def _overlay(base: Mapping[str, bytes], new: Mapping[str, bytes]) -> dict[str, bytes]:
    """`base` diagrams with the `new` files laid over them: a new file replaces the one at its path and any that
    defines a process it defines (never one that merely shares its file name)."""
    redefined = {p.process_id for data in new.values() for p in _outline(data).processes}
    kept = {k: v for k, v in base.items()
            if k not in new and not redefined & {p.process_id for p in _outline(v).processes}}
    return {**kept, **new}


def _outline(data: bytes) -> Outline:
    """What a file defines and calls (empty when it does not parse: compiling it says why)."""
    try:
        return outline(parse_xml_safely(data, "diagram"))
    except InvalidDiagram:
        return Outline(None, parsed=False)


def _deployed(services: Services) -> dict[str, bytes]:
    """The diagram files of the latest deployed version of every board's process, keyed as deployed."""
    deployed: dict[str, bytes] = {}
    with services.uow() as uow:
        for board in services.catalogue.boards:
            latest = uow.versions.latest(board.process)
            if latest is not None:
                deployed.update({k[5:]: v.encode() for k, v in latest.files.items() if k.startswith("bpmn/")})
    return deployed


def check_diagrams(services: Services, diagrams: Mapping[str, bytes]) -> dict[str, CompiledProcess]:
    """Validate diagrams, laid over the latest deployed ones, without storing anything (InvalidDiagram)."""
    compiled = compile_processes(_overlay(_deployed(services), diagrams), services.forms(), services.catalogue)
    if not compiled:
        boards = ", ".join(b.process for b in services.catalogue.boards)
        raise InvalidDiagram([Problem("no_board_process", "these diagrams define no process named in "
                                      f"forms/boards.json ({boards}): deploy one of those, or use run.py "
                                      "check-diagram to check a diagram on its own instead")])
    return compiled


@dataclass(frozen=True)
class CheckedProcess:
    """One process a checked file defines, compiled: its file, id, name and the deployed processes it calls."""

    file: str
    process_id: str
    name: str | None
    compiled: CompiledProcess
    calls_deployed: tuple[str, ...]


@dataclass
class _Resolution:
    """Deployed files a check needs, which call brought each in, and the calls nothing resolves."""

    files: dict[str, bytes] = field(default_factory=dict)
    origin: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # deployed key -> (file, call, process)
    problems: list[Problem] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)  # processes of the checked files that cannot be built
    brought: set[str] = field(default_factory=set)  # processes the deployed files brought in define


def check_files(services: Services, diagrams: Mapping[str, bytes]) -> list[CheckedProcess]:
    """Judge exactly these files: every process they define, on its own (no board process needed); a process
    they call but do not define comes from the deployed diagrams; nothing deployed is replaced (InvalidDiagram)."""
    if not diagrams:
        raise InvalidDiagram([Problem("no_diagrams", "there is no .bpmn file to check: give a .bpmn file or a "
                                      "folder holding some instead")])
    outlines = {key: _outline(data) for key, data in diagrams.items()}
    problems, wanted = _own_processes(outlines)
    boards = {b.process for b in services.catalogue.boards}
    resolution = _resolve(_deployed(services), diagrams, outlines, boards)
    problems += resolution.problems
    wanted = [p for p in wanted if p not in resolution.blocked]
    compiled: dict[str, CompiledProcess] = {}
    try:
        compiled = compile_processes({**diagrams, **resolution.files}, services.forms(), services.catalogue, wanted)
    except InvalidDiagram as exc:
        problems += [_blame_checked(p, resolution, outlines) for p in exc.problems]
    if not problems:  # the studio's publishing check too: every field an expression reads is asked earlier
        problems += [p for p in unread_fields({**diagrams, **resolution.files}, services.forms())
                     if p.file in diagrams]
    if problems:
        raise InvalidDiagram(list(dict.fromkeys(problems)))
    defined = {p.process_id: (key, p) for key, found in outlines.items() for p in found.processes}
    return [CheckedProcess(defined[pid][0], pid, defined[pid][1].name, compiled[pid],
                           tuple(sorted(set(compiled[pid].subprocess_specs) & resolution.brought)))
            for pid in wanted]


def _own_processes(outlines: Mapping[str, Outline]) -> tuple[list[Problem], list[str]]:
    """The processes to build (executable, with steps) and refusals for files with none to build."""
    problems: list[Problem] = []
    wanted: list[str] = []
    for key, found in outlines.items():
        if not found.parsed:
            continue  # compiling it says why
        for process in found.processes:
            if process.has_steps and not process.executable:
                problems.append(Problem("not_executable", "the process is marked not executable: set "
                                        "isExecutable=\"true\" on it (in a modeler: the process's 'Executable' box) "
                                        "to use it here", process.process_id, key))
            elif process.has_steps:
                wanted.append(process.process_id)
        if not any(p.has_steps for p in found.processes):
            problems.append(Problem("no_process", "the file defines no process with steps: draw a pool (or a "
                                    "process) with a start event and the steps people take, then use that file "
                                    "instead", found.definitions, key))
    return problems, wanted


def _resolve(deployed: Mapping[str, bytes], diagrams: Mapping[str, bytes], outlines: Mapping[str, Outline],
             boards: set[str]) -> _Resolution:
    """Bring in the deployed files that define processes these files call but do not define."""
    own = {p.process_id: p for found in outlines.values() for p in found.processes}
    shapes = {key: _outline(data) for key, data in deployed.items()}
    index = {p.process_id: key for key, found in shapes.items() for p in found.processes}
    # What a process may call: the deployed files made to be called (those holding no board's own procedure).
    shared = sorted(p.process_id for found in shapes.values() if not boards & {p.process_id for p in found.processes}
                    for p in found.processes)
    found = _Resolution()
    broken: set[str] = set()
    queue = [(call, key, call) for key, item in outlines.items() for call in item.calls]
    while queue:
        call, key, origin = queue.pop(0)
        target = own.get(call.called or "")
        if (target is not None and target.executable and target.has_steps) or call.called in found.brought:
            continue
        if call.called is None or target is not None or call.called not in index:
            if origin is call:
                broken.add(call.process)
                refusal = _unresolved(call, key, target, shared, diagrams[key])
                found.problems += [refusal] if refusal else []
            continue
        source = index[call.called]
        stored = source if source not in diagrams else f"deployed/{source}"
        found.files[stored] = _without(deployed[source], shapes[source], set(own))
        found.origin[stored] = (key, origin.element, call.called)
        found.brought |= {p.process_id for p in shapes[source].processes} - set(own)
        queue += [(inner, key, origin) for inner in shapes[source].calls]
    found.blocked = _blocked(outlines, broken)
    return found


def _without(data: bytes, shape: Outline, processes: set[str]) -> bytes:
    """A deployed file without the processes the checked files define themselves (theirs are the ones judged)."""
    if not {p.process_id for p in shape.processes} & processes:
        return data
    return without_processes(parse_xml_safely(data, "deployed"), processes)


def _unresolved(call: Call, key: str, target: ProcessOutline | None, deployed: list[str], data: bytes
                ) -> Problem | None:
    """Why a call activity cannot be followed, and what to call instead."""
    choices = ", ".join(deployed) or "none is deployed yet"
    if call.called is None:
        if foreign_call_target(parse_xml_safely(data, key), call.element):
            return None  # the extension's own refusal says which calledElement to write
        return Problem("call_without_process", "the call activity names no process: write calledElement=\"<id>\" "
                       f"with a process of this file or a deployed one ({choices}) instead", call.element, key)
    if target is not None:
        return Problem("call_not_executable", f"calls process '{call.called}', which this file marks not executable "
                       "or leaves without steps: set isExecutable=\"true\" on it and draw its steps to use it",
                       call.element, key)
    return Problem("unknown_process", f"calls process '{call.called}', which neither the checked files nor any "
                   "deployed diagram defines: add it to this file, deploy it first, or use one of the deployed "
                   f"processes instead ({choices})", call.element, key)


def _blocked(outlines: Mapping[str, Outline], broken: set[str]) -> set[str]:
    """Processes of the checked files that reach a process with an unresolved call (they cannot be built)."""
    calls: dict[str, set[str]] = {}
    for found in outlines.values():
        for call in found.calls:
            calls.setdefault(call.process, set()).update({call.called} if call.called else set())
    blocked = set(broken)
    grew = True
    while grew:
        grew = False
        for process, called in calls.items():
            if process not in blocked and called & blocked:
                blocked.add(process)
                grew = True
    return blocked


def _blame_checked(problem: Problem, resolution: _Resolution, outlines: Mapping[str, Outline]) -> Problem:
    """A problem in a deployed file is told on the checked file's call activity that needs it."""
    if problem.file in resolution.origin:
        key, element, called = resolution.origin[problem.file]
        return Problem(problem.code, f"calls {called} (deployed in {problem.file}), which no longer passes the "
                       f"checks: {problem.message}", element, key)
    if problem.file is None:
        owner = next((k for k, o in outlines.items() if problem.element in {p.process_id for p in o.processes}),
                     next(iter(outlines)))
        return Problem(problem.code, problem.message, problem.element, owner)
    return problem


def refusal_lines(problems: list[Problem], diagrams: Mapping[str, bytes], shown: Mapping[str, str]) -> list[str]:
    """One line per distinct problem: `<file>: <element id> "<name>": <message> [<code>]`, the file as given."""
    roots = {}
    for key, data in diagrams.items():
        try:
            roots[key] = parse_xml_safely(data, key)
        except InvalidDiagram:
            continue
    lines = []
    for problem in problems:
        file = shown.get(problem.file or "", problem.file or ", ".join(shown.values()))
        where = label(roots[problem.file], problem.element) if problem.file in roots and problem.element else \
            problem.element
        lines.append(f"{file}: {where}: {problem.message} [{problem.code}]" if where
                     else f"{file}: {problem.message} [{problem.code}]")
    return list(dict.fromkeys(lines))


def deploy(services: Services, diagrams: Mapping[str, bytes], by: str | None = None) -> list[VersionRecord]:
    """Validate, then store a new version of each process that changed; returns those (InvalidDiagram)."""
    compiled = check_diagrams(services, diagrams)
    now = services.clock.now()
    stored: list[VersionRecord] = []
    with services.uow() as uow:
        for process in compiled.values():
            if uow.versions.by_hash(process.content_hash) is not None:
                continue
            version = uow.versions.add(VersionRecord(None, process.process_id, process.content_hash,
                                                     process.files, now, by))
            assert version.id is not None
            uow.versions.publish(PublicationRecord(None, process.process_id, version.id, now, submitted_by=by,
                                                   note="deployed from the command line"))
            uow.events.append(EventRow(None, now, "version_deployed", by,
                                       {"process": process.process_id, "hash": process.content_hash,
                                        "version": version.id}))
            stored.append(version)
        uow.commit()
    return stored
