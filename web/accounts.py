"""Passwords (argon2), sign-in throttling and session lifetimes, all on the engine's clock."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.clock import Clock


@dataclass
class Throttle:
    """At most `attempts` failed sign-ins per user name within `window`; then refuse until they age out."""

    clock: Clock
    attempts: int = 5
    window: timedelta = timedelta(minutes=15)
    _failures: dict[str, deque[datetime]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str) -> deque[datetime]:
        now = self.clock.now()
        failures = self._failures.setdefault(key, deque())
        while failures and now - failures[0] > self.window:
            failures.popleft()
        return failures

    def blocked(self, key: str) -> bool:
        """True while `key` has used up its failed attempts."""
        with self._lock:
            return len(self._recent(key)) >= self.attempts

    def failed(self, key: str) -> None:
        """Record one failed attempt."""
        with self._lock:
            self._recent(key).append(self.clock.now())

    def succeeded(self, key: str) -> None:
        """Forget failures after a successful sign-in."""
        with self._lock:
            self._failures.pop(key, None)


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
