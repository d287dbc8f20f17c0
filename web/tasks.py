"""A task's page: its form rendered from JSON Schema, validated on the server, submitted, or refused (409)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine import queries
from engine import services as uc
from engine.errors import Conflict, FieldError, InvalidSubmission
from web import formrender
from web.auth import login_required, services

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


def _page(view: queries.TaskView, values: dict[str, Any], errors: list[FieldError], status: int = 200) -> Any:
    people = [(u.username, u.display_name) for u in view.people]
    fields = formrender.fields(view.schema, view.ui_schema, values, errors, people)
    return render_template("task.html", view=view, fields=fields, errors=errors,
                           roles={r.role: r.title for r in services().catalogue.roles},
                           now=services().clock.now()), status


@bp.get("/<task_id>")
@login_required
def show(task_id: str) -> Any:
    """The task with its empty form (or a note that it is done)."""
    view = queries.task_view(services(), task_id, g.user)
    if view.task.state != "ready":
        return render_template("conflict.html", view=view), 409
    return _page(view, {}, [])


@bp.post("/<task_id>")
@login_required
def submit(task_id: str) -> Any:
    """Validate and complete; invalid data comes back with messages beside each field (422)."""
    view = queries.task_view(services(), task_id, g.user)
    values = formrender.parse(view.schema, request.form)
    try:
        uc.complete_task(services(), task_id, g.user, values)
    except InvalidSubmission as refused:
        return _page(view, values, refused.errors, 422)
    except Conflict:
        done = queries.task_view(services(), task_id, g.user)
        return render_template("conflict.html", view=done, values=values), 409
    flash(f"Done: {view.task.title}.")
    return redirect(url_for("inbox.index"))
