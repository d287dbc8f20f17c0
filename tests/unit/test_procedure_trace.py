"""docs/procedure-trace.md traces every rule and step of the seed procedure to the diagrams (issue 10).

The trace is a table from each numbered paragraph of Chapter 3.5, each row of both boards' App. 2 timetables and each
App. 3 and App. 4 item to the elements that carry it, with a status: `exact`, `decided (gap N)` or `not modelled:
<why>`. These tests keep the page honest: every element id it cites exists in the diagram it names, every status is
one of the three (with a known gap number, or a reason), nothing says "missing", and nothing in scope is left out.

What is in scope is written out below and, when the seed text is available next to the repository
(`../shared/procedures/`, as `bpmn/README.md` cites it), checked against the seed itself by regular expressions, so
the lists cannot drift from the procedure they stand for.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRACE = ROOT / "docs" / "procedure-trace.md"
SEED = ROOT.parent / "shared" / "procedures" / "pan-dorset-3.5-serious-case-reviews.txt"
PROCESS = ROOT.parent / "shared" / "docs" / "PROCESS.md"

DIAGRAMS = {
    "D": "bpmn/dorset/scr_dorset.bpmn",
    "BP": "bpmn/bournemouth-poole/scr_bournemouth_poole.bpmn",
    "CE": "bpmn/bournemouth-poole/ce_signature.bpmn",
    "IMR": "bpmn/common/imr.bpmn",
    "ALT": "bpmn/common/alternative_review.bpmn",
}
BOARDS = {"Dorset", "B&P", "both", "IMR"}
TRACE_HEADER = ["seed ref", "what it says", "board", "element ids", "status"]
GAP_HEADER = ["gap", "seed", "decision", "elements"]

# Every numbered paragraph of the body (sections 1 to 20), in the seed's order.
BODY_PARAGRAPHS = (
    "1.1 1.2 2.1 2.2 2.3 3.1 3.2 4.1 4.2 4.3 5.1 5.2 5.3 6.1 "
    "7.1 7.2 7.3 7.4 7.5 7.6 7.7 7.8 7.9 7.10 7.11 7.12 7.13 7.14 7.15 8.1 8.2 8.3 8.4 8.5 8.6 8.7 "
    "9.1 9.2 9.3 9.4 9.5 10.1 10.2 11.1 11.2 11.3 12.1 12.2 13.1 13.2 13.3 "
    "14.1 14.2 14.3 14.4 14.5 14.6 14.7 14.8 15.1 15.2 15.3 16.1 17.1 17.2 17.3 18.1 19.1 19.2 19.3 "
    "20.1 20.2 20.3 20.4"
).split()
# Pure introduction, left out of the trace (the page says so): section 1 (the statutory basis) and section 2 (the
# purposes of a review and what it is not). They give nobody a step to take.
NOT_TRACED = {"1.1", "1.2", "2.1", "2.2", "2.3"}

# Dorset App. 2: D1 = before the decision (week 0 = proforma received), D2 = the review (week 0 = the decision);
# a letter where one week has several rows; "after wk 26" for the rows following week 26.
DORSET_ROWS = (
    ["D1 wk 0", "D1 wk 1a", "D1 wk 1b", "D1 wk 2a", "D1 wk 2b", "D1 wk 3", "D1 wk 4a", "D1 wk 4b"]
    + [f"D2 wk {w}" for w in (0, 1, 2, 6, 8, 9, 11, 12, 15, 18, 19, 20, 22, 23, 24, 25, 26)]
    + [f"D2 after wk 26{x}" for x in "abcd"]
)
# Bournemouth & Poole App. 2, numbered in the seed's order (the seed restarts its weeks after row 4).
BP_WEEKS = [0, 3, 4, 4, 1, 3, 4, 7, 8, 9, 10, 12, 14, 17, 18, 19, 22, 24, 26]
BP_ROWS = [f"BP row {k} (wk {w})" for k, w in enumerate(BP_WEEKS, start=1)]
APP3_ITEMS = ["1.1", "1.2", "1.3 (first)", "1.3 (second)", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9", "1.10",
              "2.1", "2.2", "2.4 (first)", "2.4 (second)"]
APP4_ITEMS = [f"1.{n}" for n in range(1, 10)]

NUMBERED = re.compile(r"^\s*(?:- )?(\d{1,2}\.\d{1,2})\.?\s", re.MULTILINE)
ELEMENT = re.compile(r"`([A-Z]+):([A-Za-z_][\w.-]*)`")
DECIDED = re.compile(r"^decided \(gaps? (\d+(?:, \d+)*)\)$")
NOT_MODELLED = re.compile(r"^not modelled: (.+)$")


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def tables(header: list[str]) -> list[list[str]]:
    """The rows of every table of the trace page with this header."""
    rows: list[list[str]] = []
    inside = False
    for line in TRACE.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            inside = False
            continue
        row = cells(line)
        if row == header:
            inside = True
        elif inside and not set(line) <= set("|- "):
            assert len(row) == len(header), f"a trace row has {len(row)} cells, not {len(header)}: {line}"
            rows.append(row)
    return rows


@cache
def trace_rows() -> list[list[str]]:
    rows = tables(TRACE_HEADER)
    assert len(rows) > 150, "the trace tables were not found"
    return rows


def refs() -> set[str]:
    return {row[0] for row in trace_rows()}


@cache
def diagram_ids(prefix: str) -> frozenset[str]:
    tree = ET.parse(ROOT / DIAGRAMS[prefix])
    return frozenset(el.get("id") for el in tree.iter() if el.get("id"))


def new_gaps() -> set[int]:
    """The gaps the diagrams added to PROCESS.md A.5, as bpmn/README.md's gap tables number them ("36 (new)")."""
    readme = (ROOT / "bpmn" / "README.md").read_text(encoding="utf-8")
    return {int(n) for n in re.findall(r"^\| (\d+) \(new\)", readme, re.MULTILINE)}


def known_gaps() -> set[int]:
    return set(range(1, 36)) | new_gaps()


def seed_text() -> str:
    if not SEED.exists():
        pytest.skip(f"the seed procedure is not next to the repository ({SEED})")
    return SEED.read_text(encoding="utf-8")


def between(text: str, start: str, end: str) -> str:
    return text[text.index(start):text.index(end)]


def test_every_element_id_cited_exists_in_the_diagram_it_names() -> None:
    page = TRACE.read_text(encoding="utf-8")
    cited = ELEMENT.findall(page)
    assert len(cited) > 300
    unknown_prefix = sorted({p for p, _ in cited if p not in DIAGRAMS})
    assert not unknown_prefix, f"prefixes not defined at the top of the page: {unknown_prefix}"
    absent = sorted({f"{p}:{i}" for p, i in cited if i not in diagram_ids(p)})
    assert not absent, f"element ids cited in docs/procedure-trace.md but not in their diagram: {absent}"


def test_every_status_is_exact_or_decided_with_a_known_gap_or_not_modelled_with_a_reason() -> None:
    known = known_gaps()
    wrong = []
    for ref, _, board, elements, status in trace_rows():
        decided, not_modelled = DECIDED.match(status), NOT_MODELLED.match(status)
        if board not in BOARDS:
            wrong.append(f"{ref}: board {board!r}")
        if decided:
            unknown = {int(n) for n in decided.group(1).split(", ")} - known
            if unknown:
                wrong.append(f"{ref}: unknown gap {sorted(unknown)}")
        elif not_modelled:
            if len(not_modelled.group(1).split()) < 4:
                wrong.append(f"{ref}: 'not modelled' needs a reason, got {status!r}")
            continue
        elif status != "exact":
            wrong.append(f"{ref}: status {status!r}")
        if not ELEMENT.search(elements):
            wrong.append(f"{ref}: {status!r} names no element")
    assert not wrong, wrong


def test_no_row_is_left_missing() -> None:
    missing = [row for row in trace_rows() if re.search(r"\bmissing\b|\bTODO\b|\?\?", " ".join(row[3:]), re.I)]
    assert not missing, missing


def test_every_numbered_paragraph_of_the_body_in_scope_is_traced() -> None:
    in_scope = [p for p in BODY_PARAGRAPHS if p not in NOT_TRACED]
    absent = [p for p in in_scope if p not in refs()]
    assert not absent, f"paragraphs of the seed with no row in docs/procedure-trace.md: {absent}"
    assert not NOT_TRACED & refs(), "a paragraph left out as introduction is traced after all: update NOT_TRACED"
    page = TRACE.read_text(encoding="utf-8")
    assert "1.1-1.2" in page and "2.1-2.3" in page, "the page says which introductory paragraphs it leaves out"


def test_every_row_of_the_dorset_timetable_is_traced() -> None:
    absent = [row for row in DORSET_ROWS if f"App. 2 {row}" not in refs()]
    assert not absent, absent


def test_every_row_of_the_bournemouth_and_poole_timetable_is_traced() -> None:
    absent = [row for row in BP_ROWS if f"App. 2 {row}" not in refs()]
    assert not absent, absent


def test_every_item_of_app_1_app_3_and_app_4_is_traced() -> None:
    wanted = ["App. 1"] + [f"App. 3 {i}" for i in APP3_ITEMS] + [f"App. 4 {i}" for i in APP4_ITEMS]
    absent = [ref for ref in wanted if ref not in refs()]
    assert not absent, absent


def test_every_gap_decided_in_issue_10_is_listed_with_its_decision() -> None:
    gaps = tables(GAP_HEADER)
    listed = {int(row[0]) for row in gaps}
    assert new_gaps() == set(range(36, 45)) | {70, 71, 72}
    assert listed == new_gaps(), f"gap table of the trace: {sorted(listed)}; bpmn/README.md: {sorted(new_gaps())}"
    assert all(row[2] and ELEMENT.search(row[3]) for row in gaps)


def test_the_numbered_paragraphs_listed_here_are_those_of_the_seed() -> None:
    text = seed_text()
    body = between(text, "1. Introduction\n\n- 1.1", "Request for consideration of Serious Case Review\n\nName")
    assert NUMBERED.findall(body) == BODY_PARAGRAPHS


def test_the_dorset_rows_listed_here_are_those_of_the_seed() -> None:
    table = between(seed_text(), "Serious Case Review process/Timeline - DORSET", "SERIOUS CASE REVIEW TIMESCALES")
    labels: list[tuple[str, str]] = []  # (phase, week) per row
    phase = "D1"
    for line in table.splitlines():
        week = re.match(r"(Week (\d+)|Following Week 26)\t", line)
        if week and line.startswith("Week 0\tSCR TIMELINE STARTS"):
            phase = "D2"
        if week:
            labels.append((phase, f"wk {week.group(2)}" if week.group(2) else "after wk 26"))
        elif line.startswith("\t") and not line.startswith("\t<ul"):  # a further row of the same week
            labels.append(labels[-1])
        # a line starting "\t<ul" (a bare list) continues the previous row's cell across a page break
    derived = []
    for n, label in enumerate(labels):
        same = [i for i, other in enumerate(labels) if other == label]
        suffix = "abcdefgh"[same.index(n)] if len(same) > 1 else ""
        derived.append(f"{label[0]} {label[1]}{suffix}")
    assert derived == DORSET_ROWS


def test_the_bournemouth_and_poole_rows_listed_here_are_those_of_the_seed() -> None:
    table = between(seed_text(), "SERIOUS CASE REVIEW TIMESCALES", "\nIMRs\n")
    weeks = [int(w) for w in re.findall(r"^(?:By )?Week (\d+)\t", table, re.MULTILINE)]
    assert weeks == BP_WEEKS


def test_the_app_3_and_app_4_items_listed_here_are_those_of_the_seed() -> None:
    text = seed_text()
    app3 = NUMBERED.findall(between(text, "IMRs\n\nThe IMR is a stand alone", "Chronology\n\nWhat constitutes"))
    app4 = NUMBERED.findall(between(text, "Chronology\n\nWhat constitutes", "Format\n\nChronology.xls"))
    named = [f"{n} (first)" if app3.count(n) > 1 and app3[:i].count(n) == 0 else
             f"{n} (second)" if app3.count(n) > 1 else n for i, n in enumerate(app3)]
    assert named == APP3_ITEMS
    assert app4 == APP4_ITEMS


def test_the_first_thirty_five_gaps_are_those_of_process_md() -> None:
    if not PROCESS.exists():
        pytest.skip(f"PROCESS.md is not next to the repository ({PROCESS})")
    a5 = between(PROCESS.read_text(encoding="utf-8"), "## A.5", "## Part B")
    assert [int(n) for n in re.findall(r"^(\d+)\. \*\*", a5, re.MULTILINE)] == list(range(1, 36))
