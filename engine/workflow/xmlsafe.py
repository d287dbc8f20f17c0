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
_NOT_UTF8 = "not a UTF-8 XML file: save it as BPMN 2.0 XML instead"
_DOCTYPE = "a DOCTYPE is not allowed in a diagram: remove it"
_PI = "processing instructions (<?...?>) are not allowed: remove them"
_ENTITIES = "entities are not allowed: write the text itself instead"


def hardened_parser() -> etree.XMLParser:
    """The only XML parser uploads go through: no DTD, no entities, no network, no huge trees."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
        remove_pis=False, remove_comments=True,
    )


def parse_xml_safely(data: bytes, filename: str) -> etree._Element:
    """Parse one uploaded BPMN file or refuse it (size, DOCTYPE, entities, PIs, shape, root)."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidDiagram([Problem("too_large", f"file is larger than {MAX_FILE_BYTES // 1024} KiB: "
                                      "split it into several files (call activities) instead", file=filename)])
    if b"\x00" in data[:4096]:
        raise InvalidDiagram([Problem("malformed_xml", _NOT_UTF8, file=filename)])
    if b"<!doctype" in data.lower() or b"<!entity" in data.lower():
        raise InvalidDiagram([Problem("doctype_not_allowed",
                                      "a DOCTYPE or entity declaration is not allowed in a "
                                      "diagram: remove it", file=filename)])
    try:
        root = etree.fromstring(data, parser=hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise InvalidDiagram([Problem("malformed_xml", f"not well-formed XML ({exc}): save it again from a "
                                      "modeler instead", file=filename)]) from exc
    tree = root.getroottree()
    if tree.docinfo.doctype:
        raise InvalidDiagram([Problem("doctype_not_allowed", _DOCTYPE, file=filename)])
    if root.tag != f"{{{BPMN}}}definitions":
        raise InvalidDiagram([Problem("not_bpmn", _not_bpmn(root), element=_root_id(root), file=filename)])
    count = 0
    for node in root.iter():
        count += 1
        if count > MAX_ELEMENTS:
            raise InvalidDiagram([Problem("too_many_elements", f"more than {MAX_ELEMENTS} elements: split it into "
                                          "several files (call activities) instead", file=filename)])
        if isinstance(node, etree._ProcessingInstruction):
            raise InvalidDiagram([Problem("processing_instruction", _PI,
                                          file=filename)])
        if isinstance(node, etree._Entity):
            raise InvalidDiagram([Problem("doctype_not_allowed", _ENTITIES, file=filename)])
    for sibling in _prolog(root):
        if isinstance(sibling, etree._ProcessingInstruction):
            raise InvalidDiagram([Problem("processing_instruction", _PI,
                                          file=filename)])
    return root


def _prolog(root: etree._Element) -> list[Any]:
    siblings = []
    node = root.getprevious()
    while node is not None:
        siblings.append(node)
        node = node.getprevious()
    return siblings


_OTHER_MODELS = {"DMN": "a DMN decision model", "CMMN": "a CMMN case model"}


def _not_bpmn(root: etree._Element) -> str:
    """Why a well-formed file is not a diagram, in the words of the tool that made it."""
    namespace = etree.QName(root).namespace or ""
    kind = next((words for key, words in _OTHER_MODELS.items() if f"/{key}/" in namespace.upper()), None)
    if kind:
        return (f"the file is {kind}, not a BPMN diagram: use a BPMN process instead (a decision becomes an exclusive "
                "gateway with conditions)")
    return (f"the file is not a BPMN 2.0 diagram (its root element is {etree.QName(root).localname}"
            f"{' in ' + namespace if namespace else ''}): export the diagram as BPMN 2.0 XML instead")


def _root_id(root: etree._Element) -> str | None:
    """The root element's id, when it is a plain short one a modeler shows."""
    ident = root.get("id")
    return ident if isinstance(ident, str) and len(ident) <= 200 else None


def parse_document_xml(data: bytes) -> etree._Element:
    """Parse one XML part of an office document (Word, OpenDocument) with the hardened parser; ValueError when it
    declares a DOCTYPE or entities, or is not well-formed."""
    if b"<!doctype" in data[:4096].lower() or b"<!entity" in data[:8192].lower():
        raise ValueError("declares a DOCTYPE or entities, which documents never need")
    try:
        return etree.fromstring(data, parser=hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not well-formed XML ({exc})") from None
