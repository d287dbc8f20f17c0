"""/metrics for Prometheus and /health for load balancers: no sign-in, and nothing that names a case or a person."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState

from engine.monitoring.metrics import CONTENT_TYPE, exposition, health, registry_for
from web.auth import services

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)
DEFAULT_STALE_SECONDS = 120.0
REGISTRY = "ops.metrics"


@bp.record_once
def _build_registry(state: BlueprintSetupState) -> None:
    """One metrics registry per app (tests build many apps in one process)."""
    state.app.extensions[REGISTRY] = registry_for(state.app.extensions["services"])


@bp.get("/metrics")
def metrics() -> Any:
    """The Prometheus text format; `Authorization: Bearer <SCR_METRICS_TOKEN>` when that token is set."""
    token = str(current_app.config.get("METRICS_TOKEN") or "")
    if token and not _bearer_matches(token):
        return Response("Send Authorization: Bearer <SCR_METRICS_TOKEN>.\n", 401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    try:
        body = exposition(current_app.extensions[REGISTRY])
    except Exception as exc:  # the store did not answer: say so plainly, Prometheus marks the target down
        log.warning("metrics could not be read: %s", exc)
        return Response("The database did not answer.\n", 503, mimetype="text/plain")
    return Response(body, 200, content_type=CONTENT_TYPE)


@bp.get("/health")
def health_check() -> Any:
    """200 when the database answers and a timer worker swept within SCR_WORKER_STALE_SECONDS, else 503."""
    verdict = health(services(), float(current_app.config.get("WORKER_STALE_SECONDS", DEFAULT_STALE_SECONDS)))
    return jsonify(verdict.as_dict()), 200 if verdict.ok else 503


def _bearer_matches(token: str) -> bool:
    """Whether the request carries `Authorization: Bearer <token>` (compared in constant time)."""
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    return hmac.compare_digest(given.encode(), token.encode())
