"""The second factor (RELIABILITY T-S4): a time-based one-time code confirmed once per session by the people who
change what runs or what happens to cases, before any of their pages works.

Who: process owners, for the studio (`web/studio`), and administrators, for the administrators' pages (`web/admin`:
reassigning a task, giving case roles; `web/monitor`: the case list, exports, dashboards and interventions).
An administrator is whoever holds a role the catalogue marks `administers` or `monitors`
(`engine.casework.access.oversees`); nothing here names a role.

One page (`/verify`, also served as `/studio/verify` under the studio's stricter CSP) and one session flag
(`mfa_for`, set to the signed-in name; signing in again clears the session and with it the flag). Without it a GET
page redirects to `/verify?next=<where they were going>`; a JSON request or any other method is answered 403
naming `/verify`. Someone who is not an administrator is never sent there: the administrators' pages answer them
what they always did (404 for what they may not know exists, 403 for what they may only look at).

API bearer tokens: the factor is not asked of token calls, administrators' included (`/api/tasks/<id>/reassign`,
`/api/cases/<id>/people`). A token is never issued through sign-in: only an operator at the server's shell issues
one (`run.py token`), and the API takes no session cookie. So a stolen password, the threat the factor answers,
cannot mint a token; a leaked token is answered by its 90-day life and revocation (`run.py revoke-token`,
`DELETE /api/token`). Should a route ever issue tokens to a signed-in session, it must ask for the factor first
(`tests/web/test_admin_second_factor.py` fails when such a route appears).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, jsonify, redirect, render_template, request, session, url_for

from engine.authoring import studio
from engine.casework import factors
from engine.errors import FieldError, InvalidSubmission
from engine.monitoring import caselist
from web.auth import login_required, services
from web.errors import wants_json
from web.safety import same_site

bp = Blueprint("factor", __name__)
SESSION_KEY = "mfa_for"


def confirmed() -> bool:
    """Whether the signed-in person has confirmed their second factor in this session."""
    return g.get("user") is not None and session.get(SESSION_KEY) == g.user


def refusal(doing: str) -> Any:
    """None when this session has the factor; otherwise the way to it (a GET page) or a 403 naming the page."""
    if confirmed():
        return None
    if request.method == "GET" and not wants_json():
        return redirect(url_for("factor.verify", next=request.full_path.rstrip("?")))
    return jsonify({"error": "Second factor needed", "message": f"Confirm your one-time code on "
                    f"{url_for('factor.verify')} before {doing}.", "details": None}), 403


def guard_administrators(blueprint: Blueprint, doing: str) -> None:
    """Ask administrators for the factor before every route of `blueprint` (new routes included); anyone not signed
    in, or not an administrator, goes on to the route's own checks as before."""

    @blueprint.before_request
    def second_factor() -> Any:
        user = g.get("user")
        if user is None or confirmed() or not factors.administrator(services(), user):
            return None
        return refusal(doing)


def _owner(username: str) -> bool:
    return bool(studio.owned_boards(services(), username))


def _after(owner: bool) -> str:
    """Where a confirmed code leads without a `next`: the studio for an owner, else the monitor for those who
    monitor, else the inbox."""
    if owner:
        return url_for("studio.index")
    return url_for("monitor.index") if caselist.may_monitor(services(), g.user) else url_for("inbox.index")


@login_required
def verify() -> Any:
    """Enrol a second factor (first visit) or type today's code; 404 to anyone who needs none."""
    owner = _owner(g.user)
    if not owner and not factors.administrator(services(), g.user):
        abort(404)
    secret = factors.enrolment_secret(services(), g.user)
    enrolled = secret is None
    errors: list[FieldError] = []
    target = same_site(request.args.get("next"))
    if request.method == "POST":
        code = request.form.get("code", "")
        try:
            if enrolled:
                factors.verify(services(), g.user, code)
            else:
                factors.enrol(services(), g.user, code)
        except InvalidSubmission as refused:
            errors = refused.errors
        else:
            session[SESSION_KEY] = g.user
            return redirect(target or _after(owner))
    destination = target or _after(owner)
    place = ("the studio" if destination.startswith("/studio") else
             "the monitor" if destination.startswith("/monitor") else "your page")
    return render_template("verify.html", enrolled=enrolled, secret=secret, errors=errors, place=place,
                           uri=factors.provisioning_uri(secret, g.user) if secret else None), 422 if errors else 200


bp.add_url_rule("/verify", "verify", verify, methods=["GET", "POST"])
