"""Failed sign-ins, counted in the database so the limit holds across every web process."""

from __future__ import annotations

from datetime import timedelta

from engine.services import Services


def recent_failures(services: Services, username: str, window: timedelta) -> int:
    """Failed sign-ins for this name within `window` of now."""
    with services.uow() as uow:
        return uow.people.login_failures_since(username, services.clock.now() - window)


def record_failure(services: Services, username: str, window: timedelta) -> None:
    """Count one failed sign-in (and drop this name's failures older than the window)."""
    now = services.clock.now()
    with services.uow() as uow:
        uow.people.clear_login_failures(username, before=now - window)
        uow.people.add_login_failure(username, now)
        uow.commit()


def clear_failures(services: Services, username: str) -> None:
    """Forget a name's failures after a successful sign-in."""
    with services.uow() as uow:
        uow.people.clear_login_failures(username)
        uow.commit()
