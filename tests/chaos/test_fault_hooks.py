"""The fault hooks: named in SCR_TEST_HOOKS or not there at all, and never in production."""

from __future__ import annotations

import pytest

from engine import faults
from web.config import production_refusals


def test_hooks_name_crash_points_with_the_arrival_that_crashes_and_planted_bugs() -> None:
    crashes, bugs = faults.parse("crash:before_commit, crash:after_state_write@6,bug:split_tx")
    assert crashes == {"before_commit": 1, "after_state_write": 6}
    assert bugs == {"split_tx"}


@pytest.mark.parametrize("typo", ["crash:before_comit", "crash:before_commit@0", "bug:split", "split_tx"])
def test_a_misspelt_hook_stops_the_process_instead_of_running_without_faults(typo: str) -> None:
    with pytest.raises(ValueError, match="is not a hook"):
        faults.parse(typo)


def test_without_the_variable_the_hooks_do_nothing() -> None:
    commits: list[bool] = []
    faults.crash_point("before_commit")  # still here
    faults.split_transaction(lambda: commits.append(True))
    assert commits == []


def test_production_refuses_to_start_with_a_crash_hook_set() -> None:
    refusals = production_refusals({"SCR_ENV": "production", "SCR_TEST_HOOKS": "crash:before_commit"})
    assert any("Test hooks are on" in line for line in refusals)
