"""Cases: the ones I can see, starting a case with the referral, and a case's overview."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from engine.casework import casefile, claims, queries
from engine.casework.cases import start_case, startable_procedures
from web import formrender
from web.auth import login_required, services

bp = Blueprint("cases", __name__, url_prefix="/cases")


@bp.get("/")
@login_required
def index() -> Any:
    """Cases the signed-in person holds a role on (by reference, never a child's name)."""
    return render_template("cases.html", cases=queries.my_cases(services(), g.user))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    """Start a case on the person's board: its first task is the referral proforma."""
    boards = [services().catalogue.board(code) for code in queries.boards_of(services(), g.user)]
    boards = [b for b in boards if b is not None]
    if request.method == "POST":
        code, _, procedure = request.form.get("board", "").partition(":")
        if code not in {b.code for b in boards}:
            abort(404)
        record = start_case(services(), code, g.user, process_id=procedure or None)
        first = [t for t in queries.inbox(services(), g.user) if t.task.case_id == record.id]
        flash(f"Case {record.reference} started. Complete the referral below.")
        if first:
            return redirect(url_for("tasks.show", task_id=first[0].task.id))
        return redirect(url_for("cases.show", case_id=record.id))
    procedures = {b.code: startable_procedures(services(), b.code) for b in boards}
    return render_template("new_case.html", boards=boards, procedures=procedures)


@bp.get("/<int:case_id>")
@login_required
def show(case_id: int) -> Any:
    """A case's status, open and completed tasks, people and history."""
    view = queries.case_view(services(), case_id, g.user)
    board = services().catalogue.board(view.case.board)
    roles = {r.role: r.title for r in services().catalogue.roles}
    return render_template("case.html", view=view, board=board, roles=roles, now=services().clock.now(),
                           documents=casefile.documents(services(), case_id, g.user),
                           administrator=claims.may_administer(services(), g.user, view.case.board))


@bp.get("/<int:case_id>/documents/<int:document_id>")
@login_required
def document(case_id: int, document_id: int) -> Any:
    """One submission of the case file, if it is this person's to read (agency rules)."""
    doc = casefile.document(services(), case_id, document_id, g.user)
    fields = formrender.fields(doc.schema, doc.ui_schema, doc.submission.data)
    return render_template("document.html", doc=doc, fields=fields,
                           roles={r.role: r.title for r in services().catalogue.roles})
