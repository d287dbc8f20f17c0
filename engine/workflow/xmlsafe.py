"""Hardened XML parsing of uploaded diagrams: no DTD, no entities, no network, bounded size and shape."""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.errors import InvalidDiagram, Problem

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ELEMENTS = 20_000
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
XINCLUDE = "http://www.w3.org/2001/XInclude"


def hardened_parser() -> etree.XMLParser:
    """The only XML parser uploads go through: no DTD, no entities, no network, no huge trees."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
        remove_pis=False, remove_comments=True,
    )


def parse_xml_safely(data: bytes, filename: str) -> etree._Element:
    """Parse one uploaded BPMN file or refuse it (size, DOCTYPE, entities, PIs, shape, root)."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidDiagram([Problem("too_large", f"file is larger than {MAX_FILE_BYTES // 1024} KiB", file=filename)])
    if b"\x00" in data[:4096]:
        raise InvalidDiagram([Problem("malformed_xml", "not a UTF-8 XML file", file=filename)])
    if b"<!doctype" in data.lower() or b"<!entity" in data.lower():
        raise InvalidDiagram([Problem("doctype_not_allowed",
                                      "a DOCTYPE or entity declaration is not allowed in a diagram", file=filename)])
    try:
        root = etree.fromstring(data, parser=hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise InvalidDiagram([Problem("malformed_xml", f"not well-formed XML: {exc}", file=filename)]) from exc
    tree = root.getroottree()
    if tree.docinfo.doctype:
        raise InvalidDiagram([Problem("doctype_not_allowed", "a DOCTYPE is not allowed in a diagram", file=filename)])
    if root.tag != f"{{{BPMN}}}definitions":
        raise InvalidDiagram([Problem("not_bpmn", f"root element is {root.tag}, expected bpmn:definitions",
                                      file=filename)])
    count = 0
    for node in root.iter():
        count += 1
        if count > MAX_ELEMENTS:
            raise InvalidDiagram([Problem("too_many_elements", f"more than {MAX_ELEMENTS} elements", file=filename)])
        if isinstance(node, etree._ProcessingInstruction):
            raise InvalidDiagram([Problem("processing_instruction", "processing instructions are not allowed",
                                          file=filename)])
        if isinstance(node, etree._Entity):
            raise InvalidDiagram([Problem("doctype_not_allowed", "entities are not allowed", file=filename)])
    for sibling in _prolog(root):
        if isinstance(sibling, etree._ProcessingInstruction):
            raise InvalidDiagram([Problem("processing_instruction", "processing instructions are not allowed",
                                          file=filename)])
    return root


def _prolog(root: etree._Element) -> list[Any]:
    siblings = []
    node = root.getprevious()
    while node is not None:
        siblings.append(node)
        node = node.getprevious()
    return siblings
