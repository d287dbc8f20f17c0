"""The leak scan finds what the key says is identifying, however it is written, and never repeats it; the key reads
and writes issue 13's JSON shape and says when it is incomplete (the corpus of T-L1 is in tests/leaks)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import docx
import pytest

from engine.documents.key import AnonymisationKey, key_from_json, load_key
from engine.documents.leakscan import Scanner, pseudonymise, scan_bytes, scan_text
from engine.errors import InvalidSubmission

ROOT = Path(__file__).resolve().parents[2]
KEY = {
    "case": "SCR-TEST-1",
    "people": [
        {"real": "Tayla Merriweather-Quist", "aliases": ["Tay-Tay"], "dob": "2015-11-23", "role": "subject",
         "kind": "child", "pseudonym": "Child A", "nhs": ["401 023 2137"]},
        {"real": "Siân Merriweather", "aliases": ["Siân Hollowell", "Sunny"], "dob": "1991-04-05", "role": "mother",
         "kind": "family", "pseudonym": "Mother"},
        {"real": "Dominic Farquharson", "aliases": [], "role": "social worker", "kind": "professional",
         "pseudonym": "Social Worker 1"},
    ],
    "addresses": ["7 Larkspur Crescent, Wareham BH20 4QT"],
    "permitted": [{"name": "Rosalind Farquharson", "role": "LSCB Chair"},
                  {"name": "Ifeoma Adeyemi", "role": "SCR Panel Chair"}],
}


@pytest.fixture
def key() -> AnonymisationKey:
    """The test key."""
    return key_from_json(KEY)


def rules_found(text: str, key: AnonymisationKey) -> list[tuple[str, str]]:
    """(rule, who) of each finding in a text."""
    return [(rule, who) for _offset, rule, who in scan_text(text, key)]


@pytest.mark.parametrize("text", [
    "Tayla Merriweather-Quist was seen at home.",
    "TAYLA MERRIWEATHER-QUIST was seen at home.",
    "Tayla Merriweather–Quist was seen at home.",  # an en dash
    "Tayla Merriweather Quist was seen at home.",
    "Tay\u00adla Merri\u200bweather-Quist was seen at home.",  # soft hyphen, zero-width space
])
def test_a_full_name_is_found_however_it_is_cased_or_hyphenated(text: str, key: AnonymisationKey) -> None:
    assert rules_found(text, key) == [("name", "Child A")]


def test_accents_added_or_stripped_curly_apostrophes_and_possessives_do_not_hide_a_name(key: AnonymisationKey) -> None:
    assert rules_found("Sian’s view was recorded.", key) == [("forename", "Mother")]
    # The child's surname shares a part with the mother's: either way it is a surname.
    assert [rule for rule, _who in rules_found("Mérriweather’s partner left.", key)] == ["surname"]
    assert [rule for rule, _who in rules_found("the Merriweathers moved", key)] == ["surname"]


def test_a_surname_alone_an_alias_a_maiden_name_and_a_nickname_are_each_found(key: AnonymisationKey) -> None:
    assert rules_found("Mr Farquharson visited.", key) == [("surname", "Social Worker 1")]
    assert rules_found("known as Tay-Tay", key) == [("alias", "Child A")]
    assert rules_found("née Hollowell", key) == [("alias", "Mother")]
    assert rules_found("called Sunny by friends", key) == [("alias", "Mother")]


def test_dates_of_birth_nhs_numbers_postcodes_and_streets_are_found_in_common_forms(key: AnonymisationKey) -> None:
    for written in ("23/11/2015", "23.11.15", "2015-11-23", "23rd November 2015", "November 23, 2015",
                    "23 Nov 2015", "23-11-2015"):
        assert rules_found(f"born {written}.", key) == [("dob", "Child A")], written
    assert rules_found("NHS no. 4010232137", key) == [("nhs", "Child A")]
    assert rules_found("at 7 Larkspur Cres. (bh20 4qt)", key) == [("address", "address 1 of the key"),
                                                                   ("postcode", "address 1 of the key")]


def test_an_ordinary_date_or_number_is_not_a_finding(key: AnonymisationKey) -> None:
    assert rules_found("The panel met on 23/11/2016 and read 4010 pages in Wareham.", key) == []


def test_a_permitted_official_is_not_flagged_even_sharing_a_surname_with_someone_in_the_key(
        key: AnonymisationKey) -> None:
    assert rules_found("Rosalind Farquharson (LSCB Chair) and Ifeoma Adeyemi chaired.", key) == []
    assert rules_found("Farquharson, Rosalind signed.", key) == []
    assert rules_found("Ms Farquharson signed.", key) == [("surname", "Social Worker 1")]


def word_document(*paragraphs: list[str]) -> bytes:
    """A .docx whose paragraphs are made of the given runs."""
    document = docx.Document()
    for runs in paragraphs:
        paragraph = document.add_paragraph()
        for text in runs:
            paragraph.add_run(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_a_name_split_across_word_runs_is_found_and_the_finding_does_not_repeat_it(key: AnonymisationKey) -> None:
    data = word_document(["Nothing here."], ["Seen: Tay", "la Merri", "weather-Quist, at school."])
    findings = scan_bytes("overview.docx", data, key)
    assert [(f.location, f.rule, f.who) for f in findings] == [("body", "name", "Child A")]
    assert "Tayla" not in findings[0].line() and "Merriweather" not in findings[0].line()
    assert findings[0].line().startswith("overview.docx: body, offset ")


def test_a_name_in_the_file_name_is_reported_with_the_name_masked(key: AnonymisationKey) -> None:
    findings = scan_bytes("IMR_Tayla_final.txt", b"clean text", key)
    assert [(f.file, f.location, f.rule) for f in findings] == [("IMR_*****_final.txt", "file name", "forename")]


def test_pseudonymising_replaces_people_by_their_pseudonyms_and_removes_dates_of_birth(
        key: AnonymisationKey) -> None:
    text = "Tayla’s mother, Siân Merriweather (born 05/04/1991), met Rosalind Farquharson."
    assert pseudonymise(text, Scanner(key)) == (
        "Child A’s mother, Mother (born [date of birth removed]), met Rosalind Farquharson.")


def test_a_hundred_page_report_is_scanned_whole_and_a_name_on_its_last_page_is_found(key: AnonymisationKey) -> None:
    paragraph = ("The health visitor recorded that the child was seen alone and her wishes were sought; the school "
                 "nursery raised no concern at the strategy meeting held with police and children's social care. ")
    pages = [[paragraph * 2] for _ in range(1200)]  # about 100 A4 pages of Arial 11; how fast: tests/bench/documents.py
    assert Scanner(key).scan_bytes("report.docx", word_document(*pages)) == []
    found = Scanner(key).scan_bytes("report.docx", word_document(*pages, ["Later Tayla was seen."]))
    assert [f.location for f in found] == ["body"]


def test_the_key_reads_and_writes_its_json_shape_and_says_who_lacks_a_pseudonym() -> None:
    key = key_from_json(KEY)
    assert key.to_json()["people"][0] == {**KEY["people"][0]}
    partial = key_from_json({**KEY, "people": [*KEY["people"], {"real": "Lee Quist", "kind": "family",
                                                                "role": "uncle"}]})
    assert partial.incomplete() == ["person 4 (family, uncle) has no pseudonym"]
    with pytest.raises(InvalidSubmission) as refused:
        key_from_json({"people": [{"real": "", "dob": "23/11/2015", "kind": "cousin"}]})
    assert {e.field for e in refused.value.errors} == {"people.0.real", "people.0.dob", "people.0.kind"}
    with pytest.raises(InvalidSubmission):
        load_key("{not json")


def test_the_command_line_exits_1_on_a_leak_0_when_clean_and_2_on_a_bad_key(tmp_path: Path) -> None:
    import json

    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(KEY))
    leaky, clean = tmp_path / "leaky.txt", tmp_path / "clean.txt"
    leaky.write_text("Dominic Farquharson wrote the assessment.")
    clean.write_text("Social Worker 1 wrote the assessment; Rosalind Farquharson chaired.")

    def scan(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "run.py", "leak-scan", *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=60, check=False)

    found = scan("--key", str(key_file), str(leaky), str(clean))
    assert found.returncode == 1
    assert found.stdout.splitlines() == [f"{leaky}: body, offset 0: real name of Social Worker 1"]
    assert "Dominic" not in found.stdout + found.stderr
    assert scan("--key", str(key_file), str(clean)).returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text('{"people": [{"kind": "child"}]}')
    refused = scan("--key", str(bad), str(clean))
    assert refused.returncode == 2 and "people.0.real: Required." in refused.stderr


def test_a_pseudonym_may_not_carry_the_real_name_and_a_pseudonym_in_a_document_is_not_a_finding() -> None:
    with pytest.raises(InvalidSubmission) as refused:
        key_from_json({"people": [{"real": "Rita Referrer", "kind": "professional", "pseudonym": "Referrer 1"}]})
    assert refused.value.errors[0].field == "people.0.pseudonym"
    key = key_from_json({"people": [{"real": "Rita Marsh", "kind": "professional", "pseudonym": "Referrer 1"},
                                    {"real": "Jo Referrer", "kind": "family", "pseudonym": "Uncle"}]})
    assert scan_text("Referrer 1 visited the uncle.", key) == []  # a pseudonym, written as such
    assert [rule for _o, rule, _w in scan_text("Mr Referrer visited.", key)] == ["surname"]
