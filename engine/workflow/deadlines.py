"""The statutory clock: calendar-month deadlines, week n of a timetable, days left."""

from __future__ import annotations

from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta

from engine.clock import utc


def add_months(start: datetime, months: int) -> datetime:
    """Calendar months, clamped to month end: 31 Jan 2024 + 1 month = 29 Feb 2024 (SpiffWorkflow says 2 March)."""
    return utc(start) + relativedelta(months=months)


def week_of(anchor: datetime, moment: datetime) -> int:
    """Timetable week of `moment` counted from week 0 at `anchor` (gap 29: week n ends n x 7 days after it)."""
    elapsed = utc(moment) - utc(anchor)
    if elapsed < timedelta(0):
        return 0
    whole, rest = divmod(elapsed, timedelta(weeks=1))
    return int(whole) + (1 if rest else 0)


def days_left(due: datetime, moment: datetime) -> int:
    """Whole days from `moment` until `due` (negative when overdue)."""
    return (utc(due) - utc(moment)) // timedelta(days=1)
