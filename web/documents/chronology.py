"""The integrated chronology page: every agency's entries merged in time order with where each came from, accounts
of one event side by side, the health sub-merge; agencies import their CSV or .xlsx (and can undo an import); the
LSCB administrator exports it through the anonymisation key and the leak scan."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for

from engine.documents import chronology
from engine.documents.export import chronology_csv
from engine.errors import InvalidSubmission, NotPermitted
from web.auth import login_required, services
from web.config import time_zone

bp = Blueprint("chronology", __name__)


@bp.get("/cases/<int:case_id>/chronology")
@login_required
def show(case_id: int) -> Any:
    """The merged chronology (or the person's own agency's), with import and export where allowed."""
    everything, writes, keeper = chronology.chronology_access(services(), g.user, case_id)
    health = request.args.get("health") == "1"
    if everything:
        merged = chronology.merged(services(), g.user, case_id, health_only=health, zone=time_zone())
    elif writes:
        merged = chronology.merged(services(), g.user, case_id, agency=writes[0], zone=time_zone())
    else:
        raise NotPermitted("You hold no role that reads this case's chronology.")
    catalogue = services().catalogue
    return render_template("documents/chronology.html", merged=merged, health=health, everything=everything,
                           writes=[(code, catalogue.agency_name(code)) for code in writes], keeper=keeper,
                           columns=chronology.COLUMNS, imported=request.args.get("imported", "")[:64])


@bp.post("/cases/<int:case_id>/chronology/import")
@login_required
def upload(case_id: int) -> Any:
    """Import one agency's chronology file: every row or none."""
    _everything, writes, _keeper = chronology.chronology_access(services(), g.user, case_id)
    if not writes:
        raise NotPermitted("Only an agency's own people on this case, or the LSCB administrator, import chronologies.")
    file = request.files.get("file")
    agency = request.form.get("agency", "")
    if file is None or not file.filename:
        flash("Choose a .csv or .xlsx file to import.")
        return redirect(url_for("chronology.show", case_id=case_id)), 303
    try:
        result = chronology.import_entries(services(), g.user, case_id, agency, file.filename,
                                           file.read(chronology.MAX_BYTES + 1), zone=time_zone())
    except InvalidSubmission as refused:
        flash("Nothing was imported. " + "; ".join(e.message if e.field in ("file", "agency") else
                                                  f"{e.field}: {e.message}" for e in refused.errors))
        return redirect(url_for("chronology.show", case_id=case_id)), 303
    flash(f"Imported {result.rows} entries for {services().catalogue.agency_name(agency)}.")
    return redirect(url_for("chronology.show", case_id=case_id, imported=result.batch)), 303


@bp.post("/cases/<int:case_id>/chronology/undo")
@login_required
def undo(case_id: int) -> Any:
    """Remove every entry of one import."""
    removed = chronology.undo_import(services(), g.user, case_id, request.form.get("batch", ""))
    flash(f"Removed the {removed} entries of that import.")
    return redirect(url_for("chronology.show", case_id=case_id)), 303


@bp.get("/cases/<int:case_id>/chronology.csv")
@login_required
def export(case_id: int) -> Any:
    """The merged chronology as CSV, through the case's key and the leak scan (its keeper only)."""
    done = chronology_csv(services(), g.user, case_id, health_only=request.args.get("health") == "1", zone=time_zone())
    return Response(done.data, mimetype=done.mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{done.name}"', "Cache-Control": "no-store"})
