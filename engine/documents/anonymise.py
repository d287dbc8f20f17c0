"""Putting an uploaded Word document through the case's key: every paragraph of the body, tables, headers and
footers has its identifiers replaced (people by pseudonyms, dates of birth, NHS numbers and addresses by a note
that they were removed), the formatting of the run where each began kept; the document's properties are cleared
of people. Comments and tracked changes are left as they are: the leak scan that follows reports what they hold,
and whoever released it removes them in Word (the page says so).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import docx
from docx.text.paragraph import Paragraph

from engine.documents.leakscan import REMOVED, Scanner, pseudonymise


def _paragraphs(container: Any) -> Iterator[Paragraph]:
    """Every paragraph of a body, header, footer or cell, tables within tables included."""
    yield from container.paragraphs
    for table in getattr(container, "tables", []):
        for row in table.rows:
            for cell in row.cells:
                yield from _paragraphs(cell)


def _replace(paragraph: Paragraph, scanner: Scanner) -> int:
    """Replace the identifiers of one paragraph across its runs; how many."""
    runs = paragraph.runs
    text = "".join(r.text for r in runs)
    hits = scanner.hits(text)
    if not hits:
        return 0
    bounds: list[tuple[int, int]] = []  # each run's [start, end) in the paragraph's text
    position = 0
    for run in runs:
        bounds.append((position, position + len(run.text)))
        position += len(run.text)
    pieces = [list(run.text) for run in runs]
    for start, end, rule, who in reversed(hits):
        replacement = REMOVED.get(rule, who)
        matched = text[start:end]
        if rule not in REMOVED and matched.endswith(("'s", "\u2019s")):
            replacement += matched[-2:]
        first = True
        for n, (a, b) in enumerate(bounds):
            if b <= start or a >= end:
                continue
            lo, hi = max(start, a) - a, min(end, b) - a
            pieces[n][lo:hi] = list(replacement) if first else []
            first = False
        # later hits were applied first, so earlier offsets are still right
    for run, chars in zip(runs, pieces, strict=True):
        run.text = "".join(chars)
    return len(hits)


def pseudonymise_docx(data: bytes, scanner: Scanner, author: str) -> tuple[bytes, int]:
    """The document with its identifiers replaced, and how many were; its properties name `author` (the board)."""
    document = docx.Document(io.BytesIO(data))
    count = 0
    containers: list[Any] = [document]
    for section in document.sections:
        for part in (section.header, section.footer, section.first_page_header, section.first_page_footer,
                     section.even_page_header, section.even_page_footer):
            if not part.is_linked_to_previous:
                containers.append(part)
    for container in containers:
        for paragraph in _paragraphs(container):
            count += _replace(paragraph, scanner)
    properties = document.core_properties
    properties.author = author
    properties.last_modified_by = author
    for name in ("comments", "keywords", "subject", "category", "content_status", "identifier"):
        setattr(properties, name, "")
    properties.title = pseudonymise(properties.title or "", scanner)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue(), count

