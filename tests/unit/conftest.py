"""Shared fixtures for unit tests: the fixture catalogue and forms, and a diagram-mutation helper."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from engine.clock import FrozenClock
from engine.errors import InvalidDiagram, Problem
from engine.workflow.catalogue import Catalogue, load_catalogue
from engine.workflow.specs import CompiledProcess, compile_processes, read_forms
from engine.workflow.xmlsafe import hardened_parser

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FORMS_DIR = FIXTURES / "forms"
SIMPLE_BPMN = FIXTURES / "bpmn" / "simple.bpmn"
FILENAME = "simple.bpmn"

Mutation = tuple[str, str] | Callable[[etree._Element], None]


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue(FORMS_DIR)


@pytest.fixture(scope="session")
def forms() -> dict[str, bytes]:
    return read_forms(FORMS_DIR)


@pytest.fixture(scope="session")
def simple_text() -> str:
    return SIMPLE_BPMN.read_text(encoding="utf-8")


def mutate(text: str, *mutations: Mutation) -> bytes:
    """Apply string replacements (old, new) — each `old` must occur — or lxml edits to the diagram text."""
    for mutation in mutations:
        if callable(mutation):
            root = etree.fromstring(text.encode("utf-8"), parser=hardened_parser())
            mutation(root)
            text = etree.tostring(root, encoding="unicode")
        else:
            old, new = mutation
            assert old in text, f"mutation target not found: {old!r}"
            text = text.replace(old, new)
    return text.encode("utf-8")


@pytest.fixture()
def compile_variant(catalogue: Catalogue, forms: dict[str, bytes], simple_text: str
                    ) -> Callable[..., dict[str, CompiledProcess]]:
    """compile_variant(*mutations, forms=..., raw=...) compiles simple.bpmn after the mutations."""

    def run(*mutations: Mutation, forms_override: Mapping[str, bytes] | None = None,
            raw: bytes | None = None, extra: Mapping[str, bytes] | None = None) -> dict[str, CompiledProcess]:
        data = raw if raw is not None else mutate(simple_text, *mutations)
        diagrams = {FILENAME: data, **(extra or {})}
        return compile_processes(diagrams, forms_override if forms_override is not None else forms, catalogue)

    return run


@pytest.fixture()
def refused(compile_variant: Callable[..., dict[str, CompiledProcess]]) -> Callable[..., list[Problem]]:
    """refused(*mutations, ...) asserts the variant is refused with InvalidDiagram and returns its problems."""

    def run(*mutations: Mutation, **kwargs: object) -> list[Problem]:
        with pytest.raises(InvalidDiagram) as info:
            compile_variant(*mutations, **kwargs)
        assert info.value.problems, "InvalidDiagram must name at least one problem"
        return info.value.problems

    return run


@pytest.fixture(scope="session")
def simple_process(catalogue: Catalogue, forms: dict[str, bytes]) -> CompiledProcess:
    return compile_processes({FILENAME: SIMPLE_BPMN.read_bytes()}, forms, catalogue)["simple_case"]


@pytest.fixture()
def clock() -> FrozenClock:
    """31 January 2024, 09:00 UTC: one month later is a leap-year 29 February."""
    return FrozenClock(datetime(2024, 1, 31, 9, 0, tzinfo=UTC))
