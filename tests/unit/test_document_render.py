"""Document outlines (forms/documents) and the house-style Word renderer: every generated .docx is opened again with
python-docx and checked against the IMR style notes (App. 3): A4, Arial 11, headings bold, upper case, left and not
underlined, Word's own numbering, the page number bottom right, a new page for each chapter, the contents and the
glossary on page two, acronyms spelled out at their first use."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from engine.documents.chronology import EXPORT_HEADINGS
from engine.documents.content import (
    MISSING,
    Chapter,
    Document,
    Officials,
    Paragraph,
    Sources,
    Table,
    assemble,
)
from engine.documents.outline import (
    Glossary,
    InvalidOutline,
    Outline,
    answer_refs,
    check_forms,
    form_schemas,
    load_glossary,
    load_outlines,
)
from engine.documents.render import render_docx

ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "forms"
OUTLINES = FORMS / "documents"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
TYPED_NUMBER = re.compile(r"^\s*\d+\.(\d+\.?)*\s")  # "1. ", "1.1 ", "2.3. " typed before the text
TEXT = ("The Individual Management Review author read every file. The IMR was sent to the LSCB, which asked for an "
        "SCR in January.\n\nThe SCRП met twice. The IMR describes what each agency knew.")


@pytest.fixture(scope="module")
def outlines() -> dict[str, Outline]:
    return load_outlines(OUTLINES)


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    return load_glossary(OUTLINES / "glossary.json")


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict[str, Any]]:
    return form_schemas(FORMS)


def sample_value(schema: dict[str, Any]) -> Any:
    """A plausible answer for a form field."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return 3
    if kind == "array":
        items = schema.get("items", {})
        if items.get("type") == "object":
            return [{name: sample_value(field) for name, field in items.get("properties", {}).items()}]
        return [sample_value(items), sample_value(items)] if "enum" not in items else [items["enum"][0]]
    if kind == "object":
        return {name: sample_value(field) for name, field in schema.get("properties", {}).items()}
    if schema.get("format") == "date":
        return "2024-03-01"
    return "An answer written in the form."


def chronology_rows(count: int) -> list[list[str]]:
    """The integrated chronology's export: its headings, then `count` entries."""
    rows = [list(EXPORT_HEADINGS)]
    for n in range(count):
        rows.append([f"{n % 28 + 1:02d}/03/2024", "09:30", "Police", "Child A",
                     f"Visit {n}: the child was seen at home.", "Custody record", "written", "significant", "yes", "",
                     "yes", "", "", "", ""])
    return rows


def full_sources(outline: Outline, schemas: dict[str, dict[str, Any]], rows: int = 20) -> Sources:
    """Sources that fill every section of an outline."""
    answers: dict[str, dict[str, Any]] = {}
    facts: dict[str, Any] = {"board_name": "Dorset LSCB"}
    signatures: dict[str, dict[str, str]] = {}
    for section in outline.sections():
        for form, field in answer_refs(section.source):
            answers.setdefault(form, {})[field] = sample_value(schemas[form]["properties"][field])
        if "facts" in section.source:
            facts.setdefault(section.source["facts"], f"The {section.source['facts'].replace('_', ' ')}")
        for signer in section.source.get("signatures", ()):
            signatures[signer["signer"]] = {line: "" if line.startswith("Sign") else "Written"
                                            for line in signer["lines"]}
    authored = {s.key: TEXT for s in outline.sections() if "authored" in s.source}
    return Sources(authored=authored, answers=answers, schemas=schemas, facts=facts,
                   chronology={"agency": chronology_rows(rows), "integrated": chronology_rows(rows)},
                   signatures=signatures,
                   officials=Officials((("LSCB Chair", "Alex Chair"), ("Independent SCR Panel Chair", "Sam Panel"),
                                        ("Overview author", "Jo Author")), (("Head of Service", "Police"),)))


def reopened(data: bytes) -> Any:
    """The .docx opened again with python-docx."""
    return docx.Document(io.BytesIO(data))


def body_text(word: Any) -> str:
    """Every paragraph's text, one a line."""
    return "\n".join(p.text for p in word.paragraphs)


def three_chapters(numbered: bool = True) -> Document:
    """A small document: a title page, contents, and three chapters."""
    chapters = tuple(Chapter(heading, (Paragraph(f"{heading}: the IMR of the police. The IMR was read.", numbered),
                                       Paragraph("A second paragraph.", numbered)))
                     for heading in ("Introduction", "Analysis", "Recommendations"))
    return Document(id="sample", title="Individual Management Review", audience="internal", chapters=chapters,
                    author="Dorset LSCB", numbered=numbered)


# ------------------------------------------------------------------------------------------------ outlines

def test_every_outline_loads_and_reads_only_forms_and_fields_that_exist(outlines: dict[str, Outline],
                                                                         schemas: dict[str, dict[str, Any]]) -> None:
    assert {"proforma", "imr", "chronology", "overview_report", "executive_summary", "synopsis",
            "critical_incident_notification", "imr_request_letter", "decision_letter", "progress_update",
            "panel_meeting_pack"} <= set(outlines)
    check_forms(outlines, schemas)


def test_every_outline_names_only_roles_of_the_role_catalogue(outlines: dict[str, Outline]) -> None:
    roles = {r["role"] for r in json.loads((FORMS / "roles.json").read_text())["roles"]}
    for outline in outlines.values():
        assert outline.authors, outline.id
        assert set(outline.authors) | set(outline.signoffs) <= roles, outline.id


def test_the_chronology_columns_are_headings_of_the_chronology_export(outlines: dict[str, Outline]) -> None:
    for outline in outlines.values():
        for section in outline.sections():
            if "chronology" in section.source:
                columns = [c["heading"] for c in section.source["chronology"]["columns"]]
                assert set(columns) <= set(EXPORT_HEADINGS), (outline.id, set(columns) - set(EXPORT_HEADINGS))


def test_the_imr_has_the_front_sheet_and_sections_1_3_to_1_10_with_the_double_1_3_resolved(
        outlines: dict[str, Outline]) -> None:
    imr = outlines["imr"]
    cites = [c.cite.split(";")[0] for c in imr.chapters]
    assert cites == ["App. 3 1.3 (both)", *(f"App. 3 1.{n}" for n in range(4, 11)), "App. 3"]
    assert [s.cite for s in imr.chapters[0].sections] == ["App. 3 1.3 (first)", "App. 3 1.3 (second)"]
    assert "gap 3" in imr.note and imr.per_agency and imr.audience == "internal"
    assert any("signatures" in s.source for s in imr.front)


def test_the_synopsis_is_limited_to_two_sides_and_the_progress_update_has_its_four_parts(
        outlines: dict[str, Outline]) -> None:
    assert outlines["synopsis"].max_pages == 2 and outlines["synopsis"].audience == "public"
    headings = [s.heading for s in outlines["progress_update"].sections()]
    assert [h[:3] for h in headings if h.startswith("(")] == ["(a)", "(b)", "(c)", "(d)"]


def test_the_glossary_reads_the_procedures_undefined_panel_acronyms_as_the_panel(glossary: Glossary) -> None:
    assert glossary.variants["SCR\u041f"] == "SCRP" and glossary.variants["SCRCP"] == "SCRP"
    assert {a.acronym for a in glossary.acronyms} >= {"SCR", "LSCB", "IMR", "SCRP", "CDOP", "ToR", "CIN"}
    assert glossary.default_author == "LSCB"


def write_outline(folder: Path, raw: dict[str, Any], name: str = "bad.json") -> None:
    """An outline file beside a copy of the schema."""
    (folder / "outline-schema.json").write_text((OUTLINES / "outline-schema.json").read_text())
    (folder / name).write_text(json.dumps(raw))


GOOD = {"id": "letter", "title": "A letter", "audience": "external",
        "chapters": [{"id": "body", "heading": "Body", "sections": [{"id": "text", "source": {"authored": True}}]}]}


def test_a_bad_outline_is_refused_naming_the_file_and_the_place_in_it(tmp_path: Path) -> None:
    raw = json.loads(json.dumps(GOOD))
    raw["chapters"][0]["sections"][0]["source"] = {"authored": True, "facts": "reference"}
    write_outline(tmp_path, raw)
    with pytest.raises(InvalidOutline) as refused:
        load_outlines(tmp_path)
    assert "bad.json: chapters[0].sections[0].source" in str(refused.value)


def test_an_outline_that_is_not_json_is_refused_with_its_line(tmp_path: Path) -> None:
    write_outline(tmp_path, GOOD)
    (tmp_path / "broken.json").write_text('{"id": "x",\n  "title": }')
    with pytest.raises(InvalidOutline, match=r"broken.json: not JSON at line 2"):
        load_outlines(tmp_path)


def test_an_outline_reading_a_field_no_form_has_is_refused(tmp_path: Path, schemas: dict[str, dict[str, Any]]) -> None:
    raw = json.loads(json.dumps(GOOD))
    raw["chapters"][0]["sections"][0]["source"] = {"answers": {"form": "common/imr_draft", "field": "no_such_field"}}
    write_outline(tmp_path, raw)
    with pytest.raises(InvalidOutline, match=r"bad.json: letter.text: the form 'common/imr_draft' has no field"):
        check_forms(load_outlines(tmp_path), schemas)


def test_an_include_of_an_unknown_outline_and_a_repeated_section_id_are_refused(tmp_path: Path) -> None:
    raw = json.loads(json.dumps(GOOD))
    raw["chapters"].append({"include": "nothing_here"})
    write_outline(tmp_path, raw)
    with pytest.raises(InvalidOutline, match=r"bad.json: chapters\[1\].include: no outline has the id 'nothing_here'"):
        load_outlines(tmp_path)
    raw["chapters"] = [GOOD["chapters"][0], {**GOOD["chapters"][0], "id": "again"}]
    write_outline(tmp_path, raw)
    with pytest.raises(InvalidOutline, match=r"two sections have the id 'text'"):
        load_outlines(tmp_path)


# ------------------------------------------------------------------------------------------------ house style

def assert_house_style(word: Any) -> None:
    """The style notes' rules that hold for every document."""
    for section in word.sections:
        short, long_ = sorted((section.page_width, section.page_height))
        assert (round(short / Cm(1), 1), round(long_ / Cm(1), 1)) == (21.0, 29.7)
    normal = word.styles["Normal"]
    assert normal.font.name == "Arial" and normal.font.size == Pt(11)
    fonts = normal.element.rPr.find(qn("w:rFonts"))
    assert {fonts.get(qn(f"w:{a}")) for a in ("ascii", "hAnsi", "cs", "eastAsia")} == {"Arial"}
    assert not [a for a in fonts.attrib if "Theme" in a or "theme" in a]
    for name in ("Heading 1", "Heading 2"):
        style = word.styles[name]
        assert style.font.bold and style.font.all_caps and style.font.underline is False
        assert style.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.LEFT
        assert style.element.rPr.find(qn("w:color")) is None
    for paragraph in word.paragraphs:
        if paragraph.style.name.startswith("Heading"):
            assert all(run.underline in (None, False) for run in paragraph.runs)
            assert paragraph.alignment in (None, WD_ALIGN_PARAGRAPH.LEFT)
    footer = word.sections[0].footer.paragraphs[0]
    assert "PAGE" in "".join(t.text for t in footer._p.iter(f"{W}instrText"))
    assert footer.alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert not [p.text for p in word.paragraphs if TYPED_NUMBER.match(p.text) and p.style.name != "toc 1"]


def test_every_outline_renders_in_the_house_style_with_nothing_missing(
        outlines: dict[str, Outline], glossary: Glossary, schemas: dict[str, dict[str, Any]]) -> None:
    for outline in outlines.values():
        document = assemble(outline, full_sources(outline, schemas))
        assert document.missing == (), outline.id
        word = reopened(render_docx(document, glossary))
        assert_house_style(word)
        assert MISSING not in body_text(word)
        headings = [p.text for p in word.paragraphs if p.style.name == "Heading 1"]
        assert headings == [c.heading for c in outline.chapters], outline.id
        if outline.contents:
            assert all(p.paragraph_format.page_break_before for p in word.paragraphs
                       if p.style.name == "Heading 1"), outline.id


def test_the_page_is_a4_with_arial_11_and_bold_upper_case_headings_never_underlined(glossary: Glossary) -> None:
    word = reopened(render_docx(three_chapters(), glossary))
    assert_house_style(word)
    section = word.sections[0]
    assert section.orientation == WD_ORIENT.PORTRAIT and round(section.page_width / Cm(1), 1) == 21.0


def test_numbered_paragraphs_use_words_own_multi_level_numbering_not_typed_numbers(glossary: Glossary) -> None:
    word = reopened(render_docx(three_chapters(), glossary))
    numbering = word.part.numbering_part.element

    def level_texts(style_name: str) -> tuple[str, str]:
        num_pr = word.styles[style_name].element.pPr.find(qn("w:numPr"))
        num_id, level = num_pr.find(qn("w:numId")).get(qn("w:val")), num_pr.find(qn("w:ilvl")).get(qn("w:val"))
        num = next(n for n in numbering.findall(qn("w:num")) if n.get(qn("w:numId")) == num_id)
        abstract_id = num.find(qn("w:abstractNumId")).get(qn("w:val"))
        abstract = next(a for a in numbering.findall(qn("w:abstractNum"))
                        if a.get(qn("w:abstractNumId")) == abstract_id)
        lvl = next(x for x in abstract.findall(qn("w:lvl")) if x.get(qn("w:ilvl")) == level)
        return lvl.find(qn("w:numFmt")).get(qn("w:val")), lvl.find(qn("w:lvlText")).get(qn("w:val"))

    assert level_texts("Heading 1") == ("decimal", "%1.")
    assert level_texts("Numbered Paragraph") == ("decimal", "%1.%2.")
    numbered = [p for p in word.paragraphs if p.style.name == "Numbered Paragraph"]
    assert len(numbered) == 6 and numbered[0].text.startswith("Introduction: ")
    all_numbers = [n for n in numbering.iter(qn("w:abstractNum"))]
    assert len(all_numbers) == len({a.get(qn("w:abstractNumId")) for a in all_numbers})


def test_an_unnumbered_document_numbers_neither_chapters_nor_paragraphs(glossary: Glossary) -> None:
    word = reopened(render_docx(three_chapters(numbered=False), glossary))
    assert word.styles["Heading 1"].element.pPr.find(qn("w:numPr")) is None
    assert not [p for p in word.paragraphs if p.style.name == "Numbered Paragraph"]


def test_the_page_number_is_a_page_field_at_the_bottom_right_of_every_section(
        glossary: Glossary, outlines: dict[str, Outline], schemas: dict[str, dict[str, Any]]) -> None:
    outline = outlines["imr"]
    word = reopened(render_docx(assemble(outline, full_sources(outline, schemas)), glossary))
    assert len(word.sections) == 2  # the chronology appendix is landscape
    assert word.sections[1].orientation == WD_ORIENT.LANDSCAPE
    assert round(word.sections[1].page_width / Cm(1), 1) == 29.7
    for section in word.sections:
        footer = section.footer.paragraphs[0]
        assert footer.alignment == WD_ALIGN_PARAGRAPH.RIGHT
        kinds = [c.get(qn("w:fldCharType")) for c in footer._p.iter(f"{W}fldChar")]
        assert kinds == ["begin", "separate", "end"]


def test_each_chapter_starts_on_a_new_page(glossary: Glossary) -> None:
    word = reopened(render_docx(three_chapters(), glossary))
    headings = [p for p in word.paragraphs if p.style.name == "Heading 1"]
    assert [h.text for h in headings] == ["Introduction", "Analysis", "Recommendations"]
    assert all(h.paragraph_format.page_break_before for h in headings)


def shown_text(element: Any) -> str:
    """The text a paragraph shows (its w:t and tabs; field instructions left out)."""
    return "".join("\t" if c.tag == f"{W}tab" else c.text or "" for r in element.iter(f"{W}r") for c in r
                   if c.tag in (f"{W}t", f"{W}tab"))


def breaks_before(element: Any) -> int:
    """Page breaks a body element starts with or holds (page break before, a page break, a section break)."""
    count = len([b for b in element.iter(f"{W}br") if b.get(f"{W}type") == "page"])
    count += len(list(element.iter(f"{W}sectPr")))
    ppr = element.find(f"{W}pPr")
    if ppr is not None and ppr.find(f"{W}pageBreakBefore") is not None:
        count += 1
    return count


def test_the_contents_and_the_glossary_are_on_page_two(glossary: Glossary) -> None:
    word = reopened(render_docx(three_chapters(), glossary))
    body = list(word.element.body)
    styles = {s.style_id: s.name for s in word.styles}
    names = [styles.get(e.find(f"{W}pPr/{W}pStyle").get(f"{W}val"), "")
             if e.tag == f"{W}p" and e.find(f"{W}pPr/{W}pStyle") is not None else "" for e in body]
    contents, first_chapter = names.index("TOC Heading"), names.index("Heading 1")
    assert [breaks_before(e) for e in body[:contents]] == [0] * contents  # page one: the title page
    assert breaks_before(body[contents]) == 1 and body[contents].xpath("string(.)") == "Contents"
    assert sum(breaks_before(e) for e in body[contents + 1:first_chapter]) == 0  # still page two
    page_two = body[contents:first_chapter]
    instruction = "".join(t.text for e in page_two for t in e.iter(f"{W}instrText"))
    assert "TOC" in instruction and '\\o "1-1"' in instruction
    listed = [shown_text(e) for e in page_two if e.tag == f"{W}p" and names[body.index(e)] == "toc 1"]
    assert listed == ["1.\tIntroduction", "2.\tAnalysis", "3.\tRecommendations"]
    tables = [e for e in page_two if e.tag == f"{W}tbl"]
    assert len(tables) == 1
    anchor = tables[0].find(f"{W}tblPr/{W}tblpPr")
    assert anchor.get(f"{W}tblpYSpec") == "bottom" and anchor.get(f"{W}vertAnchor") == "margin"
    cells = [c.xpath("string(.)") for c in tables[0].iter(f"{W}tc")]
    assert cells[0] == "GLOSSARY" and cells[1:] == ["Acronym", "In full", "IMR", "Individual Management Review"]
    settings = word.settings.element
    assert settings.find(qn("w:updateFields")).get(qn("w:val")) == "true"


def test_an_acronym_is_spelled_out_at_its_first_use_and_bare_after(glossary: Glossary) -> None:
    document = Document(id="x", title="IMR review", audience="internal", author="Dorset LSCB", chapters=(
        Chapter("About the IMR", (Paragraph("The LSCB asked for an SCR and an IMR from the police."),
                                  Paragraph("Each IMR went to the LSCB. The SCRП met; the SCRCP agreed."))),
        Chapter("More", (Paragraph("A later IMR. Write to SCR.SIN@ofsted.gov.uk about the SCR."),))))
    text = body_text(reopened(render_docx(document, glossary)))
    assert text.count("Individual Management Review (IMR)") == 1
    assert "The Local Safeguarding Children Board (LSCB) asked for a Serious Case Review (SCR) and an Individual " \
           "Management Review (IMR) from the police." in text
    assert "Each IMR went to the LSCB. The Serious Case Review Panel (SCRP) met; the SCRP agreed." in text
    assert "A later IMR. Write to SCR.SIN@ofsted.gov.uk about the SCR." in text
    assert "ABOUT THE IMR" not in text and "About the IMR" in text  # headings keep their words (caps is style)


def test_an_acronym_already_written_out_is_not_written_out_twice(glossary: Glossary) -> None:
    document = Document(id="x", title="Letter", audience="external", contents=False, chapters=(
        Chapter("Body", (Paragraph("An Individual Management Review (IMR) is due. The IMR is late."),)),))
    text = body_text(reopened(render_docx(document, glossary)))
    assert "An Individual Management Review (IMR) is due. The IMR is late." in text


def test_the_glossary_lists_only_the_acronyms_the_document_uses(glossary: Glossary) -> None:
    document = Document(id="x", title="Review", audience="internal", chapters=(
        Chapter("One", (Paragraph("The CDOP met."), Table(("Agency", "Note"), [["CAFCASS", "seen"]]))),))
    word = reopened(render_docx(document, glossary))
    glossary_table = next(t for t in word.tables if t.cell(0, 0).text == "GLOSSARY")
    assert [r.cells[0].text for r in glossary_table.rows][2:] == ["CAFCASS", "CDOP"]


def test_the_executive_summary_is_the_first_chapter_of_the_overview_report_with_the_same_text(
        outlines: dict[str, Outline], glossary: Glossary, schemas: dict[str, dict[str, Any]]) -> None:
    overview, summary = outlines["overview_report"], outlines["executive_summary"]
    sources = full_sources(overview, schemas)
    written = "Information was not shared between agencies."
    sources = replace(sources, authored={**sources.authored, "executive_summary.key_issues": written})
    report = assemble(overview, sources)
    alone = assemble(summary, sources)
    assert report.chapters[0] == alone.chapters[0]
    word = reopened(render_docx(report, glossary))
    headings = [p.text for p in word.paragraphs if p.style.name == "Heading 1"]
    assert headings[0] == "Executive summary" and headings[1] == "Introduction"
    assert written in body_text(word)


def test_the_document_properties_carry_the_title_and_the_board_never_a_person(glossary: Glossary) -> None:
    props = reopened(render_docx(three_chapters(), glossary)).core_properties
    assert (props.title, props.author, props.last_modified_by) == (
        "Individual Management Review", "Dorset LSCB", "Dorset LSCB")
    assert props.comments == "" and props.subject == "" and props.keywords == ""
    unnamed = Document(id="x", title="Letter", audience="external", chapters=three_chapters().chapters)
    props = reopened(render_docx(unnamed, glossary)).core_properties
    assert props.author == props.last_modified_by == "LSCB"


def test_a_5000_row_chronology_renders_whole_in_landscape_with_its_header_repeated_on_every_page(
        outlines: dict[str, Outline], glossary: Glossary, schemas: dict[str, dict[str, Any]]) -> None:
    outline = outlines["chronology"]  # how fast: tests/bench/documents.py
    document = assemble(outline, full_sources(outline, schemas, rows=5000))
    data = render_docx(document, glossary)
    word = reopened(data)
    table = word.tables[-1]
    assert len(table.rows) == 5001
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert [c.text for c in table.rows[0].cells][:5] == ["Date", "Time", "Agency", "Person", "Entry"]
    assert table.rows[5000].cells[4].text == "Visit 4999: the child was seen at home."
    assert word.sections[0].orientation == WD_ORIENT.LANDSCAPE


def test_a_section_nothing_fills_shows_a_placeholder_and_is_reported_missing(
        outlines: dict[str, Outline], glossary: Glossary) -> None:
    document = assemble(outlines["synopsis"], Sources(facts={"board_name": "Dorset LSCB", "reference": "DSCB 1"}))
    assert document.missing == ("synopsis.context", "synopsis.issues", "synopsis.learning", "synopsis.actions")
    assert body_text(reopened(render_docx(document, glossary))).count(MISSING) == 4


def test_answers_are_shown_as_people_read_them(outlines: dict[str, Outline], glossary: Glossary,
                                               schemas: dict[str, dict[str, Any]]) -> None:
    answers = {"dorset/chair_decision": {"decision": "scr", "decision_date": "2024-03-05"}}
    document = assemble(outlines["decision_letter"], Sources(answers=answers, schemas=schemas))
    text = body_text(reopened(render_docx(document, glossary)))
    assert "Conduct a Serious Case Review" in text and "5 March 2024" in text and "\nscr\n" not in text


def test_characters_a_word_file_cannot_hold_are_dropped_not_fatal(glossary: Glossary) -> None:
    document = Document(id="x", title="Pasted\x0c text", audience="internal", chapters=(
        Chapter("One", (Paragraph("Form feed\x0c and bell\x07 <here> & there."),
                        Table(("A",), [["cell\x00 text"]]))),))
    text = body_text(reopened(render_docx(document, glossary)))
    assert "Form feed and bell <here> & there." in text
