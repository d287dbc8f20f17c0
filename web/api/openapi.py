"""The OpenAPI 3 document of /api/, generated from the marshmallow schemas."""

from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from web.api import schemas

ERRORS = {str(code): {"description": text, "content": {"application/json": {"schema": "Error"}}}
          for code, text in ((401, "Not signed in"), (404, "Not found or no access"), (409, "Someone else was first"),
                             (422, "Invalid input, with a message per field"))}


def _json(schema: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


@cache
def document() -> dict[str, Any]:
    """Build (once) the OpenAPI document."""
    spec = APISpec(title="Serious Case Reviews API", version="1", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Same use cases and access rules as the pages. "
                                        "Authenticate with Authorization: Bearer <token> (run.py token --user NAME)."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name in ("Task", "InboxItem", "TaskForm", "Submission", "CaseSummary", "StartCase", "Case", "Error",
                 "Draft", "Reassign", "CaseRole", "DocumentSummary", "Document"):
        spec.components.schema(name, schema=getattr(schemas, name + "Schema"))
    task_id = [{"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    case_id = [{"name": "case_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    secured = [{"bearer": []}]
    spec.path(path="/api/inbox", operations={"get": {
        "summary": "My ready tasks", "security": secured,
        "responses": {"200": _json({"type": "array", "items": "InboxItem"}), **ERRORS}}})
    spec.path(path="/api/tasks/{task_id}", parameters=task_id, operations={
        "get": {"summary": "A task with its form", "security": secured,
                "responses": {"200": _json("TaskForm"), **ERRORS}},
        "post": {"summary": "Complete a task", "security": secured,
                 "requestBody": {"required": True, "content": {"application/json": {"schema": "Submission"}}},
                 "responses": {"200": {"description": "Completed"}, **ERRORS}}})
    spec.path(path="/api/cases", operations={
        "get": {"summary": "My cases", "security": secured,
                "responses": {"200": _json({"type": "array", "items": "CaseSummary"}), **ERRORS}},
        "post": {"summary": "Start a case", "security": secured,
                 "requestBody": {"required": True, "content": {"application/json": {"schema": "StartCase"}}},
                 "responses": {"201": _json("CaseSummary", "Started"), **ERRORS}}})
    spec.path(path="/api/cases/{case_id}", parameters=case_id, operations={"get": {
        "summary": "A case overview", "security": secured, "responses": {"200": _json("Case"), **ERRORS}}})
    for action, summary in (("claim", "Take a task"), ("release", "Release a task (holder or administrator)")):
        spec.path(path=f"/api/tasks/{{task_id}}/{action}", parameters=task_id, operations={"post": {
            "summary": summary, "security": secured, "responses": {"200": _json("Task"), **ERRORS}}})
    spec.path(path="/api/tasks/{task_id}/reassign", parameters=task_id, operations={"post": {
        "summary": "Reassign a task with a reason (administrators)", "security": secured,
        "requestBody": {"required": True, "content": {"application/json": {"schema": "Reassign"}}},
        "responses": {"200": _json("Task"), **ERRORS}}})
    spec.path(path="/api/tasks/{task_id}/draft", parameters=task_id, operations={
        "get": {"summary": "My draft of a task", "security": secured,
                "responses": {"200": _json("Draft"), **ERRORS}},
        "put": {"summary": "Save my draft of a task (not validated)", "security": secured,
                "requestBody": {"required": True, "content": {"application/json": {"schema": "Draft"}}},
                "responses": {"200": _json("Draft"), **ERRORS}}})
    spec.path(path="/api/cases/{case_id}/documents", parameters=case_id, operations={"get": {
        "summary": "Documents of a case I may read", "security": secured,
        "responses": {"200": _json({"type": "array", "items": "DocumentSummary"}), **ERRORS}}})
    spec.path(path="/api/cases/{case_id}/documents/{document_id}", parameters=[
        *case_id, {"name": "document_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        operations={"get": {"summary": "One document with its answers", "security": secured,
                            "responses": {"200": _json("Document"), **ERRORS}}})
    role_body = {"required": True, "content": {"application/json": {"schema": "CaseRole"}}}
    spec.path(path="/api/cases/{case_id}/people", parameters=case_id, operations={
        "post": {"summary": "Give a case role (administrators)", "security": secured, "requestBody": role_body,
                 "responses": {"201": _json("Assignment", "Given"), **ERRORS}},
        "delete": {"summary": "Take a case role away (administrators)", "security": secured,
                   "requestBody": role_body, "responses": {"200": {"description": "Removed"}, **ERRORS}}})
    spec.path(path="/api/token", operations={"delete": {
        "summary": "Revoke the token this request is sent with (tokens also expire 90 days after issue)",
        "security": secured, "responses": {"204": {"description": "Revoked"}, "401": ERRORS["401"]}}})
    spec.path(path="/api/openapi.json", operations={"get": {
        "summary": "This document", "responses": {"200": {"description": "OpenAPI 3 document"}}}})
    return spec.to_dict()
