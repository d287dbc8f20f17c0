"""The packs page: the LSCB administrator assembles the Ofsted/DfE pack or the publication set with one action,
watches each document built and scanned on a progress bar, then downloads the zip or reads where each finding is;
and one document of a case out as Word or PDF, anonymised, for whoever may read it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, redirect, render_template, request, url_for

from engine.documents import pack
from engine.documents.export import export_document
from web.auth import login_required, services
from web.config import time_zone

bp = Blueprint("packs", __name__)


def _in_background() -> bool:
    """Whether a started pack runs on a thread (SCR_PACKS_IN_BACKGROUND; tests run it before answering)."""
    return bool(current_app.config.get("PACKS_IN_BACKGROUND", not current_app.testing))


def _attachment(name: str, data: bytes, mimetype: str) -> Response:
    """A file to save, never cached."""
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                      "Cache-Control": "no-store"})


@bp.get("/cases/<int:case_id>/packs")
@login_required
def index(case_id: int) -> Any:
    """The case's packs with the documents each would hold, and the releases so far."""
    view = pack.packs_view(services(), g.user, case_id)
    return render_template("documents/packs.html", view=view, agency=services().catalogue.agency_name)


@bp.post("/cases/<int:case_id>/packs/<pack_id>")
@login_required
def start(case_id: int, pack_id: str) -> Any:
    """Start building and releasing one pack; its page shows the progress."""
    release_id = pack.start_pack(services(), g.user, case_id, pack_id)
    if _in_background():
        pack.run_in_background(services(), release_id, time_zone())
    else:
        pack.run_pack(services(), release_id, time_zone())
    return redirect(url_for("packs.release", case_id=case_id, release_id=release_id)), 303


@bp.get("/cases/<int:case_id>/releases/<int:release_id>")
@login_required
def release(case_id: int, release_id: int) -> Any:
    """A release's progress, then its zip to download or every finding that stopped it."""
    found = pack.release_of(services(), g.user, case_id, release_id)
    return render_template("documents/release.html", release=found, case_id=case_id,
                           title=pack.title_of(services(), found.kind), running=found.status in pack.RUNNING)


@bp.get("/cases/<int:case_id>/releases/<int:release_id>.json")
@login_required
def progress(case_id: int, release_id: int) -> Any:
    """A release's progress for the page's poll."""
    found = pack.release_of(services(), g.user, case_id, release_id)
    return jsonify({"status": found.status, "done": found.done, "total": found.total,
                    "findings": found.findings.get("findings", [])})


@bp.get("/cases/<int:case_id>/releases/<int:release_id>/download")
@login_required
def download(case_id: int, release_id: int) -> Any:
    """A released pack's zip (409 when it was not released, or the key has changed since)."""
    name, data = pack.download(services(), g.user, case_id, release_id)
    return _attachment(name, data, "application/zip")


@bp.get("/cases/<int:case_id>/documents/<outline_id>/export/<fmt>")
@login_required
def export(case_id: int, outline_id: str, fmt: str) -> Any:
    """One document of the case, anonymised, as Word or PDF (through the key and the leak scan)."""
    exported = export_document(services(), g.user, case_id, outline_id, request.args.get("agency", ""), fmt,
                               time_zone())
    return _attachment(exported.name, exported.data, exported.mimetype)
