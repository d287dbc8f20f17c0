"""Words for people on every page: agency names from the catalogue instead of codes, plurals, and dates in the
configured time zone with weekends and bank holidays named."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import Flask

from engine.casework.calendar import not_working
from web.config import time_zone


def agency_name(agencies: Mapping[str, Any], code: str | None) -> str:
    """The agency's name from forms/agencies.json (the code itself if the catalogue does not know it)."""
    if not code:
        return ""
    entry = agencies.get(code)
    return str(entry.get("name", code)) if isinstance(entry, Mapping) else code


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


def off_day(value: Any) -> str:
    """Why the date is not a working day ('Sunday', 'Christmas Day'), or ''."""
    moment = _moment(value)
    if moment is None:
        return ""
    return not_working((moment.astimezone(time_zone()) if moment.tzinfo else moment).date())


def init_app(app: Flask, agencies: Mapping[str, Any]) -> None:
    """Register the template filters `agency`, `counted`, `day` and `off_day`."""
    app.add_template_filter(lambda code: agency_name(agencies, code), "agency")
    app.add_template_filter(counted, "counted")
    app.add_template_filter(day, "day")
    app.add_template_filter(off_day, "off_day")
