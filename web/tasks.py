"""A task's page: its form rendered from JSON Schema, drafts, claims, submission, or refusal (409)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine import claims, drafts, queries
from engine import services as uc
from engine.errors import Claimed, Conflict, FieldError, InvalidSubmission
from web import formrender
from web.auth import login_required, services

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


def _page(view: queries.TaskView, values: dict[str, Any], errors: list[FieldError], status: int = 200,
          draft_saved: Any = None, grow: dict[str, int] | None = None) -> Any:
    people = [(u.username, u.display_name) for u in view.people]
    fields = formrender.fields(view.schema, view.ui_schema, values, errors, people, grow)
    return render_template("task.html", view=view, fields=fields, errors=errors,
                           roles={r.role: r.title for r in services().catalogue.roles},
                           now=services().clock.now(), draft_saved=draft_saved,
                           administrator=claims.may_administer(services(), g.user, view.case.board)), status


@bp.get("/<task_id>")
@login_required
def show(task_id: str) -> Any:
    """The task with its form, filled from the person's draft when there is one (or a note that it is done)."""
    view = queries.task_view(services(), task_id, g.user)
    draft = drafts.draft_of(services(), task_id, g.user)
    if view.task.state != "ready":
        return render_template("conflict.html", view=view, values=draft.data if draft else None), 409
    return _page(view, draft.data if draft else {}, [], draft_saved=draft.saved_at if draft else None)


@bp.post("/<task_id>")
@login_required
def submit(task_id: str) -> Any:
    """Save a draft, add a row, or validate and complete (422 with messages beside fields; 409 if too late)."""
    view = queries.task_view(services(), task_id, g.user, people=False)  # the pickers' people only to re-show

    def again() -> queries.TaskView:
        return queries.task_view(services(), task_id, g.user)

    values = formrender.parse(view.schema, request.form)
    if formrender.adding_row(request.form):
        return _page(again(), values, [], grow=formrender.rows_shown(request.form))
    if request.form.get("action") == "draft":
        try:
            saved = drafts.save_draft(services(), task_id, g.user, values)
        except Conflict:
            return render_template("conflict.html", view=again(), values=values), 409
        flash(f"Draft saved at {saved:%H:%M}. Only you can see it.")
        return _page(again(), values, [], draft_saved=saved)
    try:
        uc.complete_task(services(), task_id, g.user, values)
    except InvalidSubmission as refused:
        return _page(again(), values, refused.errors, 422)
    except Claimed as held:
        flash(str(held), "error")
        return _page(again(), values, [], 409)
    except Conflict:
        return render_template("conflict.html", view=again(), values=values), 409
    flash(f"Done: {view.task.title}.")
    return redirect(url_for("inbox.index"))


def _back(task_id: str) -> Any:
    target = request.form.get("next", "")
    return redirect(target if target.startswith("/") and not target.startswith("//")
                    else url_for("tasks.show", task_id=task_id))


@bp.post("/<task_id>/claim")
@login_required
def claim(task_id: str) -> Any:
    """Take the task, so others holding the role see you are on it."""
    row = claims.claim_task(services(), task_id, g.user)
    flash(f"You are working on {row.title}. Others see your name on it until you release it.")
    return _back(task_id)


@bp.post("/<task_id>/release")
@login_required
def release(task_id: str) -> Any:
    """Give the task back to everyone holding its role."""
    row = claims.release_task(services(), task_id, g.user)
    flash(f"Released {row.title}: anyone holding the role can take it.")
    return _back(task_id)


@bp.route("/<task_id>/reassign", methods=["GET", "POST"])
@login_required
def reassign(task_id: str) -> Any:
    """An administrator gives the task to a named person, saying why (audited)."""
    view = claims.reassignment_view(services(), task_id, g.user)
    errors: list[FieldError] = []
    if request.method == "POST":
        try:
            row = claims.reassign_task(services(), task_id, g.user, request.form.get("to", ""),
                                       request.form.get("reason", ""))
        except InvalidSubmission as refused:
            errors = refused.errors
        else:
            flash(f"{row.title} is now with {row.claimed_by}.")
            return redirect(url_for("cases.show", case_id=view.case.id))
    return render_template("reassign.html", view=view, errors=errors, form=request.form,
                           roles={r.role: r.title for r in services().catalogue.roles}), 422 if errors else 200
