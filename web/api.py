"""The JSON API under /api/: the same use cases and access rules as the pages, with bearer tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request
from marshmallow import ValidationError

from engine import queries
from engine import services as uc
from engine.errors import FieldError, InvalidSubmission, NotFound
from web import schemas
from web.auth import services
from web.openapi import document

bp = Blueprint("api", __name__, url_prefix="/api")
OPEN = {"api.openapi"}


@bp.before_request
def bearer_token() -> Any:
    """Every API call but the OpenAPI document needs `Authorization: Bearer <token>` (no cookies: no CSRF)."""
    g.user = None
    if request.endpoint in OPEN:
        return None
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    g.user = uc.user_for_token(services(), token) if token else None
    if g.user is None:
        return jsonify({"error": "Not signed in", "message": "Send Authorization: Bearer <token>.",
                        "details": None}), 401
    return None


def _body(schema: Any) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(request.get_json(silent=True) or {})
    except ValidationError as exc:
        raise InvalidSubmission([FieldError(str(k), str(v)) for k, v in exc.normalized_messages().items()]) from exc
    return loaded


@bp.get("/openapi.json")
def openapi() -> Any:
    """The OpenAPI 3 document of this API."""
    return jsonify(document())


@bp.get("/inbox")
def inbox() -> Any:
    """The caller's ready tasks."""
    return jsonify(schemas.InboxItemSchema(many=True).dump(queries.inbox(services(), g.user)))


@bp.get("/tasks/<task_id>")
def task(task_id: str) -> Any:
    """A task the caller may act on, with its form's JSON Schema."""
    view = queries.task_view(services(), task_id, g.user)
    return jsonify(schemas.TaskFormSchema().dump({"task": view.task, "reference": view.case.reference,
                                                  "form": view.schema, "ui_form": view.ui_schema}))


@bp.post("/tasks/<task_id>")
def complete(task_id: str) -> Any:
    """Complete a task with form data (422 with field messages, 409 when someone else was first)."""
    queries.task_view(services(), task_id, g.user)
    record = uc.complete_task(services(), task_id, g.user, _body(schemas.SubmissionSchema())["data"])
    return jsonify({"reference": record.reference, "status": record.status})


@bp.get("/cases")
def cases() -> Any:
    """Cases the caller holds a role on."""
    rows = [{"id": i, "reference": r, "board": b} for i, r, b in queries.my_cases(services(), g.user)]
    return jsonify(schemas.CaseSummarySchema(many=True).dump(rows))


@bp.post("/cases")
def start() -> Any:
    """Start a case on the caller's board."""
    board = _body(schemas.StartCaseSchema())["board"]
    if board not in queries.boards_of(services(), g.user):
        raise NotFound("no such board")
    record = uc.start_case(services(), board, g.user)
    return jsonify(schemas.CaseSummarySchema().dump(record)), 201


@bp.get("/cases/<int:case_id>")
def case(case_id: int) -> Any:
    """A case overview."""
    view = queries.case_view(services(), case_id, g.user)
    return jsonify(schemas.CaseSchema().dump({
        "id": view.case.id, "reference": view.case.reference, "board": view.case.board,
        "status": view.case.status, "created_at": view.case.created_at, "ready": view.ready, "done": view.done,
        "people": view.people, "history": view.events}))
