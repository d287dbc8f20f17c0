"""The JSON API under /api/: the same use cases and access rules as the pages, with bearer tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request
from marshmallow import ValidationError

from engine.casework import casefile, claims, drafts, queries, roles
from engine.casework.accounts import user_for_token
from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.errors import FieldError, InvalidSubmission, NotFound
from web.api import schemas
from web.api.openapi import document
from web.auth import services
from web.safety import json_body

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
    g.user = user_for_token(services(), token) if token else None
    if g.user is None:
        return jsonify({"error": "Not signed in", "message": "Send Authorization: Bearer <token>.",
                        "details": None}), 401
    return None


def _body(schema: Any) -> dict[str, Any]:
    """The JSON body read by the schema: 400 saying where it is not valid JSON, 422 naming fields it lacks."""
    body = json_body()
    try:
        loaded: dict[str, Any] = schema.load({} if body is None else body)
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
    done = complete_task(services(), task_id, g.user, _body(schemas.SubmissionSchema())["data"])
    return jsonify(schemas.CompletedSchema().dump({"reference": done.case.reference, "status": done.case.status}))


@bp.get("/cases")
def cases() -> Any:
    """Cases the caller holds a role on."""
    rows = [{"id": i, "reference": r, "board": b} for i, r, b in queries.my_cases(services(), g.user)]
    return jsonify(schemas.CaseSummarySchema(many=True).dump(rows))


@bp.post("/cases")
def start() -> Any:
    """Start a case on the caller's board."""
    body = _body(schemas.StartCaseSchema())
    board = body["board"]
    if board not in queries.boards_of(services(), g.user):
        raise NotFound("no such board")
    record = start_case(services(), board, g.user, process_id=body.get("procedure"))
    return jsonify(schemas.CaseSummarySchema().dump(record)), 201


@bp.get("/cases/<int:case_id>")
def case(case_id: int) -> Any:
    """A case overview."""
    view = queries.case_view(services(), case_id, g.user)
    return jsonify(schemas.CaseSchema().dump({
        "id": view.case.id, "reference": view.case.reference, "board": view.case.board,
        "status": view.case.status, "created_at": view.case.created_at, "ready": view.ready, "done": view.done,
        "people": view.people, "history": view.events, "clock": view.clock, "timeline": view.timeline}))


@bp.post("/tasks/<task_id>/claim")
def claim(task_id: str) -> Any:
    """Take a task (409 when someone else has it)."""
    return jsonify(schemas.TaskSchema().dump(claims.claim_task(services(), task_id, g.user)))


@bp.post("/tasks/<task_id>/release")
def release(task_id: str) -> Any:
    """Give a task back to everyone holding its role (its holder or an administrator)."""
    return jsonify(schemas.TaskSchema().dump(claims.release_task(services(), task_id, g.user)))


@bp.post("/tasks/<task_id>/reassign")
def reassign(task_id: str) -> Any:
    """An administrator gives a task to a named person with a reason (audited)."""
    body = _body(schemas.ReassignSchema())
    return jsonify(schemas.TaskSchema().dump(claims.reassign_task(services(), task_id, g.user, body["to"],
                                                                  body["reason"])))


@bp.get("/tasks/<task_id>/draft")
def draft(task_id: str) -> Any:
    """The caller's draft of a task (404 when there is none)."""
    queries.task_view(services(), task_id, g.user, people=False)
    saved = drafts.draft_of(services(), task_id, g.user)
    if saved is None:
        raise NotFound("no draft")
    return jsonify(schemas.DraftSchema().dump(saved))


@bp.put("/tasks/<task_id>/draft")
def save_draft(task_id: str) -> Any:
    """Save the caller's answers so far (not validated; only the caller sees them)."""
    data = _body(schemas.DraftSchema())["data"]
    saved_at = drafts.save_draft(services(), task_id, g.user, data)
    return jsonify(schemas.DraftSchema().dump({"data": data, "saved_at": saved_at}))


@bp.get("/cases/<int:case_id>/documents")
def case_documents(case_id: int) -> Any:
    """The submissions of a case the caller may read (agency rules)."""
    return jsonify(schemas.DocumentSummarySchema(many=True).dump(casefile.documents(services(), case_id, g.user)))


@bp.get("/cases/<int:case_id>/documents/<int:document_id>")
def case_document(case_id: int, document_id: int) -> Any:
    """One submission with its answers."""
    doc = casefile.document(services(), case_id, document_id, g.user)
    return jsonify(schemas.DocumentSchema().dump(doc.submission))


@bp.post("/cases/<int:case_id>/people")
def give_role(case_id: int) -> Any:
    """An administrator gives a case role."""
    body = _body(schemas.CaseRoleSchema())
    given = roles.give_case_role(services(), case_id, g.user, body["username"], body["role"], body["agency"])
    return jsonify(schemas.AssignmentSchema().dump(given)), 201


@bp.delete("/cases/<int:case_id>/people")
def take_role(case_id: int) -> Any:
    """An administrator takes a case role away (404 when it was not held)."""
    body = _body(schemas.CaseRoleSchema())
    if not roles.take_case_role(services(), case_id, g.user, body["username"], body["role"], body["agency"]):
        raise NotFound("that person does not hold that role on this case")
    return jsonify(schemas.RemovedSchema().dump({"removed": True}))
