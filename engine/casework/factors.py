"""A second factor (time-based one-time codes, RFC 6238) for the people who change procedures.

The secret is shown once while enrolling and stored only after the person proves their authenticator app holds it
(a first good code). Codes are accepted one 30-second step either side of the engine clock.
"""

from __future__ import annotations

import pyotp

from engine.casework.services import Services
from engine.errors import FieldError, InvalidSubmission


def new_secret() -> str:
    """A fresh random secret to enrol (base32, as authenticator apps take it)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// address an authenticator app reads (typed in or from a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="SCR procedures")


def enrolled(services: Services, username: str) -> bool:
    """True when this person has a second factor."""
    with services.uow() as uow:
        return uow.people.totp_secret(username) is not None


def _good(secret: str, code: str, services: Services) -> bool:
    code = "".join(code.split())
    return code.isdigit() and len(code) == 6 and pyotp.TOTP(secret).verify(code, for_time=services.clock.now(),
                                                                            valid_window=1)


def enrol(services: Services, username: str, secret: str, code: str) -> None:
    """Store the secret once a code from it checks out (InvalidSubmission otherwise; nothing stored)."""
    if not _good(secret, code, services):
        raise InvalidSubmission([FieldError("code", "that code does not match: type the 6 digits your "
                                            "authenticator app shows now for this account")])
    with services.uow() as uow:
        uow.people.set_totp_secret(username, secret)
        uow.commit()


def verify(services: Services, username: str, code: str) -> None:
    """Check a code against the enrolled secret (InvalidSubmission when it does not match or none is enrolled)."""
    with services.uow() as uow:
        secret = uow.people.totp_secret(username)
    if secret is None or not _good(secret, code, services):
        raise InvalidSubmission([FieldError("code", "that code does not match: type the 6 digits your "
                                            "authenticator app shows now (codes change every 30 seconds)")])
