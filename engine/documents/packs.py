"""forms/documents/packs.json read and checked: the packs the LSCB administrator assembles with one action (each a
list of outlines, an audience and where the procedure asks for it), and what fills the facts, officials and
signatures of a case's documents (which role's holders a fact names, which roles sit on the panel, which signature
line takes a signer's name or date). A mistake is refused with the file and the place in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.documents.key import KINDS
from engine.documents.library import Library
from engine.documents.outline import AUDIENCES, PACKS_FILE, Outline
from engine.errors import InvalidOutline, NotFound
from engine.workflow.catalogue import Catalogue

ID = re.compile(r"^[a-z][a-z0-9_]*$")
LINE_KINDS = ("name", "date", "signature", "agency")


@dataclass(frozen=True)
class PackDocument:
    """One document of a pack: its outline, the audience it leaves for, and whether a case may lack it."""

    outline: Outline
    audience: str
    optional: bool = False


@dataclass(frozen=True)
class Pack:
    """A set of documents released together as one zip."""

    id: str
    title: str
    audience: str
    documents: tuple[PackDocument, ...]
    cite: str = ""

    @property
    def public(self) -> bool:
        """True when the pack is published (nothing internal may be in it: 17.3)."""
        return self.audience == "public"


@dataclass(frozen=True)
class Fact:
    """Where a fact comes from: the names of a role's holders on the case, or the pseudonyms of the key's people of
    one kind."""

    role: str = ""
    key: str = ""


@dataclass(frozen=True)
class Filling:
    """What fills facts, officials and signatures, as packs.json says."""

    facts: Mapping[str, Fact] = field(default_factory=dict)
    members: tuple[str, ...] = ()  # roles whose holders are listed as panel members (job title, organisation)
    lines: Mapping[str, str] = field(default_factory=dict)  # signature line label -> name | date | signature | agency


@dataclass(frozen=True)
class Packs:
    """The packs by id, in the file's order, and the filling."""

    packs: Mapping[str, Pack]
    filling: Filling


def packs_file(books: Library) -> str:
    """Where packs.json is (beside the outlines), for messages."""
    first = next(iter(books.outlines.values()), None)
    return str(Path(first.file).parent / PACKS_FILE) if first and first.file else PACKS_FILE


class _Reader:
    """Checks one packs.json, collecting every problem with its place."""

    def __init__(self, books: Library, catalogue: Catalogue) -> None:
        self.books = books
        self.catalogue = catalogue
        self.file = packs_file(books)
        self.problems: list[str] = []

    def refuse(self, where: str, message: str) -> None:
        """Note one problem."""
        self.problems.append(f"{self.file}: {where}: {message}")

    def text(self, raw: Mapping[str, Any], name: str, where: str, required: bool = True) -> str:
        """A text field."""
        value = raw.get(name, "")
        if not isinstance(value, str) or (required and not value.strip()):
            self.refuse(f"{where}.{name}", "expected text" if required else "expected text or nothing")
            return ""
        return value

    def role(self, value: Any, where: str) -> str:
        """A role of the catalogue."""
        if not isinstance(value, str) or self.catalogue.role(value) is None:
            self.refuse(where, f"no role {value!r} in roles.json")
            return ""
        return value

    def document(self, raw: Any, where: str, pack_audience: str) -> PackDocument | None:
        """One document of a pack."""
        if not isinstance(raw, dict) or not isinstance(raw.get("outline"), str):
            self.refuse(where, 'expected {"outline": "<outline id>"}')
            return None
        outline = self.books.outlines.get(raw["outline"])
        if outline is None:
            self.refuse(f"{where}.outline", f"no outline has the id {raw['outline']!r}")
            return None
        unknown = sorted(set(raw) - {"outline", "audience", "optional", "note"})
        if unknown:
            self.refuse(where, f"unknown {', '.join(unknown)}")
        audience = raw.get("audience", outline.audience)
        if audience not in AUDIENCES:
            self.refuse(f"{where}.audience", f"expected one of {', '.join(AUDIENCES)}")
            return None
        if outline.audience == "internal" and audience == "public":
            self.refuse(f"{where}.audience", f"the {outline.title} is internal and is never published (17.3)")
        if pack_audience == "public" and audience != "public":
            self.refuse(f"{where}.audience", f"a public pack holds public documents only; the {outline.title} is "
                                             f"{audience}")
        if not isinstance(raw.get("optional", False), bool):
            self.refuse(f"{where}.optional", "expected true or false")
        return PackDocument(outline, audience, bool(raw.get("optional", False)))

    def pack(self, raw: Any, where: str) -> Pack | None:
        """One pack."""
        if not isinstance(raw, dict):
            self.refuse(where, "expected an object")
            return None
        pack_id = raw.get("id")
        if not isinstance(pack_id, str) or not ID.match(pack_id):
            self.refuse(f"{where}.id", "expected an id of a-z, 0-9 and _")
            return None
        audience = raw.get("audience")
        if audience not in AUDIENCES:
            self.refuse(f"{where}.audience", f"expected one of {', '.join(AUDIENCES)}")
            return None
        if audience == "internal":
            self.refuse(f"{where}.audience", "a pack leaves the LSCB: external or public")
        listed = raw.get("documents")
        if not isinstance(listed, list) or not listed:
            self.refuse(f"{where}.documents", "expected a list of at least one document")
            return None
        documents = [self.document(d, f"{where}.documents[{n}]", audience) for n, d in enumerate(listed)]
        ids = [d.outline.id for d in documents if d is not None]
        for twice in sorted({i for i in ids if ids.count(i) > 1}):
            self.refuse(f"{where}.documents", f"{twice!r} is listed twice")
        return Pack(pack_id, self.text(raw, "title", where), audience,
                    tuple(d for d in documents if d is not None), self.text(raw, "cite", where, required=False))

    def filling(self, raw: Mapping[str, Any]) -> Filling:
        """The facts, officials and signature lines."""
        facts: dict[str, Fact] = {}
        given = raw.get("facts", {})
        if not isinstance(given, dict):
            self.refuse("facts", 'expected {"<fact>": {"role": "<role>"} or {"key": "<kind>"}}')
            given = {}
        for name, spec in given.items():
            if isinstance(spec, dict) and set(spec) == {"role"}:
                facts[name] = Fact(role=self.role(spec["role"], f"facts.{name}.role"))
            elif isinstance(spec, dict) and set(spec) == {"key"} and spec["key"] in KINDS:
                facts[name] = Fact(key=spec["key"])
            else:
                self.refuse(f"facts.{name}", f'expected {{"role": "<role>"}} or {{"key": one of {", ".join(KINDS)}}}')
        officials = raw.get("officials", {})
        members: list[str] = []
        if not isinstance(officials, dict) or not isinstance(officials.get("members", []), list):
            self.refuse("officials", 'expected {"members": ["<role>", ...]}')
        else:
            members = [self.role(r, f"officials.members[{n}]") for n, r in enumerate(officials.get("members", []))]
        lines: dict[str, str] = {}
        given_lines = raw.get("signature_lines", {})
        if not isinstance(given_lines, dict):
            self.refuse("signature_lines", f"expected {{{', '.join(LINE_KINDS)}: [labels]}}")
            given_lines = {}
        for kind, labels in given_lines.items():
            if kind not in LINE_KINDS or not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
                self.refuse(f"signature_lines.{kind}", f"expected one of {', '.join(LINE_KINDS)} with a list of "
                                                       "line labels")
                continue
            lines.update(dict.fromkeys(labels, kind))
        return Filling(facts, tuple(m for m in members if m), lines)


def read_packs(books: Library, catalogue: Catalogue) -> Packs:
    """The library's packs and filling, checked; InvalidOutline naming the file and every place at fault."""
    raw = books.packs
    reader = _Reader(books, catalogue)
    if not isinstance(raw, dict):
        raise InvalidOutline(f"{reader.file}: expected an object with \"packs\"")
    listed = raw.get("packs", [])
    found: dict[str, Pack] = {}
    if not isinstance(listed, list):
        reader.refuse("packs", "expected a list of packs")
        listed = []
    for n, item in enumerate(listed):
        pack = reader.pack(item, f"packs[{n}]")
        if pack is not None:
            if pack.id in found:
                reader.refuse(f"packs[{n}].id", f"{pack.id!r} is also the id of another pack")
            found[pack.id] = pack
    filling = reader.filling(raw)
    if reader.problems:
        raise InvalidOutline("\n".join(reader.problems))
    return Packs(found, filling)


def pack_of(packs: Packs, pack_id: str) -> Pack:
    """One pack, or NotFound."""
    try:
        return packs.packs[pack_id]
    except KeyError:
        raise NotFound(f"no pack {pack_id!r}") from None


__all__ = ["Fact", "Filling", "Pack", "PackDocument", "Packs", "pack_of", "packs_file", "read_packs"]
