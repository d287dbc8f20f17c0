"""The studio: process owners list procedures, change them in the modeler and form editor, and publish with a
second owner's approval. Every page needs a second factor done in this session (web/factor.py)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any, TypeVar, cast

from flask import Blueprint, Response, abort, flash, g, jsonify, redirect, render_template, request, url_for

from engine.authoring import diff, migration, studio
from engine.errors import FieldError, InvalidDiagram, InvalidSubmission, MigrationNotSafe
from engine.ports import ProcedureDraftRecord, VersionRecord
from web import factor, formrender, safety
from web.auth import login_required, services
from web.errors import wants_json

bp = Blueprint("studio", __name__, url_prefix="/studio")
View = TypeVar("View", bound=Callable[..., Any])
STUDIO_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
              "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
              "frame-ancestors 'none'; form-action 'self'")


@bp.app_context_processor
def studio_link() -> dict[str, Any]:
    """Whether the signed-in person sees the Studio in the menu (they own some board's procedures)."""
    user = g.get("user")
    return {"owns_procedures": bool(user) and safety.or_false(lambda: bool(studio.owned_boards(services(), user)))}


@bp.after_request
def studio_headers(response: Response) -> Response:
    """Scripts only from this site (no inline script, ever); bpmn-js sets inline styles and an embedded font."""
    response.headers["Content-Security-Policy"] = STUDIO_CSP
    return response


def owner_required(view: View) -> View:
    """Signed in, owning some board's procedures (others see 'not found'), with a second factor this session."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        g.boards = studio.owned_boards(services(), g.user)
        if not g.boards:
            abort(404)
        return factor.refusal("changing procedures") or view(*args, **kwargs)

    return cast(View, login_required(wrapped))


# The one second-factor page (web/factor.py), also at its old address under the studio's content security policy.
bp.add_url_rule("/verify", "verify", factor.verify, methods=["GET", "POST"])


@bp.get("/")
@owner_required
def index() -> Any:
    """Every procedure of the person's boards: versions, who published them and why, open drafts."""
    return render_template("studio/index.html", procedures=studio.overview(services(), g.user),
                           boards=[services().catalogue.board(b) for b in g.boards])


@bp.post("/versions/<int:version_id>/drafts")
@owner_required
def start_draft(version_id: int) -> Any:
    """A new draft from a version, to change."""
    draft = studio.start_draft(services(), g.user, version_id, request.form.get("note", ""))
    return redirect(url_for("studio.draft", draft_id=draft.id))


@bp.post("/upload")
@owner_required
def upload() -> Any:
    """A new draft from a .bpmn file made in any modeler."""
    board = request.form.get("board", "")
    if board not in g.boards:
        abort(404)
    uploaded = request.files.get("file")
    if uploaded is None or not uploaded.filename:
        raise InvalidSubmission([FieldError("file", "choose a .bpmn file to upload")])
    data = uploaded.read(studio.MAX_FILE_BYTES + 1)
    draft = studio.upload_draft(services(), g.user, board, uploaded.filename, data, request.form.get("note", ""))
    flash(f"Uploaded {PurePosixPath(uploaded.filename).name} as a draft of {draft.title}.")
    return redirect(url_for("studio.draft", draft_id=draft.id))


def _attachment(text: str, name: str, mimetype: str) -> Response:
    safe = "".join(c for c in PurePosixPath(name).name if c.isalnum() or c in "._-") or "diagram.bpmn"
    return Response(text, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{safe}"'})


def _download(files: dict[str, str], process_id: str) -> Response:
    """The file `?path=` names (the main diagram without one) as an attachment, never shown inline."""
    path = _chosen_file(files, process_id)
    return _attachment(files[path], path, "application/xml" if path.endswith(".bpmn") else "application/json")


def _chosen_file(files: dict[str, str], process_id: str, diagram: bool = False) -> str:
    """The file `?path=` names, else the diagram that defines the process; 404 when there is no such file."""
    path = request.args.get("path") or studio.main_diagram(files, process_id)
    if path not in files or (diagram and not path.startswith("bpmn/")):
        abort(404)
    return path


@bp.get("/versions/<int:version_id>")
@owner_required
def version(version_id: int) -> Any:
    """A stored version, read-only: its diagram, files, and the way back to it."""
    found = studio.version_for_owner(services(), g.user, version_id)
    path = _chosen_file(found.files, found.process_id)
    return render_template("studio/version.html", version=found, path=path,
                           title=studio.procedure_title(found, found.process_id),
                           config=_viewer_config(found.files[path], [], path))


@bp.get("/versions/<int:version_id>/download")
@owner_required
def download_version(version_id: int) -> Any:
    """One file of a stored version, as a download."""
    found = studio.version_for_owner(services(), g.user, version_id)
    return _download(found.files, found.process_id)


@bp.post("/versions/<int:version_id>/rollback")
@owner_required
def rollback(version_id: int) -> Any:
    """Ask a second owner to publish this earlier version again."""
    draft = studio.request_rollback(services(), g.user, version_id, request.form.get("note", ""))
    flash(f"Roll-back to version {version_id} submitted: a second process owner must approve it.")
    return redirect(url_for("studio.draft", draft_id=draft.id))


def _problems(draft: ProcedureDraftRecord, path: str) -> list[dict[str, Any]]:
    name = PurePosixPath(path).name
    return [p for p in draft.problems if not p.get("file") or PurePosixPath(str(p["file"])).name == name
            or str(p["file"]).endswith(path[5:])]


def _viewer_config(xml: str, problems: list[dict[str, Any]], path: str, **extra: Any) -> dict[str, Any]:
    return {"xml": xml, "problems": problems, "path": path, **extra}


@bp.get("/drafts/<int:draft_id>")
@owner_required
def draft(draft_id: int) -> Any:
    """The modeler on one diagram of a draft, with its properties, problems, and the way to publish it."""
    found = studio.get_draft(services(), g.user, draft_id)
    path = _chosen_file(found.files, found.process_id, diagram=True)
    catalogue = services().catalogue
    config = _viewer_config(
        found.files[path], _problems(found, path), path, draft=found.id, lock=found.lock_version,
        editable=found.status == "draft", save=url_for("studio.save_file", draft_id=found.id),
        lanes=sorted(r.lane for r in catalogue.roles if r.lane),
        roles=[{"role": r.role, "title": r.title} for r in catalogue.roles],
        forms=studio.form_names(services(), found.files),
        formEditor=url_for("studio.form_editor", draft_id=found.id, name="NAME"),
    )
    return render_template("studio/draft.html", draft=found, path=path, config=config,
                           diagrams=sorted(k for k in found.files if k.startswith("bpmn/")),
                           forms=sorted(k[6:] for k in found.files if k.startswith("forms/")),
                           all_problems=found.problems, may_decide=found.author != g.user)


@bp.post("/drafts/<int:draft_id>/file")
@owner_required
def save_file(draft_id: int) -> Any:
    """Save a diagram or form of a draft (JSON: path, text, lock); answers with the checks' findings."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("path"), str) or not isinstance(body.get("text"), str):
        raise InvalidSubmission([FieldError("body", "send JSON with the file's path and text")])
    lock = body.get("lock")
    saved = studio.save_file(services(), g.user, draft_id, body["path"], body["text"],
                             lock if isinstance(lock, int) else None)
    return jsonify({"lock": saved.lock_version, "problems": _problems(saved, body["path"]),
                    "all_problems": saved.problems, "saved_at": f"{saved.updated_at:%H:%M:%S}"})


@bp.get("/drafts/<int:draft_id>/download")
@owner_required
def download_draft(draft_id: int) -> Any:
    """One file of a draft, as a download."""
    found = studio.get_draft(services(), g.user, draft_id)
    return _download(found.files, found.process_id)


@bp.post("/drafts/<int:draft_id>/<any(submit, withdraw, approve, reject):action>")
@owner_required
def decide(draft_id: int, action: str) -> Any:
    """Submit for approval, take back, approve (a second owner) or send back with a reason."""
    note = request.form.get("note", "")
    try:
        if action == "submit":
            studio.submit(services(), g.user, draft_id, note)
            flash("Submitted: a second process owner of the board must approve it before cases use it.")
        elif action == "withdraw":
            studio.withdraw(services(), g.user, draft_id)
            flash("Taken back: the draft can be changed again.")
        elif action == "approve":
            published = studio.approve(services(), g.user, draft_id, note)
            flash(f"Approved and published as version {published.id}: new cases start on it.")
            return redirect(url_for("studio.index"))
        else:
            studio.reject(services(), g.user, draft_id, note)
            flash("Sent back to its author with your reason.")
    except (InvalidSubmission, InvalidDiagram) as refused:
        flash(str(refused) if isinstance(refused, InvalidSubmission)
              else "The draft has problems: they are marked on the diagram. Fix them, then submit.")
    return redirect(url_for("studio.draft", draft_id=draft_id))


@bp.get("/drafts/<int:draft_id>/forms/<path:name>")
@owner_required
def form_editor(draft_id: int, name: str) -> Any:
    """A form of the draft in the JSON Schema editor, with the inbox's own rendering beside it."""
    found = studio.get_draft(services(), g.user, draft_id)
    key = "forms/" + name
    text = found.files.get(key)
    if text is None:
        disk = services().forms().get(name)
        text = disk.decode("utf-8") if disk is not None else json.dumps(
            {"type": "object", "title": "New form", "required": [], "properties": {}}, indent=2)
    return render_template("studio/form.html", draft=found, name=name, text=text,
                           config={"save": url_for("studio.save_file", draft_id=found.id), "path": key,
                                   "lock": found.lock_version, "editable": found.status == "draft",
                                   "preview": url_for("studio.preview_form")})


@bp.post("/forms/preview")
@owner_required
def preview_form() -> Any:
    """A JSON Schema rendered exactly as an inbox task shows it (an HTML fragment), or why it cannot be."""
    body = request.get_json(silent=True) or {}
    try:
        schema = json.loads(body.get("text", "")) if isinstance(body.get("text"), str) else None
    except ValueError as exc:
        return jsonify({"error": f"not valid JSON: {exc}"}), 422
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        return jsonify({"error": "a form is a JSON Schema of type object, with its fields under properties"}), 422
    try:
        tree = formrender.fields(schema, {})
        html = render_template("studio/preview.html", fields=tree)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return jsonify({"error": f"the form cannot be shown: {exc}"}), 422
    return jsonify({"html": html})


@bp.get("/drafts/<int:draft_id>/forms/new")
@owner_required
def new_form(draft_id: int) -> Any:
    """Open the editor on a new form file of the draft (it is stored when first saved)."""
    name = request.args.get("name", "").strip().lstrip("/")
    if not name.endswith(".schema.json") or ".." in name.split("/"):
        flash("A form file name ends in .schema.json, for example my_board/decision.schema.json.")
        return redirect(url_for("studio.draft", draft_id=draft_id))
    return redirect(url_for("studio.form_editor", draft_id=draft_id, name=name))


@bp.get("/drafts/<int:draft_id>/changes")
@owner_required
def changes(draft_id: int) -> Any:
    """The draft against the published version: a list, and the diagram with the changes marked."""
    found = studio.get_draft(services(), g.user, draft_id)
    base = studio.published_version(services(), found.process_id)
    listed = diff.diagram_changes(base.files if base else {}, found.files)
    path = request.args.get("path") or studio.main_diagram(found.files, found.process_id)
    marks = [{"element": c.element, "kind": c.kind} for c in listed
             if c.kind in ("added", "changed") and c.file and path.endswith(str(c.file).removeprefix("bpmn/"))]
    spec = None
    compiled, _ = studio.check_files(services(), found.process_id, found.files)
    if base is not None and compiled is not None:
        with services().uow() as uow:
            published = services().process_by_id(uow, base.id or 0)
        spec = diff.spec_changes(published, compiled)
    return render_template("studio/changes.html", draft=found, base=base, changes=listed, spec=spec,
                           config=_viewer_config(found.files.get(path, ""), [], path, marks=marks))


@bp.route("/processes/<process_id>/cases", methods=["GET", "POST"])
@owner_required
def cases(process_id: str) -> Any:
    """Cases still on older versions: preview whether each can move to the published one, and move them."""
    target = studio.published_version(services(), process_id)
    if target is None or studio.board_of(services(), process_id) not in g.boards:
        abort(404)
    if request.method == "POST":
        job_id = migration.start_job(services(), process_id, target.id or 0, request.form.get("kind", ""), g.user,
                                     request.form.get("reason", ""))
        migration.run_in_background(services(), job_id)
        return redirect(url_for("studio.job", job_id=job_id))
    pinned = migration.pinned_cases(services(), process_id, target.id or 0)
    with services().uow() as uow:
        jobs = list(uow.migrations.jobs(process_id))[:5]
        moved = [m for p in pinned for m in uow.migrations.for_case(p.case_id)]
        on_target = [m for r in uow.cases.list() if r.process_id == process_id and r.version_id == target.id
                     for m in uow.migrations.for_case(r.id or 0) if m.undone_at is None]
    return render_template("studio/cases.html", process_id=process_id, target=target, pinned=pinned, jobs=jobs,
                           moved=moved + on_target, title=studio.procedure_title(target, process_id))


@bp.get("/jobs/<int:job_id>")
@owner_required
def job(job_id: int) -> Any:
    """A preview or migration running in the background: its progress (JSON for the page's poll) and results."""
    with services().uow() as uow:
        found = uow.migrations.get_job(job_id)
    if studio.board_of(services(), found.process_id) not in g.boards:
        abort(404)
    if wants_json():
        return jsonify({"status": found.status, "done": found.done, "total": found.total})
    return render_template("studio/job.html", job=found)


@bp.post("/cases/<int:case_id>/migrate")
@owner_required
def migrate_one(case_id: int) -> Any:
    """Move one case to the published version of its procedure (refused, with the reason, when unsafe)."""
    to_version = request.form.get("to_version", "")
    if not to_version.isdigit() or len(to_version) > 9:  # ids are 32-bit: a longer number names no version
        raise InvalidSubmission([FieldError("to_version", "say which version the case moves to")])
    try:
        moved = migration.migrate_case(services(), case_id, int(to_version), g.user, request.form.get("reason", ""))
    except MigrationNotSafe as refused:
        flash(f"Not moved: it is not safe. {refused.why}")
    except InvalidSubmission as refused:
        flash(f"Not moved: {refused}")
    else:
        flash("Moved to the new version." if moved else "Nothing to do: the case is already there or has ended.")
    return redirect(_back())


@bp.post("/migrations/<int:migration_id>/undo")
@owner_required
def undo(migration_id: int) -> Any:
    """Put a case back exactly as it was before it moved."""
    migration.undo_migration(services(), migration_id, g.user, request.form.get("reason", ""))
    flash("The case is back on its earlier version, exactly as it was.")
    return redirect(_back())


def _back() -> str:
    """The studio page a form came from (its `next` field), else the list of procedures."""
    target = request.form.get("next", "")
    return target if target.startswith("/studio/") and "//" not in target else url_for("studio.index")


def version_label(version: VersionRecord) -> str:
    """'version 7 (a1b2c3d4e5f6)'."""
    return f"version {version.id} ({version.content_hash[:12]})"
