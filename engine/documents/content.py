"""The neutral content model the renderer takes (a document of chapters of blocks) and `assemble`, which fills an
outline's sections from plain data: authored text by section, a case's form answers, its facts, chronology rows,
signatures and the officials documents may name. No database here: the caller passes the data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engine.documents.outline import Outline, Section, answer_refs

MISSING = "[Not yet provided]"
ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
BULLET = re.compile(r"^\s*[-*\u2022]\s+")
BLANK_LINE = re.compile(r"\n[ \t]*\n")


# ------------------------------------------------------------------------------------------------ blocks

@dataclass(frozen=True)
class Paragraph:
    """Body text; numbered paragraphs get Word's own numbering (1.1., 1.2., ...)."""

    text: str
    numbered: bool = False


@dataclass(frozen=True)
class Bullets:
    """A bulleted list."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table whose header row (if any) repeats on every page; widths are relative (scaled to the page)."""

    header: tuple[str, ...]  # () for a table of label and value rows
    rows: Sequence[Sequence[str]]
    widths: tuple[float, ...] = ()


@dataclass(frozen=True)
class Heading2:
    """A section heading inside a chapter."""

    text: str


@dataclass(frozen=True)
class SignatureBlock:
    """Who signs, with a line for each thing they write; empty lines are left tall enough to sign on."""

    heading: str
    lines: tuple[tuple[str, str], ...]  # (label, value)


Block = Paragraph | Bullets | Table | Heading2 | SignatureBlock


@dataclass(frozen=True)
class Chapter:
    """A chapter: its heading and blocks; each starts on a new page unless told otherwise."""

    heading: str
    blocks: tuple[Block, ...]
    page_break_before: bool = True
    landscape: bool = False


@dataclass(frozen=True)
class Document:
    """A whole document as the renderer takes it."""

    id: str
    title: str
    audience: str
    chapters: tuple[Chapter, ...]
    subtitle: str = ""
    front: tuple[Block, ...] = ()  # under the title on page one
    contents: bool = True  # a contents page (page two) with the glossary at its foot
    numbered: bool = True  # chapters 1., 2., ... and numbered paragraphs 1.1., 1.2., ...
    author: str = ""  # the board's name for the document properties (the glossary's default when empty)
    marking: str = ""  # printed at the head of every page
    cite: str = ""
    max_pages: int | None = None
    missing: tuple[str, ...] = ()  # keys of the sections nothing filled yet


# ------------------------------------------------------------------------------------------------ sources

@dataclass(frozen=True)
class Officials:
    """Whom documents may name (7.4, 16.1, App. 5, App. 6): named officials, and panel members by post only."""

    named: tuple[tuple[str, str], ...] = ()  # (role, name)
    members: tuple[tuple[str, str], ...] = ()  # (job title, organisation)


@dataclass(frozen=True)
class Sources:
    """The plain data a document is filled from."""

    authored: Mapping[str, str] = field(default_factory=dict)  # section key -> text written or uploaded
    answers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # form id -> the case's answers
    schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # form id -> its JSON Schema (labels)
    facts: Mapping[str, Any] = field(default_factory=dict)  # reference, board_name, decision_date, ...
    chronology: Mapping[str, Sequence[Sequence[str]]] = field(default_factory=dict)  # scope -> headings + rows
    signatures: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # signer -> line label -> value
    officials: Officials | None = None


# ------------------------------------------------------------------------------------------------ values

def long_date(value: date) -> str:
    """A date as people write it: 5 March 2024."""
    return f"{value.day} {value:%B %Y}"


def _choice_titles(schema: Mapping[str, Any]) -> dict[Any, str]:
    """The titles of a field's choices (oneOf const/title, or enum with enumNames)."""
    titles = {c["const"]: c["title"] for c in schema.get("oneOf", ()) if isinstance(c, dict) and "const" in c
              and "title" in c}
    if not titles and "enumNames" in schema:
        titles = dict(zip(schema.get("enum", ()), schema["enumNames"], strict=False))
    return titles


def shown(value: Any, schema: Mapping[str, Any] | None = None) -> str:
    """One value as text: a choice by its title, a date written out, yes or no."""
    schema = schema or {}
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return long_date(value.date())
    if isinstance(value, date):
        return long_date(value)
    titles = _choice_titles(schema)
    if value in titles:
        return titles[value]
    if isinstance(value, str):
        match = ISO_DATE.match(value.strip())
        if match:
            try:
                return long_date(date(*map(int, match.groups())))
            except ValueError:
                return value
        return value
    if isinstance(value, (list, tuple)):
        item = schema.get("items", {})
        return ", ".join(shown(v, item if isinstance(item, dict) else None) for v in value)
    return str(value)


def _empty(value: Any) -> bool:
    """True when a value says nothing."""
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, (list, tuple, dict)) and not value)


def text_blocks(text: str, numbered: bool) -> list[Block]:
    """Written text as blocks: paragraphs split at blank lines, runs of "- " lines as bullets."""
    blocks: list[Block] = []
    for chunk in BLANK_LINE.split(text.replace("\r\n", "\n").strip()):
        lines = [line for line in chunk.split("\n") if line.strip()]
        if not lines:
            continue
        if all(BULLET.match(line) for line in lines):
            blocks.append(Bullets(tuple(BULLET.sub("", line).strip() for line in lines)))
        else:
            blocks.append(Paragraph("\n".join(line.rstrip() for line in lines), numbered))
    return blocks


def _object_table(items: Sequence[Mapping[str, Any]], schema: Mapping[str, Any]) -> Table:
    """A list of objects (actions, interviews, ...) as a table under their fields' titles."""
    props = schema.get("items", {}).get("properties", {}) if isinstance(schema.get("items"), dict) else {}
    keys = [k for k in props if any(k in i for i in items)]
    keys += [k for i in items for k in i if k not in keys]
    keys = list(dict.fromkeys(keys))
    header = tuple(props.get(k, {}).get("title", k.replace("_", " ").capitalize()) for k in keys)
    rows = [[shown(i.get(k), props.get(k)) for k in keys] for i in items]
    return Table(header, rows)


def value_blocks(value: Any, schema: Mapping[str, Any] | None, numbered: bool) -> list[Block]:
    """A form answer or fact as blocks."""
    schema = schema or {}
    if isinstance(value, dict):
        props = schema.get("properties", {})
        return [Table((), [[props.get(k, {}).get("title", k), shown(v, props.get(k))] for k, v in value.items()],
                      (2, 3))]
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, dict) for v in value):
            return [_object_table(value, schema)]
        item = schema.get("items") if isinstance(schema.get("items"), dict) else None
        texts = [shown(v, item) for v in value if not _empty(v)]
        return [Paragraph(t, True) for t in texts] if numbered else [Bullets(tuple(texts))]
    text = shown(value, schema)
    if isinstance(value, str) and text == value:
        return text_blocks(text, numbered)
    return [Paragraph(text)]


# ------------------------------------------------------------------------------------------------ assembling

def _chronology(spec: Mapping[str, Any], sources: Sources) -> Table | None:
    """The chronology table: the outline's columns picked by heading from the rows the caller gave."""
    given = sources.chronology.get(spec["scope"])
    if not given:
        return None
    headings = [str(h) for h in given[0]]
    index = {h: n for n, h in enumerate(headings)}
    picks = [index.get(c["heading"]) for c in spec["columns"]]
    rows = [[("" if p is None or p >= len(row) else row[p]) for p in picks] for row in given[1:]]
    return Table(tuple(c["heading"] for c in spec["columns"]), rows,
                 tuple(float(c.get("width", 1)) for c in spec["columns"]))


def _officials(officials: Officials | None) -> list[Block]:
    """The named officials, then the panel members by job title and organisation."""
    if officials is None or not (officials.named or officials.members):
        return []
    blocks: list[Block] = []
    if officials.named:
        blocks.append(Table(("Role", "Name"), [list(r) for r in officials.named], (1, 1)))
    if officials.members:
        blocks.append(Table(("Job title", "Organisation"), [list(m) for m in officials.members], (1, 1)))
    return blocks


def _fill(section: Section, sources: Sources, numbered: bool) -> list[Block]:
    """The blocks of one section's source (empty when nothing fills it)."""
    source = section.source
    if "authored" in source:
        text = sources.authored.get(section.key, "")
        return text_blocks(text, numbered) if text.strip() else []
    if "answers" in source:
        for form, name in answer_refs(source):
            value = sources.answers.get(form, {}).get(name)
            if not _empty(value):
                schema = sources.schemas.get(form, {}).get("properties", {}).get(name)
                return value_blocks(value, schema, numbered)
        return []
    if "facts" in source:
        value = sources.facts.get(source["facts"])
        return [] if _empty(value) else value_blocks(value, None, False)
    if "text" in source:
        return text_blocks(source["text"], False)
    if "chronology" in source:
        table = _chronology(source["chronology"], sources)
        return [table] if table else []
    if "signatures" in source:
        return [SignatureBlock(s.get("heading", ""), tuple(
            (line, sources.signatures.get(s["signer"], {}).get(line, "")) for line in s["lines"]))
            for s in source["signatures"]]
    if "officials" in source:
        return _officials(sources.officials)
    raise ValueError(f"{section.key}: unknown source {sorted(source)}")


def _section_blocks(section: Section, sources: Sources, numbered: bool, missing: list[str]) -> Iterator[Block]:
    """A section's heading and content, a placeholder when nothing fills it (or nothing for an optional one)."""
    blocks = _fill(section, sources, numbered)
    if not blocks:
        if section.optional:
            return
        missing.append(section.key)
        blocks = [Paragraph(MISSING)]
    if section.heading:
        yield Heading2(section.heading)
    yield from blocks


def assemble(outline: Outline, sources: Sources) -> Document:
    """The document an outline describes, filled from `sources`."""
    missing: list[str] = []
    front = tuple(b for s in outline.front for b in _section_blocks(s, sources, False, missing))
    chapters = tuple(Chapter(c.heading, tuple(b for s in c.sections
                                              for b in _section_blocks(s, sources, outline.numbered, missing)),
                             c.page_break_before, c.landscape) for c in outline.chapters)
    return Document(id=outline.id, title=outline.title, subtitle=outline.subtitle, audience=outline.audience,
                    chapters=chapters, front=front, contents=outline.contents, numbered=outline.numbered,
                    author=shown(sources.facts.get("board_name", "")), marking=outline.marking, cite=outline.cite,
                    max_pages=outline.max_pages, missing=tuple(missing))


__all__ = ["MISSING", "Block", "Bullets", "Chapter", "Document", "Heading2", "Officials", "Paragraph",
           "SignatureBlock", "Sources", "Table", "assemble", "long_date", "shown", "text_blocks", "value_blocks"]
