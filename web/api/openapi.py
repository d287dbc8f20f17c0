"""The OpenAPI 3 document of /api/, generated from the marshmallow schemas."""

from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from web.api import schemas


def _error(text: str) -> dict[str, Any]:
    return {"description": text, "content": {"application/json": {"schema": "Error"}}}


ERRORS = {str(code): _error(text) for code, text in (
    (401, "Not signed in"), (404, "Not found or no access"), (409, "Someone else was first"),
    (422, "Invalid input, with a message per field"), (503, "The database cannot be reached just now (Retry-After)"))}
# what a request with a body may also be answered (the body is read strictly before any field is)
BODY_ERRORS = {"400": _error("The body is not JSON (saying where), or holds text no field may (NUL, lone surrogates)"),
               "413": _error("The body is too large"), "415": _error("The body is not labelled application/json"),
               **ERRORS}


def _json(schema: str | dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _op(operation_id: str, summary: str, responses: dict[str, Any], body: str | None = None) -> dict[str, Any]:
    """One bearer-secured operation; one with a body is also answered 400 and 413."""
    operation = {"operationId": operation_id, "summary": summary, "security": [{"bearer": []}],
                 "responses": {**responses, **(BODY_ERRORS if body else ERRORS)}}
    if body:
        operation["requestBody"] = _body(body)
    return operation


TASK_OPERATIONS = ("getTask", "completeTask", "claimTask", "releaseTask", "reassignTask", "getDraft", "saveDraft")
READ_CASE = ("getCase", "listDocuments")
CASE_OPERATIONS = (*READ_CASE, "giveRole", "takeRole")


def _links(operations: tuple[str, ...], parameter: str, value: str, **fixed: str) -> dict[str, Any]:
    """OpenAPI links: the id an answer holds (`value`, a runtime expression) is what these operations take."""
    return {operation[0].upper() + operation[1:]: {"operationId": operation,
                                                   "parameters": {parameter: value, **fixed}}
            for operation in operations}


def _linked(response: dict[str, Any], links: dict[str, Any]) -> dict[str, Any]:
    return {**response, "links": links}


@cache
def document() -> dict[str, Any]:
    """Build (once) the OpenAPI document."""
    spec = APISpec(title="Serious Case Reviews API", version="1", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Same use cases and access rules as the pages. "
                                        "Authenticate with Authorization: Bearer <token> (run.py token --user NAME)."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name in ("Task", "InboxItem", "TaskForm", "Submission", "Completed", "CaseSummary", "StartCase", "Case",
                 "Error", "Draft", "Reassign", "CaseRole", "Removed", "DocumentSummary", "Document"):
        spec.components.schema(name, schema=getattr(schemas, name + "Schema"))
    task_id = [{"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    case_id = [{"name": "case_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    to_tasks = _links(TASK_OPERATIONS, "task_id", "$response.body#/0/task/id")
    to_cases = _links(CASE_OPERATIONS, "case_id", "$response.body#/0/id")
    spec.path(path="/api/inbox", operations={"get": _op(
        "inbox", "My ready tasks", {"200": _linked(_json({"type": "array", "items": "InboxItem"}), to_tasks)})})
    spec.path(path="/api/tasks/{task_id}", parameters=task_id, operations={
        "get": _op("getTask", "A task with its form", {"200": _json("TaskForm")}),
        "post": _op("completeTask", "Complete a task", {"200": _json("Completed", "Completed")}, "Submission")})
    spec.path(path="/api/cases", operations={
        "get": _op("listCases", "My cases", {"200": _linked(_json({"type": "array", "items": "CaseSummary"}),
                                                            to_cases)}),
        "post": _op("startCase", "Start a case", {"201": _linked(_json("CaseSummary", "Started"), _links(
            READ_CASE, "case_id", "$response.body#/id"))}, "StartCase")})
    spec.path(path="/api/cases/{case_id}", parameters=case_id, operations={"get": _op(
        "getCase", "A case overview", {"200": _linked(_json("Case"), _links(
            TASK_OPERATIONS, "task_id", "$response.body#/ready/0/id"))})})
    for action, summary in (("claim", "Take a task"), ("release", "Release a task (holder or administrator)")):
        spec.path(path=f"/api/tasks/{{task_id}}/{action}", parameters=task_id, operations={"post": _op(
            f"{action}Task", summary, {"200": _json("Task")})})
    spec.path(path="/api/tasks/{task_id}/reassign", parameters=task_id, operations={"post": _op(
        "reassignTask", "Reassign a task with a reason (administrators)", {"200": _json("Task")}, "Reassign")})
    spec.path(path="/api/tasks/{task_id}/draft", parameters=task_id, operations={
        "get": _op("getDraft", "My draft of a task", {"200": _json("Draft")}),
        "put": _op("saveDraft", "Save my draft of a task (not validated)", {"200": _json("Draft")}, "Draft")})
    spec.path(path="/api/cases/{case_id}/documents", parameters=case_id, operations={"get": _op(
        "listDocuments", "Documents of a case I may read",
        {"200": _linked(_json({"type": "array", "items": "DocumentSummary"}), _links(
            ("getDocument",), "document_id", "$response.body#/0/id", case_id="$request.path.case_id"))})})
    spec.path(path="/api/cases/{case_id}/documents/{document_id}", parameters=[
        *case_id, {"name": "document_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        operations={"get": _op("getDocument", "One document with its answers", {"200": _json("Document")})})
    spec.path(path="/api/cases/{case_id}/people", parameters=case_id, operations={
        "post": _op("giveRole", "Give a case role (administrators)", {"201": _json("Assignment", "Given")},
                    "CaseRole"),
        "delete": _op("takeRole", "Take a case role away (administrators)", {"200": _json("Removed", "Removed")},
                      "CaseRole")})
    spec.path(path="/api/token", operations={"delete": {
        "operationId": "revokeToken", "security": [{"bearer": []}],
        "summary": "Revoke the token this request is sent with (tokens also expire 90 days after issue)",
        "responses": {"204": {"description": "Revoked"}, "401": ERRORS["401"]}}})
    spec.path(path="/api/openapi.json", operations={"get": {
        "operationId": "openapi", "summary": "This document", "security": [],
        "responses": {"200": _json({"type": "object"}, "OpenAPI 3 document")}}})
    return spec.to_dict()
