"""Sign-in and sign-out, the signed-in user on every request, and session idle and absolute timeouts."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from engine.casework import signins
from engine.casework.accounts import password_hash_of
from engine.casework.services import Services
from web.accounts import Passwords, Throttle, session_expired
from web.safety import same_site

bp = Blueprint("auth", __name__)
View = TypeVar("View", bound=Callable[..., Any])


def services() -> Services:
    """The app's Services."""
    return cast(Services, current_app.extensions["services"])


def init_app(app: Flask) -> None:
    """Load the signed-in user before every request, ending sessions that are idle or too old."""

    @app.before_request
    def load_user() -> None:
        g.user = None
        username, session_id = session.get("user"), session.get("sid")
        if not username:
            return
        if not session_id or signins.session_user(services(), session_id) != username:
            session.clear()  # signed out (perhaps elsewhere) or a cookie from before: nobody is signed in
            return
        now = services().clock.now()
        reason = session_expired(
            datetime.fromisoformat(session.get("started", now.isoformat())),
            datetime.fromisoformat(session.get("seen", now.isoformat())), now,
            timedelta(minutes=app.config["SESSION_IDLE_MINUTES"]),
            timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"]))
        if reason:
            signins.end_session(services(), session_id)
            session.clear()
            flash("Your session ended after a period without activity." if reason == "idle"
                  else "Your session reached its maximum length. Please sign in again.")
            return
        session["seen"] = now.isoformat()
        g.user = username


def login_required(view: View) -> View:
    """Send people who are not signed in to the sign-in page (API clients get 401)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.user is None:
            if request.path.startswith("/api/"):
                return jsonify({"error": "Not signed in", "message": "Sign in first."}), 401
            return redirect(url_for("auth.login", next=request.path))
        return view(*args, **kwargs)

    return cast(View, wrapped)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Sign in with user name and password; five failures in fifteen minutes lock the name for a while."""
    error = None
    status = 200
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        throttle: Throttle = current_app.extensions["throttle"]
        passwords: Passwords = current_app.extensions["passwords"]
        if throttle.blocked(username):
            error, status = "Too many failed attempts. Wait fifteen minutes, then try again.", 429
        elif passwords.verify(password_hash_of(services(), username), password):
            throttle.succeeded(username)
            now = services().clock.now().isoformat()
            session.clear()
            session.update(user=username, started=now, seen=now, sid=signins.open_session(services(), username))
            return redirect(same_site(request.args.get("next")) or url_for("inbox.index"))
        else:
            throttle.failed(username)
            error, status = "That user name and password do not match an account.", 401
    return render_template("login.html", error=error), status


@bp.post("/logout")
def logout() -> Any:
    """End the session, here and for any copy of its cookie."""
    if session.get("sid"):
        signins.end_session(services(), session["sid"])
    session.clear()
    flash("You have signed out.")
    return redirect(url_for("auth.login"))
