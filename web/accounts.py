"""Passwords (argon2), sign-in throttling (shared through the database) and session lifetimes, on the engine clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.casework import signins
from engine.casework.services import Services


@dataclass
class Throttle:
    """At most `attempts` failed sign-ins per user name within `window`, counted in the database so the limit
    holds across every web process; then refuse until they age out."""

    services: Services
    attempts: int = 5
    window: timedelta = timedelta(minutes=15)

    def blocked(self, key: str) -> bool:
        """True while `key` has used up its failed attempts."""
        return signins.recent_failures(self.services, key, self.window) >= self.attempts

    def failed(self, key: str) -> None:
        """Record one failed attempt."""
        signins.record_failure(self.services, key, self.window)

    def succeeded(self, key: str) -> None:
        """Forget failures after a successful sign-in."""
        signins.clear_failures(self.services, key)


class Passwords:
    """argon2id hashing; `fast=True` gives cheap parameters for tests and demo seeding only."""

    def __init__(self, fast: bool = False) -> None:
        self.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1) if fast else PasswordHasher()

    def hash(self, password: str) -> str:
        """A salted argon2id hash."""
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """True when `password` matches; a missing hash still costs one verification (no timing oracle)."""
        try:
            return self.hasher.verify(stored or _DUMMY, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False


_DUMMY = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("not a password")


def session_expired(started: datetime, seen: datetime, now: datetime, idle: timedelta,
                    absolute: timedelta) -> str | None:
    """Why a session is over ('idle' or 'absolute'), or None while it is still valid."""
    if now - started > absolute:
        return "absolute"
    if now - seen > idle:
        return "idle"
    return None
