"""Test-only fault hooks (docs/chaos.md): crash points and one planted bug, read once from SCR_TEST_HOOKS.

`SCR_TEST_HOOKS=crash:before_commit` ends the process at that point as `kill -9` would (exit 137, nothing
flushed, no rollback sent); `crash:before_commit@5` only the fifth time this process gets there. `bug:split_tx`
writes a step's state and its records in two transactions: the negative control a crash harness must catch.
Several hooks are separated by commas. Without the variable each hook costs one look-up in an empty mapping.
Production refuses to start with it set (web.config.production_refusals).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

CRASH_EXIT = 137  # what a shell reports for a process killed by SIGKILL
POINTS = ("after_load", "after_step", "after_state_write", "before_commit", "after_commit")
BUGS = ("split_tx",)


def parse(value: str) -> tuple[Mapping[str, int], frozenset[str]]:
    """The crash points `value` names, each with the arrival that crashes (1: the first), and the bugs it names.

    ValueError naming an unknown hook: a typo must not pass quietly as a run without faults.
    """
    crashes: dict[str, int] = {}
    bugs: set[str] = set()
    for item in filter(None, (part.strip() for part in value.split(","))):
        kind, _, name = item.partition(":")
        point, _, nth = name.partition("@")
        if kind == "crash" and point in POINTS and (not nth or nth.isdigit() and int(nth) > 0):
            crashes[point] = int(nth or 1)
        elif kind == "bug" and name in BUGS:
            bugs.add(name)
        else:
            raise ValueError(f"SCR_TEST_HOOKS: {item!r} is not a hook; use crash:<{'|'.join(POINTS)}>[@n] or "
                             f"bug:<{'|'.join(BUGS)}>")
    return crashes, frozenset(bugs)


_CRASHES, _BUGS = parse(os.environ.get("SCR_TEST_HOOKS", ""))
_ARRIVALS: dict[str, int] = {}


def crash_point(name: str, when: bool = True) -> None:
    """End the process here, at once and without cleanup, when SCR_TEST_HOOKS names crash:<name> (and `when`)."""
    if name in _CRASHES and when:
        _ARRIVALS[name] = arrivals = _ARRIVALS.get(name, 0) + 1
        if arrivals >= _CRASHES[name]:
            os._exit(CRASH_EXIT)


def split_transaction(commit: Callable[[], None]) -> None:
    """bug:split_tx only: commit what the step wrote so far, so the rest goes into a second transaction."""
    if "split_tx" in _BUGS:
        commit()
