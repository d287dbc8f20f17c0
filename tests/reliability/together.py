"""Competitors lined up to start at the same instant (tests/service/racing.py's barrier), each outcome kept."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from engine.casework.services import Services
from tests.service.racing import AtOnce


def at_once(services: Services, attempts: list[Callable[[], Any]]) -> list[Any]:
    """Run the attempts on threads lined up to start together; each outcome is its result or its exception."""
    real, outcomes = services.uow, [None] * len(attempts)
    services.uow = AtOnce(services, len(attempts))

    def run(index: int) -> None:
        try:
            outcomes[index] = attempts[index]()
        except Exception as exc:  # asserted by the caller
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(attempts))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        services.uow = real
    assert not any(t.is_alive() for t in threads), "a competitor never finished"
    return outcomes
