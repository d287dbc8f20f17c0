"""The documents of one review rendered to .docx (issue 13): the overview report (with the executive summary at its
start and the integrated chronology), the executive summary, the synopsis, ten IMRs (each with its agency's 500
chronology entries) and the integrated chronology of all 5,000 entries. Target: the whole pack in 5 s or less.
No PDF in the timing (LibreOffice takes about a second a document, in the background).

`python -m tests.bench.documents [--rounds N]` prints the seconds of each round and the best.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path
from typing import Any

import docx

from engine.documents.chronology import EXPORT_HEADINGS
from engine.documents.content import Officials, Sources, assemble
from engine.documents.key import load_key
from engine.documents.leakscan import Scanner
from engine.documents.outline import Outline, answer_refs, form_schemas, load_glossary, load_outlines
from engine.documents.render import render_docx

ROOT = Path(__file__).resolve().parents[2]
OUTLINES = ROOT / "forms" / "documents"
AGENCIES = ["Children's Services", "Police", "Education", "Health commissioning", "Acute hospital trust",
            "Community health", "General practice", "Mental health trust", "Probation", "Housing"]
ENTRIES = 5_000
TARGET_SECONDS = 5.0
PARAGRAPH = ("The IMR author read the agency's records and interviewed the staff involved. The LSCB asked for an SCR "
             "after the child was admitted to hospital; practitioners had seen the child at home on several occasions "
             "without seeing the child alone, and the child's wishes and feelings were not recorded. ") * 3


def chronology(agencies: list[str], entries: int) -> list[list[str]]:
    """Export rows (headings first) of `entries` entries spread over the agencies."""
    rows = [list(EXPORT_HEADINGS)]
    for n in range(entries):
        rows.append([f"{n % 28 + 1:02d}/{n // 28 % 12 + 1:02d}/2023", "10:15", agencies[n % len(agencies)], "Child A",
                     f"Home visit {n}: the child was seen with the mother; concerns about bruising were discussed.",
                     "Case record", "written", "significant", "yes", "", "yes", "", "", "", ""])
    return rows


def sources_for(outline: Outline, schemas: dict[str, dict[str, Any]], agency_rows: list[list[str]],
                integrated: list[list[str]], agency: str) -> Sources:
    """Every section filled: four paragraphs of written text each, answers, facts, signatures and officials."""
    answers: dict[str, dict[str, Any]] = {}
    for section in outline.sections():
        for form, field in answer_refs(section.source):
            kind = schemas[form]["properties"][field].get("type")
            answers.setdefault(form, {})[field] = ["Train staff to see the child alone."] * 4 if kind == "array" \
                else PARAGRAPH
    authored = {s.key: "\n\n".join([PARAGRAPH] * 4) for s in outline.sections() if "authored" in s.source}
    facts = {"board_name": "Dorset LSCB", "reference": "DSCB 2023/07", "agency_name": agency,
             "imr_author": "Senior Practitioner", "regarding": "Child A", "overview_author": "Independent author"}
    return Sources(authored=authored, answers=answers, schemas=schemas, facts=facts,
                   chronology={"agency": agency_rows, "integrated": integrated},
                   officials=Officials((("LSCB Chair", "LSCB Chair's name"),), (("Head of Service", "Police"),)))


def pack() -> list[tuple[str, Any]]:
    """The outlines and sources of one review's documents (built outside the timing)."""
    outlines = load_outlines(OUTLINES)
    schemas = form_schemas(ROOT / "forms")
    integrated = chronology(AGENCIES, ENTRIES)
    jobs = []
    for name in ("overview_report", "executive_summary", "synopsis", "chronology"):
        jobs.append((name, sources_for(outlines[name], schemas, integrated, integrated, "")))
    for agency in AGENCIES:
        own = [integrated[0]] + [row for row in integrated[1:] if row[2] == agency]
        jobs.append(("imr", sources_for(outlines["imr"], schemas, own, integrated, agency)))
    return [(outlines[name], sources) for name, sources in jobs]


def bench_documents(rounds: int = 3) -> dict[str, Any]:
    """The best of `rounds` renderings of the whole pack, against the 5 s target."""
    glossary = load_glossary(OUTLINES / "glossary.json")
    jobs = pack()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        sizes = [len(render_docx(assemble(outline, sources), glossary)) for outline, sources in jobs]
        times.append(time.perf_counter() - start)
    best = min(times)
    return {"documents": len(jobs), "entries": ENTRIES, "bytes": sum(sizes), "seconds": round(best, 2),
            "rounds": [round(t, 2) for t in times], "target_seconds": TARGET_SECONDS, "met": best <= TARGET_SECONDS}


SCAN_TARGET_SECONDS = 1.0
SCAN_PARAGRAPH = ("The health visitor recorded that the child was seen alone and her wishes were sought; the school "
                  "nursery raised no concern at the strategy meeting held with police and children's social care. ")


def hundred_pages() -> bytes:
    """A Word report of about 100 A4 pages of Arial 11 (1,200 paragraphs of two sentences twice)."""
    document = docx.Document()
    for _ in range(1_200):
        document.add_paragraph(SCAN_PARAGRAPH * 2)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def bench_leak_scan(rounds: int = 5) -> dict[str, Any]:
    """The best of `rounds` scans of a clean 100-page report against the leak corpus's key, against the 1 s target."""
    key = load_key((ROOT / "tests" / "leaks" / "key.json").read_bytes())
    data = hundred_pages()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        found = Scanner(key).scan_bytes("report.docx", data)
        times.append(time.perf_counter() - start)
    assert found == []
    best = min(times)
    return {"pages": 100, "seconds": round(best, 3), "target_seconds": SCAN_TARGET_SECONDS,
            "met": best <= SCAN_TARGET_SECONDS}


def print_scan_row(result: dict[str, Any]) -> None:
    """The leak scan's figure beside its target."""
    print(f"{'leak scan of a 100-page report (s)':<58} {result['seconds']:>14} "
          f"target <= {result['target_seconds']:g} met={result['met']}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args(argv)
    result = bench_documents(options.rounds)
    scan = bench_leak_scan()
    print_scan_row(scan)
    print(f"{result['documents']} documents, {result['entries']} chronology entries, {result['bytes']:,} bytes")
    print(f"rounds: {', '.join(f'{t:.2f} s' for t in result['rounds'])}")
    print(f"pack rendered to .docx in {result['seconds']:.2f} s (target <= {TARGET_SECONDS:g} s) met={result['met']}")
    return 0 if result["met"] and scan["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
