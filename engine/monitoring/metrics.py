"""Operations: the Prometheus metrics read from the store at scrape time, and the health verdict.

Labels are board, state and role at most: a metric never carries a case reference, a name or a user name.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from engine.casework import latency
from engine.casework.services import Services

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# Seconds between a timer falling due and the worker firing it: one poll (a second) when all is well.
LAG_BUCKETS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0)


class OperationsCollector(Collector):
    """Cases, ready and overdue tasks, timer lag and the workers' last sweep, counted when Prometheus scrapes."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        """Read the counts in one transaction and yield them as metric families."""
        now = self.services.clock.now()
        with self.services.uow() as uow:
            cases = uow.operations.cases_by_state()
            tasks = uow.operations.ready_tasks(now)
            within, lag_sum, lag_count = uow.operations.timer_lag(LAG_BUCKETS)
            last = uow.operations.last_sweep()
        by_state = GaugeMetricFamily("scr_cases", "Cases by board and state (open, suspended, terminated, "
                                     "completed; errored when a step failed)", labels=["board", "state"])
        for (board, state), count in sorted(cases.items()):
            by_state.add_metric([board, state], count)
        yield by_state
        ready = GaugeMetricFamily("scr_tasks_ready", "Tasks waiting for someone, by board", labels=["board"])
        overdue = GaugeMetricFamily("scr_tasks_overdue", "Waiting tasks past their due date, by board",
                                    labels=["board"])
        for board, (waiting, late) in sorted(tasks.items()):
            ready.add_metric([board], waiting)
            overdue.add_metric([board], late)
        yield ready
        yield overdue
        buckets = [(_le(bound), float(n)) for bound, n in zip(LAG_BUCKETS, within, strict=True)]
        yield HistogramMetricFamily("scr_timer_lag_seconds", "Seconds between a timer falling due and firing",
                                    buckets=[*buckets, ("+Inf", float(lag_count))], sum_value=lag_sum)
        if last is not None:
            yield GaugeMetricFamily("scr_worker_last_sweep_seconds", "Seconds since a timer worker last swept",
                                    value=max(seconds_since(last, now), 0.0))


def _le(bound: float) -> str:
    """A bucket's upper bound as Prometheus writes it."""
    return "+Inf" if math.isinf(bound) else repr(float(bound))


def seconds_since(then: datetime, now: datetime) -> float:
    """Seconds from `then` to `now`."""
    return (now - then).total_seconds()


def registry_for(services: Services) -> CollectorRegistry:
    """A registry for one app: its operations counts and the process's step latencies (never the global one)."""
    registry = CollectorRegistry(auto_describe=False)  # nothing is read from the store until a scrape
    registry.register(OperationsCollector(services))
    registry.register(latency.REGISTRY)  # a registry collects like any collector
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry's metrics in the Prometheus text format (CONTENT_TYPE)."""
    return generate_latest(registry)


@dataclass(frozen=True)
class Health:
    """Whether this installation can serve: the database answers and a timer worker swept lately."""

    database: str  # "ok" or why not
    worker: str  # "ok" or why not
    last_sweep_seconds: float | None

    @property
    def ok(self) -> bool:
        """Both parts are well."""
        return self.database == "ok" and self.worker == "ok"

    def as_dict(self) -> dict[str, object]:
        """The answer /health gives."""
        return {"status": "ok" if self.ok else "down", "database": self.database, "worker": self.worker,
                "last_sweep_seconds": self.last_sweep_seconds}


def health(services: Services, stale_after_seconds: float) -> Health:
    """Ping the database and read when a worker last swept; down unless one did within `stale_after_seconds`."""
    now = services.clock.now()
    try:
        with services.uow() as uow:
            uow.operations.ping()
            last = uow.operations.last_sweep()
    except Exception as exc:  # any failure to reach the store is the answer, not an error of the check
        log.warning("the database did not answer the health check: %s", exc)
        return Health(f"unreachable ({type(exc).__name__})", "unknown: the database did not answer", None)
    if last is None:
        return Health("ok", "no timer worker has swept yet", None)
    ago = round(max(seconds_since(last, now), 0.0), 3)
    if ago > stale_after_seconds:
        return Health("ok", f"no timer worker has swept for {ago:.0f} s (limit {stale_after_seconds:g} s)", ago)
    return Health("ok", "ok", ago)
