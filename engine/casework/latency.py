"""How long engine steps take (a person's completion, a timer firing): one histogram, read by /metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Histogram

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# Its own registry, never the global default: tests build many apps in one process, each exposing this one.
REGISTRY = CollectorRegistry(auto_describe=True)
STEP_SECONDS = Histogram("scr_step_seconds", "Seconds an engine step took (completing a task, firing a timer)",
                         buckets=BUCKETS, registry=REGISTRY)


def observe(seconds: float) -> None:
    """Count one step that took `seconds`."""
    STEP_SECONDS.observe(max(seconds, 0.0))


@contextmanager
def timed() -> Iterator[None]:
    """Count the block as one step, however it ends (wall time: a step's latency, not the case's clock)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        observe(time.perf_counter() - started)
