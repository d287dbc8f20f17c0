"""Every diagram of bpmn/ cites the seed, draws every element (so bpmn-js renders it) and compiles."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lxml import etree

from tests.bpmn.harness import repository_processes

ROOT = Path(__file__).resolve().parents[2]
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI = "http://www.omg.org/spec/BPMN/20100524/DI"
FLOW_NODES = ["userTask", "manualTask", "scriptTask", "callActivity", "subProcess", "startEvent", "endEvent",
              "intermediateThrowEvent", "intermediateCatchEvent", "boundaryEvent", "exclusiveGateway",
              "parallelGateway", "inclusiveGateway", "eventBasedGateway"]
CITATION = re.compile(r"\b\d+\.\d+\b|App\.? ?\d|Appendix \d|\bwk \d+|\bweek \d+|\bgap \d+", re.IGNORECASE)
DIAGRAMS = sorted((ROOT / "bpmn").rglob("*.bpmn"))


def nodes(root: etree._Element) -> list[etree._Element]:
    return [n for kind in FLOW_NODES for n in root.iter(f"{{{BPMN}}}{kind}")]


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.name)
def test_every_element_cites_the_seed_paragraph_it_implements(path: Path) -> None:
    root = etree.fromstring(path.read_bytes())
    uncited = [n.get("id") for n in nodes(root)
               if not CITATION.search(n.findtext(f"{{{BPMN}}}documentation") or "")]
    assert uncited == []


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.name)
def test_every_element_and_flow_is_drawn_so_the_diagram_renders(path: Path) -> None:
    root = etree.fromstring(path.read_bytes())
    drawn = {e.get("bpmnElement") for e in root.iter(f"{{{DI}}}BPMNShape", f"{{{DI}}}BPMNEdge")}
    wanted = {n.get("id") for n in nodes(root)}
    wanted |= {f.get("id") for f in root.iter(f"{{{BPMN}}}sequenceFlow")}
    wanted |= {lane.get("id") for lane in root.iter(f"{{{BPMN}}}lane")}
    assert wanted - drawn == set()


def test_both_boards_procedures_compile_with_their_forms() -> None:
    assert set(repository_processes()) == {"scr_dorset", "scr_bournemouth_poole"}


def test_every_free_text_answer_is_kept_private_unless_a_diagram_reads_it() -> None:
    read = "".join(re.sub(r"<bpmn:documentation>.*?</bpmn:documentation>", "", p.read_text(), flags=re.S)
                   for p in DIAGRAMS)
    exposed = []
    for path in sorted((ROOT / "forms").rglob("*.schema.json")):
        for name, spec in json.loads(path.read_text()).get("properties", {}).items():
            free = spec.get("type") == "string" and not {"enum", "oneOf", "format", "const"} & spec.keys()
            if free and not spec.get("x-assign-role") and not spec.get("x-private") \
                    and not re.search(rf"\b{name}\b", read):
                exposed.append(f"{path.name}: {name}")
    assert exposed == [], "free text would enter workflow data shared with every agency; mark it x-private"
