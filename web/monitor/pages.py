"""The administrators' monitor: the case list with filters and exports, a case on its diagram with the
interventions, the deadline and workload dashboards and the heatmap. Only people who monitor a board see any of
it (everyone else: 404); only its administrators may change a case (others who may look: 403). Administrators
confirm a second factor in the session before any of it works (web/factor.py)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for

from engine.errors import Conflict, FieldError, InvalidSubmission
from engine.monitoring import caselist, casemonitor, dashboards, interventions
from web import factor, formrender, safety
from web.auth import login_required, services

bp = Blueprint("monitor", __name__, url_prefix="/monitor")
factor.guard_administrators(bp, "using the monitor")
MONITOR_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
               "frame-ancestors 'none'; form-action 'self'")
STATE_WORDS = {"open": "Running", "errored": "Errored", "suspended": "Suspended", "terminated": "Terminated",
               "completed": "Completed"}


@bp.app_context_processor
def monitor_link() -> dict[str, Any]:
    """Whether the signed-in person sees the Monitor in the menu."""
    user = g.get("user")
    return {"monitors_cases": bool(user) and safety.or_false(lambda: caselist.may_monitor(services(), user))}


@bp.app_template_filter("duration")
def duration(hours: int) -> str:
    """Whole hours in words a person reads at a glance: "5 hours", "3 days", "2 weeks 3 days"."""
    if hours < 24:
        return f"{hours} hour{'' if hours == 1 else 's'}"
    days = hours // 24
    if days < 14:
        return f"{days} day{'' if days == 1 else 's'}"
    weeks, rest = divmod(days, 7)
    return f"{weeks} weeks" + (f" {rest} day{'' if rest == 1 else 's'}" if rest else "")


@bp.after_request
def monitor_headers(response: Response) -> Response:
    """Scripts only from this site; bpmn-js sets inline styles and an embedded font."""
    response.headers["Content-Security-Policy"] = MONITOR_CSP
    return response


def _words() -> dict[str, Any]:
    catalogue = services().catalogue
    return {"state_words": STATE_WORDS, "roles": {r.role: r.title for r in catalogue.roles},
            "boards": {b.code: b.name for b in catalogue.boards}, "agency_name": catalogue.agency_name,
            "now": services().clock.now()}


@bp.get("/")
@login_required
def index() -> Any:
    """The case list: filters, sort, pages, saved filters and exports."""
    try:
        page = caselist.case_list(services(), g.user, request.args)
    except InvalidSubmission as refused:
        flash("; ".join(f"{e.field}: {e.message}" for e in refused.errors))
        return redirect(url_for("monitor.index"))
    return render_template("monitor/list.html", page=page, args=request.args, **_words())


@bp.get("/export.<kind>")
@login_required
def export(kind: str) -> Any:
    """The filtered list as CSV or .xlsx: reference, step, dates and state only (never case content or names)."""
    if kind not in ("csv", "xlsx"):
        abort(404)
    lines = caselist.export_lines(services(), g.user, request.args)
    labels = caselist.version_labels(services(), g.user)
    stamp = services().clock.now().strftime("%Y%m%d-%H%M")
    if kind == "csv":
        body, mimetype = caselist.as_csv(lines, labels), "text/csv; charset=utf-8"
    else:
        body = caselist.as_xlsx(lines, labels)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="cases-{stamp}.{kind}"'})


@bp.post("/filters")
@login_required
def save_filter() -> Any:
    """Keep the list's current filters under a name."""
    args = {k: v for k, v in request.form.items() if k in (*caselist.FILTERS, "sort", "order")}
    try:
        record = caselist.save_filter(services(), g.user, request.form.get("name", ""), args)
    except InvalidSubmission as refused:
        flash("; ".join(e.message for e in refused.errors))
        return redirect(url_for("monitor.index", **args))
    flash(f"Filter '{record.name}' saved.")
    return redirect(url_for("monitor.index", **args))


@bp.post("/filters/<int:filter_id>/delete")
@login_required
def delete_filter(filter_id: int) -> Any:
    """Forget a saved filter."""
    caselist.delete_filter(services(), g.user, filter_id)
    flash("Filter removed.")
    return redirect(url_for("monitor.index"))


def _moment(value: str | None) -> datetime | None:
    """An earlier moment from the address (ISO date-time, or a date meaning its end), or None for now."""
    if not value:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(datetime.fromisoformat(value).date(), time.max, UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        abort(400, "Give the moment as a date (2026-03-01) or a date and time.")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@bp.get("/cases/<int:case_id>")
@login_required
def case(case_id: int) -> Any:
    """A case on its diagram, with its log, timeline and (for administrators) what can be done to it."""
    step = request.args.get("step", "")
    view = casemonitor.monitor_view(services(), case_id, g.user, _moment(request.args.get("at")),
                                    int(step) if step.isdigit() and len(step) < 10 else None)
    config = {"diagrams": [{"file": d.file, "xml": d.xml, "processes": list(d.processes)} for d in view.diagrams],
              "elements": view.elements,
              "badges": [{"element": b.element, "label": b.label, "due": b.due.strftime("%d %b %Y"),
                          "revised": bool(b.revised_from)} for b in view.badges],
              "error": (view.case.error or {}).get("element") if view.case.error else None}
    return render_template("monitor/case.html", view=view, config=config, **_words())


def _reason() -> str:
    return request.form.get("reason", "")


def _done(case_id: int, message: str) -> Any:
    flash(message)
    return redirect(url_for("monitor.case", case_id=case_id))


def _refused(case_id: int, error: InvalidSubmission | Conflict) -> Any:
    """Back to the case with what went wrong; nothing was changed."""
    if isinstance(error, InvalidSubmission):
        flash("Nothing was changed: " + "; ".join(e.message for e in error.errors))
    else:
        flash(f"Nothing was changed: {error}")
    return redirect(url_for("monitor.case", case_id=case_id)), 303


ACTIONS = {
    "suspend": (interventions.suspend, "The case is suspended: no timer fires and no step can be done."),
    "resume": (interventions.resume, "The case is running again; whatever fell due meanwhile has fired."),
    "terminate": (interventions.terminate, "The case is terminated."),
    "retry": (interventions.retry, "The failed step ran again and the case goes on."),
}


@bp.post("/cases/<int:case_id>/<action>")
@login_required
def act(case_id: int, action: str) -> Any:
    """Suspend, resume, terminate or retry a case, with a reason (administrators of its board only)."""
    if action == "reset":
        try:
            interventions.reset_to(services(), case_id, request.form.get("task", ""), g.user, _reason())
        except (InvalidSubmission, Conflict) as refused:
            return _refused(case_id, refused)
        return _done(case_id, "The case is back at that step; what came after it is undone.")
    if action not in ACTIONS:
        abort(404)
    run, message = ACTIONS[action]
    try:
        run(services(), case_id, g.user, _reason())
    except (InvalidSubmission, Conflict) as refused:
        return _refused(case_id, refused)
    return _done(case_id, message)


@bp.post("/cases/<int:case_id>/tasks/<task_id>/<action>")
@login_required
def task_action(case_id: int, task_id: str, action: str) -> Any:
    """Skip a ready step or change its due date."""
    try:
        if action == "skip":
            interventions.skip_task(services(), case_id, task_id, g.user, _reason())
            return _done(case_id, "The step was skipped on its holder's behalf.")
        if action == "due":
            interventions.change_due(services(), case_id, task_id, g.user, _due(request.form.get("due")), _reason())
            return _done(case_id, "The due date is changed; the original is shown beside it.")
    except (InvalidSubmission, Conflict) as refused:
        return _refused(case_id, refused)
    abort(404)


def _due(value: str | None) -> datetime | None:
    """A new due date from a date field (the end of that day, UTC)."""
    if not value:
        return None
    try:
        return datetime.combine(datetime.fromisoformat(value).date(), time(23, 59), UTC)
    except ValueError:
        raise InvalidSubmission([FieldError("due", "Give the date as yyyy-mm-dd.")]) from None


@bp.route("/cases/<int:case_id>/tasks/<task_id>/complete", methods=["GET", "POST"])
@login_required
def complete_for(case_id: int, task_id: str) -> Any:
    """An administrator completes a ready step on its holder's behalf, with the step's own form and a reason."""
    view = casemonitor.monitor_view(services(), case_id, g.user)
    if not view.may_intervene:
        abort(403, "Only an administrator of this case's board can do a step on someone's behalf.")
    row = next((t for t in view.ready if t.id == task_id), None)
    if row is None:
        abort(404)
    with services().uow() as uow:
        process = services().process_of(uow, view.case)
    schema, ui_schema = process.form_with_ui(row.form)
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = formrender.parse(schema, request.form)
        try:
            interventions.complete_for(services(), task_id, g.user, values, _reason())
        except InvalidSubmission as refused:
            errors = refused.errors
        except Conflict as refused:
            return _refused(case_id, refused)
        else:
            return _done(case_id, f"{row.title} was done on its holder's behalf.")
    fields = formrender.fields(schema, ui_schema, values, errors=errors) if schema else []
    return render_template("monitor/complete.html", view=view, task=row, fields=fields, errors=errors,
                           reason=request.form.get("reason", ""), **_words()), 422 if errors else 200


@bp.get("/deadlines")
@login_required
def deadlines() -> Any:
    """Statutory deadlines across cases (red, amber, green) and cases by week of the timetable against plan."""
    board = dashboards.deadlines(services(), g.user)
    return render_template("monitor/deadlines.html", board=board, **_words())


@bp.get("/workload")
@login_required
def workload() -> Any:
    """Ready steps by person, role and agency."""
    return render_template("monitor/workload.html", load=dashboards.workload(services(), g.user), **_words())


@bp.get("/heatmap")
@login_required
def heatmap() -> Any:
    """Cases waiting at each element now and how long steps take, on the diagram and as a table."""
    procedures = dashboards.procedures(services(), g.user)
    process_id = request.args.get("process") or (procedures[0] if procedures else "")
    if not process_id:
        return render_template("monitor/heatmap.html", heat=None, procedures=procedures, config={}, **_words())
    heat = dashboards.heatmap(services(), g.user, process_id, request.args.get("board") or None)
    config = {"diagrams": [{"file": d.file, "xml": d.xml, "processes": list(d.processes)} for d in heat.diagrams],
              "heat": [{"element": h.element, "waiting": h.waiting, "median": h.median_hours, "p90": h.p90_hours,
                        "finished": h.finished} for h in heat.elements]}
    return render_template("monitor/heatmap.html", heat=heat, procedures=procedures, config=config, **_words())
