"""The anonymisation key page: the LSCB administrator keeps each case's key here, as a form or as a JSON file in
issue 13's shape; everyone else is told 403 (sees the case) or 404 (does not)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, g, render_template, request

from engine.documents import keys
from engine.errors import Conflict, FieldError, InvalidSubmission
from web import safety
from web.auth import login_required, services

bp = Blueprint("documents", __name__)
KINDS = (("child", "Child"), ("family", "Family member"), ("professional", "Professional"))
SPARE_ROWS = 3


@bp.app_context_processor
def key_link() -> dict[str, Any]:
    """`keeps_key(board)`: whether the signed-in person keeps the keys of that board's cases (the case page's link)."""
    def keeps(board: str) -> bool:
        user = g.get("user")
        if not user:
            return False

        def check() -> bool:
            with services().uow() as uow:
                return keys.keeps_key(services(), uow, user, board)
        return safety.or_false(check)
    return {"keeps_key": keeps}


def _rows(form: Any, prefix: str, fields: tuple[str, ...], chosen: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """The numbered rows a form posts as `<prefix>-<n>-<field>`, blank rows dropped (a row whose only values are
    `chosen` ones, such as a select that always posts its first option, is blank)."""
    numbers = sorted({int(k.split("-")[1]) for k in form if k.startswith(f"{prefix}-") and k.split("-")[1].isdigit()})
    rows = [{f: form.get(f"{prefix}-{n}-{f}", "").strip() for f in fields} for n in numbers]
    return [r for r in rows if any(v for f, v in r.items() if f not in chosen)]


def key_from_form(form: Any) -> dict[str, Any]:
    """The key's JSON shape from the page's fields (aliases comma-separated, addresses one per line)."""
    people = []
    for row in _rows(form, "people", ("real", "aliases", "dob", "role", "kind", "pseudonym"), chosen=("kind",)):
        people.append({"real": row["real"], "aliases": [a.strip() for a in row["aliases"].split(",") if a.strip()],
                       "dob": row["dob"] or None, "role": row["role"], "kind": row["kind"] or "family",
                       "pseudonym": row["pseudonym"]})
    return {"people": people,
            "addresses": [line.strip() for line in form.get("addresses", "").splitlines() if line.strip()],
            "permitted": _rows(form, "permitted", ("name", "role"))}


def _uploaded() -> Any | None:
    """The JSON key file chosen for import, parsed; None when no file was chosen."""
    upload = request.files.get("key_file")
    if upload is None or not upload.filename:
        return None
    try:
        return json.loads(upload.read(2_000_000))
    except (ValueError, RecursionError):
        raise InvalidSubmission([FieldError("key_file", "That file is not a JSON key: export one from this page "
                                                        "to see the shape.")]) from None


def _page(state: keys.KeyState, raw: dict[str, Any] | None = None, errors: list[FieldError] | None = None,
          status: int = 200) -> Any:
    """The key page, from the saved state or from what was posted (with its errors)."""
    shown = raw if raw is not None else state.key.to_json()
    people = list(shown.get("people") or [])
    keyed = {str(p.get("real", "")).casefold() for p in people if isinstance(p, dict)}
    suggested = [{"real": name, "role": title, "kind": "professional", "aliases": [], "pseudonym": ""}
                 for name, title in state.professionals if name.casefold() not in keyed]
    permitted = list(shown.get("permitted") or [])
    if not permitted:
        permitted = [{"name": "", "role": r.title} for r in services().catalogue.roles if r.named]
    return render_template("documents/key.html", state=state, people=people, suggested=suggested,
                           spare=SPARE_ROWS, permitted=permitted, addresses=shown.get("addresses") or [],
                           kinds=KINDS, errors=errors or []), status


@bp.get("/cases/<int:case_id>/key")
@login_required
def key(case_id: int) -> Any:
    """The case's anonymisation key as a form."""
    return _page(keys.key_state(services(), g.user, case_id))


@bp.post("/cases/<int:case_id>/key")
@login_required
def save(case_id: int) -> Any:
    """Save the key from the form, or from an imported JSON file when one is chosen."""
    state = keys.key_state(services(), g.user, case_id)
    raw: dict[str, Any] | Any = {}
    version = request.form.get("version", "")
    expected = int(version) if version.isdigit() else None
    try:
        uploaded = _uploaded()
        raw = uploaded if uploaded is not None else key_from_form(request.form)
        saved = keys.save_key(services(), g.user, case_id, raw, expected)
    except InvalidSubmission as refused:
        return _page(state, raw if isinstance(raw, dict) else None, refused.errors, 422)
    except Conflict as stale:
        return _page(state, raw if isinstance(raw, dict) else None, [FieldError("version", str(stale))], 409)
    return _page(saved)


@bp.get("/cases/<int:case_id>/key.json")
@login_required
def export(case_id: int) -> Any:
    """The key as a JSON file for its keeper (the key never leaves the LSCB: 7.4)."""
    state = keys.key_state(services(), g.user, case_id)
    body = json.dumps(state.key.to_json(), indent=2, ensure_ascii=False)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{state.case.reference}-anonymisation-key.json"',
        "Cache-Control": "no-store"})
