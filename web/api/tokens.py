"""An API client's own bearer token: its owner revokes it (DELETE /api/token); it signs no one in afterwards."""

from __future__ import annotations

from typing import Any

from flask import request

from engine.casework.accounts import revoke_token
from web.api.routes import bp
from web.auth import services


def presented_token() -> str:
    """The bearer token of this request (the api blueprint has already checked it signs someone in)."""
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


@bp.delete("/token")
def revoke() -> Any:
    """Revoke the token this request was sent with (204); a later request with it is answered 401."""
    revoke_token(services(), presented_token())
    return "", 204
