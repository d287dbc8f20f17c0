"""RELIABILITY.md T-L1, the leak scan's self-test: every leak planted in the corpus is found where it was planted, as
the kind of identifier it is and whose it is, without the finding repeating it; the clean documents, which name the
three permitted officials, give no finding; with a rule switched off its fixture is missed, so a broken rule cannot
pass; and `run.py leak-scan` says the same with its exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.documents.key import AnonymisationKey
from engine.documents.leakscan import RULES, Finding, scan_path
from tests.leaks.corpus import CASES, CLEAN, KEY_FILE, LEAKY, Case, Planted, build_corpus, fixture_key

ROOT = Path(__file__).resolve().parents[2]
T_L1_LOCATIONS = {"body", "header", "footer", "footnote", "comment", "tracked insertion", "tracked deletion",
                  "alt text", "document properties", "file name", "e-mail subject"}
T_L1_FORMATS = {".docx", ".odt", ".pdf", ".html", ".csv", ".eml", ".zip"}
# For each rule, the fixture its negative control scans with that rule switched off.
LINE = re.compile(r"^(?P<file>.+?): (?P<location>body|table|header|footer|footnote|endnote|comment|tracked insertion|"
                  r"tracked deletion|alt text|document properties|file name|e-mail subject|e-mail header|other part)"
                  r"(?:, offset \d+)?: (?P<what>.+) of (?P<who>.+)$")
CONTROLS = {"name": "docx-body-full-name", "alias": "docx-nickname", "surname": "docx-surname-shared-with-the-chair",
            "forename": "odt-forename-alone", "dob": "docx-dob-slashes", "nhs": "csv-nhs-number-unspaced",
            "postcode": "docx-postcode", "address": "pdf-street-with-number"}


def case_id(case: Case) -> str:
    """A case's test id: its slug and suffix."""
    return f"{case.slug}{case.suffix}"


@dataclass(frozen=True)
class Scanned:
    """A corpus file, what was planted in it and what the scan found."""

    planted: Planted
    findings: list[Finding]


@pytest.fixture(scope="module")
def key() -> AnonymisationKey:
    """The corpus's key."""
    return fixture_key()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, key: AnonymisationKey) -> dict[str, Scanned]:
    """The corpus written once into a temporary directory and scanned with every rule, by case id."""
    planted = build_corpus(tmp_path_factory.mktemp("leak-corpus"), key)
    return {case_id(case): Scanned(p, scan_path(p.path, key)) for case, p in zip(CASES, planted, strict=True)}


def plain(text: str) -> str:
    """Text folded for comparing: lower case, no accents, typographic apostrophes plain."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def identifiers(key: AnonymisationKey) -> list[str]:
    """Every word of every name and alias, the dates of birth, NHS numbers (as digits), street names and postcodes."""
    found: list[str] = []
    for person in key.people:
        for name in (person.real, *person.aliases):
            found += [w for w in re.split(r"[\s\-']+", plain(name)) if len(w) >= 3]
        found += [re.sub(r"\D", "", n) for n in person.nhs]
        if person.dob:
            found += [person.dob.isoformat(), f"{person.dob:%d/%m/%Y}"]
    for address in key.addresses:
        street = address.split(",")[0].split()
        found += [w.lower() for w in street[1:-1]]
        found += [plain(m) for m in re.findall(r"[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}", address)]
    return found


def leaked(text: str, key: AnonymisationKey) -> list[str]:
    """Which of the key's identifiers `text` contains (NHS numbers also with any separators)."""
    folded, digits = plain(text), re.sub(r"\D", "", text)
    return [w for w in identifiers(key)
            if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", folded) or (w.isdigit() and w in digits)]


def expected_file(planted: Planted) -> str:
    """The file a finding of the planted leak names: the file as given, or "file/member" inside it."""
    return f"{planted.path}/{planted.inside}" if planted.inside else str(planted.path)


def names_file(shown: str, planted: Planted) -> bool:
    """Whether a finding's file is the planted file; where the file name is the leak, it is shown masked with '*'."""
    wanted = expected_file(planted)
    if shown == wanted:
        return True
    return (planted.location == "file name" and len(shown) == len(wanted) and "*" in shown
            and all(s == w or s == "*" for s, w in zip(shown, wanted, strict=True)))


def found(planted: Planted, findings: list[Finding]) -> bool:
    """Whether the planted leak is among the findings: its rule, its location, its file and its person."""
    return any(f.rule == planted.rule and f.location == planted.location and names_file(f.file, planted)
               and (not planted.who or f.who == planted.who) for f in findings)


# ---------------------------------------------------------------------------------------------------- the corpus
def test_the_corpus_covers_every_location_form_and_format_of_t_l1() -> None:
    assert len(LEAKY) >= 40 and len(CLEAN) >= 10
    assert T_L1_LOCATIONS <= {case.location for case in LEAKY}
    assert {case.rule for case in LEAKY} == set(RULES)
    assert T_L1_FORMATS <= {case.suffix for case in LEAKY} and T_L1_FORMATS <= {case.suffix for case in CLEAN}
    slugs = {case.slug for case in LEAKY}
    for form in ("split-across-runs", "all-caps", "diacritics-stripped", "diacritics-added", "curly-apostrophe",
                 "possessive", "hyphenated-surname", "surname-shared-with-the-chair", "maiden-name", "nickname",
                 "properties-creator", "properties-last-modified-by", "pdf-info", "pdf-xmp"):
        assert any(form in slug for slug in slugs), form


def test_the_fixture_key_has_valid_nhs_numbers_and_three_permitted_officials(key: AnonymisationKey) -> None:
    for number in (n for person in key.people for n in person.nhs):
        digits = [int(d) for d in re.sub(r"\D", "", number)]
        check = 11 - sum(d * (10 - i) for i, d in enumerate(digits[:9])) % 11
        assert len(digits) == 10 and check != 10 and check % 11 == digits[9], number
    assert [o.role for o in key.permitted] == ["LSCB Chair", "SCR Panel Chair", "overview author"]
    assert not key.incomplete()


# ---------------------------------------------------------------------------------------------------- (a) recall
@pytest.mark.parametrize("case", [case_id(c) for c in LEAKY])
def test_every_planted_leak_is_found_where_it_was_planted(case: str, corpus: dict[str, Scanned]) -> None:
    planted, findings = corpus[case].planted, corpus[case].findings
    assert found(planted, findings), f"{planted.rule} in {planted.location} of {planted.who}: scanner found " + (
        "; ".join(f.line() for f in findings) or "nothing")
    # Exactly one thing was planted: whatever else is reported is the same leak seen from another part.
    if planted.who:
        assert {f.who for f in findings} == {planted.who}
    else:  # an address is nobody's: its findings are all of its rule
        assert {f.rule for f in findings} == {planted.rule}


@pytest.mark.parametrize("case", [case_id(c) for c in LEAKY])
def test_no_finding_repeats_what_it_found(case: str, corpus: dict[str, Scanned], key: AnonymisationKey) -> None:
    for finding in corpus[case].findings:
        assert leaked(finding.line(), key) == [], finding.line()


def test_the_check_for_names_in_findings_would_see_one(key: AnonymisationKey) -> None:
    assert leaked("report.docx: body, offset 3: real name of Zoe QUENBY", key) == ["zoe", "quenby"]
    assert leaked("letter.pdf: body: NHS number 943-476-5919", key) == ["9434765919"]


# ---------------------------------------------------------------------------------------------------- (b) clean
@pytest.mark.parametrize("case", [case_id(c) for c in CLEAN])
def test_a_clean_document_naming_the_permitted_officials_gives_no_finding(case: str,
                                                                          corpus: dict[str, Scanned]) -> None:
    assert [f.line() for f in corpus[case].findings] == []


# ---------------------------------------------------------------------------------------------------- (c) controls
@pytest.mark.parametrize("rule", RULES)
def test_with_a_rule_switched_off_its_fixture_is_missed(rule: str, corpus: dict[str, Scanned],
                                                        key: AnonymisationKey) -> None:
    scanned = corpus[next(case_id(c) for c in LEAKY if c.slug == CONTROLS[rule])]
    assert scanned.planted.rule == rule and found(scanned.planted, scanned.findings)
    without = scan_path(scanned.planted.path, key, rules=set(RULES) - {rule})
    assert not found(scanned.planted, without)
    if rule == "name":  # the full name's parts are still seen, but as a forename and a surname
        assert {f.rule for f in without} == {"forename", "surname"}
    else:
        assert without == []


# ---------------------------------------------------------------------------------------------------- (d) run.py
def leak_scan(key_file: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    """`run.py leak-scan --key KEY FILE...` from the repository root."""
    return subprocess.run([sys.executable, "run.py", "leak-scan", "--key", str(key_file), *map(str, files)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def line_file(line: str) -> str:
    """The file a `run.py leak-scan` line names; the line must read "FILE: LOCATION[, offset N]: WHAT of WHO"."""
    match = LINE.match(line)
    assert match is not None, line
    return match["file"]


def test_the_command_line_reports_each_leaky_file_and_exits_1(corpus: dict[str, Scanned],
                                                              key: AnonymisationKey) -> None:
    scanned = list(corpus.values())
    done = leak_scan(KEY_FILE, *(s.planted.path for s in scanned))
    assert done.returncode == 1, done.stderr
    shown = [line_file(line) for line in done.stdout.splitlines()]
    for file in shown:  # every line names one planted leaky file
        assert [s.planted.leaky for s in scanned if names_file(file, s.planted)] == [True], file
    for s in scanned:  # one line per finding of each file, none for a clean one
        mine = [file for file in shown if names_file(file, s.planted)]
        assert len(mine) == len(s.findings) and bool(mine) == s.planted.leaky, s.planted.path.name
    assert leaked(done.stdout, key) == [] and leaked(done.stderr, key) == []


def test_the_command_line_exits_0_on_the_clean_files(corpus: dict[str, Scanned]) -> None:
    done = leak_scan(KEY_FILE, *(s.planted.path for s in corpus.values() if not s.planted.leaky))
    assert (done.returncode, done.stdout) == (0, ""), done.stderr


def test_a_malformed_key_exits_2_with_a_readable_message_and_no_name(tmp_path: Path,
                                                                     corpus: dict[str, Scanned]) -> None:
    raw = json.loads(KEY_FILE.read_text(encoding="utf-8"))
    raw["people"][0]["dob"] = "14/03/2016"
    bad = tmp_path / "bad-key.json"
    bad.write_text(json.dumps(raw), encoding="utf-8")
    done = leak_scan(bad, corpus[case_id(LEAKY[0])].planted.path)
    assert done.returncode == 2 and done.stdout == ""
    assert "people.0.dob: Give the date of birth as YYYY-MM-DD." in done.stderr
    assert "Traceback" not in done.stderr and leaked(done.stderr, fixture_key()) == []
    broken = tmp_path / "broken-key.json"
    broken.write_text("{not json", encoding="utf-8")
    done = leak_scan(broken, corpus[case_id(LEAKY[0])].planted.path)
    assert done.returncode == 2 and "not valid JSON" in done.stderr and "Traceback" not in done.stderr
