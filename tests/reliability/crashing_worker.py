"""One round of the timer worker in its own process (fire due timers, queue mail, deliver it to a ledger file), which
dies with os._exit(137) at a chosen point: after firing the n-th timer but before its batch's commit (`timer:n`; two
cases per batch, so `timer:3` dies after one batch committed), or after
handing the n-th message to the transport but before recording it sent (`mail:n`). Run by test_timer_crash.py:

    python -m tests.reliability.crashing_worker DATABASE_URL FORMS_DIR NOW LEDGER [timer:n|mail:n|none]
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.bootstrap import build_services
from engine.casework import timers
from engine.casework.mail import deliver_mail, queue_mail
from engine.casework.mailer import compose
from engine.clock import FrozenClock
from engine.ports import MailRow

CRASHED = 137


class Ledger:
    """The consumer's side: each message received, by its Message-ID, one line each (append, line-buffered)."""

    def __init__(self, path: Path, crash_at: int) -> None:
        self.path, self.crash_at, self.sent = path, crash_at, 0

    def send(self, mail: MailRow) -> None:
        """Receive one message; die after the crash_at-th, before the worker records it sent."""
        with self.path.open("a", buffering=1) as ledger:
            ledger.write(f"{compose(mail, 'worker@example.org')['Message-ID']}\n")
        self.sent += 1
        if self.sent == self.crash_at:
            os._exit(CRASHED)


def dying_after(n: int, original: Any) -> Any:
    """`timer_fired`, dying once it has recorded the n-th firing (its transaction not yet committed)."""
    calls = [0]

    def fired(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        calls[0] += 1
        if calls[0] == n:
            os._exit(CRASHED)
        return result

    return fired


def main(url: str, forms_dir: str, now: str, ledger: str, crash: str) -> None:
    """One round, crashing where told."""
    point, _, count = crash.partition(":")
    services, engine = build_services(url, Path(forms_dir), FrozenClock(datetime.fromisoformat(now)), migrate=False)
    if point == "timer":
        timers.timer_fired = dying_after(int(count), timers.timer_fired)  # type: ignore[attr-defined]
    try:
        timers.fire_due_timers(services, batch=2)  # batches of two: the third firing dies in the second batch
        queue_mail(services)
        deliver_mail(services, Ledger(Path(ledger), int(count) if point == "mail" else 0))
    finally:
        engine.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:6])
