"""Every piece of text a file carries, labelled with where it sits: the leak scan reads these, so anything a reader
(or a curious recipient) could find in the bytes is here: body, tables, headers, footers, notes, comments, tracked
changes with their authors, alt text, document properties, PDF metadata, e-mail headers and attachments, archive
members and their names.

Formats are told by their bytes, not only their names: .docx, .odt, .pdf (poppler's pdftotext and pdfinfo), .html,
.eml, .zip, and anything else as text. A file that cannot be read is an error, never silently clean.
"""

from __future__ import annotations

import email
import email.policy
import io
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from functools import lru_cache
from pathlib import Path, PurePosixPath

from lxml import etree
from lxml import html as lxml_html

from engine.workflow.xmlsafe import parse_document_xml

MAX_DEPTH = 5  # archives inside archives inside e-mails ...
MAX_UNPACKED = 500 * 1024 * 1024  # a zip bomb is refused, not scanned
PDF_TIMEOUT = 60
CACHED_MEMBERS = 32  # Word files' other XML parts (styles, theme, settings) whose parts are kept by their bytes,
CACHED_MEMBER_BYTES = 1024 * 1024  # when no larger than this

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
PIC = "http://schemas.openxmlformats.org/drawingml/2006/picture"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
SVG = "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
DC = "http://purl.org/dc/elements/1.1/"

# Word parts by the location a finding in them reports.
WORD_PARTS = (
    (re.compile(r"word/document\d*\.xml$"), "body"),
    (re.compile(r"word/header\d*\.xml$"), "header"),
    (re.compile(r"word/footer\d*\.xml$"), "footer"),
    (re.compile(r"word/footnotes\.xml$"), "footnote"),
    (re.compile(r"word/endnotes\.xml$"), "endnote"),
    (re.compile(r"word/comments[A-Za-z]*\.xml$"), "comment"),
    (re.compile(r"word/people\.xml$"), "comment"),
    (re.compile(r"docProps/.*\.xml$"), "document properties"),
)


class UnreadableFile(Exception):
    """A file the scan cannot read (so cannot call clean): named, with why."""


@dataclass(frozen=True)
class Part:
    """A piece of text in a file; `file` is the file (or "archive.zip/member") it came from."""

    file: str
    location: str
    text: str


Piece = tuple[str, str, str]  # a Part's file, location and text


def _xml(data: bytes, where: str) -> etree._Element:
    """Parse one XML part with the project's hardened parser (no DOCTYPE, no entities, no network)."""
    try:
        return parse_document_xml(data)
    except ValueError as exc:
        raise UnreadableFile(f"{where} {exc}") from None


def _q(ns: str, name: str) -> str:
    """A qualified tag name."""
    return f"{{{ns}}}{name}"


# ---------------------------------------------------------------------------------------------------- Word (.docx)
RUN_TEXT = (_q(W, "t"), _q(W, "instrText"))
RUN_SPACE = (_q(W, "tab"), _q(W, "br"), _q(W, "cr"))
RUN_DELETED = (_q(W, "delText"), _q(W, "delInstrText"))
PARAGRAPH, TABLE_TAG, INSERTION = _q(W, "p"), _q(W, "tbl"), _q(W, "ins")
RUN_TAGS = (*RUN_TEXT, *RUN_SPACE, _q(W, "noBreakHyphen"), *RUN_DELETED)
WALKED = (PARAGRAPH, TABLE_TAG, INSERTION, *RUN_TAGS)


def _word_paragraphs(file: str, root: etree._Element, location: str) -> Iterator[Piece]:
    """The outermost paragraphs of a Word XML part in order (a text box's paragraphs are read with the w:p that
    holds them), each as it reads with its tracked insertions marked ("table" in the body's tables), and the text of
    its tracked deletions: one walk over the elements that matter, counting the paragraphs, tables and insertions
    each sits in."""
    paragraphs = tables = insertions = 0
    here = location
    text: list[str] = []
    inserted: list[str] = []
    deleted: list[str] = []
    for event, node in etree.iterwalk(root, events=("start", "end"), tag=WALKED):
        tag = node.tag
        if tag == PARAGRAPH:
            if event == "start":
                if not paragraphs:
                    here = "table" if location == "body" and tables else location
                    text, inserted, deleted = [], [], []
                paragraphs += 1
                continue
            paragraphs -= 1
            if not paragraphs:
                if text:
                    yield (file, here, "".join(text))
                    if inserted:
                        yield (file, "tracked insertion", "".join(inserted))
                if deleted and "".join(deleted):
                    yield (file, "tracked deletion", "".join(deleted))
        elif tag == TABLE_TAG:
            tables += 1 if event == "start" else -1
        elif tag == INSERTION:
            insertions += 1 if event == "start" else -1
        elif event == "start" and paragraphs:
            piece = _run_piece(node, deleted)
            if piece:
                text.append(piece)
                if insertions:
                    inserted.append(piece)


def _run_piece(node: etree._Element, deleted: list[str]) -> str:
    """What a run element adds to its paragraph's text; a deleted run's text goes to `deleted` instead ("")."""
    if node.tag in RUN_TEXT:
        return node.text or ""
    if node.tag in RUN_DELETED:
        deleted.append(node.text or "")
        return ""
    return " " if node.tag in RUN_SPACE else "-"


def _plain_word_paragraphs(file: str, root: etree._Element, location: str) -> list[Piece] | None:
    """`_word_paragraphs` for a part as the renderer writes one, found by a cheaper walk: every paragraph outside
    any other (its ancestors looked up, the last row's remembered), every run element inside the paragraph before
    it, no tracked insertion anywhere. None as soon as the part is not like that (then the full walk reads it)."""
    found: list[Piece] = []
    paragraph: etree._Element | None = None
    here = location
    text: list[str] = []
    deleted: list[str] = []
    last_grand: etree._Element | None = None  # the grandparent of the last paragraph, and what its ancestors hold
    grand_nested = grand_table = False
    for node in root.iter(PARAGRAPH, INSERTION, *RUN_TAGS):
        tag = node.tag
        if tag == PARAGRAPH:
            parent = node.getparent()
            nested = table = False
            if parent is not None:
                grand = parent.getparent()
                if grand is None or grand is not last_grand:
                    grand_nested = grand_table = False
                    for ancestor in ([grand, *grand.iterancestors()] if grand is not None else []):
                        grand_nested = grand_nested or ancestor.tag == PARAGRAPH
                        grand_table = grand_table or ancestor.tag == TABLE_TAG
                    last_grand = grand
                nested = grand_nested or parent.tag == PARAGRAPH
                table = grand_table or parent.tag == TABLE_TAG
            if nested:
                return None
            if paragraph is not None:
                _paragraph_pieces(found, file, here, text, deleted)
            paragraph, text, deleted = node, [], []
            here = "table" if location == "body" and table else location
            continue
        if tag == INSERTION or paragraph is None:
            return None
        run = node.getparent()  # mostly a w:r in the paragraph; else (a tab stop in w:pPr) its nearest w:p above
        if (run is None or run.getparent() is not paragraph) and next(node.iterancestors(PARAGRAPH), None) \
                is not paragraph:
            return None
        piece = _run_piece(node, deleted)
        if piece:
            text.append(piece)
    if paragraph is not None:
        _paragraph_pieces(found, file, here, text, deleted)
    return found


def _paragraph_pieces(found: list[Piece], file: str, here: str, text: list[str], deleted: list[str]) -> None:
    """One paragraph's pieces (with no tracked insertion) added to `found`."""
    if text:
        found.append((file, here, "".join(text)))
    if "".join(deleted):
        found.append((file, "tracked deletion", "".join(deleted)))


def _word_part(file: str, root: etree._Element, location: str) -> Iterator[Piece]:
    """The parts of one Word XML part: paragraphs (body or table), insertions, deletions, authors, alt text."""
    plain = _plain_word_paragraphs(file, root, location)
    yield from (_word_paragraphs(file, root, location) if plain is None else plain)
    for change, where in ((_q(W, "ins"), "tracked insertion"), (_q(W, "del"), "tracked deletion"),
                          (_q(W, "comment"), "comment")):
        for node in root.iter(change):
            who = " ".join(v for k, v in node.attrib.items() if k in (_q(W, "author"), _q(W, "initials")))
            if who.strip():
                yield (file, where, who)
    for tag in (_q(WP, "docPr"), _q(PIC, "cNvPr")):
        for node in root.iter(tag):
            alt = " ".join(node.get(a, "") for a in ("descr", "title")).strip()
            if alt:
                yield (file, "alt text", alt)


def _all_text(file: str, location: str, root: etree._Element) -> Iterator[Piece]:
    """Every text node and attribute value of an XML tree, one part per element."""
    for node in root.iter():
        pieces = [node.text or ""] + [v for v in node.attrib.values()]
        text = " ".join(p for p in pieces if p and p.strip())
        if text:
            yield (file, location, text)


def _word_member(file: str, location: str | None, root: etree._Element) -> Iterator[Piece]:
    """One XML part of a Word document by its location; unknown XML parts in full."""
    if location in ("body", "header", "footer", "footnote", "endnote", "comment") and root.tag != _q(
            "http://schemas.microsoft.com/office/word/2012/wordml", "people"):
        yield from _word_part(file, root, location)
    elif location is not None:
        yield from _all_text(file, location, root)
    else:  # settings, custom XML, relationships (hyperlink targets): anything a reader could open
        yield from _all_text(file, "other part", root)


@lru_cache(maxsize=CACHED_MEMBERS)
def _read_member(location: str | None, data: bytes) -> tuple[tuple[str, str], ...] | None:
    """The (location, text) of each piece of one XML part, kept for the next file holding the very same bytes
    (every document written from one template shares its styles, theme and settings); None when it cannot be
    parsed."""
    try:
        root = parse_document_xml(data)
    except ValueError:
        return None
    return tuple((where, text) for _file, where, text in _word_member("", location, root))


def _docx(file: str, archive: zipfile.ZipFile, depth: int) -> Iterator[Piece]:
    """A Word document: each part by its location; embedded files recursively; unknown XML parts in full."""
    for info in archive.infolist():
        name = info.filename
        data = archive.read(info)
        location = next((where for pattern, where in WORD_PARTS if pattern.match(name)), None)
        if name.endswith((".xml", ".rels")):
            shared = location is None and len(data) <= CACHED_MEMBER_BYTES  # a template's, not the document's
            found = _read_member(location, data) if shared else None
            if found is None:
                yield from _word_member(file, location, _xml(data, f"{file}/{name}"))
            else:
                yield from ((file, where, text) for where, text in found)
        elif name.startswith("word/embeddings/"):
            yield from pieces_of(f"{file}/{name}", data, depth + 1)


# ---------------------------------------------------------------------------------------------------- OpenDocument
def _odf_text(node: etree._Element) -> str:
    """An ODF paragraph's text, spaces and tabs expanded."""
    out: list[str] = []

    def walk(n: etree._Element) -> None:
        if n.text:
            out.append(n.text)
        for child in n:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag == _q(TEXT, "s"):
                out.append(" " * int(child.get(_q(TEXT, "c"), "1") or 1))
            elif tag in (_q(TEXT, "tab"), _q(TEXT, "line-break")):
                out.append(" ")
            elif tag in (_q(OFFICE, "annotation"), _q(TEXT, "note"), _q(SVG, "title"), _q(SVG, "desc")):
                pass  # read as their own parts (comments, notes, alt text)
            else:
                walk(child)
            if child.tail:
                out.append(child.tail)

    walk(node)
    return "".join(out)


def _odf_location(node: etree._Element, default: str) -> str:
    """Where in an OpenDocument a paragraph sits."""
    for ancestor in node.iterancestors():
        tag = ancestor.tag
        if tag == _q(OFFICE, "annotation"):
            return "comment"
        if tag == _q(TEXT, "deletion"):
            return "tracked deletion"
        if tag == _q(TEXT, "note"):
            return "endnote" if ancestor.get(_q(TEXT, "note-class")) == "endnote" else "footnote"
        if tag in (_q(STYLE, "header"), _q(STYLE, "header-left"), _q(STYLE, "header-first")):
            return "header"
        if tag in (_q(STYLE, "footer"), _q(STYLE, "footer-left"), _q(STYLE, "footer-first")):
            return "footer"
        if tag == _q(TABLE, "table") and default == "body":
            return "table"
    return default


def _odt(file: str, archive: zipfile.ZipFile, depth: int) -> Iterator[Piece]:
    """An OpenDocument text: content and styles (headers, footers), meta, embedded objects."""
    for info in archive.infolist():
        name = info.filename
        data = archive.read(info)
        if name.endswith(".xml") or name.endswith(".rdf"):
            root = _xml(data, f"{file}/{name}")
            if name == "meta.xml":
                yield from _all_text(file, "document properties", root)
                continue
            default = "body" if name.endswith("content.xml") else "other part"
            for tag in (_q(TEXT, "p"), _q(TEXT, "h")):
                for node in root.iter(tag):
                    text = _odf_text(node)
                    if text.strip():
                        yield (file, _odf_location(node, default), text)
            for node in root.iter(_q(DC, "creator")):
                if node.text and node.text.strip():
                    yield (file, _odf_location(node, "comment" if default == "body" else default), node.text)
            for tag in (_q(SVG, "title"), _q(SVG, "desc")):
                for node in root.iter(tag):
                    if node.text and node.text.strip():
                        yield (file, "alt text", node.text)
            if default == "other part" and name != "styles.xml":  # styles: its paragraphs are read above
                yield from _all_text(file, "other part", root)
        elif not name.endswith((".png", ".jpg", ".jpeg", ".gif", ".svm", ".wmf", ".emf")) and name != "mimetype":
            yield from pieces_of(f"{file}/{name}", data, depth + 1)


# ---------------------------------------------------------------------------------------------------- PDF
def _run(command: list[str], path: Path, file: str) -> str:
    """Run a poppler tool on `path`; its output as text."""
    if shutil.which(command[0]) is None:
        raise UnreadableFile(f"{file}: cannot read PDF files here ({command[0]} is not installed: run scripts/setup)")
    try:
        done = subprocess.run([*command, str(path), "-"] if command[0] == "pdftotext" else [*command, str(path)],
                              capture_output=True, timeout=PDF_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise UnreadableFile(f"{file}: reading the PDF took longer than {PDF_TIMEOUT} s") from None
    if done.returncode != 0:
        raise UnreadableFile(f"{file}: not a readable PDF")
    return done.stdout.decode("utf-8", "replace")


def _pdf(file: str, data: bytes) -> Iterator[Piece]:
    """A PDF: its text (every page), its Info dictionary and its XMP metadata."""
    with tempfile.TemporaryDirectory(prefix="scr-scan-") as tmp:
        path = Path(tmp) / "file.pdf"
        path.write_bytes(data)
        text = _run(["pdftotext", "-enc", "UTF-8"], path, file)
        info = _run(["pdfinfo", "-enc", "UTF-8"], path, file)
        meta = _run(["pdfinfo", "-enc", "UTF-8", "-meta"], path, file)
    if text.strip():
        yield (file, "body", text)
    yield (file, "document properties", info)
    if meta.strip():
        yield (file, "document properties", meta)


# ---------------------------------------------------------------------------------------------------- HTML, e-mail
def _html(file: str, data: bytes) -> Iterator[Piece]:
    """A web page: title and meta as properties, alt and title attributes, comments, tables and body text."""
    try:
        root = lxml_html.document_fromstring(data, parser=lxml_html.HTMLParser(no_network=True))
    except (etree.ParserError, ValueError):
        yield (file, "body", data.decode("utf-8", "replace"))
        return
    for node in root.iter():
        if isinstance(node, etree._Comment):
            if node.text and node.text.strip():
                yield (file, "comment", node.text)
            continue
        if not isinstance(node.tag, str):
            continue
        tag = node.tag.lower()
        if tag == "title" or tag == "meta":
            text = " ".join(filter(None, [node.text, node.get("content")]))
            if text.strip():
                yield (file, "document properties", text)
            continue
        for attribute in ("alt", "title", "aria-label"):
            if node.get(attribute):
                yield (file, "alt text", node.get(attribute, ""))
        for attribute in ("href", "src", "value", "content", "placeholder"):
            if node.get(attribute):
                yield (file, "other part", node.get(attribute, ""))
        if node.text and node.text.strip():
            yield (file, _html_where(node), node.text)
        parent = node.getparent()
        if node.tail and node.tail.strip() and parent is not None:
            yield (file, _html_where(parent), node.tail)


def _html_where(node: etree._Element) -> str:
    """"table" for text in a table cell, else "body"."""
    cells = ("td", "th")
    inside = [node, *node.iterancestors()]
    return "table" if any(isinstance(n.tag, str) and n.tag.lower() in cells for n in inside) else "body"


def _eml(file: str, data: bytes, depth: int) -> Iterator[Piece]:
    """An e-mail: subject, address headers, every body part, every attachment (and its name)."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    if message["subject"]:
        yield (file, "e-mail subject", str(message["subject"]))
    for header in ("from", "to", "cc", "bcc", "reply-to", "sender", "thread-topic"):
        for value in message.get_all(header) or []:
            yield (file, "e-mail header", str(value))
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if not isinstance(payload, bytes):
            payload = str(payload).encode()
        if filename:
            inner = f"{file}/{filename}"
            yield (inner, "file name", display_name(filename))
            yield from pieces_of(inner, payload, depth + 1)
        elif part.get_content_type() == "text/html":
            yield from _html(file, payload)
        else:
            yield (file, "body", payload.decode(part.get_content_charset() or "utf-8", "replace"))


# ---------------------------------------------------------------------------------------------------- dispatch
def display_name(name: str) -> str:
    """A file name as words: its last path component with separators turned into spaces."""
    base = PurePosixPath(name.replace("\\", "/")).name
    return re.sub(r"[_.+~]+", " ", base)


def _decode(data: bytes) -> str:
    """Text of unknown encoding: UTF-8 (with or without BOM), UTF-16 when it looks like it, else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _zip(file: str, data: bytes, depth: int) -> Iterator[Piece]:
    """A zip: a Word or OpenDocument file, or an archive whose every member (and member name) is read."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise UnreadableFile(f"{file}: a damaged zip archive") from None
    if sum(m.file_size for m in members) > MAX_UNPACKED:
        raise UnreadableFile(f"{file}: unpacks to more than {MAX_UNPACKED // 2**20} MB; refused")
    names = {m.filename for m in members}
    with archive:
        try:
            if "word/document.xml" in names:
                yield from _docx(file, archive, depth)
                return
            if "content.xml" in names and "mimetype" in names:
                yield from _odt(file, archive, depth)
                return
            for member in members:
                if member.is_dir():
                    continue
                inner = f"{file}/{member.filename}"
                yield (inner, "file name", display_name(member.filename))
                yield from pieces_of(inner, archive.read(member), depth + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError) as exc:  # encrypted or unknown compression
            raise UnreadableFile(f"{file}: cannot unpack ({exc})") from None


def parts_of(file: str, data: bytes, depth: int = 0) -> Iterator[Part]:
    """Every piece of text in `data` (named `file`), its name first."""
    return (Part(*piece) for piece in pieces_of(file, data, depth))


def pieces_of(file: str, data: bytes, depth: int = 0) -> Iterator[Piece]:
    """Every piece of text in `data` as (file, location, text), its name first: `parts_of` without the Part
    objects, for the scanner (a pack's files hold hundreds of thousands of pieces)."""
    if depth > MAX_DEPTH:
        raise UnreadableFile(f"{file}: nested more than {MAX_DEPTH} deep; refused")
    if depth == 0:
        yield (file, "file name", display_name(file))
    suffix = PurePosixPath(file).suffix.lower()
    head = data[:1024].lstrip().lower()
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        yield from _zip(file, data, depth)
    elif data.startswith(b"%PDF"):
        yield from _pdf(file, data)
    elif suffix in (".eml", ".msg") or (suffix not in (".html", ".htm", ".csv", ".txt")
                                         and re.match(rb"(?:[A-Za-z-]+: .*\r?\n)+", data[:4096]) is not None
                                         and b"\nsubject:" in b"\n" + data[:8192].lower()):
        yield from _eml(file, data, depth)
    elif suffix in (".html", ".htm", ".xhtml") or head.startswith((b"<!doctype html", b"<html")):
        yield from _html(file, data)
    else:
        yield (file, "body", _decode(data))
