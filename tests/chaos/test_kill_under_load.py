"""RELIABILITY T-K1 and T-K2, short: the served app killed with SIGKILL under load loses, duplicates and corrupts
nothing; and the same harness fails when a step is written in two transactions (the negative control).

The full run (N = 300, K = 20, both databases) is scripts/chaos; docs/chaos.md has its last figures.
"""

from __future__ import annotations

from pathlib import Path

from tests.chaos.run import kill_run

CASES, KILLS = 120, 5  # enough work that every kill lands while the load is still completing tasks (50 cases
# were done before the fifth kill on a quiet machine)
LOAD_SECONDS = 150.0


def test_the_app_killed_five_times_under_load_completes_every_task_exactly_once(kind: str, tmp_path: Path) -> None:
    outcome = kill_run(kind, CASES, KILLS, tmp_path, load_seconds=LOAD_SECONDS)
    report = "\n".join(outcome.lines())
    assert outcome.kills == KILLS, report  # each kill cut into the load, none after it had finished
    assert outcome.load_exit == 0, report
    assert outcome.figures.failed == {}, report
    assert outcome.figures.completions == 2 * CASES, report  # two tasks a case, each completed once
    assert outcome.figures.acknowledged == 2 * CASES, report  # and each acknowledged to exactly one person


def test_the_reconciler_fails_a_server_that_writes_a_step_in_two_transactions(kind: str, tmp_path: Path) -> None:
    # Random kills land in the gap between the two transactions only now and then (about one kill in five);
    # a worker ending itself in that gap on every sixth completion makes the damage certain, so this control
    # cannot pass by luck. scripts/chaos --hooks bug:split_tx --expect-failure is the random-kills-only version.
    outcome = kill_run(kind, 20, 2, tmp_path, hooks="bug:split_tx,crash:after_state_write@6",
                       load_seconds=LOAD_SECONDS)
    report = "\n".join(outcome.lines())
    assert outcome.figures.missing > 0, report  # the workflow moved on without the task's submission and audit
    assert outcome.figures.engine_state_inconsistent > 0, report
    assert outcome.figures.stuck > 0, report  # and the people were left with a task nobody can complete
