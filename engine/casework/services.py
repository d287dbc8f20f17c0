"""The replaceable parts every use case needs: the unit of work, the role catalogue, the forms and the clock."""

from __future__ import annotations

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
    writers: Combiner = field(default_factory=Combiner)  # completions of one case arriving together, written together
    documents_dir: Path | None = None  # the document outlines (forms/documents), read by engine.documents.library

    def compiled(self, version: VersionRecord) -> CompiledProcess:
        """The compiled specs of a stored version (parsed once per process, then cached)."""
        assert version.id is not None
        if version.id not in self._compiled:
            diagrams = {k[5:]: v.encode() for k, v in version.files.items() if k.startswith("bpmn/")}
            forms = {k[6:]: v.encode() for k, v in version.files.items() if k.startswith("forms/")}
            self._compiled[version.id] = compile_processes(diagrams, forms, self.catalogue, [version.process_id])[
                version.process_id]
        return self._compiled[version.id]

    def process_of(self, uow: UnitOfWork, record: CaseRecord) -> CompiledProcess:
        """The compiled version a case is pinned to, read from the store only on a cache miss."""
        return self.process_by_id(uow, record.version_id)

    def process_by_id(self, uow: UnitOfWork, version_id: int) -> CompiledProcess:
        """The compiled process of a stored version id, read from the store only on a cache miss."""
        cached = self._compiled.get(version_id)
        return cached if cached is not None else self.compiled(uow.versions.get(version_id))
