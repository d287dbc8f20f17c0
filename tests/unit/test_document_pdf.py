"""PDF copies through LibreOffice: the pages a document should have, page numbers at the foot of each page, and the
synopsis refused above two sides of A4 (App. 7) with a message a person can act on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.documents import pdf as pdf_module
from engine.documents.content import Chapter, Document, Paragraph, Sources, assemble
from engine.documents.outline import Glossary, Outline, load_glossary, load_outlines
from engine.documents.pdf import ConversionFailed, check_length, page_count, to_pdf
from engine.documents.render import render_docx
from engine.errors import InvalidSubmission

OUTLINES = Path(__file__).resolve().parents[2] / "forms" / "documents"
NO_LIBREOFFICE = shutil.which("soffice") is None or shutil.which("pdftotext") is None
needs_libreoffice = pytest.mark.skipif(
    NO_LIBREOFFICE and not os.environ.get("CI"),
    reason="LibreOffice (soffice) or poppler-utils is not installed here: scripts/setup installs them; under CI "
           "these tests run and fail instead")
SENTENCE = "Practitioners did not share what they knew about the family with each other in time. "
SYNOPSIS_SECTIONS = ("synopsis.context", "synopsis.issues", "synopsis.learning", "synopsis.actions")


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    return load_glossary(OUTLINES / "glossary.json")


@pytest.fixture(scope="module")
def outlines() -> dict[str, Outline]:
    return load_outlines(OUTLINES)


def words(count: int) -> str:
    """About `count` words of plain text in paragraphs of 90 words."""
    pool = SENTENCE.split()
    text = (pool * (count // len(pool) + 1))[:count]
    return "\n\n".join(" ".join(text[i:i + 90]) for i in range(0, count, 90))


def page_texts(pdf: bytes, pages: int) -> list[str]:
    """The text of each page, laid out as printed."""
    return [subprocess.run(["pdftotext", "-layout", "-f", str(n), "-l", str(n), "-", "-"], input=pdf,
                           capture_output=True, check=True, timeout=30).stdout.decode() for n in range(1, pages + 1)]


def last_words(pdf: bytes, pages: int) -> list[tuple[str, float, float]]:
    """Each page's lowest word with where it starts, as fractions of the page's width and height."""
    html = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True,
                          timeout=30).stdout.decode()
    found = []
    for page in re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', html, re.S)[:pages]:
        width, height = float(page[0]), float(page[1])
        boxes = [(float(y), float(x), word) for x, y, word in
                 re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', page[2])]
        y, x, word = max(boxes)
        found.append((word, round(x / width, 2), round(y / height, 2)))
    return found


def synopsis(outlines: dict[str, Outline], words_in_all: int) -> Document:
    """The synopsis outline filled with about this many words across its four sections."""
    text = words(words_in_all // len(SYNOPSIS_SECTIONS))
    return assemble(outlines["synopsis"], Sources(authored=dict.fromkeys(SYNOPSIS_SECTIONS, text),
                                                  facts={"board_name": "Dorset LSCB", "reference": "DSCB 2024/01"}))


@needs_libreoffice
def test_a_three_chapter_document_has_its_pages_and_a_page_number_at_the_foot_of_each(glossary: Glossary) -> None:
    chapters = tuple(Chapter(heading, (Paragraph(f"What the IMR found about {heading.lower()}.", True),))
                     for heading in ("Introduction", "Analysis", "Recommendations"))
    document = Document(id="sample", title="Individual Management Review", audience="internal", chapters=chapters,
                        author="Dorset LSCB")
    pdf = to_pdf(render_docx(document, glossary))
    assert pdf.startswith(b"%PDF") and page_count(pdf) == 5  # title page, contents, one page per chapter
    for number, (word, across, down) in enumerate(last_words(pdf, 5), start=1):
        assert word == str(number) and across > 0.85 and down > 0.9, (word, across, down)  # bottom right
    pages = page_texts(pdf, 5)
    assert "INDIVIDUAL MANAGEMENT REVIEW" in pages[0] and "CONTENTS" not in pages[0]
    assert "CONTENTS" in pages[1] and "GLOSSARY" in pages[1] and "Individual Management Review" in pages[1]
    assert pages[1].index("CONTENTS") < pages[1].index("GLOSSARY")
    assert [p.split()[0:2] for p in pages[2:]] == [["1.", "INTRODUCTION"], ["2.", "ANALYSIS"],
                                                    ["3.", "RECOMMENDATIONS"]]
    assert "1.1." in pages[2] and "Individual Management Review (IMR)" in pages[2] and "(IMR)" not in pages[3]
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "595.3" in info and "841.89" in info  # A4 in points


@needs_libreoffice
def test_a_synopsis_running_to_three_sides_is_refused_with_a_message_a_person_can_act_on(
        outlines: dict[str, Outline], glossary: Glossary) -> None:
    document = synopsis(outlines, 1550)
    with pytest.raises(InvalidSubmission) as refused:
        check_length(document, to_pdf(render_docx(document, glossary)))
    [error] = refused.value.errors
    assert error.field == "synopsis"
    assert error.message == ("The synopsis of learning runs to 3 A4 sides; the procedure allows 2 (App. 7). "
                             "Shorten it.")


@needs_libreoffice
def test_a_synopsis_on_two_sides_passes(outlines: dict[str, Outline], glossary: Glossary) -> None:
    document = synopsis(outlines, 850)
    assert check_length(document, to_pdf(render_docx(document, glossary))) == 2


def test_without_libreoffice_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_module.shutil, "which", lambda name: None)
    with pytest.raises(ConversionFailed, match="soffice is not installed: install the Debian package "
                                               "libreoffice-writer-nogui"):
        to_pdf(b"not used")
    with pytest.raises(ConversionFailed, match="pdfinfo is not installed: install the Debian package poppler-utils"):
        page_count(b"%PDF")
