"""Writing a case's documents: sections written in the app or a whole document uploaded as .docx, every save a new
version, and sign-offs bound to the sha256 of the exact version signed, so a later edit voids them visibly.

Who writes and who signs is the outline's to say (`authors`, `signoffs` in forms/documents/*.json), never this
module's: a holder of an author role on the case (for an outline written per agency, for that agency) writes; the
keeper of the case's key (a role roles.json marks `keeps_key`), who receives IMRs "for merging" (App. 3), may write
and upload any document. A person signs as the first of the outline's `signoffs` they hold (one sign-off per person
and version, however many of those roles they hold). A chapter included from another outline is written in that
outline's document, so its text is one wherever it is printed.

The agencies a case's per-agency documents are written for are those for which someone holds on the case, or a task
of the case is addressed to, a role that writes or signs a per-agency document, and any that already has one.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from engine.casework.access import grants, readable_case, reads_case_file
from engine.casework.services import Services
from engine.documents.keys import keeps_key
from engine.documents.library import library
from engine.documents.outline import Outline, Section, answer_refs
from engine.errors import Conflict, FieldError, InvalidSubmission, NotPermitted
from engine.ports import CaseRecord, DocumentVersionRecord, EventRow, SignOffRecord, UnitOfWork

MAX_SECTION = 200_000  # characters of one section
MAX_UPLOAD = 20 * 1024 * 1024
WHOLE = ""  # the section name of a whole uploaded document
CHRONOLOGY_WORDS = {"agency": "the agency's chronology", "integrated": "the integrated chronology",
                    "health": "the integrated health chronology"}


@dataclass(frozen=True)
class SignOffView:
    """A sign-off and whether it still holds (the document is still the version signed)."""

    record: SignOffRecord
    valid: bool


@dataclass(frozen=True)
class DocumentState:
    """Where a document of a case stands: the current version of each section (or the upload), the document's
    sha256 over them, every sign-off and whether it holds, and what the person asking may do with it."""

    outline: Outline
    agency: str
    current: dict[str, DocumentVersionRecord]  # section id ("" for an upload) -> its newest version
    sha256: str
    signoffs: tuple[SignOffView, ...]
    history: tuple[DocumentVersionRecord, ...]
    case: CaseRecord | None = None
    may_write: bool = False
    may_sign: bool = False
    signs_as: str = ""  # the role this person signs as ("" when they may not sign)

    @property
    def upload(self) -> DocumentVersionRecord | None:
        """The uploaded version when it is the document, else None."""
        return self.current.get(WHOLE)

    @property
    def sections(self) -> int:
        """How many sections of the outline a person writes."""
        return len(section_ids(self.outline))

    @property
    def written(self) -> int:
        """How many of those have text in the current version."""
        return sum(1 for s in section_ids(self.outline) if (v := self.current.get(s)) is not None and v.text)

    @property
    def last(self) -> DocumentVersionRecord | None:
        """The newest version kept, of any section."""
        return self.history[-1] if self.history else None

    def text(self, section: str) -> str:
        """A section's current text ('' when none)."""
        version = self.current.get(section)
        return (version.text or "") if version is not None else ""

    def signed_by(self, username: str) -> bool:
        """True when the person's sign-off of the current version holds."""
        return any(s.valid and s.record.username == username for s in self.signoffs)

    def awaiting(self) -> tuple[str, ...]:
        """The sign-off roles of the outline no valid sign-off answers yet."""
        done = {s.record.role for s in self.signoffs if s.valid}
        return tuple(r for r in self.outline.signoffs if r not in done)


@dataclass(frozen=True)
class CaseDocuments:
    """The documents of a case a person may read, per agency where written per agency."""

    case: CaseRecord
    documents: tuple[DocumentState, ...]
    agencies: tuple[str, ...]  # the case's agencies for per-agency documents


@dataclass(frozen=True)
class FilledSection:
    """A section a person does not write, and where its content comes from."""

    section: Section
    where: str


def _own(outline: Outline, section: Section) -> bool:
    """True for a section of the outline itself, not of a chapter included from another."""
    return section.key.split(".", 1)[0] == outline.id


def authored_sections(outline: Outline) -> list[Section]:
    """The sections a person writes in this document, in its order (an included chapter's are written in the
    document it comes from, so its text is one)."""
    return [s for s in outline.sections() if s.source.get("authored") and _own(outline, s)]


def section_ids(outline: Outline) -> list[str]:
    """The ids of the sections a person writes in this document (source "authored")."""
    return [s.key.split(".", 1)[1] for s in authored_sections(outline)]


def section_headings(outline: Outline) -> dict[str, str]:
    """Each section's heading by section id: its own, else its chapter's (else its id in words)."""
    headings = {s.key.split(".", 1)[1]: s.heading for s in outline.front}
    for chapter in outline.chapters:
        for section in chapter.sections:
            headings[section.key.split(".", 1)[1]] = section.heading or chapter.heading
    return {k: v or k.replace("_", " ").capitalize() for k, v in headings.items()}


def _sha(data: bytes) -> str:
    """sha256 in hex."""
    return hashlib.sha256(data).hexdigest()


def document_sha(current: dict[str, DocumentVersionRecord]) -> str:
    """The sha256 of a document as it stands: over each section's (or the upload's) own sha256, by section."""
    if not current:
        return ""
    joined = "\n".join(f"{section}:{v.sha256}" for section, v in sorted(current.items()))
    return _sha(joined.encode())


def _titles(services: Services, roles: Sequence[str], default: str) -> str:
    """The roles' titles from the catalogue, as 'A, B or C'."""
    titles = [(r.title if (r := services.catalogue.role(name)) else name) for name in roles]
    if not titles:
        return default
    return titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " or " + titles[-1]


def _holds(services: Services, uow: UnitOfWork, username: str, case: CaseRecord, roles: Sequence[str],
           agency: str) -> bool:
    """True when the person holds one of `roles` on this case (for `agency` where the role is per agency)."""
    return any(grants(a, role, case.board, case.id or 0, agency or None, services.catalogue)
               for a in uow.people.assignments_of(username) for role in roles)


def _writes(services: Services, uow: UnitOfWork, username: str, case: CaseRecord, outline: Outline,
            agency: str) -> bool:
    """True when the person may write the document: an author of it, or the keeper of the case's key."""
    return _holds(services, uow, username, case, outline.authors, agency) or keeps_key(services, uow, username,
                                                                                         case.board)


def _signs_as(services: Services, uow: UnitOfWork, username: str, case: CaseRecord, outline: Outline,
              agency: str) -> str:
    """The role the person signs the document as: the first of the outline's sign-offs they hold ('' for none)."""
    return next((r for r in outline.signoffs if _holds(services, uow, username, case, [r], agency)), "")


def _reads(services: Services, uow: UnitOfWork, username: str, case: CaseRecord, outline: Outline,
           agency: str) -> bool:
    """True for authors, signers, the key's keeper and everyone who reads the case file."""
    if _holds(services, uow, username, case, [*outline.authors, *outline.signoffs], agency):
        return True
    return keeps_key(services, uow, username, case.board) or reads_case_file(
        uow.people.assignments_of(username), case.board, case.id or 0, None, services.catalogue)


def _may_write(services: Services, uow: UnitOfWork, username: str, case: CaseRecord, outline: Outline,
               agency: str) -> None:
    """Refuse (403: the case is already known to be seen) unless the person may write the document."""
    if not _writes(services, uow, username, case, outline, agency):
        raise NotPermitted(f"Only the {_titles(services, outline.authors, 'authors')} of this case write the "
                           f"{outline.title}.")


def _may_read(services: Services, uow: UnitOfWork, username: str, case: CaseRecord, outline: Outline,
              agency: str) -> None:
    """Refuse (403: the case is already known to be seen) unless the person may read the document."""
    if not _reads(services, uow, username, case, outline, agency):
        raise NotPermitted(f"You may not read the {outline.title}{' of this agency' if agency else ''} on this "
                           "case.")


def _agency(services: Services, outline: Outline, agency: str) -> str:
    """The agency a document is written for: required when the outline is per agency (one of the catalogue's),
    else none."""
    if not outline.per_agency:
        return ""
    if not agency:
        raise InvalidSubmission([FieldError("agency", f"Say which agency's {outline.title} this is.")])
    if agency not in services.catalogue.agencies:
        raise InvalidSubmission([FieldError("agency", f"There is no agency {agency!r}: choose one of the list.")])
    return agency


def _current(history: Sequence[DocumentVersionRecord]) -> dict[str, DocumentVersionRecord]:
    """The current version of each section (oldest first in `history`): the newest upload is the document until
    sections are written after it; then those sections are."""
    uploads = [v for v in history if v.section == WHOLE]
    after = (uploads[-1].id or 0) if uploads else 0
    current: dict[str, DocumentVersionRecord] = {}
    for version in history:  # oldest first: the newest of each section wins
        if version.section != WHOLE and (version.id or 0) > after:
            current[version.section] = version
    if uploads and not current:
        current = {WHOLE: uploads[-1]}
    return current


def _state_of(outline: Outline, agency: str, history: Sequence[DocumentVersionRecord],
              signed: Iterable[SignOffRecord], included: Mapping[str, DocumentVersionRecord] | None = None
              ) -> DocumentState:
    """A document's state from its versions and sign-offs (oldest first); `included` holds the current sections
    of the outlines whose chapters it includes (by "<outline>.<section>"), which its sha256 covers too."""
    current = _current(history)
    sha = document_sha({**current, **(included or {})}) if current or included else ""
    signoffs = tuple(SignOffView(s, s.sha256 == sha) for s in signed)
    return DocumentState(outline, agency, current, sha, signoffs, tuple(history))


def _included(uow: UnitOfWork, case_id: int, outline: Outline) -> dict[str, DocumentVersionRecord]:
    """The current sections of the outlines this one includes chapters of (the executive summary at the start of
    the overview report): an edit there changes this document too, so voids its sign-offs."""
    others = {s.key.split(".", 1)[0] for s in outline.sections()} - {outline.id}
    return _included_of(outline, [v for other in sorted(others) for v in uow.documents.versions(case_id, other, "")])


def _included_of(outline: Outline, versions: Sequence[DocumentVersionRecord]) -> dict[str, DocumentVersionRecord]:
    """`_included` from versions already read (every version of the case)."""
    others = sorted({s.key.split(".", 1)[0] for s in outline.sections()} - {outline.id})
    return {f"{other}.{section}": version for other in others
            for section, version in _current([v for v in versions if (v.document, v.agency) == (other, "")]).items()}


def _state(uow: UnitOfWork, case_id: int, outline: Outline, agency: str) -> DocumentState:
    """A document's state as stored."""
    return _state_of(outline, agency, uow.documents.versions(case_id, outline.id, agency),
                     uow.documents.signoffs(case_id, outline.id, agency), _included(uow, case_id, outline))


def _for(services: Services, uow: UnitOfWork, username: str, case: CaseRecord, state: DocumentState
         ) -> DocumentState:
    """The state with the case and what this person may do with it."""
    signs_as = _signs_as(services, uow, username, case, state.outline, state.agency)
    return replace(state, case=case, may_write=_writes(services, uow, username, case, state.outline, state.agency),
                   may_sign=bool(signs_as), signs_as=signs_as)


def document_state(services: Services, username: str, case_id: int, outline: Outline,
                   agency: str = "") -> DocumentState:
    """Where one document of a case stands, for those who may read it."""
    with services.uow() as uow:
        case = readable_case(uow, case_id, username)
        agency = _agency(services, outline, agency)
        _may_read(services, uow, username, case, outline, agency)
        return _for(services, uow, username, case, _state(uow, case_id, outline, agency))


def case_agencies(services: Services, uow: UnitOfWork, case: CaseRecord, outlines: Iterable[Outline],
                  versions: Iterable[DocumentVersionRecord] = ()) -> tuple[str, ...]:
    """The agencies the case's per-agency documents are written for (see the module's docstring), in the
    catalogue's order."""
    roles = {r for o in outlines if o.per_agency for r in (*o.authors, *o.signoffs)}
    found = {a.agency for a in uow.people.on_case(case.id or 0) if a.agency and a.role in roles}
    found |= {t.agency for t in uow.tasks.for_case(case.id or 0) if t.agency and t.role in roles}
    found |= {v.agency for v in versions if v.agency}
    listed = [code for code in services.catalogue.agencies if code in found]
    return (*listed, *sorted(found - set(listed)))


def documents_of(services: Services, username: str, case_id: int) -> CaseDocuments:
    """Every document of the case (each written per agency once per agency of the case) that the person may read,
    with where it stands; NotFound for those who cannot see the case."""
    outlines = [o for o in library(services).outlines.values() if o.authors]
    with services.uow() as uow:
        case = readable_case(uow, case_id, username)
        versions = uow.documents.versions(case_id)
        signoffs = uow.documents.signoffs(case_id)
        agencies = case_agencies(services, uow, case, outlines, versions)
        found = []
        for outline in outlines:
            for agency in (agencies if outline.per_agency else ("",)):
                if not _reads(services, uow, username, case, outline, agency):
                    continue
                state = _state_of(outline, agency, [v for v in versions if (v.document, v.agency) == (outline.id,
                                                                                                          agency)],
                                  [s for s in signoffs if (s.document, s.agency) == (outline.id, agency)],
                                  _included_of(outline, versions))
                found.append(_for(services, uow, username, case, state))
    return CaseDocuments(case, tuple(found), agencies)


def _form_titles(services: Services, refs: Iterable[tuple[str, str]]) -> list[str]:
    """'<form title> (<field title>)' for each (form, field), from the forms' schemas."""
    raw = services.forms()
    words = []
    for form, field in refs:
        try:
            schema = json.loads(raw[f"{form}.schema.json"])
        except (KeyError, ValueError):
            words.append(form)
            continue
        prop = schema.get("properties", {}).get(field, {})
        words.append(f"{schema.get('title', form)} ({prop.get('title', field) if isinstance(prop, dict) else field})")
    return words


def filled_from(services: Services, outline: Outline) -> list[FilledSection]:
    """The sections of the document nobody writes here, each with where its content comes from."""
    found = []
    owners = library(services).outlines
    for section in outline.sections():
        source: Mapping[str, object] = section.source
        owner = section.key.split(".", 1)[0]
        if source.get("authored") and _own(outline, section):
            continue
        if source.get("authored"):
            where = f"the {owners[owner].title if owner in owners else owner}, where it is written"
        elif "answers" in source:
            where = "the answers to " + " or ".join(dict.fromkeys(_form_titles(services, answer_refs(source))))
        elif isinstance(chronology := source.get("chronology"), Mapping):
            where = CHRONOLOGY_WORDS.get(str(chronology.get("scope")), "the chronology")
        elif "facts" in source:
            where = f"the case's details ({str(source['facts']).replace('_', ' ')})"
        elif "text" in source:
            where = "the outline's fixed wording"
        elif "signatures" in source:
            where = "signature lines, signed on the printed copy"
        elif "officials" in source:
            where = "the officials named on the case"
        else:
            where = "the case"
        found.append(FilledSection(section, where))
    return found


def save_section(services: Services, username: str, case_id: int, outline: Outline, section: str, text: str,
                 agency: str = "") -> DocumentState:
    """Keep a new version of one written section (the old ones stay); sign-offs of the old text no longer hold."""
    text = text.replace("\r\n", "\n").strip()
    with services.uow() as uow:
        case = readable_case(uow, case_id, username)
        agency = _agency(services, outline, agency)
        _may_write(services, uow, username, case, outline, agency)
        if section not in section_ids(outline):
            raise InvalidSubmission([FieldError("section", f"The {outline.title} has no section {section!r} to "
                                                           "write.")])
        if len(text) > MAX_SECTION:
            raise InvalidSubmission([FieldError(section, f"At most {MAX_SECTION:,} characters in one section.")])
        before = _state(uow, case_id, outline, agency)
        kept = before.current.get(section)
        if kept is not None and text == (kept.text or ""):
            raise InvalidSubmission([FieldError(section, f"Nothing has changed since version {kept.number}.")])
        if kept is None and not text:
            raise InvalidSubmission([FieldError(section, "Write the section before saving it.")])
        now = services.clock.now()
        version = uow.documents.add_version(DocumentVersionRecord(
            None, case_id, outline.id, agency, section, 0, "text", text, None, None, _sha(text.encode()), username,
            now))
        uow.events.append(EventRow(case_id, now, "document_section_saved", username, {
            "document": outline.id, "agency": agency or None, "section": section, "version": version.number,
            "sha256": version.sha256}))
        state = _for(services, uow, username, case, _state(uow, case_id, outline, agency))
        uow.commit()
    return state


def check_docx(data: bytes) -> None:
    """Refuse anything that is not a readable Word document (a clear message, nothing stored)."""
    if not data:
        raise InvalidSubmission([FieldError("file", "Choose a Word document (.docx) to upload.")])
    if len(data) > MAX_UPLOAD:
        raise InvalidSubmission([FieldError("file", f"The file is over {MAX_UPLOAD // 2**20} MB.")])
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "word/document.xml" not in names:
                raise zipfile.BadZipFile
            document = archive.read("word/document.xml")
    except (zipfile.BadZipFile, KeyError, RuntimeError, ValueError):
        raise InvalidSubmission([FieldError("file", "That is not a Word document (.docx). Save it as .docx "
                                                    "(Word 2007 or later) and upload it again.")]) from None
    if b"<!DOCTYPE" in document[:2048] or b"<!ENTITY" in document[:4096]:
        raise InvalidSubmission([FieldError("file", "The Word document declares entities, which Word never "
                                                    "writes; it was not accepted.")])


def upload(services: Services, username: str, case_id: int, outline: Outline, file_name: str, data: bytes,
           agency: str = "") -> DocumentState:
    """Keep an uploaded .docx as the next version of the whole document."""
    name = (file_name or "document.docx").replace("\\", "/").rsplit("/", 1)[-1][:200]
    with services.uow() as uow:
        case = readable_case(uow, case_id, username)
        agency = _agency(services, outline, agency)
        _may_write(services, uow, username, case, outline, agency)
        check_docx(data)
        now = services.clock.now()
        version = uow.documents.add_version(DocumentVersionRecord(
            None, case_id, outline.id, agency, WHOLE, 0, "docx", None, data, name, _sha(data), username, now))
        uow.events.append(EventRow(case_id, now, "document_uploaded", username, {
            "document": outline.id, "agency": agency or None, "version": version.number, "bytes": len(data),
            "sha256": version.sha256}))
        state = _for(services, uow, username, case, _state(uow, case_id, outline, agency))
        uow.commit()
    return state


def sign_off(services: Services, username: str, case_id: int, outline: Outline, sha256: str,
             agency: str = "") -> DocumentState:
    """Sign the document as it stood when the person read it (`sha256`), as the first of the outline's sign-off
    roles they hold: refused (409) when it has changed since, so nobody signs what they did not see."""
    with services.uow() as uow:
        case = readable_case(uow, case_id, username)
        agency = _agency(services, outline, agency)
        role = _signs_as(services, uow, username, case, outline, agency)
        if not role:
            _may_read(services, uow, username, case, outline, agency)
            raise NotPermitted(f"Only the {_titles(services, outline.signoffs, 'signatories')} sign the "
                               f"{outline.title}.")
        state = _state(uow, case_id, outline, agency)
        if not state.sha256:
            raise InvalidSubmission([FieldError("sha256", "There is nothing to sign yet.")])
        if state.sha256 != sha256:
            raise Conflict("The document changed after you opened it: read the new version before you sign.")
        if state.signed_by(username):
            raise InvalidSubmission([FieldError("sha256", "You have signed this version already.")])
        now = services.clock.now()
        uow.documents.add_signoff(SignOffRecord(None, case_id, outline.id, agency, sha256, role, username, now))
        uow.events.append(EventRow(case_id, now, "document_signed", username, {
            "document": outline.id, "agency": agency or None, "role": role, "sha256": sha256}))
        state = _for(services, uow, username, case, _state(uow, case_id, outline, agency))
        uow.commit()
    return state
