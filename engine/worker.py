"""The timer worker: fires due timers in a loop until told to stop."""

from __future__ import annotations

import logging
import threading

from engine.errors import Conflict, WorkflowFailed
from engine.services import Services, fire_due_timers

log = logging.getLogger(__name__)


def run_worker(services: Services, stop: threading.Event, poll_seconds: float = 1.0) -> None:
    """Sweep for due timers every `poll_seconds` (a due timer is picked up within two polls)."""
    while not stop.is_set():
        try:
            fired = fire_due_timers(services)
            if fired:
                log.info("fired timers on %d case(s)", fired)
                continue
        except Conflict:
            continue  # a person completed a task on that case at the same moment; sweep again
        except WorkflowFailed:
            log.exception("a case failed while firing its timers")
        stop.wait(poll_seconds)


def start_background_worker(services: Services, poll_seconds: float = 1.0) -> threading.Event:
    """Run the worker on a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run_worker, args=(services, stop, poll_seconds), name="timer-worker",
                     daemon=True).start()
    return stop
