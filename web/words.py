"""Words for people on every page: agency names from the catalogue instead of codes, and plurals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask


def agency_name(agencies: Mapping[str, Any], code: str | None) -> str:
    """The agency's name from forms/agencies.json (the code itself if the catalogue does not know it)."""
    if not code:
        return ""
    entry = agencies.get(code)
    return str(entry.get("name", code)) if isinstance(entry, Mapping) else code


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """'1 task', '2 tasks' (or the plural given)."""
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def init_app(app: Flask, agencies: Mapping[str, Any]) -> None:
    """Register the template filters `agency` and `counted`."""
    app.add_template_filter(lambda code: agency_name(agencies, code), "agency")
    app.add_template_filter(counted, "counted")
