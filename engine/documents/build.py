"""A case's documents built from what the case holds, then anonymised: the current text of each written section (of
every outline whose sections the document carries, so the overview report's first chapter is the executive
summary's text), the case's latest answers to each form the outline names, facts, the merged chronology, the
officials who may be named, and signatures from sign-offs that still hold. Every text is put through the case's key
(people by pseudonyms, dates of birth, NHS numbers and addresses removed) before the Word file is written; a
document uploaded whole is put through the key as a Word file. File names carry the case reference, the document
and the agency code, never a person.

Which role's holders a fact names, who sits on the panel and which signature line takes what are packs.json's to
say (engine/documents/packs.py); the outlines say what fills each section. Reads happen in the caller's unit of
work (`gather`); the slow part, anonymising and rendering (`built`), runs outside any transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, tzinfo
from typing import Any

from engine.casework.services import Services
from engine.documents import authoring
from engine.documents.anonymise import pseudonymise_docx
from engine.documents.chronology import Merged, export_rows, merge
from engine.documents.content import (
    Block,
    Bullets,
    Chapter,
    Document,
    Heading2,
    Officials,
    Paragraph,
    SignatureBlock,
    Sources,
    Table,
    assemble,
    long_date,
)
from engine.documents.keys import scanner_for
from engine.documents.leakscan import Scanner, pseudonymise
from engine.documents.library import Library
from engine.documents.outline import Glossary, Outline, answer_refs
from engine.documents.packs import Filling
from engine.documents.release import Outgoing
from engine.documents.render import render_docx
from engine.ports import CaseRecord, ChronologyRecord, SignOffRecord, SubmissionRecord, UnitOfWork

SIGNED = "Signed off in the system"
UNSAFE_IN_NAMES = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Planned:
    """One document to build: its outline, the agency it is for ("" for the case's), the audience it leaves for."""

    outline: Outline
    agency: str = ""
    audience: str = ""
    optional: bool = False  # left out of a pack when the case holds nothing for it

    @property
    def leaves_for(self) -> str:
        """The audience it leaves for (the outline's unless a pack says otherwise)."""
        return self.audience or self.outline.audience


@dataclass(frozen=True)
class Gathered:
    """A document's plain data as read from the case, not yet anonymised."""

    planned: Planned
    name: str  # the file name
    sources: Sources
    upload: bytes | None = None  # the uploaded .docx when it is the document

    @property
    def holds_anything(self) -> bool:
        """True when the case holds something for the document: an upload, written text, an answer or entries."""
        if self.upload is not None:
            return True
        for section in self.planned.outline.sections():
            source = section.source
            if "authored" in source and self.sources.authored.get(section.key, "").strip():
                return True
            if any(_said(self.sources.answers.get(form, {}).get(name)) for form, name in answer_refs(source)):
                return True
            if "chronology" in source and len(self.sources.chronology.get(source["chronology"]["scope"], ())) > 1:
                return True
        return False


@dataclass(frozen=True)
class Built:
    """A document anonymised and written: the Word file, and the document it was made from (None for an upload)."""

    outgoing: Outgoing
    document: Document | None


@dataclass
class Material:
    """What a case's documents are anonymised with: the case, its board's name and its key's scanner (with what
    still makes the key incomplete)."""

    case: CaseRecord
    board_name: str
    scanner: Scanner
    missing: list[str]
    memo: dict[str, str] = field(default_factory=dict)  # text -> anonymised text, shared by a pack's documents


def _said(value: Any) -> bool:
    """True when an answer says something."""
    return not (value is None or (isinstance(value, str) and not value.strip())
                or (isinstance(value, (list, tuple, dict)) and not value))


def file_name(case: CaseRecord, outline: Outline, agency: str = "", suffix: str = "docx") -> str:
    """A document's file name: the case reference, the document and the agency code (no person)."""
    parts = [case.reference, outline.id.replace("_", "-"), agency]
    return "-".join(UNSAFE_IN_NAMES.sub("-", p).strip("-") for p in parts if p) + f".{suffix}"


def plan(services: Services, uow: UnitOfWork, case: CaseRecord,
         documents: Iterable[tuple[Outline, str, bool]]) -> list[Planned]:
    """The documents to build for (outline, audience, optional) entries: one per agency of the case for an outline
    written per agency."""
    listed = list(documents)
    per_agency = [o for o, _a, _x in listed if o.per_agency]
    agencies: tuple[str, ...] = ()
    if per_agency:
        versions = [v for v in uow.documents.versions(case.id or 0) if v.document in {o.id for o in per_agency}]
        agencies = authoring.case_agencies(services, uow, case, per_agency, versions)
    return [Planned(outline, agency, audience, optional) for outline, audience, optional in listed
            for agency in (agencies if outline.per_agency else ("",))]


class _Gatherer:
    """Reads one case's data for its documents inside one unit of work, each thing once."""

    def __init__(self, services: Services, uow: UnitOfWork, case: CaseRecord, books: Library, filling: Filling,
                 zone: tzinfo) -> None:
        self.services, self.uow, self.case, self.books, self.filling, self.zone = (services, uow, case, books,
                                                                                  filling, zone)
        self.catalogue = services.catalogue
        scanner, missing = scanner_for(services, uow, case)
        board = self.catalogue.board(case.board)
        self.material = Material(case, board.name if board else case.board, scanner, missing)
        self._submissions: list[SubmissionRecord] | None = None
        self._records: list[ChronologyRecord] | None = None
        self._rows: dict[tuple[str, str], list[list[str]]] = {}
        self._names: dict[str, tuple[str, str]] = {}  # username -> (display name, agency)
        self._holders: dict[tuple[str, str], list[str]] = {}
        self._files: Mapping[str, str] | None = None
        self._named: Officials | None = None

    # ------------------------------------------------------------------------------------------ people
    def _person(self, username: str) -> tuple[str, str]:
        """A person's display name and agency code."""
        if username not in self._names:
            user = self.uow.people.get_user(username)
            self._names[username] = (user.display_name, user.agency or "") if user else (username, "")
        return self._names[username]

    def holders(self, role: str, agency: str) -> list[str]:
        """Usernames holding `role` on the case (for `agency` when the role is per agency), in name order."""
        definition = self.catalogue.role(role)
        scope = agency if definition is not None and definition.agency_scoped and agency else None
        key = (role, scope or "")
        if key not in self._holders:
            found = self.uow.people.holders(role, self.case.board, self.case.id, scope)
            self._holders[key] = sorted(set(found), key=lambda u: self._person(u)[0])
        return self._holders[key]

    # ------------------------------------------------------------------------------------------ sources
    def _authored(self, outline: Outline, agency: str) -> tuple[dict[str, str], bytes | None,
                                                                 list[SignOffRecord]]:
        """The written texts of every outline whose sections the document carries, the upload when it is the
        document, and the sign-offs that hold."""
        texts: dict[str, str] = {}
        upload: bytes | None = None
        signed: list[SignOffRecord] = []
        owners = dict.fromkeys(s.key.split(".", 1)[0] for s in outline.sections())
        for owner in [outline.id, *(o for o in owners if o != outline.id)]:
            carried = self.books.outlines.get(owner)
            if carried is None:
                continue
            state = authoring._state(self.uow, self.case.id or 0, carried, agency if carried.per_agency else "")
            whole = state.current.get(authoring.WHOLE)
            if owner == outline.id:
                signed = [s.record for s in state.signoffs if s.valid]
                if whole is not None and whole.id is not None:
                    stored = self.uow.documents.version(whole.id)
                    upload = stored.data if stored is not None else None
                    break
            texts.update({f"{owner}.{section}": v.text for section, v in state.current.items()
                          if section != authoring.WHOLE and v.text})
        return texts, upload, signed

    def _answers(self, outline: Outline, agency: str) -> dict[str, dict[str, Any]]:
        """The case's latest answers to each form the outline names: the agency's own (or the case's) for a
        document of one agency; the case's before any agency's for a document of the case."""
        wanted = {form for s in outline.sections() for form, _name in answer_refs(s.source)}
        if not wanted:
            return {}
        if self._submissions is None:
            self._submissions = list(self.uow.submissions.for_case(self.case.id or 0))
        found: dict[str, tuple[int, dict[str, Any]]] = {}
        for submission in self._submissions:  # oldest first: the latest of each form wins
            form = (submission.form or "").removesuffix(".schema.json")
            if form not in wanted or (agency and submission.agency not in (None, agency)):
                continue
            rank = 1 if submission.agency == (agency or None) else 0
            if form not in found or rank >= found[form][0]:
                found[form] = (rank, submission.data)
        return {form: data for form, (_rank, data) in found.items()}

    def _schemas(self, forms: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The JSON Schemas of these forms in the case's version of the procedure (for labels and choices)."""
        if self._files is None:
            self._files = self.services.process_of(self.uow, self.case).files
        found = {}
        for form in forms:
            text = self._files.get(f"forms/{form}.schema.json")
            if text is not None:
                found[form] = json.loads(text)
        return found

    def _chronology(self, scope: str, agency: str) -> list[list[str]]:
        """Export rows (headings first) of the merged chronology: of the agency, of every agency, or of the health
        agencies."""
        key = (scope, agency if scope == "agency" else "")
        if key not in self._rows:
            if self._records is None:
                self._records = list(self.uow.documents.chronology(self.case.id or 0))
            records = self._records
            if scope == "agency":
                records = [r for r in records if r.agency == agency]
            elif scope == "health":
                records = [r for r in records if isinstance(entry := self.catalogue.agencies.get(r.agency), Mapping)
                           and entry.get("health")]
            groups = merge(records, self.catalogue, self.zone)
            agencies = tuple((code, self.catalogue.agency_name(code))
                             for code in dict.fromkeys(a.record.agency for g in groups for a in g.accounts))
            self._rows[key] = export_rows(Merged(self.case, groups, agencies, scope == "health", self.zone))
        return self._rows[key]

    def _facts(self, outline: Outline, agency: str) -> dict[str, Any]:
        """The facts the outline's sections name."""
        wanted = {s.source["facts"] for s in outline.sections() if "facts" in s.source}
        today: date = self.services.clock.now().astimezone(self.zone).date()
        facts: dict[str, Any] = {"board_name": self.material.board_name, "reference": self.case.reference,
                                 "date": today}
        if agency:
            facts["agency_name"] = self.catalogue.agency_name(agency)
        for name in wanted & set(self.filling.facts):
            fact = self.filling.facts[name]
            if fact.role:
                names = [self._person(u)[0] for u in self.holders(fact.role, agency)]
            else:
                names = [p.pseudonym for p in self.material.scanner.key.people if p.kind == fact.key and p.pseudonym]
            if names:
                facts[name] = ", ".join(names)
        return facts

    def _officials(self) -> Officials:
        """The named officials by role and name, and the panel members by role and organisation."""
        if self._named is not None:
            return self._named
        named = [(role.title, self._person(u)[0]) for role in self.catalogue.roles if role.named
                 for u in self.holders(role.role, "")]
        members = []
        for role_name in self.filling.members:
            role = self.catalogue.role(role_name)
            for username in self.holders(role_name, ""):
                members.append((role.title if role else role_name,
                                self.catalogue.agency_name(self._person(username)[1])))
        self._named = Officials(tuple(named), tuple(members))
        return self._named

    def _signatures(self, signed: Sequence[SignOffRecord], agency: str) -> dict[str, dict[str, str]]:
        """Each holding sign-off's lines by its role: name, date, that it was signed, the agency."""
        found: dict[str, dict[str, str]] = {}
        for signoff in signed:
            values = {"name": self._person(signoff.username)[0],
                      "date": long_date(signoff.at.astimezone(self.zone).date()), "signature": SIGNED,
                      "agency": self.catalogue.agency_name(agency)}
            found.setdefault(signoff.role, {label: values[kind] for label, kind in self.filling.lines.items()})
        return found

    def gathered(self, planned: Planned) -> Gathered:
        """One document's plain data."""
        outline, agency = planned.outline, planned.agency
        texts, upload, signed = self._authored(outline, agency)
        answers = self._answers(outline, agency)
        scopes = {s.source["chronology"]["scope"] for s in outline.sections() if "chronology" in s.source}
        uses_officials = any("officials" in s.source for s in outline.sections())
        sources = Sources(authored=texts, answers=answers, schemas=self._schemas(answers),
                          facts=self._facts(outline, agency),
                          chronology={scope: self._chronology(scope, agency) for scope in scopes},
                          signatures=self._signatures(signed, agency),
                          officials=self._officials() if uses_officials else None)
        return Gathered(planned, file_name(self.case, outline, agency), sources, upload)


def gather(services: Services, uow: UnitOfWork, case: CaseRecord, books: Library, filling: Filling,
           planned: Sequence[Planned], zone: tzinfo) -> tuple[Material, list[Gathered]]:
    """Read, in the caller's unit of work, everything the planned documents are built from."""
    reader = _Gatherer(services, uow, case, books, filling, zone)
    return reader.material, [reader.gathered(p) for p in planned]


# ---------------------------------------------------------------------------------------------- anonymising
class _Anonymiser:
    """Puts every text of a document through the key, each distinct text once."""

    def __init__(self, material: Material) -> None:
        self.scanner = material.scanner
        self.memo = material.memo

    def text(self, text: str) -> str:
        """One text anonymised."""
        done = self.memo.get(text)
        if done is None:
            done = pseudonymise(text, self.scanner) if text else text
            self.memo[text] = done
        return done

    def block(self, block: Block) -> Block:
        """One block anonymised."""
        if isinstance(block, Paragraph):
            return replace(block, text=self.text(block.text))
        if isinstance(block, Bullets):
            return Bullets(tuple(self.text(i) for i in block.items))
        if isinstance(block, Heading2):
            return Heading2(self.text(block.text))
        if isinstance(block, Table):
            return replace(block, header=tuple(self.text(h) for h in block.header),
                           rows=[[self.text(c) for c in row] for row in block.rows])
        assert isinstance(block, SignatureBlock)
        return replace(block, heading=self.text(block.heading),
                       lines=tuple((self.text(a), self.text(b)) for a, b in block.lines))

    def document(self, document: Document) -> Document:
        """The whole document anonymised: title, front, every chapter's heading and blocks, the page marking."""
        return replace(document, title=self.text(document.title), subtitle=self.text(document.subtitle),
                       marking=self.text(document.marking), front=tuple(self.block(b) for b in document.front),
                       chapters=tuple(Chapter(self.text(c.heading), tuple(self.block(b) for b in c.blocks),
                                              c.page_break_before, c.landscape) for c in document.chapters))


def anonymised(document: Document, material: Material) -> Document:
    """A document with every text put through the case's key."""
    return _Anonymiser(material).document(document)


def built(item: Gathered, material: Material, glossary: Glossary) -> Built:
    """A document anonymised and written as Word (an uploaded one put through the key as it is)."""
    if item.upload is not None:
        data, _replaced = pseudonymise_docx(item.upload, material.scanner, material.board_name)
        return Built(Outgoing(item.name, data, item.planned.leaves_for), None)
    document = anonymised(assemble(item.planned.outline, item.sources), material)
    return Built(Outgoing(item.name, render_docx(document, glossary), item.planned.leaves_for), document)


__all__ = ["Built", "Gathered", "Material", "Planned", "anonymised", "built", "file_name", "gather", "plan"]
