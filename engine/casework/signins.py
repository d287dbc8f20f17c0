"""Sign-ins: failed attempts counted in the database per name and client address (the limit holds across
processes) and browser sessions recorded there, so signing out ends a session for good."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from engine.casework.services import Services


def recent_failures(services: Services, username: str, address: str | None, window: timedelta) -> tuple[int, int]:
    """Failed sign-ins within `window` of now: for this name from this address (from anywhere when the address is
    unknown), and from this address for any name (0 when it is unknown)."""
    since = services.clock.now() - window
    with services.uow() as uow:
        return (uow.people.login_failures_since(since, username=username, address=address),
                uow.people.login_failures_since(since, address=address) if address is not None else 0)


def record_failure(services: Services, username: str, address: str | None, window: timedelta) -> None:
    """Count one failed sign-in for a name from an address (and drop everyone's failures older than the window)."""
    now = services.clock.now()
    with services.uow() as uow:
        uow.people.clear_login_failures(before=now - window)
        uow.people.add_login_failure(username, now, address)
        uow.commit()


def clear_failures(services: Services, username: str, address: str | None) -> None:
    """Forget a name's failures from this address after it signed in there (those of other names stay counted)."""
    with services.uow() as uow:
        uow.people.clear_login_failures(username, address)
        uow.commit()


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(services: Services, username: str) -> str:
    """A new random session id for a person who just signed in (only its sha256 is stored)."""
    session_id = secrets.token_urlsafe(32)
    with services.uow() as uow:
        uow.people.open_session(_hash(session_id), username, services.clock.now())
        uow.commit()
    return session_id


def session_user(services: Services, session_id: str) -> str | None:
    """Who a session id signs in, unless it was ended by signing out or expiring."""
    with services.uow() as uow:
        return uow.people.session_user(_hash(session_id))


def end_session(services: Services, session_id: str) -> None:
    """End a session: its cookie, even replayed, signs no one in again."""
    with services.uow() as uow:
        uow.people.end_session(_hash(session_id), services.clock.now())
        uow.commit()
