"""One document of a case out, as Word or PDF: built from what the case holds and anonymised (engine/documents/
build.py), for whoever may read the document, and only through the release gate (the key complete, nothing left
that the key says identifies someone); a document whose outline sets a length (the synopsis: two sides) is refused
as a PDF when it runs longer. A refusal delivers nothing and leaves one audit event; a release leaves one with the
sha256 of what left.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import tzinfo

from engine.casework.access import readable_case
from engine.casework.services import Services
from engine.documents import authoring, chronology, pdf
from engine.documents.build import Planned, built, file_name, gather
from engine.documents.chronology import LOCAL
from engine.documents.content import Document
from engine.documents.keys import kept_case, scanner_for
from engine.documents.leakscan import pseudonymise
from engine.documents.library import library
from engine.documents.packs import read_packs
from engine.documents.release import Outgoing, release_file
from engine.errors import NotFound
from engine.ports import CaseRecord, UnitOfWork

FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a cell a spreadsheet would run as a formula
FORMATS = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
           "pdf": "application/pdf"}


@dataclass(frozen=True)
class Exported:
    """A document that left: its file name, bytes and media type."""

    name: str
    data: bytes
    mimetype: str


def _reader(services: Services, uow: UnitOfWork, case_id: int, username: str) -> CaseRecord:
    """The gate of a one-document export: the case, for whoever may see it (the document's own read check has
    already passed)."""
    return readable_case(uow, case_id, username)


def export_document(services: Services, username: str, case_id: int, outline_id: str, agency: str, fmt: str,
                    zone: tzinfo = LOCAL) -> Exported:
    """The anonymised document as Word or PDF for someone who may read it, through the release gate
    (AnonymisationFailed with where each finding is, never what; InvalidSubmission for a PDF over its length)."""
    if fmt not in FORMATS:
        raise NotFound(f"no format {fmt!r}")
    books = library(services)
    outline = books.outline(outline_id)
    state = authoring.document_state(services, username, case_id, outline, agency)  # NotFound / NotPermitted
    filling = read_packs(books, services.catalogue).filling
    with services.uow() as uow:
        case = _reader(services, uow, case_id, username)
        material, [item] = gather(services, uow, case, books, filling,
                                  [Planned(outline, state.agency, outline.audience)], zone)
    made = built(item, material, books.glossary)
    outgoing, made_from = made.outgoing, []
    if fmt == "pdf":
        made_from = [made.outgoing]
        data = pdf.to_pdf(outgoing.data)
        if outline.max_pages is not None:
            pdf.check_length(made.document or Document(outline.id, outline.title, outline.audience, (),
                                                       cite=outline.cite), data, outline.max_pages)
        outgoing = Outgoing(file_name(case, outline, state.agency, "pdf"), data, outgoing.audience)
    released = release_file(services, username, case_id, outgoing, f"export:{outline.id}:{fmt}", gate=_reader,
                            made_from=made_from)
    return Exported(outgoing.name, released, FORMATS[fmt])


def _cell(value: str) -> str:
    """A cell that a spreadsheet will show as text, never run as a formula."""
    return "'" + value if value.startswith(FORMULA) else value


def chronology_csv(services: Services, username: str, case_id: int, health_only: bool = False,
                   zone: tzinfo = LOCAL) -> Exported:
    """The merged chronology (or its health sub-merge) as CSV for the key's keeper: every cell put through the key
    (names replaced by pseudonyms), formula-like cells made text, then the release gate."""
    merged = chronology.merged(services, username, case_id, health_only=health_only, zone=zone)
    with services.uow() as uow:
        scanner, _missing = scanner_for(services, uow, kept_case(services, uow, case_id, username))
    out = io.StringIO()
    csv.writer(out).writerows([[_cell(pseudonymise(v, scanner) if v else v) for v in row]
                               for row in chronology.export_rows(merged)])
    name = f"{merged.case.reference}-chronology{'-health' if health_only else ''}.csv".replace("/", "-")
    data = release_file(services, username, case_id, Outgoing(name, out.getvalue().encode("utf-8-sig")),
                        "chronology.csv")
    return Exported(name, data, "text/csv; charset=utf-8")


__all__ = ["FORMATS", "Exported", "chronology_csv", "export_document"]
