"""Words for people on every page: agency names instead of codes, plurals, and dates in the
configured time zone with weekends and bank holidays named."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask

from engine.casework.calendar import not_working
from web.config import time_zone


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """'1 task', '2 tasks' (or the plural given)."""
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def _moment(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, datetime) else None


def day(value: Any) -> str:
    """A date as people read it ('25 Dec 2026'), on the calendar of the configured time zone."""
    moment = _moment(value)
    if moment is None:
        return str(value or "")
    local = moment.astimezone(time_zone()) if moment.tzinfo else moment
    return local.strftime("%d %b %Y")


def moment_words(value: Any) -> str:
    """A date and time as people read it ('25 Dec 2026 14:05'), the time left out at midnight (a date alone)."""
    moment = _moment(value)
    if moment is None:
        return str(value or "")
    local = moment.astimezone(time_zone()) if moment.tzinfo else moment
    return local.strftime("%d %b %Y") + ("" if (local.hour, local.minute) == (0, 0) else local.strftime(" %H:%M"))


def off_day(value: Any) -> str:
    """Why the date is not a working day ('Sunday', 'Christmas Day'), or ''."""
    moment = _moment(value)
    if moment is None:
        return ""
    return not_working((moment.astimezone(time_zone()) if moment.tzinfo else moment).date())


def init_app(app: Flask, agency_name: Callable[[str | None], str]) -> None:
    """Register the template filters `agency` (the catalogue's agency names), `counted`, `day` and `off_day`."""
    app.add_template_filter(agency_name, "agency")
    app.add_template_filter(counted, "counted")
    app.add_template_filter(day, "day")
    app.add_template_filter(moment_words, "moment")
    app.add_template_filter(off_day, "off_day")
