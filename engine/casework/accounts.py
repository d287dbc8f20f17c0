"""Accounts: people and their board roles from the demo list, password hashes and API bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from engine.casework.services import Services
from engine.errors import NotFound
from engine.ports import Assignment, EventRow, UserRecord


def seed_users(services: Services, users: Sequence[Mapping[str, Any]]) -> int:
    """Create users and their board-level roles from the demo list (idempotent); returns users added."""
    added = 0
    with services.uow() as uow:
        for entry in users:
            if uow.people.get_user(entry["username"]) is not None:
                continue
            uow.people.add_user(UserRecord(entry["username"], entry.get("display_name", entry["username"]),
                                           entry.get("board"), entry.get("agency"), entry.get("email")))
            for role in entry.get("roles", []):
                uow.people.assign(Assignment(entry["username"], role, entry.get("board"), None, entry.get("agency")))
            added += 1
        uow.commit()
    return added


def set_password_hash(services: Services, username: str, password_hash: str, by: str | None = None) -> None:
    """Store a user's (already hashed) password (NotFound for an unknown user); audited without the hash."""
    with services.uow() as uow:
        if uow.people.get_user(username) is None:
            raise NotFound(f"no user {username!r}")
        uow.people.set_password_hash(username, password_hash)
        uow.events.append(EventRow(None, services.clock.now(), "password_set", by, {"user": username}))
        uow.commit()


def password_hash_of(services: Services, username: str) -> str | None:
    """The stored password hash of a user, if any (for sign-in)."""
    with services.uow() as uow:
        return uow.people.password_hash(username)


# How long an API token works after it is issued (read here only): its owner then asks for a new one.
TOKEN_LIFETIME = timedelta(days=90)


def _digest(token: str) -> str:
    """What is stored of a token: its sha256."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(services: Services, username: str) -> str:
    """A new API bearer token for a user, working for TOKEN_LIFETIME (only its sha256 is stored; NotFound for an
    unknown user)."""
    token = secrets.token_urlsafe(32)
    now = services.clock.now()
    with services.uow() as uow:
        if uow.people.get_user(username) is None:
            raise NotFound(f"no user {username!r}")
        uow.people.add_token(username, _digest(token), now)
        uow.events.append(EventRow(None, now, "api_token_issued", username, {"user": username}))
        uow.commit()
    return token


def user_for_token(services: Services, token: str) -> str | None:
    """Who a bearer token signs in: None when it is unknown, revoked or older than TOKEN_LIFETIME."""
    with services.uow() as uow:
        return uow.people.user_for_token(_digest(token), services.clock.now() - TOKEN_LIFETIME)


def revoke_token(services: Services, token: str) -> str | None:
    """Revoke the token presented (its owner's own act, audited); whose it was, or None when it was not live."""
    now = services.clock.now()
    with services.uow() as uow:
        username = uow.people.revoke_token(_digest(token), now)
        if username is not None:
            uow.events.append(EventRow(None, now, "api_token_revoked", username, {"user": username, "tokens": 1}))
        uow.commit()
        return username


def revoke_tokens(services: Services, username: str, by: str | None = None) -> int:
    """Revoke every live token of a person (audited when there were any); how many (NotFound for an unknown
    user)."""
    now = services.clock.now()
    with services.uow() as uow:
        if uow.people.get_user(username) is None:
            raise NotFound(f"no user {username!r}")
        revoked = uow.people.revoke_tokens(username, now)
        if revoked:
            uow.events.append(EventRow(None, now, "api_token_revoked", by, {"user": username, "tokens": revoked}))
        uow.commit()
        return revoked
