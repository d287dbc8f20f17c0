"""The pages where a case's documents are written: the list of documents a person may read, and one document with
its written sections, an upload of the whole as .docx, its versions and its sign-offs (a sign-off is bound to the
sha256 of the version signed, so a later edit shows it void)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine.documents import authoring
from engine.documents.library import library
from engine.documents.outline import Outline
from engine.errors import Conflict, InvalidSubmission, NotFound
from web.auth import login_required, services

bp = Blueprint("authoring", __name__)


def _outline(outline_id: str) -> Outline:
    """The outline of a document people write, or NotFound."""
    outline = library(services()).outline(outline_id)
    if not outline.authors:
        raise NotFound(f"no document {outline_id!r} is written here")
    return outline


def _roles() -> dict[str, str]:
    """Role titles by role, for the pages."""
    return {r.role: r.title for r in services().catalogue.roles}


@bp.get("/cases/<int:case_id>/documents")
@login_required
def index(case_id: int) -> Any:
    """The documents of the case the person may read, with where each stands."""
    found = authoring.documents_of(services(), g.user, case_id)
    return render_template("documents/authoring_list.html", found=found, roles=_roles())


def _page(case_id: int, outline: Outline, agency: str, status: int = 200, problems: list[str] | None = None,
          posted: dict[str, str] | None = None) -> Any:
    """One document's page as stored, with the problems of what was just posted (and the text posted)."""
    state = authoring.document_state(services(), g.user, case_id, outline, agency)
    return render_template("documents/authoring_document.html", state=state, roles=_roles(),
                           authored=authoring.authored_sections(outline),
                           headings=authoring.section_headings(outline),
                           filled=authoring.filled_from(services(), outline), problems=problems or [],
                           posted=posted or {}, whole=authoring.WHOLE), status


def _back(case_id: int, outline: Outline, agency: str) -> Any:
    """See the document's page again (after a change)."""
    return redirect(url_for("authoring.document", case_id=case_id, outline_id=outline.id,
                            agency=agency if outline.per_agency and agency else None), 303)


@bp.get("/cases/<int:case_id>/documents/<outline_id>")
@login_required
def document(case_id: int, outline_id: str) -> Any:
    """One document: its sections to write, its versions and its sign-offs."""
    return _page(case_id, _outline(outline_id), request.args.get("agency", ""))


def _said(refused: InvalidSubmission) -> list[str]:
    """The refusal's messages."""
    return [e.message for e in refused.errors]


@bp.post("/cases/<int:case_id>/documents/<outline_id>/sections/<section_id>")
@login_required
def save(case_id: int, outline_id: str, section_id: str) -> Any:
    """Keep a new version of one section."""
    outline, agency = _outline(outline_id), request.form.get("agency", "")
    text = request.form.get("text", "")
    try:
        state = authoring.save_section(services(), g.user, case_id, outline, section_id, text, agency)
    except InvalidSubmission as refused:
        return _page(case_id, outline, agency, 422, _said(refused), {section_id: text})
    heading = authoring.section_headings(outline).get(section_id, section_id)
    flash(f"Saved \u201c{heading}\u201d as version {state.current[section_id].number}.")
    return _back(case_id, outline, agency)


@bp.post("/cases/<int:case_id>/documents/<outline_id>/upload")
@login_required
def upload(case_id: int, outline_id: str) -> Any:
    """Keep an uploaded .docx as the next version of the whole document."""
    outline, agency = _outline(outline_id), request.form.get("agency", "")
    file = request.files.get("file")
    name = (file.filename or "") if file is not None else ""
    data = file.read(authoring.MAX_UPLOAD + 1) if file is not None and name else b""
    try:
        state = authoring.upload(services(), g.user, case_id, outline, name, data, agency)
    except InvalidSubmission as refused:
        return _page(case_id, outline, agency, 422, _said(refused))
    version = state.upload
    flash(f"Uploaded {version.file_name} as version {version.number} of the whole document." if version else
          "Uploaded.")
    return _back(case_id, outline, agency)


@bp.post("/cases/<int:case_id>/documents/<outline_id>/signoff")
@login_required
def sign(case_id: int, outline_id: str) -> Any:
    """Sign off the version the page showed (its sha256)."""
    outline, agency = _outline(outline_id), request.form.get("agency", "")
    try:
        state = authoring.sign_off(services(), g.user, case_id, outline, request.form.get("sha256", ""), agency)
    except InvalidSubmission as refused:
        return _page(case_id, outline, agency, 422, _said(refused))
    except Conflict as stale:
        return _page(case_id, outline, agency, 409, [str(stale)])
    flash(f"Signed off as {_roles().get(state.signs_as, state.signs_as)}: version {state.sha256[:12]}.")
    return _back(case_id, outline, agency)
