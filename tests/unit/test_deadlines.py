"""The statutory clock: calendar months, timetable weeks, days left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.workflow.deadlines import add_months, days_left, week_of

DECISION = datetime(2024, 1, 31, 9, 0, tzinfo=UTC)


def test_one_month_after_31_january_2024_is_29_february() -> None:
    assert add_months(DECISION, 1) == datetime(2024, 2, 29, 9, 0, tzinfo=UTC)


def test_six_months_after_the_decision_is_a_calendar_date_not_26_weeks() -> None:
    assert add_months(DECISION, 6) == datetime(2024, 7, 31, 9, 0, tzinfo=UTC)
    assert DECISION + timedelta(weeks=26) == datetime(2024, 7, 31, 9, 0, tzinfo=UTC)
    assert add_months(datetime(2024, 3, 1, tzinfo=UTC), 6) - (datetime(2024, 3, 1, tzinfo=UTC)
                                                               + timedelta(weeks=26)) == timedelta(days=2)


def test_week_n_ends_n_weeks_after_week_zero() -> None:
    assert week_of(DECISION, DECISION) == 0
    assert week_of(DECISION, DECISION + timedelta(minutes=1)) == 1
    assert week_of(DECISION, DECISION + timedelta(weeks=1)) == 1
    assert week_of(DECISION, DECISION + timedelta(weeks=25, days=6)) == 26
    assert week_of(DECISION, DECISION - timedelta(days=3)) == 0


def test_days_left_goes_negative_once_overdue() -> None:
    due = DECISION + timedelta(days=10)
    assert days_left(due, DECISION) == 10
    assert days_left(due, due + timedelta(days=2)) == -2
