"""A task's page: its form rendered from JSON Schema, drafts, claims, submission, or refusal (409)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine.casework import claims, drafts, queries
from engine.casework.completion import Completed, complete_task
from engine.errors import Claimed, Conflict, FieldError, InvalidSubmission
from web import formrender, words
from web.auth import login_required, services
from web.safety import MAX_ERRORS, same_site

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


def _page(view: queries.TaskView, values: dict[str, Any], errors: list[FieldError], status: int = 200,
          draft_saved: Any = None, grow: dict[str, int] | None = None) -> Any:
    catalogue = services().catalogue
    people = {role: [(u.username, f"{u.display_name} ({catalogue.agency_name(u.agency)})" if u.agency
                      else u.display_name) for u in users] for role, users in view.people.items()}
    fields = formrender.fields(view.schema, view.ui_schema, values, errors, people, grow)
    earlier = [(doc, formrender.fields(doc.schema, doc.ui_schema, doc.submission.data)) for doc in view.earlier]
    return render_template("task.html", view=view, fields=fields, errors=errors, earlier=earlier,
                           roles={r.role: r.title for r in services().catalogue.roles},
                           now=services().clock.now(), draft_saved=draft_saved,
                           administrator=claims.may_administer(services(), g.user, view.case.board)), status


def _shown_again(task_id: str) -> tuple[queries.TaskView, dict[str, Any]]:
    """The task as its page shows it, with the answers just posted (only when the form is shown again)."""
    view = queries.task_view(services(), task_id, g.user)
    return view, formrender.parse(view.schema, request.form)


@bp.get("/<task_id>")
@login_required
def show(task_id: str) -> Any:
    """The task with its form, filled from the person's draft when there is one (or a note that it is done)."""
    view = queries.task_view(services(), task_id, g.user)
    draft = drafts.draft_of(services(), task_id, g.user)
    if view.task.state != "ready":
        return render_template("conflict.html", view=view, values=draft.data if draft else None), 409
    return _page(view, draft.data if draft else view.prefill, [], draft_saved=draft.saved_at if draft else None)


@bp.post("/<task_id>")
@login_required
def submit(task_id: str) -> Any:
    """Save a draft, add a row, or validate and complete (422 with messages beside fields; 409 if too late).

    Completing goes to the engine once: it checks access, reads the answers off the posted form with the task's
    schema, validates and runs the step. The page is built again only when the form must be shown again.
    """
    if formrender.adding_row(request.form):
        view, values = _shown_again(task_id)
        return _page(view, values, [], grow=formrender.rows_shown(request.form))
    if request.form.get("action") == "draft":
        view, values = _shown_again(task_id)
        try:
            saved = drafts.save_draft(services(), task_id, g.user, values)
        except Conflict:
            return render_template("conflict.html", view=view, values=values), 409
        flash(f"Draft saved at {saved:%H:%M}. Only you can see it.")
        return _page(view, values, [], draft_saved=saved)
    try:
        posted = request.form  # the form itself, not the request-local proxy: the parse may run on another thread
        done = complete_task(services(), task_id, g.user, lambda schema: formrender.parse(schema, posted))
    except InvalidSubmission as refused:
        view, values = _shown_again(task_id)
        return _page(view, values, refused.errors[:MAX_ERRORS], 422)  # a page, not a list of thousands
    except Claimed as held:
        flash(str(held), "error")
        view, values = _shown_again(task_id)
        return _page(view, values, [], 409)
    except Conflict:
        view, values = _shown_again(task_id)
        return render_template("conflict.html", view=view, values=values), 409
    flash(_sent_on(done))
    return redirect(url_for("inbox.index"))


def _sent_on(done: Completed) -> str:
    """What the person who submitted is told: each task the step sent on, to whom, due when."""
    catalogue = services().catalogue
    said = []
    for step in done.next:
        role = catalogue.role(step.task.role or "")
        title = role.title if role is not None else step.task.role or "nobody in particular"
        if step.task.agency:
            title += f" for {catalogue.agency_name(step.task.agency)}"
        people = ", ".join(step.holders) if step.holders else "nobody yet: an administrator must give the role"
        due = f", due {words.day(step.task.due_at)}" if step.task.due_at else ""
        said.append(f"“{step.task.title}” sent to {title} ({people}){due}")
    if not said:
        return f"Done: {done.task.title}. Nothing new is waiting on anyone because of it."
    return f"Done: {done.task.title}. " + "; ".join(said) + "."


def _back(task_id: str) -> Any:
    """The page the form came from (its `next` field) when it is on this site, else the task."""
    return redirect(same_site(request.form.get("next")) or url_for("tasks.show", task_id=task_id))


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
