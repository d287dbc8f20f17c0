"""marshmallow schemas of the JSON API: what goes out and what comes in."""

from __future__ import annotations

from marshmallow import Schema, fields


class TaskSchema(Schema):
    """A ready (or completed) task as the API shows it."""

    id = fields.String(required=True)
    case_id = fields.Integer(required=True)
    name = fields.String(required=True)
    title = fields.String(required=True)
    role = fields.String(allow_none=True)
    agency = fields.String(allow_none=True)
    week = fields.Integer(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    state = fields.String(required=True)
    completed_by = fields.String(allow_none=True)
    completed_at = fields.AwareDateTime(allow_none=True)


class InboxItemSchema(Schema):
    """One inbox entry."""

    task = fields.Nested(TaskSchema, required=True)
    reference = fields.String(required=True)
    board = fields.String(required=True)
    overdue = fields.Boolean(required=True)
    due_soon = fields.Boolean(required=True)
    others = fields.List(fields.String(), required=True)


class TaskFormSchema(Schema):
    """A task with the JSON Schema of its form."""

    task = fields.Nested(TaskSchema, required=True)
    reference = fields.String(required=True)
    form = fields.Dict(required=True)
    ui_form = fields.Dict(required=True)


class SubmissionSchema(Schema):
    """A form submission: the form's fields under `data`."""

    data = fields.Dict(required=True)


class CaseSummarySchema(Schema):
    """A case in a list."""

    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    board = fields.String(required=True)


class StartCaseSchema(Schema):
    """Starting a case: which board."""

    board = fields.String(required=True)


class AssignmentSchema(Schema):
    """A role someone holds on the case."""

    username = fields.String(required=True)
    role = fields.String(required=True)
    agency = fields.String(allow_none=True)


class EventSchema(Schema):
    """One entry of a case's history."""

    at = fields.AwareDateTime(required=True)
    kind = fields.String(required=True)
    actor = fields.String(allow_none=True)


class CaseSchema(Schema):
    """A case overview."""

    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    board = fields.String(required=True)
    status = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)
    ready = fields.List(fields.Nested(TaskSchema), required=True)
    done = fields.List(fields.Nested(TaskSchema), required=True)
    people = fields.List(fields.Nested(AssignmentSchema), required=True)
    history = fields.List(fields.Nested(EventSchema), required=True)


class ErrorSchema(Schema):
    """Every error answer."""

    error = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Raw(allow_none=True)
