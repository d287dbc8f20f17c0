"""A document as a Word file in the house style of the IMR style notes (App. 3; App. 5 "same style"): A4, Arial 11,
headings bold, upper case, left-aligned and never underlined (Word's own Heading 1 and 2, restyled, so the contents
field works), Word's own multi-level numbering (1., 1.1.) for chapters and numbered paragraphs, the page number
bottom right, each chapter on a new page, a contents page with the glossary of acronyms at its foot, and each
acronym spelled out at its first use in the text.

Tables are written as XML in bulk (python-docx adds rows one at a time, far too slowly for a 5,000-row chronology);
their header row repeats on every page.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from xml.sax.saxutils import escape

import docx
from docx.document import Document as WordDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.oxml.text.run import CT_R
from docx.parts.document import DocumentPart
from docx.section import Section as WordSection
from docx.shared import Cm, Pt
from docx.styles.style import ParagraphStyle, StyleFactory
from docx.text.paragraph import Paragraph as WordParagraph
from lxml import etree

from engine.documents.content import (
    Block,
    Bullets,
    Chapter,
    Document,
    Heading2,
    Paragraph,
    SignatureBlock,
    Table,
)
from engine.documents.outline import Glossary

FONT = "Arial"
SIZE = Pt(11)
PAGE = (Cm(21.0), Cm(29.7))
MARGIN = Cm(2.54)
TWIPS_PER_CM = 1440 / 2.54
GLOSSARY_WIDTH_CM = 12.0  # narrower than the text, or LibreOffice pulls the floating table back inline
NUMBERED = "Numbered Paragraph"
TABLE_TEXT = "Table Text"
SMALL_TABLE_TEXT = "Table Text Small"
SMALL_SIZE = Pt(9)
WIDE_TABLE = 6  # tables of this many columns or more (the chronology) are set in 9 point to stay readable
SIGNATURE_LABEL_CM = 6.0
ARTICLE = re.compile(r"\b(an?|An?)(\s+)$")
TOC_INSTRUCTION = ' TOC \\o "1-1" \\h \\z \\u '
CONTENTS = "Contents"
GLOSSARY = "Glossary"
SIGN_HERE_CM = 1.2
# characters XML 1.0 cannot carry (python-docx refuses them; a pasted form feed must not break a document)
UNPRINTABLE = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), 0xFFFE, 0xFFFF])
# settings.xml children that must come after w:updateFields (schema order)
AFTER_UPDATE_FIELDS = ("hdrShapeDefaults", "footnotePr", "endnotePr", "compat", "docVars", "rsids", "mathPr",
                       "attachedSchema", "themeFontLang", "clrSchemeMapping", "doNotIncludeSubdocsInStats",
                       "doNotAutoCompressPictures", "forceUpgrade", "captions", "readModeInkLockDown", "smartTagType",
                       "schemaLibrary", "shapeDefaults", "doNotEmbedSmartTags", "decimalSymbol", "listSeparator")
RUN_BREAKS = re.compile(r"([\t\r\n])")
DECLARED_TABLE = f'<w:tbl {nsdecls("w")}>'
TABLE_MARK = "scr-table"  # a processing instruction marking where a table goes (text never writes "<?")
TABLE_MARKS = re.compile(rb"<\?scr-table (\d+)\?>")
EMPTY_GRID = "<w:tblGrid></w:tblGrid>"
EMPTY_TEXT, EMPTY_TEXT_CLOSED = '<w:t xml:space="preserve"></w:t>', '<w:t xml:space="preserve"/>'
THEME_FONTS = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")


def clean(text: str) -> str:
    """Text without the control characters a Word file cannot hold."""
    return text.translate(UNPRINTABLE)


# ------------------------------------------------------------------------------------------------ acronyms

def _article(before: str, expansion: str) -> str:
    """The text before a spelled-out acronym, its "a" or "an" fitted to the words ("an SCR" -> "a Serious ...")."""
    match = ARTICLE.search(before)
    if not match:
        return before
    vowel = expansion[:1].lower() in "aeiou"
    word = ("an" if vowel else "a") if match.group(1).islower() else ("An" if vowel else "A")
    return before[:match.start()] + word + match.group(2)


class Words:
    """Reads a document's text in order: spellings the glossary reads as another are replaced, each acronym is
    spelled out at its first use in the body ("Individual Management Review (IMR)") and bare after, and the
    acronyms used anywhere are collected for the glossary."""

    def __init__(self, glossary: Glossary) -> None:
        self.expansions = {a.acronym: a.expansion for a in glossary.acronyms}
        self.variants = dict(glossary.variants)
        names = sorted(self.expansions, key=len, reverse=True)
        # not inside a word, an e-mail address or a file name ("SCR.SIN@", "x@SCR")
        self.pattern = re.compile(r"(?<![\w@./-])(" + "|".join(map(re.escape, names)) + r")(?![\w@-]|\.\w)"
                                  ) if names else None
        self.expanded: set[str] = set()
        self.used: set[str] = set()

    def normal(self, text: str) -> str:
        """Text cleaned, variant spellings replaced."""
        text = clean(text)
        for written, read_as in self.variants.items():
            if written in text:
                text = text.replace(written, read_as)
        return text

    def seen(self, text: str) -> str:
        """A heading, title or table text: normalised and counted, never expanded."""
        text = self.normal(text)
        if self.pattern:
            self.used.update(self.pattern.findall(text))
        return text

    def body(self, text: str) -> str:
        """Body text: normalised, each acronym spelled out at its first use."""
        text = self.normal(text)
        if not self.pattern:
            return text
        out: list[str] = []
        last = 0
        for match in self.pattern.finditer(text):
            acronym = match.group(1)
            self.used.add(acronym)
            if acronym in self.expanded:
                continue
            self.expanded.add(acronym)
            expansion = self.expansions[acronym]
            if text[:match.start()].casefold().endswith(f"{expansion} (".casefold()):
                continue  # already written out: "Individual Management Review (IMR)"
            out += [_article(text[last:match.start()], expansion), f"{expansion} ({acronym})"]
            last = match.end()
        out.append(text[last:])
        return "".join(out)

    def table(self, rows: Sequence[Sequence[str]]) -> list[list[str]]:
        """Table cells cleaned and normalised; their acronyms counted in one pass."""
        cells = [[str(cell) for cell in row] for row in rows]
        whole = "\n".join("\t".join(row) for row in cells)
        if clean(whole) == whole and not any(written in whole for written in self.variants):
            cleaned = cells  # nothing in any cell to clean or replace: each is already as `normal` leaves it
        else:
            cleaned = [[self.normal(cell) for cell in row] for row in cells]
            whole = "\n".join("\t".join(row) for row in cleaned)
        if self.pattern:
            self.used.update(self.pattern.findall(whole))
        return cleaned

    def block(self, block: Block) -> Block:
        """One block with its text read."""
        if isinstance(block, Paragraph):
            return replace(block, text=self.body(block.text))
        if isinstance(block, Bullets):
            return Bullets(tuple(self.body(i) for i in block.items))
        if isinstance(block, Heading2):
            return Heading2(self.seen(block.text))
        if isinstance(block, Table):
            return replace(block, header=tuple(self.seen(h) for h in block.header), rows=self.table(block.rows))
        if isinstance(block, SignatureBlock):
            return SignatureBlock(self.seen(block.heading), tuple((self.seen(a), self.seen(b)) for a, b in block.lines))
        raise TypeError(f"no way to write a {type(block).__name__}")

    def title_page(self, block: Block) -> Block:
        """A title-page block: like a heading, never expanded (a reference such as "DSCB 2023/07" stays whole;
        acronyms are spelled out at their first use in the chapters)."""
        if isinstance(block, Paragraph):
            return replace(block, text=self.seen(block.text))
        if isinstance(block, Bullets):
            return Bullets(tuple(self.seen(i) for i in block.items))
        return self.block(block)

    def document(self, document: Document) -> Document:
        """The whole document read in order: title, title page, then each chapter."""
        title, subtitle = self.seen(document.title), self.seen(document.subtitle)
        front = tuple(self.title_page(b) for b in document.front)
        chapters = tuple(Chapter(self.seen(c.heading), tuple(self.block(b) for b in c.blocks), c.page_break_before,
                                 c.landscape) for c in document.chapters)
        return replace(document, title=title, subtitle=subtitle, front=front, chapters=chapters)


# ------------------------------------------------------------------------------------------------ styles

def _fonts(element: object) -> None:
    """Every w:rFonts under `element` set to Arial, theme fonts removed (Word would prefer the theme's)."""
    for fonts in element.iter(qn("w:rFonts")):  # type: ignore[attr-defined]
        for attr in THEME_FONTS:
            fonts.attrib.pop(qn(attr), None)
        for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
            fonts.set(qn(attr), FONT)


def _black(style: ParagraphStyle) -> None:
    """A style's text black and never underlined."""
    rpr = style.element.get_or_add_rPr()
    for color in rpr.findall(qn("w:color")):
        rpr.remove(color)
    style.font.underline = False


def _heading(style: ParagraphStyle, size: float) -> None:
    """A heading style: bold, upper case (Word's caps, so text keeps its case), left, black, not underlined."""
    style.font.name = FONT
    style.font.size = Pt(size)
    style.font.bold = True
    style.font.italic = False
    style.font.all_caps = True
    _black(style)
    style.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
    style.paragraph_format.space_before = Pt(12)
    style.paragraph_format.space_after = Pt(6)
    style.paragraph_format.keep_with_next = True


def _add_style(word: WordDocument, name: str, based_on: str) -> ParagraphStyle:
    """A new paragraph style based on another (the renderer's own names, never in the template: added as
    `styles.add_style` adds them, without its search of every style for the name first)."""
    style = StyleFactory(word.styles.element.add_style_of_type(name, WD_STYLE_TYPE.PARAGRAPH, False))
    assert isinstance(style, ParagraphStyle)
    style.base_style = word.styles[based_on]
    style.quick_style = True
    return style


def _styles(word: WordDocument) -> None:
    """Arial 11 everywhere, headings in the house style, the styles the renderer adds."""
    styles = word.styles
    defaults = styles.element.find(qn("w:docDefaults"))
    rpr_default = defaults.find(qn("w:rPrDefault")) if defaults is not None else None
    if rpr_default is not None:
        rpr = rpr_default.find(qn("w:rPr"))
        if rpr is not None and rpr.find(qn("w:rFonts")) is None:
            rpr.insert(0, parse_xml(f'<w:rFonts {nsdecls("w")} w:ascii="{FONT}" w:hAnsi="{FONT}" w:cs="{FONT}" '
                                    f'w:eastAsia="{FONT}"/>'))
    normal = styles["Normal"]
    assert isinstance(normal, ParagraphStyle)
    normal.font.name = FONT
    normal.font.size = SIZE
    normal.paragraph_format.space_after = Pt(6)
    lang = normal.element.get_or_add_rPr()
    lang.append(parse_xml(f'<w:lang {nsdecls("w")} w:val="en-GB" w:eastAsia="en-GB" w:bidi="ar-SA"/>'))
    for name, size in (("Heading 1", 12), ("Heading 2", 11), ("TOC Heading", 12)):
        style = styles[name]
        assert isinstance(style, ParagraphStyle)
        _heading(style, size)
    for name in ("Heading 1 Char", "Heading 2 Char", "Title Char", "Subtitle Char"):
        rpr = styles[name].element.get_or_add_rPr()
        for color in rpr.findall(qn("w:color")):
            rpr.remove(color)
    title = styles["Title"]
    assert isinstance(title, ParagraphStyle)
    _heading(title, 16)
    title.paragraph_format.space_before = Pt(0)
    ppr = title.element.get_or_add_pPr()
    for border in ppr.findall(qn("w:pBdr")):
        ppr.remove(border)
    subtitle = styles["Subtitle"]
    assert isinstance(subtitle, ParagraphStyle)
    subtitle.font.name = FONT
    subtitle.font.size = SIZE
    subtitle.font.italic = False
    _black(subtitle)
    _add_style(word, NUMBERED, "Normal")
    table_text = _add_style(word, TABLE_TEXT, "Normal")
    table_text.paragraph_format.space_after = Pt(0)
    small = _add_style(word, SMALL_TABLE_TEXT, TABLE_TEXT)
    small.font.size = SMALL_SIZE
    _fonts(styles.element)
    toc = parse_xml(f'<w:style {nsdecls("w")} w:type="paragraph" w:styleId="TOC1"><w:name w:val="toc 1"/>'
                    '<w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:uiPriority w:val="39"/><w:unhideWhenUsed/>'
                    '<w:pPr><w:spacing w:after="100"/></w:pPr><w:rPr><w:caps/></w:rPr></w:style>')
    styles.element.append(toc)


def _numbering(word: WordDocument, numbered: bool) -> None:
    """One multi-level list in numbering.xml, "1." for chapters (Heading 1) and "1.1." for numbered paragraphs,
    restarting in each chapter; linked to both styles so no number is ever typed."""
    numbering = word.part.numbering_part.element
    abstract_id = 1 + max((int(a.get(qn("w:abstractNumId"))) for a in numbering.findall(qn("w:abstractNum"))),
                          default=-1)
    num_id = 1 + max((int(n.get(qn("w:numId"))) for n in numbering.findall(qn("w:num"))), default=0)
    levels = [(0, "%1.", "Heading1"), (1, "%1.%2.", NUMBERED.replace(" ", ""))]
    xml = [f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{abstract_id}"><w:multiLevelType w:val="multilevel"/>']
    for level, text, style in levels:  # the number at the margin, the text 1.5 cm in
        xml.append(f'<w:lvl w:ilvl="{level}"><w:start w:val="1"/><w:numFmt w:val="decimal"/>'
                   f'<w:pStyle w:val="{style}"/><w:lvlText w:val="{text}"/><w:lvlJc w:val="left"/>'
                   '<w:pPr><w:ind w:left="851" w:hanging="851"/></w:pPr></w:lvl>')
    xml.append("</w:abstractNum>")
    abstract = parse_xml("".join(xml))
    first_num = numbering.find(qn("w:num"))
    if first_num is not None:
        first_num.addprevious(abstract)  # every w:abstractNum comes before every w:num
    else:
        numbering.append(abstract)
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="{num_id}"><w:abstractNumId w:val="{abstract_id}"/>'
                               "</w:num>"))
    links = [("Numbered Paragraph", 1)] + ([("Heading 1", 0)] if numbered else [])
    for name, level in links:
        numpr = word.styles[name].element.get_or_add_pPr().get_or_add_numPr()
        numpr.get_or_add_ilvl().val = level
        numpr.get_or_add_numId().val = num_id
    # the contents heading is based on Heading 1 but is never numbered
    numpr = word.styles["TOC Heading"].element.get_or_add_pPr().get_or_add_numPr()
    numpr.get_or_add_numId().val = 0


def _settings(word: WordDocument) -> None:
    """Word offers to update the fields (the contents) on opening; British English for spelling."""
    settings = word.settings.element
    update = parse_xml(f'<w:updateFields {nsdecls("w")} w:val="true"/>')
    later = next((c for c in settings if c.tag in {qn(f"w:{n}") for n in AFTER_UPDATE_FIELDS}), None)
    if later is not None:
        later.addprevious(update)
    else:
        settings.append(update)
    lang = settings.find(qn("w:themeFontLang"))
    if lang is not None:
        lang.set(qn("w:val"), "en-GB")


# ------------------------------------------------------------------------------------------------ page

def _page(section: WordSection, landscape: bool) -> None:
    """A4, portrait or landscape, with the house margins."""
    width, height = PAGE
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (height, width) if landscape else (width, height)
    section.left_margin = section.right_margin = section.top_margin = section.bottom_margin = MARGIN


def _text_width_cm(landscape: bool) -> float:
    """The width between the margins."""
    return (29.7 if landscape else 21.0) - 2 * 2.54


def _run_text(run: CT_R, text: str) -> None:
    """`text` into an empty run as python-docx writes it (a w:tab for each tab, a w:br for each line end, the rest
    in w:t elements), a piece at a time rather than a character at a time."""
    for piece in RUN_BREAKS.split(text):
        if piece == "\t":
            run.add_tab()
        elif piece in ("\r", "\n"):
            run.add_br()
        elif piece:
            run.add_t(piece)


def _field(paragraph: WordParagraph, instruction: str, shown_text: str) -> None:
    """A complex field (PAGE) in a paragraph, with the text shown before Word updates it."""
    paragraph._p.append(parse_xml(
        f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="begin"/></w:r>'))
    paragraph._p.append(parse_xml(
        f'<w:r {nsdecls("w")}><w:instrText xml:space="preserve">{escape(instruction)}</w:instrText></w:r>'))
    paragraph._p.append(parse_xml(f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="separate"/></w:r>'))
    paragraph._p.append(parse_xml(f'<w:r {nsdecls("w")}><w:t>{escape(shown_text)}</w:t></w:r>'))
    paragraph._p.append(parse_xml(f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="end"/></w:r>'))


def _furniture(section: WordSection, marking: str) -> None:
    """The page number bottom right on every page, and the document's marking at the head of every page."""
    footer = section.footer
    footer.is_linked_to_previous = False
    paragraph = footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _field(paragraph, " PAGE ", "1")
    if marking:
        header = section.header
        header.is_linked_to_previous = False
        header.paragraphs[0].text = clean(marking)
        header.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER


def _properties(word: WordDocument, document: Document, glossary: Glossary) -> None:
    """Document properties: the title, and the board (never a person) as author."""
    props = word.core_properties
    author = clean(document.author or glossary.default_author)
    props.title = clean(document.title)
    props.author = props.last_modified_by = author
    props.subject = props.keywords = props.comments = props.category = props.content_status = ""
    props.identifier = props.language = props.version = ""
    props.revision = 1


# ------------------------------------------------------------------------------------------------ tables

def _runs(text: str, bold: bool = False) -> str:
    """The runs of one cell paragraph, line breaks and tabs kept."""
    props = "<w:rPr><w:b/></w:rPr>" if bold else ""
    tab = '</w:t><w:tab/><w:t xml:space="preserve">'
    text = escape(text)
    if "\n" not in text and "\t" not in text:  # one line, no tab: one w:t
        return f'<w:r>{props}<w:t xml:space="preserve">{text}</w:t></w:r>'
    body = "<w:br/>".join(f'<w:t xml:space="preserve">{line}</w:t>'.replace("\t", tab)
                          for line in text.split("\n"))
    return f"<w:r>{props}{body}</w:r>"


def _cell(text: str, width: int, style: str, bold: bool = False, span: int = 1) -> str:
    """One cell: its width (Word reads it here) and its text."""
    merge = f'<w:gridSpan w:val="{span}"/>' if span > 1 else ""
    runs = _runs(text, bold) if text else ""
    return (f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{merge}</w:tcPr>'
            f'<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr>{runs}</w:p></w:tc>')


def _widths(count: int, weights: Sequence[float], total_cm: float) -> list[int]:
    """Column widths in twips: the weights (equal when none) scaled to the total."""
    weights = list(weights)[:count] + [1.0] * (count - len(weights))
    scale = total_cm * TWIPS_PER_CM / sum(weights)
    return [int(w * scale) for w in weights]


def table_xml(header: Sequence[str], rows: Iterable[Sequence[str]], widths: Sequence[int], *,
              floating: bool = False, tall_empty: bool = False, banner: str = "") -> str:
    """A whole table as WordprocessingML: widths in the grid (LibreOffice reads these) and in each cell (Word),
    the header row repeated on each page; `floating` anchors it to the foot of the page; `banner` is a first row
    across all columns."""
    wide = len(widths) >= WIDE_TABLE
    style = (SMALL_TABLE_TEXT if wide else TABLE_TEXT).replace(" ", "")
    margins = ('<w:tblCellMar><w:left w:w="57" w:type="dxa"/><w:right w:w="57" w:type="dxa"/></w:tblCellMar>'
               if wide else "")  # 1 mm each side rather than 2: narrow columns keep their words whole
    float_xml = ('<w:tblpPr w:leftFromText="0" w:rightFromText="0" w:vertAnchor="margin" w:horzAnchor="margin" '
                 'w:tblpX="0" w:tblpYSpec="bottom"/><w:tblOverlap w:val="never"/>') if floating else ""
    parts = [f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblStyle w:val="TableGrid"/>{float_xml}'
             f'<w:tblW w:w="{sum(widths)}" w:type="dxa"/><w:tblLayout w:type="fixed"/>{margins}'
             '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" w:lastColumn="0" '
             'w:noHBand="0" w:noVBand="1"/></w:tblPr><w:tblGrid>',
             *(f'<w:gridCol w:w="{w}"/>' for w in widths), "</w:tblGrid>"]
    if banner:
        parts.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>"
                     f"{_cell(banner, sum(widths), style, True, len(widths))}</w:tr>")
    if header:
        parts.append("<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>"
                     + "".join(_cell(h, w, style, True) for h, w in zip(header, widths, strict=False)) + "</w:tr>")
    tall = f'<w:trPr><w:trHeight w:val="{int(SIGN_HERE_CM * TWIPS_PER_CM)}" w:hRule="atLeast"/></w:trPr>'
    for row in rows:
        cells = list(row) + [""] * (len(widths) - len(row))
        height = tall if tall_empty and not cells[-1] else ""
        parts.append(f"<w:tr>{height}" + "".join(_cell(c, w, style) for c, w in zip(cells, widths, strict=False))
                     + "</w:tr>")
    parts.append("</w:tbl>")
    return "".join(parts)


def _as_written(xml: str) -> bytes | None:
    """A table from table_xml as lxml would write it once parsed and moved into the document: the namespace
    declared by the document instead, empty elements closed in one tag, each carriage return read as a line end
    (XML's end-of-line rule), UTF-8. None for anything else, or for text no XML can carry."""
    if not xml.startswith(DECLARED_TABLE) or EMPTY_GRID in xml:  # only w:t may be empty in a table with columns
        return None
    inner = "<w:tbl>" + xml[len(DECLARED_TABLE):]
    inner = inner.replace("\r\n", "\n").replace("\r", "\n").replace(EMPTY_TEXT, EMPTY_TEXT_CLOSED)
    try:
        return inner.encode("utf-8")
    except UnicodeEncodeError:
        return None


class _DocumentWithTables(DocumentPart):
    """The main document part, its tables put in at their marks as it is written."""

    tables: list[bytes]
    placed: int = 0

    @property
    def blob(self) -> bytes:
        """The part's XML with each mark replaced by its table."""
        pieces = TABLE_MARKS.split(super().blob)  # text, number, text, number, ..., text
        for n in range(1, len(pieces), 2):
            pieces[n] = self.tables[int(pieces[n])]
        self.placed = len(pieces) // 2
        return b"".join(pieces)


def _save(word: WordDocument, tables: list[bytes]) -> bytes:
    """The Word file, with the tables in place of their marks."""
    spliced: _DocumentWithTables | None = None
    if tables:
        part = word.part
        if type(part) is not DocumentPart:
            raise TypeError(f"cannot write tables into a {type(part).__name__}")
        part.__class__ = _DocumentWithTables
        assert isinstance(part, _DocumentWithTables)
        spliced = part
        spliced.tables = tables
    out = io.BytesIO()
    word.save(out)
    if spliced is not None and spliced.placed != len(tables):
        raise RuntimeError(f"{len(tables)} tables were marked but {spliced.placed} written")
    return out.getvalue()


# ------------------------------------------------------------------------------------------------ writer

class _Writer:
    """Writes blocks into the Word document in order."""

    def __init__(self, word: WordDocument, document: Document) -> None:
        self.word = word
        self.document = document
        self.body = word.element.body
        self.landscape = False
        self.style_ids: dict[str, str] = {}  # looked up once: python-docx searches every style at each use
        self.tables: list[bytes] = []  # each table's bytes, written where its mark stands

    def paragraph(self, text: str, style: str, page_break: bool = False) -> WordParagraph:
        """A paragraph of one style."""
        if style not in self.style_ids:
            self.style_ids[style] = self.word.styles[style].style_id
        paragraph = self.word.add_paragraph()
        if text:
            _run_text(paragraph.add_run()._r, text)
        if style != "Normal":
            paragraph._p.get_or_add_pPr().style = self.style_ids[style]
        if page_break:
            paragraph.paragraph_format.page_break_before = True
        return paragraph

    def table(self, xml: str) -> None:
        """A table written at the end of the body: a mark holds its place and its bytes are put there when the file
        is written (parsing a chronology's table and moving it into the document took most of a render)."""
        written = _as_written(xml)
        if written is None:  # not what table_xml writes, or not text XML can carry: parsed (and refused) as ever
            self.body.sectPr.addprevious(parse_xml(xml))
            return
        self.body.sectPr.addprevious(etree.ProcessingInstruction(TABLE_MARK, str(len(self.tables))))
        self.tables.append(written)

    def block(self, block: Block) -> None:
        """One block."""
        if isinstance(block, Paragraph):
            style = NUMBERED if block.numbered and self.document.numbered else "Normal"
            self.paragraph(block.text, style)
        elif isinstance(block, Bullets):
            for item in block.items:
                self.paragraph(item, "List Bullet")
        elif isinstance(block, Heading2):
            self.paragraph(block.text, "Heading 2")
        elif isinstance(block, Table):
            if not (block.header or block.rows):
                return  # a table needs a row
            width = _text_width_cm(self.landscape)
            widths = _widths(max(len(block.header), max((len(r) for r in block.rows), default=1)), block.widths,
                             width)
            self.table(table_xml(block.header, block.rows, widths))
            self.paragraph("", "Normal")
        else:
            if block.heading:
                heading = self.paragraph("", "Normal")
                heading.add_run(block.heading).bold = True
                heading.paragraph_format.keep_with_next = True
            width = _text_width_cm(self.landscape)
            widths = _widths(2, (SIGNATURE_LABEL_CM, width - SIGNATURE_LABEL_CM), width)
            self.table(table_xml((), [list(line) for line in block.lines], widths, tall_empty=True))
            self.paragraph("", "Normal")

    def orientation(self, landscape: bool) -> None:
        """A new section (on a new page) when the orientation changes."""
        if landscape == self.landscape:
            return
        section = self.word.add_section(WD_SECTION.NEW_PAGE)
        _page(section, landscape)
        self.landscape = landscape

    def contents(self, used: Sequence[tuple[str, str]]) -> None:
        """Page two: the contents (a TOC field whose shown text lists the chapters until Word updates it) and
        the glossary of the acronyms used, floated to the foot of the page."""
        self.paragraph(CONTENTS, "TOC Heading", page_break=True)
        entries = [(f"{n}.\t{c.heading}" if self.document.numbered else c.heading)
                   for n, c in enumerate(self.document.chapters, start=1)] or [""]
        begin = (f'<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve">'
                 f'{escape(TOC_INSTRUCTION)}</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>')
        end = '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        for n, entry in enumerate(entries):
            runs = (begin if n == 0 else "") + (_runs(entry) if entry else "") + (end if n == len(entries) - 1
                                                                                    else "")
            self.body.sectPr.addprevious(parse_xml(
                f'<w:p {nsdecls("w")}><w:pPr><w:pStyle w:val="TOC1"/>'
                f'<w:tabs><w:tab w:val="left" w:pos="567"/></w:tabs></w:pPr>{runs}</w:p>'))
        if used:
            widths = _widths(2, (1.0, 3.0), GLOSSARY_WIDTH_CM)
            self.table(table_xml(("Acronym", "In full"), [list(u) for u in used], widths, floating=True,
                                 banner=GLOSSARY.upper()))
        self.paragraph("", "Normal")

    def chapter(self, chapter: Chapter, first: bool) -> None:
        """A chapter: a new page (unless it follows the title with no contents page) and its blocks."""
        self.orientation(chapter.landscape)
        page_break = chapter.page_break_before and not (first and not self.document.contents)
        self.paragraph(chapter.heading, "Heading 1", page_break=page_break)
        for block in chapter.blocks:
            self.block(block)


def render_docx(document: Document, glossary: Glossary) -> bytes:
    """The document as a .docx file in the house style."""
    words = Words(glossary)
    read = words.document(document)
    word = docx.Document()
    _page(word.sections[0], landscape=False)
    _styles(word)
    _numbering(word, read.numbered)
    _settings(word)
    _furniture(word.sections[0], read.marking)
    _properties(word, read, glossary)
    writer = _Writer(word, read)
    if not read.contents and read.chapters and read.chapters[0].landscape:
        _page(word.sections[0], landscape=True)  # a table-only document is landscape from its first page
        writer.landscape = True
    writer.paragraph(read.title, "Title")
    if read.subtitle:
        writer.paragraph(read.subtitle, "Subtitle")
    for block in read.front:
        writer.block(block)
    if read.contents:
        used = [(a.acronym, a.expansion) for a in glossary.acronyms if a.acronym in words.used]
        writer.contents(used)
    for n, chapter in enumerate(read.chapters):
        writer.chapter(chapter, first=n == 0)
    return _save(word, writer.tables)


__all__ = ["FONT", "SIZE", "Words", "clean", "render_docx", "table_xml"]
