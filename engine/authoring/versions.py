"""Checking diagrams and deploying them as new immutable, content-hashed process versions."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath

from engine.casework.services import Services
from engine.errors import InvalidDiagram, Problem
from engine.ports import EventRow, VersionRecord
from engine.workflow.specs import CompiledProcess, compile_processes


def _overlay(base: Mapping[str, bytes], new: Mapping[str, bytes]) -> dict[str, bytes]:
    """`base` diagrams with the `new` files laid over them (a new file replaces any of the same name)."""
    names = {PurePosixPath(key).name for key in new}
    return {**{k: v for k, v in base.items() if PurePosixPath(k).name not in names}, **new}


def check_diagrams(services: Services, diagrams: Mapping[str, bytes]) -> dict[str, CompiledProcess]:
    """Validate diagrams, laid over the latest deployed ones, without storing anything (InvalidDiagram)."""
    deployed: dict[str, bytes] = {}
    with services.uow() as uow:
        for board in services.catalogue.boards:
            latest = uow.versions.latest(board.process)
            if latest is not None:
                deployed.update({k[5:]: v.encode() for k, v in latest.files.items() if k.startswith("bpmn/")})
    compiled = compile_processes(_overlay(deployed, diagrams), services.forms(), services.catalogue)
    if not compiled:
        raise InvalidDiagram([Problem("no_board_process",
                                      "these diagrams define no process named in forms/boards.json")])
    return compiled


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
            uow.events.append(EventRow(None, now, "version_deployed", by,
                                       {"process": process.process_id, "hash": process.content_hash,
                                        "version": version.id}))
            stored.append(version)
        uow.commit()
    return stored
