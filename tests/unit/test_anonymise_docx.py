"""An uploaded Word document put through the key: names replaced across runs, formatting kept, the scan then
finds nothing; its properties no longer name anyone."""

from __future__ import annotations

import io

import docx

from engine.documents.anonymise import pseudonymise_docx
from engine.documents.key import key_from_json
from engine.documents.leakscan import Scanner

KEY = key_from_json({"people": [
    {"real": "Tayla Quist", "aliases": ["Tay"], "dob": "2015-11-23", "kind": "child", "pseudonym": "Child A"},
    {"real": "Dominic Farquharson", "kind": "professional", "pseudonym": "Social Worker 1"}],
    "addresses": ["7 Larkspur Crescent, Wareham BH20 4QT"],
    "permitted": [{"name": "Ifeoma Adeyemi", "role": "SCR Panel Chair"}]})


def imr() -> bytes:
    document = docx.Document()
    paragraph = document.add_paragraph()
    paragraph.add_run("On 1 May ")
    bold = paragraph.add_run("Tay")
    bold.bold = True
    paragraph.add_run("la Quist’s social worker Dominic Farquharson visited 7 Larkspur Crescent.")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Born 23/11/2015"
    table.cell(0, 1).text = "Ifeoma Adeyemi chaired."
    document.sections[0].header.paragraphs[0].text = "IMR: Tayla Quist"
    document.core_properties.author = "Dominic Farquharson"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_names_split_across_runs_are_replaced_and_the_scan_then_finds_nothing() -> None:
    scanner = Scanner(KEY)
    assert scanner.scan_bytes("imr.docx", imr())  # leaky before
    cleaned, count = pseudonymise_docx(imr(), scanner, "LSCB")
    document = docx.Document(io.BytesIO(cleaned))
    first = document.paragraphs[0]
    assert first.text == ("On 1 May Child A’s social worker Social Worker 1 visited [address removed].")
    assert first.runs[1].bold and first.runs[1].text == "Child A’s"  # the run where the name began keeps its look
    assert document.tables[0].cell(0, 0).text == "Born [date of birth removed]"
    assert document.tables[0].cell(0, 1).text == "Ifeoma Adeyemi chaired."
    assert document.sections[0].header.paragraphs[0].text == "IMR: Child A"
    assert document.core_properties.author == "LSCB" and count == 5
    assert scanner.scan_bytes("imr-anonymised.docx", cleaned) == []
