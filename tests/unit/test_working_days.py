"""Working days: weekends and England and Wales bank holidays are named, and a diagram may move a date past them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from engine.errors import ExpressionError
from engine.workflow import expressions
from engine.workflow.dates import due_of
from engine.workflow.deadlines import add_working_days, next_working_day, not_working


def test_weekends_and_bank_holidays_are_named_and_other_days_are_working_days() -> None:
    assert not_working(date(2026, 12, 25)) == "Christmas Day"
    assert not_working(date(2026, 12, 26)) == "Boxing Day" and not_working(date(2026, 12, 27)) == "Sunday"
    assert "Boxing Day" in (not_working(date(2026, 12, 28)) or "")  # observed on the Monday
    assert not_working(date(2027, 5, 31)) == "Spring Bank Holiday"
    assert not_working(date(2026, 12, 29)) is None


def test_the_next_working_day_skips_christmas_the_weekend_and_boxing_day() -> None:
    assert next_working_day(datetime(2026, 12, 25, tzinfo=UTC)) == datetime(2026, 12, 29, tzinfo=UTC)
    assert next_working_day(datetime(2026, 12, 24, 9, tzinfo=UTC)) == datetime(2026, 12, 24, 9, tzinfo=UTC)
    assert expressions.evaluate('next_working_day("2026-12-25")', {}) == "2026-12-29T00:00:00+00:00"


def test_a_step_may_ask_for_the_next_working_day_and_keeps_the_week_its_plan_gave() -> None:
    props = {"week": "3", "clock": "received", "workingDay": "next"}
    due = due_of(props, {"received": "2026-12-07"}, datetime(2026, 12, 7, tzinfo=UTC))
    assert (due.at, due.week, due.moved_from) == (datetime(2026, 12, 29, tzinfo=UTC), 3,
                                                  datetime(2026, 12, 28, tzinfo=UTC))
    plain = due_of({"week": "3", "clock": "received"}, {"received": "2026-12-07"}, datetime(2026, 12, 7, tzinfo=UTC))
    assert plain.at == datetime(2026, 12, 28, tzinfo=UTC) and not_working(plain.at)  # shown flagged, not moved


def test_a_due_expression_wins_over_an_attached_timer_which_wins_over_the_week() -> None:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    timer = datetime(2027, 1, 7, tzinfo=UTC)
    data = {"received": "2026-12-07"}
    assert due_of({"due": "add_days(received, 2)", "week": "4", "clock": "received"}, data, now, [timer]).at == \
        datetime(2026, 12, 9, tzinfo=UTC)
    decided = due_of({"week": "4", "clock": "received"}, data, now, [timer])
    assert (decided.at, decided.week) == (timer, 5)  # the week its date falls in, not the property's 4
    assert due_of({"week": "4", "clock": "received"}, data, now).at == datetime(2027, 1, 4, tzinfo=UTC)


def test_five_working_days_from_the_monday_before_christmas_skip_christmas_the_weekend_and_boxing_day() -> None:
    assert expressions.evaluate('add_working_days("2026-12-21", 5)', {}) == "2026-12-30T00:00:00+00:00"
    assert add_working_days(datetime(2026, 12, 24, 10, 30, tzinfo=UTC), 1) == datetime(2026, 12, 29, 10, 30, tzinfo=UTC)


def test_fifteen_working_days_from_the_monday_before_christmas_also_skip_new_years_day() -> None:
    assert expressions.evaluate('add_working_days("2026-12-21", 15)', {}) == "2027-01-14T00:00:00+00:00"
    assert expressions.evaluate("add_working_days(notified, 15)", {"notified": "2026-12-23"}) == \
        "2027-01-18T00:00:00+00:00"


def test_working_days_skip_good_friday_and_easter_monday() -> None:
    assert expressions.evaluate('add_working_days("2027-03-25", 1)', {}) == "2027-03-30T00:00:00+00:00"
    assert expressions.evaluate('add_working_days("2027-03-24", 3)', {}) == "2027-03-31T00:00:00+00:00"


def test_working_days_skip_an_ordinary_weekend() -> None:
    assert expressions.evaluate('add_working_days("2027-02-05", 1)', {}) == "2027-02-08T00:00:00+00:00"
    assert expressions.evaluate('add_working_days("2027-02-06", 1)', {}) == "2027-02-08T00:00:00+00:00"
    assert expressions.evaluate('add_working_days("2027-02-01", 5)', {}) == "2027-02-08T00:00:00+00:00"


def test_zero_working_days_is_the_day_itself_on_a_working_day_and_the_next_working_day_on_a_holiday() -> None:
    assert expressions.evaluate('add_working_days("2027-02-03", 0)', {}) == "2027-02-03T00:00:00+00:00"
    assert expressions.evaluate('add_working_days("2026-12-25", 0)', {}) == "2026-12-29T00:00:00+00:00"
    assert expressions.evaluate('add_working_days("2027-02-06", 0)', {}) == "2027-02-08T00:00:00+00:00"


@pytest.mark.parametrize(("source", "message"), [
    ('add_working_days("2026-12-21", -1)', "needs a whole number of working days, 0 or more (got -1)"),
    ('add_working_days("2026-12-21", 1.5)', "needs a whole number of working days, 0 or more (got 1.5)"),
    ('add_working_days("2026-12-21", "5")', "number"),
    ('add_working_days("2026-12-21", True)', "number"),
    ('add_working_days("2026-12-21", 100000)', "counts at most 5000 working days"),
    ('add_working_days("next week", 5)', "next week"),
])
def test_a_count_of_working_days_that_is_not_a_whole_number_from_0_is_refused_with_the_reason(
        source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        expressions.evaluate(source, {})


def test_a_whole_float_counts_like_the_whole_number() -> None:
    assert expressions.evaluate('add_working_days("2026-12-21", 5.0)', {}) == "2026-12-30T00:00:00+00:00"
