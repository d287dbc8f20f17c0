"""The timer worker: fires due timers (and, given a mailer, queues and delivers mail) in a loop until told to stop."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

from engine.casework.mail import Mailer
from engine.casework.readahead import Readahead
from engine.casework.services import Services
from engine.casework.timers import fire_due_timers
from engine.errors import Conflict, WorkflowFailed

log = logging.getLogger(__name__)


def run_worker(services: Services, stop: threading.Event, poll_seconds: float = 1.0,
               swept: Callable[[int], None] | None = None, mailer: Mailer | None = None,
               jobs: Callable[[Services], int] | None = None, name: str | None = None) -> None:
    """Fire due timers every `poll_seconds` (within one poll of falling due; firings due soon are prepared ahead
    while nothing is due), then post mail and run queued
    background jobs (`jobs`, e.g. migrations of running cases, given by the composition root), then record a
    heartbeat under `name` (host and process id unless given); `swept` hears each sweep."""
    name = name or worker_name()
    prepared = Readahead()
    while not stop.is_set():
        try:
            fired = fire_due_timers(services, prepared=prepared)
            _post_mail(services, mailer)
            _run_jobs(services, jobs)
            _beat(services, name, fired)
            if swept is not None:
                swept(fired)
            if fired:
                log.info("fired timers on %d case(s)", fired)
                continue
            if _prepare(services, prepared, stop):
                continue  # something may have fallen due while preparing
        except Conflict:
            continue  # a person completed a task on that case at the same moment; sweep again
        except WorkflowFailed:
            log.exception("a case failed while firing its timers")
        stop.wait(poll_seconds)


def worker_name() -> str:
    """This process's name in the heartbeats: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _beat(services: Services, name: str, fired: int) -> None:
    """Record that this worker finished a sweep (one short transaction); a failure is logged, never raised."""
    try:
        with services.uow() as uow:
            uow.operations.beat(name, services.clock.now(), fired)
            uow.commit()
    except Exception:
        log.exception("the worker's heartbeat could not be written this round")


def _prepare(services: Services, prepared: Readahead, stop: threading.Event) -> int:
    """Prepare the firings of timers due soon (engine.casework.readahead); a failure is logged, never raised."""
    try:
        return prepared.prepare(services, stop.is_set)
    except Exception:
        log.exception("timers due soon could not be prepared this round (they fire all the same)")
        return 0


def _post_mail(services: Services, mailer: Mailer | None) -> None:
    """Queue and deliver mail; a failure is logged and never stops the timers."""
    if mailer is None:
        return
    try:
        mailer.run(services)
    except Exception:
        log.exception("mail could not be queued or delivered this round")


def _run_jobs(services: Services, jobs: Callable[[Services], int] | None) -> None:
    """Run queued background jobs; a failure is logged and never stops the timers."""
    if jobs is None:
        return
    try:
        jobs(services)
    except Exception:
        log.exception("queued jobs could not be run this round")


class Running(threading.Event):
    """A background worker: set it to stop the worker after its round; `stop()` also waits for that round to end,
    so nothing it holds (a database connection) outlives whoever stopped it."""

    thread: threading.Thread | None = None

    def stop(self, timeout: float = 30) -> None:
        """Stop the worker and wait for it."""
        self.set()
        if self.thread is not None:
            self.thread.join(timeout)


def start_background_worker(services: Services, poll_seconds: float = 1.0,
                            swept: Callable[[int], None] | None = None,
                            mailer: Mailer | None = None,
                            jobs: Callable[[Services], int] | None = None,
                            name: str | None = None) -> Running:
    """Run the worker on a daemon thread; set the returned event to stop it (or call its `stop()` to wait too)."""
    stop = Running()
    stop.thread = threading.Thread(target=run_worker, args=(services, stop, poll_seconds, swept, mailer, jobs, name),
                                   name="timer-worker", daemon=True)
    stop.thread.start()
    return stop
