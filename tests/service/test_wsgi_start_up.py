"""The production entry point is ready before its first request and hands no database connection across a fork.

gunicorn loads `web.wsgi` once in its master (preload) and forks the web processes from it: versions compiled there
are shared, and a connection opened there would be shared too, so two processes would talk over one socket (found by
tests/bench/scale_out.py as 500s: "can't change 'autocommit' now", "server closed the connection unexpectedly").
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from engine.authoring.versions import deploy
from engine.casework.cases import start_case
from engine.casework.services import Services
from engine.workflow.specs import read_diagrams
from tests.drive import SUPERUSER, grant_everything

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def wsgi(repository_services: Services, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """`web.wsgi` imported afresh, as gunicorn's master does, over a database with a running case."""
    deploy(repository_services, read_diagrams([ROOT / "bpmn"]), by="tests")
    grant_everything(repository_services, "dorset", ["police"])
    start_case(repository_services, "dorset", SUPERUSER)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("SCR_ENV", raising=False)
    monkeypatch.delitem(sys.modules, "web.wsgi", raising=False)
    module = importlib.import_module("web.wsgi")
    try:
        yield module
    finally:
        module._engine.dispose()
        sys.modules.pop("web.wsgi", None)


def test_the_entry_point_has_compiled_every_version_in_use_before_it_serves(wsgi: ModuleType) -> None:
    services: Services = wsgi._services
    with services.uow() as uow:
        in_use = set(uow.versions.in_use())
    wsgi._engine.dispose()

    assert in_use and in_use <= set(services._compiled)


def test_the_entry_point_keeps_no_database_connection_for_the_processes_it_forks(wsgi: ModuleType) -> None:
    assert wsgi._engine.pool.checkedin() == 0
    assert wsgi._engine.pool.checkedout() == 0
