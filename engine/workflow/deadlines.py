"""The statutory clock: calendar-month deadlines, week n of a timetable, days left, and working days."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import holidays
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


# England and Wales share their bank holidays (Wales has no others); Scotland's and Northern Ireland's do not apply.
_BANK_HOLIDAYS = holidays.country_holidays("GB", subdiv="ENG")


def not_working(day: date | datetime) -> str | None:
    """Why a day is not a working day in England and Wales ('Saturday', 'Christmas Day', ...), or None."""
    plain = utc(day).date() if isinstance(day, datetime) else day
    name = _BANK_HOLIDAYS.get(plain)
    if name:
        return str(name)
    return plain.strftime("%A") if plain.weekday() >= 5 else None


def next_working_day(moment: datetime) -> datetime:
    """`moment` itself on a working day, else the same time on the next working day (weekends, bank holidays)."""
    moved = utc(moment)
    while not_working(moved):
        moved += timedelta(days=1)
    return moved


MAX_WORKING_DAYS = 5000  # about twenty years: enough for any statutory count, small enough to count day by day


def add_working_days(moment: datetime, days: int) -> datetime:
    """The `days`-th working day after `moment`, at the same time; 0 days gives `moment` itself on a working day,
    else the next working day (a deadline never falls on a weekend or an England and Wales bank holiday)."""
    if days < 0 or days > MAX_WORKING_DAYS:
        raise ValueError(f"working days must be from 0 to {MAX_WORKING_DAYS}, got {days}")
    moved = utc(moment)
    if days == 0:
        return next_working_day(moved)
    counted = 0
    while counted < days:
        moved += timedelta(days=1)
        if not not_working(moved):
            counted += 1
    return moved
