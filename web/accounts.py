"""Passwords (argon2), sign-in throttling per name and client address (shared through the database) and session
lifetimes, on the engine clock."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import has_request_context, request

from engine.casework import signins
from engine.casework.services import Services


def client_address() -> str | None:
    """The address a request comes from, as the WSGI server saw it (`request.remote_addr`).

    X-Forwarded-For is never trusted here: behind a reverse proxy every request would seem to come from the proxy,
    so wrap the app in werkzeug's ProxyFix with the number of proxies in front of it (x_for=1 for one), which sets
    remote_addr from the header that proxy writes.
    """
    return (request.remote_addr or None) if has_request_context() else None


@dataclass
class Throttle:
    """Failed sign-ins, counted in the database so the limits hold across every web process: at most `attempts`
    per user name from one client address, and `per_address` for any names from one address, within `window`;
    then that name (or, past the second, every name) is refused from that address until they age out.

    Someone guessing a person's password elsewhere does not lock them out at their own address, and guesses
    spread over many names from one address are stopped too. The address is the request's (`client_address`)
    unless one is given.
    """

    services: Services
    attempts: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)

    def blocked(self, key: str, address: str | None = None) -> bool:
        """True while `key` has used up its failed attempts from this address, or the address has."""
        for_name, for_address = signins.recent_failures(self.services, key, _address(address), self.window)
        return for_name >= self.attempts or for_address >= self.per_address

    def failed(self, key: str, address: str | None = None) -> None:
        """Record one failed attempt."""
        signins.record_failure(self.services, key, _address(address), self.window)

    def succeeded(self, key: str, address: str | None = None) -> None:
        """Forget this name's failures from this address after a successful sign-in there."""
        signins.clear_failures(self.services, key, _address(address))


def _address(given: str | None) -> str | None:
    """The address given, else the request's, cut to what the database keeps."""
    address = given or client_address()
    return address[:64] if address else None


class Passwords:
    """argon2id hashing; `fast=True` gives cheap parameters for tests and demo seeding only.

    A name with no password is checked against `dummy`, a hash made once with the same parameters, so an unknown
    name takes as long to refuse as a wrong password (no timing oracle for which names exist).
    """

    def __init__(self, fast: bool = False) -> None:
        self.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1) if fast else PasswordHasher()
        self.dummy = _dummy(self.hasher.time_cost, self.hasher.memory_cost, self.hasher.parallelism,
                            self.hasher.hash_len, self.hasher.salt_len)

    def hash(self, password: str) -> str:
        """A salted argon2id hash."""
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """True when `password` matches; a missing hash costs one verification against `dummy` all the same."""
        try:
            return self.hasher.verify(stored or self.dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False


@functools.cache
def _dummy(time_cost: int, memory_cost: int, parallelism: int, hash_len: int, salt_len: int) -> str:
    """A hash of nothing anyone can type, made once per set of argon2 parameters."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism,
                            hash_len=hash_len, salt_len=salt_len)
    return hasher.hash(secrets.token_urlsafe(32))


def session_expired(started: datetime, seen: datetime, now: datetime, idle: timedelta,
                    absolute: timedelta) -> str | None:
    """Why a session is over ('idle' or 'absolute'), or None while it is still valid."""
    if now - started > absolute:
        return "absolute"
    if now - seen > idle:
        return "idle"
    return None
