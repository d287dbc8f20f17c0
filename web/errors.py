"""Engine errors mapped to HTTP in one place, answered as HTML or JSON as the client asks."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from engine.errors import (
    AnonymisationFailed,
    Conflict,
    ConversionFailed,
    EngineError,
    InvalidDiagram,
    InvalidOutline,
    InvalidSubmission,
    NotFound,
    NotPermitted,
    WorkflowFailed,
)
from web import safety

STATUS: dict[type[EngineError], int] = {
    NotFound: 404, NotPermitted: 403, Conflict: 409, InvalidSubmission: 422, InvalidDiagram: 422,
    WorkflowFailed: 422, AnonymisationFailed: 422,
    InvalidOutline: 500, ConversionFailed: 503,
}
TITLES = {403: "Not allowed", 404: "Not found", 409: "Someone else got there first", 422: "Please check",
          400: "Bad request", 405: "Not allowed", 413: "Too large", 415: "Not JSON", 500: "Something went wrong",
          503: "Not available just now"}
DATABASE_DOWN = ("The database cannot be reached just now, so nothing was read or changed. Try again in a minute; "
                 "if it goes on, tell the system administrator.")
log = logging.getLogger(__name__)


def wants_json() -> bool:
    """True for API paths and clients that prefer JSON."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return request.path.startswith("/api/") or best == "application/json"


def _answer(status: int, message: str, details: object = None) -> tuple[Response | str, int]:
    if wants_json():
        return jsonify({"error": TITLES.get(status, "Error"), "message": message, "details": details}), status
    return render_template("error.html", status=status, title=TITLES.get(status, "Error"), message=message), status


def register(app: Flask, unavailable: tuple[type[Exception], ...] = ()) -> None:
    """Install the handlers; `unavailable` are the store's errors for a database that cannot be reached."""

    @app.errorhandler(EngineError)
    def engine_error(error: EngineError) -> tuple[Response | str, int]:
        status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 500)
        if isinstance(error, NotFound):
            return _answer(404, "There is nothing here, or you do not have access to it.")
        details, message = None, str(error)
        if isinstance(error, InvalidSubmission):  # a few fields by name, never the values sent
            details = safety.capped([{"field": e.field, "message": e.message} for e in error.errors])
            message = "; ".join(f"{d['field']}: {d['message']}" if d["field"] else d["message"] for d in details)
        if isinstance(error, WorkflowFailed):  # the step was rolled back and the case marked errored
            return _answer(status, "The procedure could not go on from this step, so nothing was changed. "
                           "Your answers are kept as a draft, and the case is marked for the LSCB administrator, "
                           f"who can retry it once the diagram is fixed. What went wrong: {error}",
                           {"element": error.element})
        if isinstance(error, AnonymisationFailed):  # nothing was delivered; where, never what
            if wants_json():
                return jsonify({"error": error.code, "message": str(error), "details": error.findings}), status
            return render_template("error.html", status=status, title="Not released: it would identify someone",
                                   message=str(error), findings=error.findings), status
        if isinstance(error, InvalidDiagram):
            details = [{"code": p.code, "element": p.element, "file": p.file, "message": p.message}
                       for p in error.problems]
        if wants_json() and getattr(error, "code", None):  # a machine-readable code, e.g. task_already_completed
            return jsonify({"error": TITLES.get(status, "Error"), "code": error.code, "message": message or str(error),
                            "details": details}), status
        return _answer(status, message or str(error), details)

    def database_down(error: Exception) -> tuple[Response | str, int, dict[str, str]]:
        """RELIABILITY T-Z4: the database failing answers 503 with nothing of the case, never a bare 500."""
        log.error("the database failed during %s %s: %s", request.method, request.path, type(error).__name__)
        return (*_answer(503, DATABASE_DOWN), {"Retry-After": "30"})

    for kind in unavailable:
        app.register_error_handler(kind, database_down)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response | str, int, dict[str, str]]:
        status = error.code or 500
        allow = {k: v for k, v in error.get_headers() if k == "Allow"}  # a 405 names the methods the URL takes
        if status == 413:
            return (*_answer(status, safety.too_large_message()), allow)
        return (*_answer(status, error.description or TITLES.get(status, "Error")), allow)
