"""PDF copies of Word documents through LibreOffice (`soffice --headless --convert-to pdf`, each conversion with its
own profile so conversions in parallel never collide), their page count through poppler's `pdfinfo`, and the
length rule a document's outline sets (the synopsis: two sides of A4, App. 7).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from engine.documents.content import Document
from engine.errors import ConversionFailed, FieldError, InvalidSubmission

TIMEOUT_SECONDS = 120
PAGES = re.compile(rb"^Pages:\s+(\d+)\s*$", re.MULTILINE)


def _tool(name: str, package: str) -> str:
    """The path of a command-line tool, or ConversionFailed naming the Debian package that provides it."""
    path = shutil.which(name)
    if path is None:
        raise ConversionFailed(f"{name} is not installed: install the Debian package {package} "
                               "(scripts/setup does this) to make PDF copies")
    return path


def to_pdf(docx: bytes, timeout: float = TIMEOUT_SECONDS) -> bytes:
    """The PDF of a .docx file, made by LibreOffice in a temporary directory with its own profile."""
    soffice = _tool("soffice", "libreoffice-writer-nogui")
    with tempfile.TemporaryDirectory(prefix="scr-pdf-") as work:
        folder = Path(work)
        source = folder / "document.docx"
        source.write_bytes(docx)
        profile = (folder / "profile").as_uri()
        command = [soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--nologo",
                   "--convert-to", "pdf", "--outdir", str(folder), str(source)]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ConversionFailed(f"LibreOffice took longer than {timeout:g} s to make the PDF") from exc
        result = folder / "document.pdf"
        if done.returncode != 0 or not result.exists():
            said = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()
            raise ConversionFailed("LibreOffice made no PDF (exit code {}): {}".format(
                done.returncode, said[-1] if said else "no message"))
        return result.read_bytes()


def page_count(pdf: bytes, timeout: float = 30) -> int:
    """How many pages a PDF has, read by pdfinfo."""
    pdfinfo = _tool("pdfinfo", "poppler-utils")
    try:
        done = subprocess.run([pdfinfo, "-"], input=pdf, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ConversionFailed(f"pdfinfo took longer than {timeout:g} s") from exc
    match = PAGES.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise ConversionFailed("pdfinfo could not read the PDF: "
                               + (done.stderr.decode("utf-8", "replace").strip() or "no page count"))
    return int(match.group(1))


def _named(title: str) -> str:
    """A title in the middle of a sentence: "Synopsis of learning" -> "synopsis of learning" (acronyms kept)."""
    if len(title) > 1 and title[0].isupper() and title[1].islower():
        return title[0].lower() + title[1:]
    return title


def check_length(document: Document, pdf: bytes, max_pages: int | None = None) -> int:
    """The PDF's number of A4 sides, or InvalidSubmission when it runs past the limit its outline sets."""
    limit = max_pages if max_pages is not None else document.max_pages
    sides = page_count(pdf)
    if limit is not None and sides > limit:
        rule = f" ({document.cite})" if document.cite else ""
        raise InvalidSubmission([FieldError(document.id, (
            f"The {_named(document.title)} runs to {sides} A4 sides; the procedure allows {limit}{rule}. "
            "Shorten it."))])
    return sides


__all__ = ["ConversionFailed", "check_length", "page_count", "to_pdf"]
