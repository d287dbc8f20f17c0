"""Form words are for the people filling the forms: notes for implementers live in docs/forms-notes.md."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORMS = sorted((ROOT / "forms").rglob("*.json"))
NOTES = ROOT / "docs" / "forms-notes.md"
SHOWN = ("title", "description", "ui:help")  # the keys whose text reaches a screen

GAP = re.compile(r"\bgaps? \d", re.IGNORECASE)
SEED_REMARK = re.compile(r"\bthe seed\b|\bseed text\b|\bin the seed\b", re.IGNORECASE)
FOR_DEVELOPERS = re.compile(r"\b(?:TODO|FIXME|XXX)\b")
MOVED_GAPS = (2, 11, 12, 14, 16, 17, 19, 20, 21, 22, 24, 25, 31, 32, 33)  # the gaps whose notes were moved


def shown_text(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(where, text) of every title, description and ui:help string, skipping "x-" keys and roles' "cite"."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("x-") or key == "cite":
                continue
            if key in SHOWN and isinstance(value, str):
                yield f"{where}.{key}", value
            else:
                yield from shown_text(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from shown_text(item, f"{where}[{i}]")


def test_the_forms_are_found() -> None:
    names = {p.name for p in FORMS}
    assert "request_proforma.schema.json" in names and "roles.json" in names and len(FORMS) > 100


@pytest.mark.parametrize("path", FORMS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_form_text_carries_a_note_for_implementers(path: Path) -> None:
    found = [f"{where}: {text}" for where, text in shown_text(json.loads(path.read_text()))
             if GAP.search(text) or SEED_REMARK.search(text) or FOR_DEVELOPERS.search(text)]
    assert found == [], "move the note to docs/forms-notes.md and say it plainly for the person"


def test_the_words_checked_are_the_ones_that_were_there() -> None:
    assert GAP.search("(seed 7.1, App. 1; gap 33)") and GAP.search("; gaps 19, 22") and GAP.search("Gap 16: B&P")
    assert SEED_REMARK.search("(GOSW in the seed; DfE since February 2011)")
    assert not GAP.search("identifies gaps or revisions") and not SEED_REMARK.search("(seed 7.1, App. 1)")
    assert FOR_DEVELOPERS.search("TODO: wording") and not FOR_DEVELOPERS.search("Today")


def test_the_moved_notes_are_kept_in_the_docs_with_their_gap_numbers() -> None:
    notes = NOTES.read_text()
    mentioned = {int(n) for n in re.findall(r"\bgaps? (\d+)", notes, re.IGNORECASE)}
    mentioned |= {int(n) for n in re.findall(r"\bgaps \d+, (\d+)", notes, re.IGNORECASE)}
    assert set(MOVED_GAPS) <= mentioned
    assert "App. 1 says 'para.3'; the criteria are paras 4 and 5 (gap 2)" in notes
    for form, gap in (("common/request_proforma.schema.json", 2), ("common/proforma_countersign.schema.json", 33),
                      ("dorset/formal_conclusion.schema.json", 22)):
        assert any(form in line and re.search(rf"\bgap {gap}\b", line) for line in notes.splitlines()), form
