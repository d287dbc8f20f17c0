"""Writing a case's documents: sections written in the app or a whole document uploaded as .docx, every save a new
version, and sign-offs bound to the sha256 of the exact version signed, so a later edit voids them visibly.

Who writes and who signs is the outline's to say (`authors`, `signoffs` in forms/documents/*.json), never this
module's: a holder of an author role on the case (for an outline written per agency, for that agency) writes; the
LSCB administrator, who keeps the key, may upload any document (it receives IMRs "for merging": App. 3).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

from engine.casework.access import grants
from engine.casework.services import Services
from engine.documents.keys import keeps_key
from engine.documents.outline import Outline
from engine.errors import Conflict, FieldError, InvalidSubmission, NotFound, NotPermitted
from engine.ports import CaseRecord, DocumentVersionRecord, EventRow, SignOffRecord, UnitOfWork

MAX_SECTION = 200_000  # characters of one section
MAX_UPLOAD = 20 * 1024 * 1024
WHOLE = ""  # the section name of a whole uploaded document


@dataclass(frozen=True)
class SignOffView:
    """A sign-off and whether it still holds (the document is still the version signed)."""

    record: SignOffRecord
    valid: bool


@dataclass(frozen=True)
class DocumentState:
    """Where a document of a case stands: the current version of each section (or the upload), the document's
    sha256 over them, every sign-off and whether it holds."""

    outline: Outline
    agency: str
    current: dict[str, DocumentVersionRecord]  # section id ("" for an upload) -> its newest version
    sha256: str
    signoffs: tuple[SignOffView, ...]
    history: tuple[DocumentVersionRecord, ...]


def section_ids(outline: Outline) -> list[str]:
    """The ids of the sections a person writes (source "authored")."""
    return [s.key.split(".", 1)[1] for s in outline.sections() if s.source.get("authored")]


def _sha(data: bytes) -> str:
    """sha256 in hex."""
    return hashlib.sha256(data).hexdigest()


def document_sha(current: dict[str, DocumentVersionRecord]) -> str:
    """The sha256 of a document as it stands: over each section's (or the upload's) own sha256, by section."""
    if not current:
        return ""
    joined = "\n".join(f"{section}:{v.sha256}" for section, v in sorted(current.items()))
    return _sha(joined.encode())


def _case(uow: UnitOfWork, case_id: int) -> CaseRecord:
    """The case or NotFound."""
    case = uow.cases.get(case_id)
    if case is None:
        raise NotFound("no such case")
    return case


def _holds(services: Services, uow: UnitOfWork, username: str, case: CaseRecord, roles: Sequence[str],
           agency: str) -> bool:
    """True when the person holds one of `roles` on this case (for `agency` where the role is per agency)."""
    return any(grants(a, role, case.board, case.id or 0, agency or None, services.catalogue)
               for a in uow.people.assignments_of(username) for role in roles)


def _sees(uow: UnitOfWork, username: str, case: CaseRecord) -> bool:
    """True when the person holds any role on the case or its board (so may learn it exists)."""
    return any(a.case_id == case.id or (a.case_id is None and a.board == case.board)
               for a in uow.people.assignments_of(username))


def _may_write(services: Services, uow: UnitOfWork, username: str, case: CaseRecord, outline: Outline,
               agency: str) -> None:
    """Refuse (404 to those who cannot see the case, 403 to those who can) unless the person may write it."""
    if _holds(services, uow, username, case, outline.authors, agency) or keeps_key(services, uow, username,
                                                                                    case.board):
        return
    if not _sees(uow, username, case):
        raise NotFound("no such case")
    raise NotPermitted(f"Only the {', '.join(outline.authors) or 'authors'} of this case write the {outline.title}.")


def _may_read(services: Services, uow: UnitOfWork, username: str, case: CaseRecord, outline: Outline,
              agency: str) -> None:
    """Authors, signers and everyone who reads the case file may read a document; others are refused."""
    roles = [*outline.authors, *outline.signoffs]
    if _holds(services, uow, username, case, roles, agency) or keeps_key(services, uow, username, case.board):
        return
    for a in uow.people.assignments_of(username):
        role = services.catalogue.role(a.role)
        if role and role.reads_case_file and (a.case_id == case.id or (a.case_id is None
                                                                         and a.board == case.board)):
            return
    if not _sees(uow, username, case):
        raise NotFound("no such case")
    raise NotPermitted(f"You may not read the {outline.title} of this case.")


def _state(uow: UnitOfWork, case_id: int, outline: Outline, agency: str) -> DocumentState:
    """A document's state from its versions and sign-offs."""
    history = tuple(uow.documents.versions(case_id, outline.id, agency))
    # The newest upload is the document until sections are written after it; then those sections are.
    uploads = [v for v in history if v.section == WHOLE]
    after = (uploads[-1].id or 0) if uploads else 0
    current: dict[str, DocumentVersionRecord] = {}
    for version in history:  # oldest first: the newest of each section wins
        if version.section != WHOLE and (version.id or 0) > after:
            current[version.section] = version
    if uploads and not current:
        current = {WHOLE: uploads[-1]}
    sha = document_sha(current)
    signoffs = tuple(SignOffView(s, s.sha256 == sha) for s in uow.documents.signoffs(case_id, outline.id, agency))
    return DocumentState(outline, agency, current, sha, signoffs, history)


def document_state(services: Services, username: str, case_id: int, outline: Outline,
                   agency: str = "") -> DocumentState:
    """Where one document of a case stands, for those who may read it."""
    with services.uow() as uow:
        case = _case(uow, case_id)
        _may_read(services, uow, username, case, outline, agency)
        return _state(uow, case_id, outline, agency)


def _agency(outline: Outline, agency: str) -> str:
    """The agency a document is written for: required when the outline is per agency, else none."""
    if outline.per_agency and not agency:
        raise InvalidSubmission([FieldError("agency", f"Say which agency's {outline.title} this is.")])
    return agency if outline.per_agency else ""


def save_section(services: Services, username: str, case_id: int, outline: Outline, section: str, text: str,
                 agency: str = "") -> DocumentState:
    """Keep a new version of one written section (the old ones stay); sign-offs of the old text no longer hold."""
    agency = _agency(outline, agency)
    if section not in section_ids(outline):
        raise InvalidSubmission([FieldError("section", f"The {outline.title} has no section {section!r} to write.")])
    text = text.replace("\r\n", "\n").strip()
    if len(text) > MAX_SECTION:
        raise InvalidSubmission([FieldError(section, f"At most {MAX_SECTION:,} characters in one section.")])
    with services.uow() as uow:
        case = _case(uow, case_id)
        _may_write(services, uow, username, case, outline, agency)
        now = services.clock.now()
        version = uow.documents.add_version(DocumentVersionRecord(
            None, case_id, outline.id, agency, section, 0, "text", text, None, None, _sha(text.encode()), username,
            now))
        uow.events.append(EventRow(case_id, now, "document_section_saved", username, {
            "document": outline.id, "agency": agency or None, "section": section, "version": version.number,
            "sha256": version.sha256}))
        state = _state(uow, case_id, outline, agency)
        uow.commit()
    return state


def check_docx(data: bytes) -> None:
    """Refuse anything that is not a readable Word document (a clear message, nothing stored)."""
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
    agency = _agency(outline, agency)
    check_docx(data)
    name = (file_name or "document.docx").replace("\\", "/").rsplit("/", 1)[-1][:200]
    with services.uow() as uow:
        case = _case(uow, case_id)
        _may_write(services, uow, username, case, outline, agency)
        now = services.clock.now()
        version = uow.documents.add_version(DocumentVersionRecord(
            None, case_id, outline.id, agency, WHOLE, 0, "docx", None, data, name, _sha(data), username, now))
        uow.events.append(EventRow(case_id, now, "document_uploaded", username, {
            "document": outline.id, "agency": agency or None, "version": version.number, "bytes": len(data),
            "sha256": version.sha256}))
        state = _state(uow, case_id, outline, agency)
        uow.commit()
    return state


def sign_off(services: Services, username: str, case_id: int, outline: Outline, sha256: str,
             agency: str = "") -> DocumentState:
    """Sign the document as it stood when the person read it (`sha256`): refused (409) when it has changed since,
    so nobody signs what they did not see."""
    agency = _agency(outline, agency)
    with services.uow() as uow:
        case = _case(uow, case_id)
        roles = [r for r in outline.signoffs if _holds(services, uow, username, case, [r], agency)]
        if not roles:
            _may_read(services, uow, username, case, outline, agency)
            raise NotPermitted(f"Only the {', '.join(outline.signoffs) or 'signatories'} sign the {outline.title}.")
        state = _state(uow, case_id, outline, agency)
        if not state.sha256:
            raise InvalidSubmission([FieldError("sha256", "There is nothing to sign yet.")])
        if state.sha256 != sha256:
            raise Conflict("The document changed after you opened it: read the new version before you sign.")
        now = services.clock.now()
        uow.documents.add_signoff(SignOffRecord(None, case_id, outline.id, agency, sha256, roles[0], username, now))
        uow.events.append(EventRow(case_id, now, "document_signed", username, {
            "document": outline.id, "agency": agency or None, "role": roles[0], "sha256": sha256}))
        state = _state(uow, case_id, outline, agency)
        uow.commit()
    return state
