"""The replaceable parts every use case needs: the unit of work, the role catalogue, the forms and the clock."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.casework.combining import Combiner
from engine.clock import Clock
from engine.ports import CaseRecord, UnitOfWork, VersionRecord
from engine.workflow.catalogue import Catalogue
from engine.workflow.specs import CompiledProcess, compile_processes


@dataclass
class Services:
    """The composition of replaceable parts every use case needs (one per process; cheap to share)."""

    uow: Callable[[], UnitOfWork]
    catalogue: Catalogue
    forms: Callable[[], Mapping[str, bytes]]
    clock: Clock
    _compiled: dict[int, CompiledProcess] = field(default_factory=dict)
    _compiling: threading.Lock = field(default_factory=threading.Lock, repr=False)
    writers: Combiner = field(default_factory=Combiner)  # completions of one case arriving together, written together
    documents_dir: Path | None = None  # the document outlines (forms/documents), read by engine.documents.library
    unavailable: tuple[type[Exception], ...] = ()  # the store's errors for a database that cannot be reached (503)

    def compiled(self, version: VersionRecord) -> CompiledProcess:
        """The compiled specs of a stored version (parsed once per process, then cached; one thread compiles)."""
        assert version.id is not None
        cached = self._compiled.get(version.id)
        if cached is not None:
            return cached
        with self._compiling:  # probe finding 9: concurrent first requests each compiled the same version
            cached = self._compiled.get(version.id)
            if cached is None:
                diagrams = {k[5:]: v.encode() for k, v in version.files.items() if k.startswith("bpmn/")}
                forms = {k[6:]: v.encode() for k, v in version.files.items() if k.startswith("forms/")}
                cached = compile_processes(diagrams, forms, self.catalogue, [version.process_id])[version.process_id]
                self._compiled[version.id] = cached
            return cached

    def warm_up(self) -> int:
        """Compile every published version and every version an unfinished case runs; returns how many were new.

        Called before a process accepts requests or fires timers (probe finding 9: the first request per board
        waited 0.3-4.8 s for a compile), and before gunicorn forks, so its workers share the result.
        """
        with self.uow() as uow:
            needed = [uow.versions.get(i) for i in uow.versions.in_use() if i not in self._compiled]
        for version in needed:
            self.compiled(version)
        return len(needed)

    def process_of(self, uow: UnitOfWork, record: CaseRecord) -> CompiledProcess:
        """The compiled version a case is pinned to, read from the store only on a cache miss."""
        return self.process_by_id(uow, record.version_id)

    def process_by_id(self, uow: UnitOfWork, version_id: int) -> CompiledProcess:
        """The compiled process of a stored version id, read from the store only on a cache miss."""
        cached = self._compiled.get(version_id)
        return cached if cached is not None else self.compiled(uow.versions.get(version_id))
