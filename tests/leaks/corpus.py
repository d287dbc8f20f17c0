"""The leak-scan corpus of RELIABILITY.md T-L1, written at test time (no binary file is committed).

Each leaky file carries exactly one identifier of the fixture key (tests/leaks/key.json) in one place: body, table,
header, footer, footnote, comment, tracked insertion or deletion, alt text, document properties, PDF Info or XMP, file
name, e-mail subject or header, an archive member; written as it is, in capitals, with accents stripped or added, with
a curly apostrophe, possessive, split across Word runs, as a surname alone, a part of a hyphenated surname, a maiden
name or a nickname; or a date of birth, NHS number, street or postcode. The clean files name only the three officials
the procedure lets documents name (LSCB Chair, SCR Panel Chair, overview author), the pseudonyms, job titles,
ordinary dates and numbers.

Formats are written by hand where no library is wanted: OpenDocument as zip + XML, PDF with a small writer (Helvetica
text, an Info dictionary, an XMP stream), e-mail with the standard library; Word with python-docx and raw OOXML for
what it has no API for (footnotes, tracked changes, alt text).
"""

from __future__ import annotations

import csv
import io
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import docx
from docx.document import Document as WordDocument
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from engine.documents.key import AnonymisationKey, Official, Person, load_key

KEY_FILE = Path(__file__).with_name("key.json")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
SENT = datetime(2019, 11, 4, 9, 30, tzinfo=UTC)

# What every document says besides its planted leak: pseudonyms, job titles, ordinary dates and numbers.
FILLER = (
    "Child A lived with Mother and Father and went to nursery three mornings a week from September 2019.",
    "Social Worker 1 visited the home on 4 November 2019; GP 1 saw Child A at the surgery on 12 November 2019.",
)


def fixture_key() -> AnonymisationKey:
    """The corpus's anonymisation key (tests/leaks/key.json)."""
    return load_key(KEY_FILE.read_bytes())


# ---------------------------------------------------------------------------------------------------- the key's cast
@dataclass(frozen=True)
class Cast:
    """The key's people by their part in the story, its addresses, and the three officials documents may name."""

    child: Person
    mother: Person
    father: Person
    social_worker: Person
    gp: Person
    chair: Official
    panel_chair: Official
    author: Official
    addresses: tuple[str, ...]

    @classmethod
    def of(cls, key: AnonymisationKey) -> Cast:
        """Find each part in the key: the child by kind, everyone else by role."""

        def person(role: str) -> Person:
            return next(p for p in key.people if (p.kind if role == "child" else p.role) == role)

        def official(role: str) -> Official:
            return next(o for o in key.permitted if o.role == role)

        return cls(person("child"), person("mother"), person("father"), person("social worker"), person("GP"),
                   official("LSCB Chair"), official("SCR Panel Chair"), official("overview author"), key.addresses)

    def pseudonym(self, part: str) -> str:
        """The pseudonym a finding names for this part of the cast ("" for an address, which is nobody's)."""
        return getattr(self, part).pseudonym if part else ""


def forename(person: Person) -> str:
    """A person's first name."""
    return person.real.split()[0]


def surname(person: Person) -> str:
    """A person's surname (hyphenated ones whole)."""
    return person.real.split()[-1]


def former_name(person: Person) -> str:
    """A person's former (maiden) full name: the alias of two words or more."""
    return next(a for a in person.aliases if " " in a)


def nickname(person: Person) -> str:
    """A person's nickname: the one-word alias."""
    return next(a for a in person.aliases if " " not in a)


def stripped(text: str) -> str:
    """`text` without its accents ("Zoë" -> "Zoe")."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def accented(text: str) -> str:
    """`text` with an acute accent added to its first plain vowel ("Hamish" -> "Hámish")."""
    match = re.search(r"[aeiou]", text)
    assert match is not None
    return text[:match.start()] + unicodedata.normalize("NFC", match.group() + "\u0301") + text[match.end():]


def curly(text: str) -> str:
    """`text` with typographic apostrophes."""
    return text.replace("'", "\u2019")


def written(day: date, form: str) -> str:
    """A date as people write it: "slashes" 14/03/2016, "words" 14 March 2016, "ordinal" 14th March 2016, "iso"
    2016-03-14, "dots" 14.03.16."""
    suffix = "th" if 11 <= day.day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day.day % 10, "th")
    return {"slashes": f"{day:%d/%m/%Y}", "words": f"{day.day} {MONTHS[day.month - 1]} {day.year}",
            "ordinal": f"{day.day}{suffix} {MONTHS[day.month - 1]} {day.year}", "iso": day.isoformat(),
            "dots": f"{day:%d.%m.%y}"}[form]


def dob(person: Person) -> date:
    """A person's date of birth (the fixture gives every family member one)."""
    assert person.dob is not None
    return person.dob


def street(address: str, number: bool = True) -> str:
    """An address's street line, with or without its house number."""
    line = address.split(",")[0].strip()
    return line if number else re.sub(r"^\d+\w?\s+", "", line)


def postcode(address: str) -> str:
    """An address's postcode."""
    match = re.search(r"[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}", address)
    assert match is not None
    return match.group()


def nhs_unspaced(person: Person) -> str:
    """A person's NHS number as ten digits."""
    return re.sub(r"\D", "", person.nhs[0])


def nhs_hyphenated(person: Person) -> str:
    """A person's NHS number as 3-3-4 with hyphens."""
    digits = nhs_unspaced(person)
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def clean_text(c: Cast) -> tuple[str, ...]:
    """What a clean document says: the permitted officials by name, pseudonyms, job titles, ordinary dates (some
    sharing a day and month with a date of birth) and ordinary numbers."""
    return (
        f"{c.chair.name}, the LSCB Chair, commissioned this review on 1 October 2019 (reference SCR-2019-04).",
        f"The SCR Panel Chair, {c.panel_chair.name}, convened the panel on 14 March 2019 and again on 02/07/2020; "
        "12 agencies attended.",
        f"{c.author.name} wrote the overview report. {c.author.name}'s 9 recommendations were accepted on "
        "2019-11-23 and reviewed on 14.03.20.",
        "Child A, Mother, Father, Social Worker 1 and GP 1 are referred to by these pseudonyms throughout.",
        "The health visitor, the designated nurse and a detective sergeant made 37 contacts; call 01202 456789.",
    )


# ---------------------------------------------------------------------------------------------------- Word (.docx)
Tweak = Callable[[WordDocument], None]


def word(*planted: str, tweaks: Sequence[Tweak] = (), text: Sequence[str] = FILLER) -> bytes:
    """A Word document: a heading, ordinary paragraphs, the planted paragraphs, then whatever the tweaks add."""
    document = docx.Document()
    properties = document.core_properties
    properties.author = "LSCB business unit"
    properties.last_modified_by = "Overview author"
    properties.title = "Individual management review"
    properties.comments = "Draft for the SCR Panel"
    document.add_heading("Individual management review", level=1)
    for paragraph in (*text, *planted):
        document.add_paragraph(paragraph)
    for tweak in tweaks:
        tweak(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def header(text: str) -> Tweak:
    """Put `text` in the page header."""

    def tweak(document: WordDocument) -> None:
        document.sections[0].header.paragraphs[0].text = text

    return tweak


def footer(text: str) -> Tweak:
    """Put `text` in the page footer."""

    def tweak(document: WordDocument) -> None:
        document.sections[0].footer.paragraphs[0].text = text

    return tweak


def properties(**values: str) -> Tweak:
    """Set core document properties (author is docProps' dc:creator; last_modified_by its cp:lastModifiedBy)."""

    def tweak(document: WordDocument) -> None:
        for name, value in values.items():
            setattr(document.core_properties, name, value)

    return tweak


def footnote(text: str) -> Tweak:
    """A footnote reading `text`, referenced from the last paragraph (a footnotes part in raw OOXML)."""

    def tweak(document: WordDocument) -> None:
        blob = (f'<w:footnotes {nsdecls("w")}>'
                '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
                '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r>'
                '</w:p></w:footnote>'
                f'<w:footnote w:id="1"><w:p><w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'
                '</w:footnote></w:footnotes>').encode()
        part = Part(PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, blob, document.part.package)
        document.part.relate_to(part, RT.FOOTNOTES)
        document.paragraphs[-1].add_run()._r.append(parse_xml(f'<w:footnoteReference {nsdecls("w")} w:id="1"/>'))

    return tweak


def comment(text: str, author: str = "Reviewer 1", initials: str = "R1") -> Tweak:
    """A comment reading `text` on the first ordinary paragraph."""

    def tweak(document: WordDocument) -> None:
        document.add_comment(document.paragraphs[1].runs[0], text=text, author=author, initials=initials)

    return tweak


def inserted(text: str, author: str = "Reviewer 2") -> Tweak:
    """A paragraph ending in a tracked insertion of `text` (w:ins)."""

    def tweak(document: WordDocument) -> None:
        paragraph = document.add_paragraph("The referral was made by ")
        paragraph._p.append(parse_xml(
            f'<w:ins {nsdecls("w")} w:id="901" w:author={quoteattr(author)} w:date="2019-11-04T10:00:00Z">'
            f'<w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:ins>'))

    return tweak


def deleted(text: str, author: str = "Reviewer 2") -> Tweak:
    """A paragraph with a tracked deletion of `text` (w:del, w:delText)."""

    def tweak(document: WordDocument) -> None:
        paragraph = document.add_paragraph("Present at the strategy meeting: Social Worker 1")
        paragraph._p.append(parse_xml(
            f'<w:del {nsdecls("w")} w:id="902" w:author={quoteattr(author)} w:date="2019-11-04T10:05:00Z">'
            f'<w:r><w:delText xml:space="preserve"> and {escape(text)}</w:delText></w:r></w:del>'))

    return tweak


def picture(description: str) -> Tweak:
    """A picture whose alt text (wp:docPr descr) is `description`."""

    def tweak(document: WordDocument) -> None:
        document.add_picture(io.BytesIO(png()))
        document.inline_shapes[-1]._inline.docPr.set("descr", description)

    return tweak


def split_runs(*pieces: str) -> Tweak:
    """A paragraph whose text is `pieces` joined, each piece its own run, formatted differently from its neighbours."""

    def tweak(document: WordDocument) -> None:
        paragraph = document.add_paragraph("Seen at home: ")
        for n, piece in enumerate(pieces):
            run = paragraph.add_run(piece)
            run.bold = n % 2 == 0
            run.italic = n % 2 == 1
        paragraph.add_run(" was asleep when Social Worker 1 called.")

    return tweak


def table(*rows: tuple[str, ...]) -> Tweak:
    """A table of `rows`."""

    def tweak(document: WordDocument) -> None:
        grid = document.add_table(rows=len(rows), cols=len(rows[0]))
        for r, row in enumerate(rows):
            for col, value in enumerate(row):
                grid.cell(r, col).text = value

    return tweak


def png() -> bytes:
    """A one-pixel grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b""))


# ---------------------------------------------------------------------------------------------------- OpenDocument
ODF = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "svg": "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "xlink": "http://www.w3.org/1999/xlink",
    "dc": "http://purl.org/dc/elements/1.1/",
    "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
}
ODF_NS = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in ODF.items())
MANIFEST_NS = 'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
ODT_TYPE = "application/vnd.oasis.opendocument.text"


def para(text: str, inner: str = "") -> str:
    """An ODF paragraph reading `text`, followed by raw markup `inner` (a note, an annotation, a frame)."""
    return f"<text:p>{escape(text)}{inner}</text:p>"


def odf_note(text: str) -> str:
    """An ODF footnote reading `text`."""
    return ('<text:note text:id="ftn1" text:note-class="footnote"><text:note-citation>1</text:note-citation>'
            f"<text:note-body>{para(text)}</text:note-body></text:note>")


def odf_annotation(text: str, author: str = "Reviewer 1") -> str:
    """An ODF comment (office:annotation) reading `text`."""
    return (f"<office:annotation><dc:creator>{escape(author)}</dc:creator><dc:date>2019-11-04T10:00:00</dc:date>"
            f"{para(text)}</office:annotation>")


def odf_deletion(text: str, author: str = "Reviewer 2") -> str:
    """The tracked-changes block of an ODF document recording the deletion of a paragraph reading `text`."""
    return ('<text:tracked-changes><text:changed-region text:id="ct1"><text:deletion><office:change-info>'
            f"<dc:creator>{escape(author)}</dc:creator><dc:date>2019-11-04T10:05:00</dc:date></office:change-info>"
            f"{para(text)}</text:deletion></text:changed-region></text:tracked-changes>")


def odf_frame(description: str) -> str:
    """An ODF picture frame whose alt text (svg:title, svg:desc) describes it as `description`."""
    return ('<draw:frame draw:name="Photograph" text:anchor-type="as-char" svg:width="2cm" svg:height="2cm">'
            '<draw:image xlink:href="Pictures/photo.png" xlink:type="simple" xlink:show="embed" '
            'xlink:actuate="onLoad"/><svg:title>Photograph</svg:title>'
            f"<svg:desc>{escape(description)}</svg:desc></draw:frame>")


def odt(*planted: str, header: str = "Serious case review: Child A", footer: str = "Confidential: LSCB",
        creator: str = "LSCB business unit", tracked: str = "", text: Sequence[str] = FILLER) -> bytes:
    """An OpenDocument text: a header and footer (styles.xml), ordinary paragraphs, the planted markup (content.xml),
    meta.xml by `creator`, and a picture when the body refers to one."""
    body = tracked + "".join(para(t) for t in text) + "".join(planted)
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODF_NS} office:version="1.3">'
               f"<office:body><office:text>{body}</office:text></office:body></office:document-content>")
    styles = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-styles {ODF_NS} office:version="1.3">'
              '<office:master-styles><style:master-page style:name="Standard">'
              f"<style:header>{para(header)}</style:header><style:footer>{para(footer)}</style:footer>"
              "</style:master-page></office:master-styles></office:document-styles>")
    meta = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-meta {ODF_NS} office:version="1.3"><office:meta>'
            "<meta:generator>SCR corpus</meta:generator><dc:title>Individual management review</dc:title>"
            f"<meta:initial-creator>{escape(creator)}</meta:initial-creator><dc:creator>{escape(creator)}</dc:creator>"
            "</office:meta></office:document-meta>")
    files = [("content.xml", "text/xml"), ("styles.xml", "text/xml"), ("meta.xml", "text/xml")]
    members = [("content.xml", content.encode()), ("styles.xml", styles.encode()), ("meta.xml", meta.encode())]
    if "Pictures/photo.png" in body:
        files.append(("Pictures/photo.png", "image/png"))
        members.append(("Pictures/photo.png", png()))
    entries = [("/", ODT_TYPE), *files]
    manifest = (f'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest {MANIFEST_NS} manifest:version="1.3">'
                + "".join(f'<manifest:file-entry manifest:full-path="{path}" manifest:media-type="{kind}"/>'
                          for path, kind in entries)
                + "</manifest:manifest>")
    return archive([("mimetype", ODT_TYPE.encode()), ("META-INF/manifest.xml", manifest.encode()), *members])


# ---------------------------------------------------------------------------------------------------- PDF
def _pdf_literal(text: str) -> bytes:
    """A PDF string literal in WinAnsiEncoding (accents as octal escapes)."""
    out = bytearray(b"(")
    for byte in text.encode("cp1252"):
        if byte in b"\\()":
            out += b"\\" + bytes([byte])
        elif byte < 32 or byte > 126:
            out += b"\\%03o" % byte
        else:
            out.append(byte)
    return bytes(out + b")")


def _pdf_text_string(text: str) -> bytes:
    """A PDF text string (Info dictionary) in UTF-16BE with its byte-order mark."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


def pdf(*planted: str, author: str = "LSCB business unit", title: str = "Individual management review",
        xmp_creator: str = "LSCB business unit", text: Sequence[str] = FILLER) -> bytes:
    """A one-page PDF: the lines in Helvetica (a content stream), an Info dictionary (Title, Author, Producer) and an
    XMP metadata stream (dc:title, dc:creator)."""
    lines = [*text, *planted]
    content = b"BT /F1 10 Tf 13 TL 56 780 Td " + b" T* ".join(_pdf_literal(line) + b" Tj" for line in lines) + b" ET"
    xmp = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
           '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
           'xmlns:pdf="http://ns.adobe.com/pdf/1.3/">'
           f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(title)}</rdf:li></rdf:Alt></dc:title>'
           f"<dc:creator><rdf:Seq><rdf:li>{escape(xmp_creator)}</rdf:li></rdf:Seq></dc:creator>"
           "<pdf:Producer>SCR corpus writer</pdf:Producer></rdf:Description></rdf:RDF></x:xmpmeta>"
           '<?xpacket end="w"?>').encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Metadata 6 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n%s\nendstream" % (len(xmp), xmp),
        b"<< /Title " + _pdf_text_string(title) + b" /Author " + _pdf_text_string(author)
        + b" /Producer (SCR corpus writer) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 7 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# ---------------------------------------------------------------------------------------------------- HTML, CSV
def paragraph(text: str) -> str:
    """An HTML paragraph reading `text`."""
    return f"<p>{escape(text)}</p>"


def html(*planted: str, title: str = "Individual management review", text: Sequence[str] = FILLER) -> bytes:
    """A web page: its title, a heading, ordinary paragraphs, then the planted markup."""
    body = "".join(paragraph(t) for t in text) + "".join(planted)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
            f"<body><h1>Individual management review</h1>{body}</body></html>\n").encode()


CSV_HEADER = ("pseudonym", "role", "agency", "contact date", "contacts")
CSV_ROWS = (
    ("Child A", "subject of the review", "Nursery", "12/11/2019", "3"),
    ("Social Worker 1", "social worker", "Children's services", "04/11/2019", "7"),
    ("GP 1", "general practitioner", "Health", "2019-11-12", "2"),
)


def table_csv(*planted: tuple[str, ...], rows: Sequence[tuple[str, ...]] = CSV_ROWS) -> bytes:
    """A CSV table of contacts: a header, ordinary rows, then the planted rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([CSV_HEADER, *rows, *planted])
    return out.getvalue().encode("utf-8")


# ---------------------------------------------------------------------------------------------------- e-mail, zip
def mail(subject: str = "Serious case review: IMR for Child A", body: str = "\n".join(FILLER), *,
         sender: str = "SCR administrator <scr.admin@example.org>", to: str = "LSCB business unit <lscb@example.org>",
         attachments: Sequence[tuple[str, bytes]] = ()) -> bytes:
    """An e-mail: headers, a plain-text body and attachments (as application/octet-stream)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(SENT)
    message["Message-ID"] = "<scr-leaks-corpus@example.org>"
    message.set_content(body)
    for filename, data in attachments:
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=filename)
    return message.as_bytes()


def archive(members: Sequence[tuple[str, bytes]]) -> bytes:
    """A zip of `members`; a first member called "mimetype" is stored uncompressed, as OpenDocument requires."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zipped:
        for n, (name, data) in enumerate(members):
            stored = n == 0 and name == "mimetype"
            zipped.writestr(zipfile.ZipInfo(name, date_time=(2019, 11, 4, 9, 30, 0)), data,
                            compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------------- the cases
Text = Callable[[Cast], str]


@dataclass(frozen=True)
class Case:
    """One corpus file: its id, its suffix, what is planted in it (nothing for a clean file) and how to write it.

    `whose` names the part of the cast the leak belongs to ("" for an address); `in_name` is the identifier that
    goes into the file name when the file name is the leak; `inside` is the archive member or attachment the leak
    sits in, when it is not the outer file."""

    slug: str
    suffix: str
    rule: str | None
    location: str | None
    whose: str
    make: Callable[[Cast], bytes]
    in_name: Text | None = None
    inside: Text | str = ""


@dataclass(frozen=True)
class Planted:
    """A file of the corpus and the one leak planted in it (rule and location None for a clean file): the leak is in
    `inside` (an archive member or attachment) when that is set, and belongs to the pseudonym `who`."""

    path: Path
    rule: str | None
    location: str | None
    inside: str = ""
    who: str = ""

    @property
    def leaky(self) -> bool:
        """Whether anything was planted."""
        return self.rule is not None


def leak(slug: str, suffix: str, rule: str, location: str, whose: str, make: Callable[[Cast], bytes],
         in_name: Text | None = None, inside: Text | str = "") -> Case:
    """A leaky case."""
    return Case(slug, suffix, rule, location, whose, make, in_name, inside)


def clean(slug: str, suffix: str, make: Callable[[Cast], bytes]) -> Case:
    """A clean case."""
    return Case(slug, suffix, None, None, "", make)


LEAKY: tuple[Case, ...] = (
    # Word: every part of the package, and every way of writing a name.
    leak("docx-body-full-name", ".docx", "name", "body", "child",
         lambda c: word(f"{c.child.real} was seen at nursery by Social Worker 1.")),
    leak("docx-header", ".docx", "name", "header", "father", lambda c: word(tweaks=[header(c.father.real)])),
    leak("docx-footer", ".docx", "name", "footer", "mother",
         lambda c: word(tweaks=[footer(f"Prepared with {c.mother.real}")])),
    leak("docx-footnote", ".docx", "name", "footnote", "gp",
         lambda c: word(tweaks=[footnote(f"Letter from {c.gp.real} of 3 June 2019.")])),
    leak("docx-comment", ".docx", "name", "comment", "social_worker",
         lambda c: word(tweaks=[comment(f"Check this with {c.social_worker.real} before the panel.")])),
    leak("docx-tracked-insertion", ".docx", "name", "tracked insertion", "mother",
         lambda c: word(tweaks=[inserted(c.mother.real)])),
    leak("docx-tracked-deletion", ".docx", "name", "tracked deletion", "child",
         lambda c: word(tweaks=[deleted(c.child.real)])),
    leak("docx-alt-text", ".docx", "name", "alt text", "father",
         lambda c: word(tweaks=[picture(f"Photograph of {c.father.real} at the front door")])),
    leak("docx-properties-creator", ".docx", "name", "document properties", "social_worker",
         lambda c: word(tweaks=[properties(author=c.social_worker.real)])),
    leak("docx-properties-last-modified-by", ".docx", "name", "document properties", "gp",
         lambda c: word(tweaks=[properties(last_modified_by=c.gp.real)])),
    leak("docx-name-split-across-runs", ".docx", "name", "body", "child",
         lambda c: word(tweaks=[split_runs(c.child.real[:2], c.child.real[2:7], c.child.real[7:])])),
    leak("docx-all-caps", ".docx", "name", "body", "father",
         lambda c: word(f"STATEMENT OF {c.father.real.upper()} TO THE POLICE")),
    leak("docx-diacritics-stripped", ".docx", "name", "body", "child",
         lambda c: word(f"{stripped(c.child.real)} was collected late by Father.")),
    leak("docx-diacritics-added", ".docx", "name", "body", "gp",
         lambda c: word(f"The surgery of {accented(c.gp.real)} made 2 referrals.")),
    leak("docx-curly-apostrophe", ".docx", "name", "body", "gp",
         lambda c: word(f"Dr {curly(c.gp.real)} wrote to the school.")),
    leak("docx-possessive", ".docx", "name", "body", "mother",
         lambda c: word(f"Child A stayed at {c.mother.real}'s flat for 3 nights.")),
    leak("docx-hyphenated-surname-alone", ".docx", "surname", "body", "father",
         lambda c: word(f"Mr {surname(c.father)} did not attend.")),
    leak("docx-surname-shared-with-the-chair", ".docx", "surname", "body", "social_worker",
         lambda c: word(f"Ms {surname(c.social_worker)} telephoned the nursery.")),
    leak("docx-maiden-name", ".docx", "alias", "body", "mother",
         lambda c: word(f"Mother (née {former_name(c.mother).split()[-1]}) moved in 2018.")),
    leak("docx-nickname", ".docx", "alias", "body", "mother",
         lambda c: word(f"Neighbours knew Mother as {nickname(c.mother)}.")),
    leak("docx-dob-slashes", ".docx", "dob", "body", "child",
         lambda c: word(f"Child A was born on {written(dob(c.child), 'slashes')}.")),
    leak("docx-nhs-number-in-a-table", ".docx", "nhs", "table", "child",
         lambda c: word(tweaks=[table(("Pseudonym", "NHS number"), ("Child A", c.child.nhs[0]))])),
    leak("docx-postcode", ".docx", "postcode", "body", "",
         lambda c: word(f"The family moved to {postcode(c.addresses[0])} in the spring.")),
    leak("docx-file-name", ".docx", "surname", "file name", "child", lambda c: word(),
         in_name=lambda c: surname(c.child)),
    # OpenDocument.
    leak("odt-forename-alone", ".odt", "forename", "body", "child",
         lambda c: odt(para(f"{forename(c.child)} said she liked the nursery."))),
    leak("odt-header", ".odt", "name", "header", "mother", lambda c: odt(header=c.mother.real)),
    leak("odt-footer", ".odt", "name", "footer", "social_worker",
         lambda c: odt(footer=f"Author: {c.social_worker.real}")),
    leak("odt-footnote", ".odt", "name", "footnote", "father",
         lambda c: odt(para("Father was interviewed.", odf_note(f"Interview of {c.father.real}.")))),
    leak("odt-comment", ".odt", "name", "comment", "gp",
         lambda c: odt(para("GP 1 saw Child A.", odf_annotation(f"Confirm with {c.gp.real}.")))),
    leak("odt-tracked-deletion", ".odt", "alias", "tracked deletion", "mother",
         lambda c: odt(tracked=odf_deletion(f"Mother, formerly {former_name(c.mother)}."))),
    leak("odt-alt-text", ".odt", "name", "alt text", "child",
         lambda c: odt(para("Photograph: ", odf_frame(f"{c.child.real} at nursery")))),
    leak("odt-properties-creator", ".odt", "name", "document properties", "father",
         lambda c: odt(creator=c.father.real)),
    leak("odt-part-of-a-hyphenated-surname", ".odt", "surname", "body", "father",
         lambda c: odt(para(f"The {surname(c.father).split('-')[-1]} household was visited twice."))),
    leak("odt-dob-words", ".odt", "dob", "body", "child",
         lambda c: odt(para(f"Date of birth: {written(dob(c.child), 'words')}."))),
    # PDF.
    leak("pdf-body-with-accents", ".pdf", "name", "body", "mother",
         lambda c: pdf(f"Statement taken from {c.mother.real} on 5 November 2019.")),
    leak("pdf-info-author", ".pdf", "name", "document properties", "social_worker",
         lambda c: pdf(author=c.social_worker.real)),
    leak("pdf-xmp-creator", ".pdf", "name", "document properties", "gp", lambda c: pdf(xmp_creator=c.gp.real)),
    leak("pdf-dob-ordinal", ".pdf", "dob", "body", "child",
         lambda c: pdf(f"Born on the {written(dob(c.child), 'ordinal')} at the county hospital.")),
    leak("pdf-street-with-number", ".pdf", "address", "body", "",
         lambda c: pdf(f"Home visit at {street(c.addresses[1])} found the door locked.")),
    leak("pdf-surname-in-capitals", ".pdf", "surname", "body", "mother",
         lambda c: pdf(f"NOTE FOR THE FILE: {surname(c.mother).upper()} FAMILY")),
    # Web pages.
    leak("html-curly-possessive-surname", ".html", "surname", "body", "gp",
         lambda c: html(paragraph(f"Child A was seen at {curly(surname(c.gp))}\u2019s surgery."))),
    leak("html-alt-text", ".html", "name", "alt text", "child",
         lambda c: html(f'<img src="photo.png" alt={quoteattr(c.child.real)}>')),
    leak("html-dob-in-a-table", ".html", "dob", "table", "child",
         lambda c: html(f"<table><tr><th>Pseudonym</th><th>Born</th></tr><tr><td>Child A</td>"
                        f"<td>{written(dob(c.child), 'iso')}</td></tr></table>")),
    leak("html-title", ".html", "name", "document properties", "father",
         lambda c: html(title=f"Notes on {c.father.real}")),
    leak("html-street-without-number", ".html", "address", "body", "",
         lambda c: html(paragraph(f"The flats on {street(c.addresses[0], number=False)} were visited."))),
    leak("html-comment-nickname", ".html", "alias", "comment", "mother",
         lambda c: html(f"<!-- draft: ask {nickname(c.mother)} about the move -->")),
    # CSV.
    leak("csv-dob-two-digit-year", ".csv", "dob", "body", "child",
         lambda c: table_csv(("Child A", "date of birth", "Health", written(dob(c.child), "dots"), "1"))),
    leak("csv-nhs-number-unspaced", ".csv", "nhs", "body", "mother",
         lambda c: table_csv(("Mother", "NHS number", "Health", nhs_unspaced(c.mother), "1"))),
    leak("csv-forename-alone", ".csv", "forename", "body", "father",
         lambda c: table_csv((forename(c.father), "father", "Police", "05/11/2019", "4"))),
    leak("csv-name-without-accent", ".csv", "name", "body", "social_worker",
         lambda c: table_csv((stripped(c.social_worker.real), "social worker", "Children's services", "06/11/2019",
                              "2"))),
    # E-mail.
    leak("eml-subject", ".eml", "forename", "e-mail subject", "child",
         lambda c: mail(subject=f"Strategy meeting about {forename(c.child)}")),
    leak("eml-body-postcode", ".eml", "postcode", "body", "",
         lambda c: mail(body=f"{FILLER[0]}\nThe new address is in {postcode(c.addresses[1])}.")),
    leak("eml-to-header", ".eml", "name", "e-mail header", "mother",
         lambda c: mail(to=f"{c.mother.real} <parent.contact@example.org>")),
    leak("eml-attached-docx", ".eml", "name", "body", "social_worker",
         lambda c: mail(attachments=[("notes.docx", word(f"Notes by {c.social_worker.real}."))]),
         inside="notes.docx"),
    leak("eml-attachment-name", ".eml", "surname", "file name", "mother",
         lambda c: mail(attachments=[(f"{surname(c.mother)} letter.txt", "\n".join(FILLER).encode())]),
         inside=lambda c: f"{surname(c.mother)} letter.txt"),
    # Archives of all of these.
    leak("zip-docx", ".zip", "name", "body", "gp",
         lambda c: archive([("report.docx", word(f"{c.gp.real} referred Child A."))]), inside="report.docx"),
    leak("zip-pdf-nhs-number", ".zip", "nhs", "body", "father",
         lambda c: archive([("letter.pdf", pdf(f"NHS number {nhs_hyphenated(c.father)}"))]), inside="letter.pdf"),
    leak("zip-odt-curly-possessive", ".zip", "name", "body", "mother",
         lambda c: archive([("review.odt", odt(para(f"{c.mother.real}\u2019s tenancy ended.")))]),
         inside="review.odt"),
    leak("zip-member-name", ".zip", "surname", "file name", "father",
         lambda c: archive([(f"{surname(c.father)} statement.txt", "\n".join(FILLER).encode())]),
         inside=lambda c: f"{surname(c.father)} statement.txt"),
    leak("zip-nested-html", ".zip", "alias", "body", "mother",
         lambda c: archive([("inner.zip", archive([("page.html", html(paragraph(
             f"Mother calls herself {nickname(c.mother)} online.")))]))]),
         inside="inner.zip/page.html"),
    leak("zip-csv-dob", ".zip", "dob", "body", "mother",
         lambda c: archive([("contacts.csv", table_csv(("Mother", "date of birth", "Health",
                                                         written(dob(c.mother), "slashes"), "1")))]),
         inside="contacts.csv"),
)

CLEAN: tuple[Case, ...] = (
    clean("clean-report", ".docx", lambda c: word(
        text=clean_text(c),
        tweaks=[header(f"LSCB Chair: {c.chair.name}"), footer(f"Overview author: {c.author.name}"),
                properties(author=c.author.name, last_modified_by=c.panel_chair.name)])),
    clean("clean-tracked", ".docx", lambda c: word(
        text=clean_text(c),
        tweaks=[comment(f"Agreed with {c.chair.name} on 3 June 2019.", author=c.panel_chair.name, initials="OF"),
                inserted("the SCR Panel Chair", author=c.author.name), deleted("GP 1", author=c.author.name),
                footnote(f"{curly(c.chair.name)}\u2019s letter of 14 March 2019."),
                picture(f"{c.chair.name} opening the panel meeting")])),
    clean("clean-report", ".odt", lambda c: odt(
        text=clean_text(c), header=f"LSCB Chair: {c.chair.name}", footer=f"Overview author: {c.author.name}",
        creator=c.author.name)),
    clean("clean-annotated", ".odt", lambda c: odt(
        para("Panel decision.", odf_note(f"Signed by {c.panel_chair.name}.")),
        para("Reviewed.", odf_annotation(f"{c.chair.name.upper()} agreed.", author=c.author.name)),
        tracked=odf_deletion("Draft paragraph about GP 1.", author=c.author.name), text=clean_text(c))),
    clean("clean-report", ".pdf", lambda c: pdf(
        text=clean_text(c), author=c.author.name, xmp_creator=c.author.name, title="Overview report")),
    clean("clean-minutes", ".pdf", lambda c: pdf(
        f"Minutes taken for {c.panel_chair.name} on 5 November 2019: 8 members, 3 apologies.",
        text=FILLER, author=c.panel_chair.name, xmp_creator=c.chair.name)),
    clean("clean-page", ".html", lambda c: html(
        f'<img src="chair.png" alt={quoteattr(f"{c.chair.name}, LSCB Chair")}>',
        "<table><tr><th>Official</th><th>Role</th></tr>"
        f"<tr><td>{escape(c.panel_chair.name)}</td><td>SCR Panel Chair</td></tr>"
        f"<tr><td>{escape(c.author.name)}</td><td>overview author</td></tr></table>",
        title=f"Overview report by {c.author.name}", text=clean_text(c))),
    clean("clean-timeline", ".html", lambda c: html(
        paragraph(f"{c.chair.name}\u2019s foreword is dated 14/03/2019; the panel met on 2019-03-14 and 14.03.19."),
        paragraph(f"{c.panel_chair.name.upper()} closed the review on 23 November 2020."), text=FILLER)),
    clean("clean-contacts", ".csv", lambda c: table_csv(
        (c.chair.name, "LSCB Chair", "LSCB", "01/10/2019", "1"),
        (c.panel_chair.name, "SCR Panel Chair", "LSCB", "14/03/2019", "2"),
        (c.author.name, "overview author", "Independent", "02/07/2020", "5"))),
    clean("clean-letter", ".eml", lambda c: mail(
        subject=f"Panel meeting with {c.panel_chair.name}", body="\n".join(clean_text(c)),
        sender=f"{c.chair.name} <lscb.chair@example.org>", to=f"{c.author.name} <overview.author@example.org>")),
    clean("clean-invitation", ".eml", lambda c: mail(
        subject="SCR Panel: agenda for 5 November 2019",
        attachments=[("agenda.docx", word(text=clean_text(c))), ("attendees.csv", table_csv())])),
    clean("clean-bundle", ".zip", lambda c: archive([
        ("overview.docx", word(text=clean_text(c), tweaks=[properties(author=c.author.name)])),
        ("minutes.pdf", pdf(text=clean_text(c), author=c.panel_chair.name)),
        ("contacts.csv", table_csv()), ("page.html", html(text=clean_text(c)))])),
)

CASES: tuple[Case, ...] = LEAKY + CLEAN


def file_name(n: int, case: Case, cast: Cast) -> str:
    """A case's file name: its number and id, the leaked identifier when the file name is the leak, its suffix."""
    return f"{n:02d}-{case.slug}" + (f"_{case.in_name(cast)}" if case.in_name else "") + case.suffix


def build_corpus(directory: Path, key: AnonymisationKey) -> list[Planted]:
    """Write every case into `directory`; one Planted per file, in the order of CASES."""
    cast = Cast.of(key)
    directory.mkdir(parents=True, exist_ok=True)
    planted: list[Planted] = []
    for n, case in enumerate(CASES, start=1):
        path = directory / file_name(n, case, cast)
        path.write_bytes(case.make(cast))
        inside = case.inside(cast) if callable(case.inside) else case.inside
        planted.append(Planted(path, case.rule, case.location, inside, cast.pseudonym(case.whose)))
    return planted
