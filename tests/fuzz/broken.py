"""The served app with one planted fault (SCR_FUZZ_FAULT), for the fuzz harness's negative controls only.

gunicorn serves `tests.fuzz.broken:app` as it serves `web.wsgi:app`, so the harness must catch the fault through
a real server:
- `crash`: GET /api/inbox answers 500, and GET /api/cases an HTML page (not_a_server_error, content type);
- `idor`: a task read skips the access check, so one IMR author reads the other's task (object-level
  authorisation).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from engine.casework import queries
from engine.errors import NotFound
from tests.drive import SUPERUSER

FAULT = os.environ.get("SCR_FUZZ_FAULT", "")
if FAULT not in ("crash", "idor"):
    raise SystemExit(f"SCR_FUZZ_FAULT={FAULT!r}: say crash or idor")

if FAULT == "idor":
    _checked = queries.task_view

    def _unchecked(services: Any, task_id: str, username: str, people: bool = True) -> Any:
        """Whoever asks is shown the task, as if they held it."""
        try:
            return _checked(services, task_id, username, people)
        except NotFound:
            return _checked(services, task_id, SUPERUSER, people)

    queries.task_view = _unchecked

from web.wsgi import app as served  # noqa: E402  (after the planted fault, which the routes then call)

Start = Callable[[str, list[tuple[str, str]]], Any]


def app(environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
    """The real app, except where the `crash` fault answers in its place."""
    if FAULT == "crash" and environ.get("REQUEST_METHOD") == "GET":
        if environ.get("PATH_INFO") == "/api/inbox":
            start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "application/json")])
            return [b'{"error": "planted"}']
        if environ.get("PATH_INFO") == "/api/cases":
            start_response("200 OK", [("Content-Type", "text/html")])
            return [b"<p>planted</p>"]
    return served(environ, start_response)
