"""Document outlines as data (forms/documents/*.json): each appendix and letter's chapters, sections, headings and
what fills each section; loaded, checked against forms/documents/outline-schema.json and their includes resolved.
A bad outline is refused with the file and the place in it (`chapters[2].sections[0].source`).

The glossary of acronyms (forms/documents/glossary.json) is loaded here too: the renderer expands each acronym at
its first use and lists the ones a document uses at the bottom of its contents page.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from engine.errors import InvalidOutline

SCHEMA_FILE = "outline-schema.json"
GLOSSARY_FILE = "glossary.json"
PACKS_FILE = "packs.json"
NOT_OUTLINES = {SCHEMA_FILE, GLOSSARY_FILE, PACKS_FILE}
AUDIENCES = ("internal", "external", "public")


@dataclass(frozen=True)
class Section:
    """One section of a chapter: its heading (may be empty) and what fills it."""

    key: str  # "<outline id>.<section id>": the key of the section's authored text
    heading: str
    source: Mapping[str, Any]
    cite: str = ""
    guidance: str = ""  # what its author is asked to write (for the pages; never printed)
    optional: bool = False  # left out, heading and all, when nothing fills it


@dataclass(frozen=True)
class ChapterOutline:
    """One chapter: a page-one heading and its sections."""

    key: str
    heading: str
    sections: tuple[Section, ...]
    cite: str = ""
    page_break_before: bool = True
    landscape: bool = False


@dataclass(frozen=True)
class Outline:
    """One document's outline, includes resolved."""

    id: str
    title: str
    audience: str
    chapters: tuple[ChapterOutline, ...]
    front: tuple[Section, ...] = ()
    subtitle: str = ""
    cite: str = ""
    note: str = ""
    marking: str = ""
    contents: bool = True
    numbered: bool = True
    max_pages: int | None = None
    authors: tuple[str, ...] = ()  # roles (forms/roles.json) whose holders write it
    signoffs: tuple[str, ...] = ()  # roles whose holders sign it off
    per_agency: bool = False  # one per agency of the case (an IMR), not one per case
    file: str = ""

    def sections(self) -> Iterable[Section]:
        """Every section, the title page's first."""
        yield from self.front
        for chapter in self.chapters:
            yield from chapter.sections


@dataclass(frozen=True)
class Acronym:
    """One acronym of the glossary and what it stands for."""

    acronym: str
    expansion: str


@dataclass(frozen=True)
class Glossary:
    """The acronyms documents may use, the spellings read as another, and the author documents carry."""

    acronyms: tuple[Acronym, ...]
    variants: Mapping[str, str]  # a spelling found in texts -> the one printed instead
    default_author: str


def _where(path: Iterable[Any]) -> str:
    """A JSON path as `chapters[2].sections[0].source`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top)"


def _read(file: Path) -> Any:
    """A JSON file, or InvalidOutline naming it and the line of the error."""
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidOutline(f"{file}: cannot be read ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise InvalidOutline(f"{file}: not JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc


def _validator(schema_file: Path) -> Draft202012Validator:
    """The outline schema's validator."""
    return Draft202012Validator(_read(schema_file))


def _said(error: ValidationError) -> str:
    """A schema error in a sentence that names the place, not the whole value found there."""
    error = best_match(error.context) if error.context else error
    found = repr(error.instance)
    message = error.message
    if message.startswith(found):
        message = "this" + message[len(found):]
    return f"{_where(error.absolute_path)}: {message}"


def _check(validator: Draft202012Validator, raw: Any, file: Path) -> None:
    """Refuse an outline the schema refuses, naming the first few places."""
    errors = sorted(validator.iter_errors(raw), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        raise InvalidOutline("\n".join(f"{file}: {_said(e)}" for e in errors[:5]))


def _section(raw: Mapping[str, Any], owner: str) -> Section:
    """One section of the outline `owner`."""
    return Section(key=f"{owner}.{raw['id']}", heading=raw.get("heading", ""), source=raw["source"],
                   cite=raw.get("cite", ""), guidance=raw.get("guidance", ""), optional=raw.get("optional", False))


def _chapter(raw: Mapping[str, Any], owner: str) -> ChapterOutline:
    """One chapter of the outline `owner`."""
    return ChapterOutline(key=f"{owner}.{raw['id']}", heading=raw["heading"],
                          sections=tuple(_section(s, owner) for s in raw["sections"]), cite=raw.get("cite", ""),
                          page_break_before=raw.get("page_break_before", True), landscape=raw.get("landscape", False))


def _resolve(raw: Mapping[str, Any], file: Path, raws: Mapping[str, tuple[Path, Mapping[str, Any]]]
             ) -> list[ChapterOutline]:
    """The outline's chapters with each `include` replaced by the included outline's chapters."""
    chapters: list[ChapterOutline] = []
    for n, item in enumerate(raw["chapters"]):
        if "include" not in item:
            chapters.append(_chapter(item, raw["id"]))
            continue
        target = raws.get(item["include"])
        where = f"{file}: chapters[{n}].include"
        if target is None:
            raise InvalidOutline(f"{where}: no outline has the id {item['include']!r}")
        if any("include" in c for c in target[1]["chapters"]):
            raise InvalidOutline(f"{where}: {item['include']!r} includes another outline itself; include its "
                                 "chapters directly instead")
        chapters += [_chapter(c, target[1]["id"]) for c in target[1]["chapters"]]
    return chapters


def _unique(outline: Outline) -> None:
    """Refuse two chapters, or two sections, with one id, even when one came from an included outline (a chapter
    and its section may share an id)."""
    for kind, keys in (("chapters", [c.key for c in outline.chapters]),
                       ("sections", [s.key for s in outline.sections()])):
        seen: dict[str, str] = {}
        for key in keys:
            bare = key.split(".", 1)[1]
            if bare in seen:
                raise InvalidOutline(f"{outline.file}: two {kind} have the id {bare!r} ({seen[bare]!r} and {key!r}); "
                                     "give each its own")
            seen[bare] = key


def load_outlines(directory: Path, schema_file: Path | None = None) -> dict[str, Outline]:
    """Every outline of `directory` (all its *.json but the schema and the glossary), by id, includes resolved."""
    validator = _validator(schema_file or directory / SCHEMA_FILE)
    raws: dict[str, tuple[Path, Mapping[str, Any]]] = {}
    for file in sorted(directory.glob("*.json")):
        if file.name in NOT_OUTLINES:
            continue
        raw = _read(file)
        _check(validator, raw, file)
        if raw["id"] in raws:
            raise InvalidOutline(f"{file}: id: {raw['id']!r} is also the id of {raws[raw['id']][0].name}")
        raws[raw["id"]] = (file, raw)
    outlines: dict[str, Outline] = {}
    for id_, (file, raw) in raws.items():
        outline = Outline(
            id=id_, title=raw["title"], audience=raw["audience"], chapters=tuple(_resolve(raw, file, raws)),
            front=tuple(_section(s, id_) for s in raw.get("front", ())), subtitle=raw.get("subtitle", ""),
            cite=raw.get("cite", ""), note=raw.get("note", ""), marking=raw.get("marking", ""),
            contents=raw.get("contents", True), numbered=raw.get("numbered", True), max_pages=raw.get("max_pages"),
            authors=tuple(raw.get("authors", ())), signoffs=tuple(raw.get("signoffs", ())),
            per_agency=raw.get("per_agency", False), file=str(file))
        _unique(outline)
        outlines[id_] = outline
    return outlines


def form_schemas(forms_dir: Path) -> dict[str, dict[str, Any]]:
    """Every form's JSON Schema under `forms_dir`, by form id (its path without `.schema.json`)."""
    return {p.relative_to(forms_dir).as_posix().removesuffix(".schema.json"): json.loads(p.read_text("utf-8"))
            for p in sorted(forms_dir.rglob("*.schema.json"))}


def answer_refs(source: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (form, field) pairs an `answers` source reads, in the order they are tried."""
    refs = source.get("answers")
    if refs is None:
        return []
    return [(r["form"], r["field"]) for r in (refs if isinstance(refs, list) else [refs])]


def check_forms(outlines: Mapping[str, Outline], schemas: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse an outline that reads a form or a field no form has, naming the file and the section."""
    problems = []
    for outline in outlines.values():
        for section in outline.sections():
            for form, field in answer_refs(section.source):
                if form not in schemas:
                    problems.append(f"{outline.file}: {section.key}: no form {form!r} (forms/{form}.schema.json)")
                elif field not in schemas[form].get("properties", {}):
                    problems.append(f"{outline.file}: {section.key}: the form {form!r} has no field {field!r}")
    if problems:
        raise InvalidOutline("\n".join(sorted(set(problems))))


def load_glossary(file: Path) -> Glossary:
    """The glossary of acronyms, or InvalidOutline naming the entry at fault."""
    raw = _read(file)
    if not isinstance(raw, dict) or not isinstance(raw.get("acronyms"), list):
        raise InvalidOutline(f"{file}: acronyms: expected a list of {{\"acronym\", \"expansion\"}}")
    acronyms = []
    for n, entry in enumerate(raw["acronyms"]):
        if not (isinstance(entry, dict) and isinstance(entry.get("acronym"), str) and entry["acronym"].strip()
                and isinstance(entry.get("expansion"), str) and entry["expansion"].strip()):
            raise InvalidOutline(f"{file}: acronyms[{n}]: needs a non-empty \"acronym\" and \"expansion\"")
        acronyms.append(Acronym(entry["acronym"].strip(), entry["expansion"].strip()))
    variants = {}
    for n, entry in enumerate(raw.get("variants", [])):
        if not (isinstance(entry, dict) and isinstance(entry.get("written"), str)
                and isinstance(entry.get("read_as"), str) and entry["written"]):
            raise InvalidOutline(f"{file}: variants[{n}]: needs \"written\" and \"read_as\"")
        variants[entry["written"]] = entry["read_as"]
    author = raw.get("default_author", "")
    if not isinstance(author, str):
        raise InvalidOutline(f"{file}: default_author: expected text")
    return Glossary(tuple(acronyms), variants, author)


__all__ = ["AUDIENCES", "Acronym", "ChapterOutline", "Glossary", "InvalidOutline", "Outline", "Section",
           "answer_refs", "check_forms", "form_schemas", "load_glossary", "load_outlines"]
