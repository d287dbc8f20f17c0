"""Working days for people's pages: whether a due date falls on a weekend or an England and Wales bank holiday."""

from __future__ import annotations

from datetime import date, datetime

from engine.workflow.deadlines import not_working as _not_working


def not_working(day: date | datetime | None) -> str:
    """'Saturday', 'Christmas Day', ... for a day that is not a working day; '' for a working day or none."""
    return (_not_working(day) or "") if day is not None else ""
