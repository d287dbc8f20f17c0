"""The Flask application factory (a status page until the role-based front end lands)."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template

from engine.services import Services


def create_app(services: Services, test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app around an already-wired Services."""
    app = Flask(__name__)
    app.config.from_mapping(SECRET_KEY="dev")
    app.config.from_prefixed_env("SCR")
    if test_config:
        app.config.update(test_config)
    app.extensions["services"] = services

    @app.get("/")
    def status() -> str:
        """Deployed processes, cases and demo users at a glance."""
        with services.uow() as uow:
            versions = list(uow.versions.list())
            cases = list(uow.cases.list())
            users = list(uow.people.users())
        return render_template("status.html", versions=versions, cases=cases, users=users,
                               boards=services.catalogue.boards)

    @app.get("/health")
    def health() -> dict[str, str]:
        """Liveness probe."""
        return {"status": "ok"}

    return app
