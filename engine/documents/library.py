"""The documents a deployment knows: the outlines, the glossary and the packs of forms/documents, read once and read
again when a file there changes (a process owner edits outlines as data, never code)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.casework.services import Services
from engine.documents.outline import GLOSSARY_FILE, PACKS_FILE, Glossary, Outline, load_glossary, load_outlines
from engine.errors import InvalidOutline, NotFound

REPOSITORY_DOCUMENTS = Path(__file__).resolve().parents[2] / "forms" / "documents"


@dataclass(frozen=True)
class Library:
    """Every outline by id, the glossary, and the packs as packs.json gives them."""

    outlines: dict[str, Outline]
    glossary: Glossary
    packs: dict[str, Any]

    def outline(self, outline_id: str) -> Outline:
        """One outline, or NotFound."""
        try:
            return self.outlines[outline_id]
        except KeyError:
            raise NotFound(f"no document {outline_id!r}") from None


_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[tuple[str, int], ...], Library]] = {}


def _stamp(directory: Path) -> tuple[tuple[str, int], ...]:
    """The files of the directory with their modification times: a change reloads."""
    return tuple(sorted((f.name, f.stat().st_mtime_ns) for f in directory.glob("*.json")))


def _load(directory: Path) -> Library:
    """Read and check the directory's outlines, glossary and packs."""
    packs: dict[str, Any] = {}
    if (directory / PACKS_FILE).exists():
        try:
            packs = json.loads((directory / PACKS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidOutline(f"{directory / PACKS_FILE}: cannot be read ({exc})") from exc
    return Library(load_outlines(directory), load_glossary(directory / GLOSSARY_FILE), packs)


def library_at(directory: Path) -> Library:
    """The library of one directory, cached until a file in it changes."""
    stamp = _stamp(directory)
    with _lock:
        held = _cache.get(directory)
        if held and held[0] == stamp:
            return held[1]
    loaded = _load(directory)
    with _lock:
        _cache[directory] = (stamp, loaded)
    return loaded


def library(services: Services) -> Library:
    """The documents of this deployment: its forms/documents, or the repository's when its forms have none (the
    small test catalogues)."""
    directory = services.documents_dir
    if directory is None or not (directory / GLOSSARY_FILE).exists():
        directory = REPOSITORY_DOCUMENTS
    return library_at(directory)


__all__ = ["Library", "library", "library_at"]
