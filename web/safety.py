"""Guards on what a request may carry and what an answer says: same-site redirects, body sizes, strict JSON,
ids the database can hold, field problems capped, and a server that does not name its software."""

from __future__ import annotations

import json
import logging
import math
import re
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType
from werkzeug.routing import IntegerConverter, UnicodeConverter
from werkzeug.serving import WSGIRequestHandler

MAX_ID = 2**31 - 1  # ids are INTEGER columns: anything larger names nothing (and must not reach the database)
MAX_JSON_DEPTH = 64
MAX_ERRORS = 50  # field problems one refusal lists; the rest are counted
MAX_FIELD_NAME = 120  # characters of a field's name repeated in a refusal
SERVER_NAME = "scr"  # what the Server header says: no software, no versions
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
log = logging.getLogger(__name__)


def same_site(target: str | None) -> str | None:
    """The target if it is a path on this site (to follow after sign-in or a form), else None."""
    target = (target or "").strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in target):
        return None  # tabs, new lines and invisible characters that browsers drop, turning "/\t/x" into "//x"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: a non-negative number no larger than the database's ids (else: no such page).
    Longer numbers do not match at all, so no route (of any method) claims them: 404, never 405."""

    regex = rf"[0-9]{{1,{len(str(MAX_ID))}}}"

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, MAX_ID if max is None or max > MAX_ID else max, signed)


class TextConverter(UnicodeConverter):
    """A path segment (`<name>` in every route) without NUL, which PostgreSQL text cannot hold: a URL with %00 in an
    id names nothing (404), never a database error (500)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]", 1)


class InvalidJSON(ValueError):
    """A body that is not JSON this app accepts; the message says where."""


def _refuse_constant(name: str) -> Any:
    raise InvalidJSON(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJSON(f"the number {text[:40]} is too large")
    return value


def parse_json(data: str | bytes) -> Any:
    """JSON as the standard says (no NaN or Infinity), nested at most MAX_JSON_DEPTH deep, all text UTF-8."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise InvalidJSON(f"it is not UTF-8 text (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except InvalidJSON:
        raise
    except RecursionError:
        raise InvalidJSON(f"it is nested more than {MAX_JSON_DEPTH} deep") from None
    except json.JSONDecodeError as exc:
        raise InvalidJSON(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # an integer of thousands of digits
        raise InvalidJSON(str(exc).split(";")[0]) from None
    _check(value, bool(_SURROGATE_ESCAPE.search(text)) or "\\u0000" in text)
    return value


def _check(value: Any, surrogates: bool) -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH and (when escapes suggest it) text that is not UTF-8 or holds NUL,
    which PostgreSQL text cannot (a lookup of it failed with a 500)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise InvalidJSON(f"it is nested more than {MAX_JSON_DEPTH} deep")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif surrogates and isinstance(item, str):
            if "\x00" in item:
                raise InvalidJSON("it holds a NUL character (\\u0000), which no text here may")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidJSON("it holds text that is not UTF-8 (a lone surrogate such as \\ud800)") from None


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading bodies with parse_json (request.get_json anywhere refuses what parse_json refuses)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse strictly."""
        return parse_json(s)


def json_body() -> Any:
    """The request's JSON body (None when there is none); 400 saying where it is not valid JSON."""
    data = request.get_data(cache=True)
    if not data.strip():
        return None
    if not request.is_json:  # RELIABILITY T-S3: a body labelled as something else is not read as JSON
        raise UnsupportedMediaType("Send the body as JSON with the header Content-Type: application/json.")
    try:
        return parse_json(data)
    except InvalidJSON as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}") from None


def limit_requests(app: Flask) -> None:
    """Hold a body to MAX_BODY_LENGTH (or its page's BODY_LENGTH_BY_ENDPOINT), and a multipart upload to
    MAX_CONTENT_LENGTH with its text fields to MAX_BODY_LENGTH; checked before anything reads the body, so
    register it before CSRF protection (which reads the form)."""

    @app.before_request
    def limit_body() -> None:
        small = int(app.config["MAX_BODY_LENGTH"])
        multipart = request.mimetype == "multipart/form-data"
        larger = app.config.get("BODY_LENGTH_BY_ENDPOINT", {}).get(request.endpoint)
        limit = int(app.config["MAX_CONTENT_LENGTH"]) if multipart else int(larger or small)
        request.max_content_length = limit
        request.max_form_memory_size = small if multipart else limit
        if request.content_length is not None and request.content_length > limit:
            raise RequestEntityTooLarge()
        if multipart and sum(len(value) for values in request.form.listvalues() for value in values) > small:
            raise RequestEntityTooLarge()


def too_large_message() -> str:
    """What a 413 says: which limit this request went over."""
    limit, what = request.max_content_length or 0, "a form or JSON body"
    if request.mimetype == "multipart/form-data":
        length = request.content_length
        if length is not None and length <= limit:  # the file fitted: its text fields did not
            limit, what = int(current_app.config["MAX_BODY_LENGTH"]), "the text of a form"
        else:
            what = "an upload"
    return (f"This request is larger than {_size(limit)}, the most {what} may carry here, so nothing was read "
            "or saved. Send less (for a long text, attach it as a file where the page offers that).")


def _size(count: int) -> str:
    return f"{count / 2**20:.3g} MB" if count >= 2**20 else f"{count // 1024} KB"


def capped(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most MAX_ERRORS field problems, with long field names cut short, then a count of the rest."""
    shown = [{**p, "field": _short(p.get("field"))} for p in problems[:MAX_ERRORS]]
    if len(problems) > MAX_ERRORS:
        shown.append({"field": None, "message": f"and {len(problems) - MAX_ERRORS} more problems not listed"})
    return shown


def _short(field: Any) -> Any:
    if isinstance(field, str) and len(field) > MAX_FIELD_NAME:
        return field[:MAX_FIELD_NAME] + "…"
    return field


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's development server without its Server header (naming Werkzeug and Python versions): the app
    sets a neutral one on each answer, and the server's own refusals go without."""

    def version_string(self) -> str:
        """A neutral name."""
        return SERVER_NAME

    def send_response(self, code: int, message: str | None = None) -> None:
        """The status line and Date, never Server (the app says it)."""
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())


def or_false(check: Callable[[], bool]) -> bool:
    """A menu or link check that fails (the database down, a broken rule) hides the link: an error page still renders.

    Fail-secure (RELIABILITY T-Z4): the page it sits on has done its own access checks already; this only decides
    whether to show a link, so a failure shows less, never more.
    """
    try:
        return check()
    except Exception:  # noqa: BLE001 - any failure: show no link; the request's own error is reported elsewhere
        log.warning("a menu check failed; its link is hidden", exc_info=True)
        return False
