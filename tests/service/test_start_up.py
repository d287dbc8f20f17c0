"""A restarted process compiles its process versions before it serves anyone, and never compiles one twice.

Probe finding 9 (issue 14): the first request per board after a restart waited 0.3-4.8 s while a version compiled,
and concurrent first requests each compiled it, because the cache had no lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.authoring.versions import deploy
from engine.bootstrap import build_services
from engine.casework import services as services_module
from engine.casework.cases import start_case
from engine.casework.services import Services
from engine.clock import FrozenClock
from engine.workflow.specs import read_diagrams
from tests.drive import SUPERUSER, grant_everything
from tests.service.conftest import T0

ROOT = Path(__file__).resolve().parents[2]


class CountingCompiler:
    """Stands in front of the real compiler, counting calls; the first call can be held until released."""

    def __init__(self, hold_first: bool = False) -> None:
        self.calls = 0
        self.hold_first = hold_first
        self.first_entered = threading.Event()
        self.release = threading.Event()
        self.second_arrived = threading.Event()
        self.real = services_module.compile_processes

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == 1 and self.hold_first:
            self.first_entered.set()
            assert self.release.wait(30)
        elif self.calls > 1:
            self.second_arrived.set()
        return self.real(*args, **kwargs)


class SignallingLock:
    """A lock that says when a second thread has to wait for it."""

    def __init__(self, waiting: threading.Event) -> None:
        self._lock = threading.Lock()
        self.waiting = waiting

    def __enter__(self) -> SignallingLock:
        if not self._lock.acquire(blocking=False):
            self.waiting.set()
            self._lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


@pytest.fixture
def restarted(repository_services: Services, database_url: str) -> Iterator[Services]:
    """The demo procedures deployed and a case running, then a new process over the same database."""
    deploy(repository_services, read_diagrams([ROOT / "bpmn"]), by="tests")
    grant_everything(repository_services, "dorset", ["police"])
    start_case(repository_services, "dorset", SUPERUSER)
    services, engine = build_services(database_url, ROOT / "forms", FrozenClock(T0))
    try:
        yield services
    finally:
        engine.dispose()


def test_a_restarted_process_compiles_every_version_in_use_before_its_first_request(
        restarted: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    with restarted.uow() as uow:
        in_use = set(uow.versions.in_use())
    assert in_use, "the fixture publishes versions and runs a case"

    compiled = restarted.warm_up()

    assert compiled == len(in_use)
    assert set(restarted._compiled) >= in_use
    compiler = CountingCompiler()
    monkeypatch.setattr(services_module, "compile_processes", compiler)
    start_case(restarted, "dorset", SUPERUSER)
    assert compiler.calls == 0, "the first case after a restart waited for a compile"
    assert restarted.warm_up() == 0, "warming up twice compiles nothing more"


def test_two_first_requests_at_once_compile_a_version_only_once(
        restarted: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    compiler = CountingCompiler(hold_first=True)
    monkeypatch.setattr(services_module, "compile_processes", compiler)
    monkeypatch.setattr(restarted, "_compiling", SignallingLock(compiler.second_arrived), raising=False)
    with restarted.uow() as uow:
        version = uow.versions.list()[0]
    results: list[Any] = []
    first = threading.Thread(target=lambda: results.append(restarted.compiled(version)))
    second = threading.Thread(target=lambda: results.append(restarted.compiled(version)))

    first.start()
    assert compiler.first_entered.wait(30)
    second.start()
    assert compiler.second_arrived.wait(30), "the second request neither compiled nor waited"
    compiler.release.set()
    first.join(30)
    second.join(30)

    assert compiler.calls == 1
    assert len(results) == 2 and results[0] is results[1]
