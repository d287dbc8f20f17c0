"""When a step is due: the one computation behind every date a person sees of it.

The inbox, the task page, the case page's "Waiting to be done", the timeline and the mail all show the due date
this module computes from the diagram's properties of the step (`due`, `week`, `clock`, `workingDay`) and the
case data; the runtime stores it on the task row when the step becomes ready, and the timeline computes it the
same way for steps not reached yet. Nothing here names a step, a week or a board.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine import clock as clocks
from engine.errors import ExpressionError
from engine.workflow import expressions
from engine.workflow.deadlines import next_working_day, not_working, week_of

NEXT_WORKING_DAY = "next"


@dataclass(frozen=True)
class Due:
    """A step's due date, the timetable week it falls in, and the date that week counts from."""

    at: datetime | None
    week: int | None
    anchor: datetime | None = None
    moved_from: datetime | None = None  # the date the diagram gave, when it fell on a non-working day


def as_date(value: Any) -> datetime | None:
    """An ISO date or date-time from the case data as an aware instant (None when it is not one)."""
    try:
        return expressions.to_datetime(value)
    except ExpressionError:
        return None


def evaluate(source: str | None, data: Mapping[str, Any], now: datetime) -> Any:
    """A diagram expression over the case data at `now` (None when it cannot be evaluated yet)."""
    if not source:
        return None
    try:
        with clocks.using(clocks.FrozenClock(now)):
            return expressions.evaluate(source, dict(data))
    except ExpressionError:
        return None


def week_number(source: str | None, data: Mapping[str, Any], now: datetime) -> int | None:
    """A `week` property as a number: a literal, or an expression over the case data."""
    if not source:
        return None
    if source.lstrip("-").isdigit():
        return int(source)
    value = evaluate(source, data, now)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def delay_weeks(props: Mapping[str, str], data: Mapping[str, Any]) -> float:
    """How many weeks the step's timetable has been put back: its `clockDelay` variable (0 when unset)."""
    value = data.get(props["clockDelay"]) if props.get("clockDelay") else None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return 0
    return value


def due_of(props: Mapping[str, str], data: Mapping[str, Any], now: datetime,
           timers: Iterable[datetime] = ()) -> Due:
    """When a step is due and which week of its timetable that is.

    The date is the step's `due` expression; else the earliest timer attached to it (a statutory deadline such
    as 8.2's month); else `week` weeks after its `clock` date, put back by the weeks its `clockDelay` variable
    holds (a revised timetable; the week stays the step's own week of it). With `workingDay` = "next", a date
    on a weekend or an England and Wales bank holiday moves to the next working day. The week is the one the
    date falls in, counted from the `clock` date (before any move), so week and date never disagree; without a
    date it is the `week` property itself.
    """
    anchor = as_date(data.get(props["clock"])) if props.get("clock") else None
    if anchor is not None:
        anchor += timedelta(weeks=delay_weeks(props, data))
    week = week_number(props.get("week"), data, now)
    at = as_date(evaluate(props.get("due"), data, now)) if props.get("due") else None
    if at is None:
        at = min(timers, default=None)
    if at is None and anchor is not None and week is not None:
        at = anchor + timedelta(weeks=week)
    if at is not None and anchor is not None:
        week = week_of(anchor, at)
    moved_from = None
    if at is not None and props.get("workingDay") == NEXT_WORKING_DAY and not_working(at):
        moved_from, at = at, next_working_day(at)
    return Due(at, week, anchor, moved_from)
