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
    claimed_by = fields.String(allow_none=True)
    claimed_at = fields.AwareDateTime(allow_none=True)


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
    """Starting a case: which board, and which of its published procedures (the board's own when left out)."""

    board = fields.String(required=True)
    procedure = fields.String(load_default=None, allow_none=True)


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


class TimetableSchema(Schema):
    """One clock of the procedure: weeks counted from a date the case records (week null until it is)."""

    variable = fields.String(required=True)
    label = fields.String(required=True)
    weeks = fields.Integer(required=True)
    anchor = fields.AwareDateTime(allow_none=True)
    week = fields.Integer(allow_none=True)
    provisional = fields.Boolean(required=True)
    ends = fields.AwareDateTime(allow_none=True)


class MilestoneSchema(Schema):
    """A deadline the diagram marks: date, days left, status (due, overdue, met, met_late, not_set, ...)."""

    element = fields.String(required=True)
    title = fields.String(required=True)
    due = fields.AwareDateTime(allow_none=True)
    days_left = fields.Integer(allow_none=True)
    status = fields.String(required=True)
    met_at = fields.AwareDateTime(allow_none=True)


class ReviewClockSchema(Schema):
    """Where the case stands: the current timetable (week n of N), every timetable, the milestones."""

    completed = fields.Boolean(required=True)
    current = fields.Nested(TimetableSchema, allow_none=True)
    timetables = fields.List(fields.Nested(TimetableSchema), required=True)
    milestones = fields.List(fields.Nested(MilestoneSchema), required=True)


class OccurrenceSchema(Schema):
    """One time a step was done or is open (per agency, or per round of a loop)."""

    agency = fields.String(allow_none=True)
    started = fields.AwareDateTime(required=True)
    completed = fields.AwareDateTime(allow_none=True)
    planned = fields.AwareDateTime(allow_none=True)
    status = fields.String(required=True)


class TimelineEntrySchema(Schema):
    """A step of the timetable: planned week and date against what happened."""

    element = fields.String(required=True)
    title = fields.String(required=True)
    week = fields.Integer(allow_none=True)
    planned = fields.AwareDateTime(allow_none=True)
    status = fields.String(required=True)
    behind = fields.Boolean(required=True)
    occurrences = fields.List(fields.Nested(OccurrenceSchema), required=True)


class TimelineSectionSchema(Schema):
    """The steps of one timetable (timetable null: steps done outside any timetable)."""

    timetable = fields.Nested(TimetableSchema, allow_none=True)
    entries = fields.List(fields.Nested(TimelineEntrySchema), required=True)


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
    clock = fields.Nested(ReviewClockSchema, allow_none=True)
    timeline = fields.List(fields.Nested(TimelineSectionSchema))


class DraftSchema(Schema):
    """A person's saved, unsubmitted answers (not validated)."""

    data = fields.Dict(required=True)
    saved_at = fields.AwareDateTime(dump_only=True)


class ReassignSchema(Schema):
    """An administrator's reassignment: to whom and why."""

    to = fields.String(required=True)
    reason = fields.String(required=True)


class CaseRoleSchema(Schema):
    """A case-level role given to (or taken from) a person."""

    username = fields.String(required=True)
    role = fields.String(required=True)
    agency = fields.String(allow_none=True, load_default=None)


class DocumentSummarySchema(Schema):
    """A submission of the case file, without its answers."""

    id = fields.Integer(required=True)
    title = fields.String(required=True)
    role = fields.String(allow_none=True)
    agency = fields.String(allow_none=True)
    username = fields.String(required=True)
    at = fields.AwareDateTime(required=True)


class DocumentSchema(DocumentSummarySchema):
    """A submission of the case file with its answers."""

    data = fields.Dict(required=True)


class ErrorSchema(Schema):
    """Every error answer."""

    error = fields.String(required=True)
    code = fields.String(metadata={"description": "machine-readable, when the error has one (e.g. "
                                                  "task_already_completed, anonymisation_failed)"})
    message = fields.String(required=True)
    details = fields.Raw(allow_none=True)


class CompletedSchema(Schema):
    """A completed task: its case's reference and where the case now stands."""

    reference = fields.String(required=True)
    status = fields.String(required=True)


class RemovedSchema(Schema):
    """A case role taken away."""

    removed = fields.Boolean(required=True)
