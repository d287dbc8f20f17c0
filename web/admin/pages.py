"""The administrators' pages: a task given to a named person with a reason, and a case's people and roles.
Administrators confirm a second factor in the session before any of them works (web/factor.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine.casework import claims, roles
from engine.errors import FieldError, InvalidSubmission
from web import factor
from web.auth import login_required, services

bp = Blueprint("admin", __name__)
factor.guard_administrators(bp, "reassigning tasks or giving case roles")


@bp.route("/tasks/<task_id>/reassign", methods=["GET", "POST"])
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


@bp.route("/cases/<int:case_id>/people", methods=["GET", "POST"])
@login_required
def people(case_id: int) -> Any:
    """The administrator gives case roles (and takes them away: the undo)."""
    errors: list[FieldError] = []
    if request.method == "POST":
        who, role, agency = (request.form.get(k, "") for k in ("username", "role", "agency"))
        try:
            if request.form.get("action") == "remove":
                roles.take_case_role(services(), case_id, g.user, who, role, agency or None)
                flash(f"{who} no longer holds that role on this case.")
            else:
                roles.give_case_role(services(), case_id, g.user, who, role, agency or None)
                flash(f"{who} now holds that role on this case.")
        except InvalidSubmission as refused:
            errors = refused.errors
        else:
            return redirect(url_for("admin.people", case_id=case_id))
    view = roles.case_roles(services(), case_id, g.user)
    return render_template("people.html", view=view, errors=errors, form=request.form,
                           titles={r.role: r.title for r in services().catalogue.roles},
                           agency_names=dict(view.agencies)), 422 if errors else 200
