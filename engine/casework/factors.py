"""A second factor (time-based one-time codes, RFC 6238) for the people who change procedures and for
administrators (who change running cases, reassign tasks and give case roles).

The secret is offered while enrolling and kept as *pending* (it grants nothing) until the person proves their
authenticator app holds it with a first good code; it is kept in the database, not in the browser's session, so a
reload or two requests crossing never swap it for another. Codes are accepted one 30-second step either side of the
engine clock.
"""

from __future__ import annotations

import pyotp

from engine.casework.access import oversees
from engine.casework.services import Services
from engine.errors import FieldError, InvalidSubmission

PENDING = "pending:"


def enrolment_secret(services: Services, username: str) -> str | None:
    """The secret to show a person who has no second factor yet (the same one until they confirm it); None when
    they are enrolled."""
    with services.uow() as uow:
        stored = uow.people.totp_secret(username)
        if stored is not None and not stored.startswith(PENDING):
            return None
        if stored is None:
            stored = PENDING + pyotp.random_base32()
            uow.people.set_totp_secret(username, stored)
            uow.commit()
        return stored.removeprefix(PENDING)


def administrator(services: Services, username: str) -> bool:
    """True when the person holds a role that administers or monitors cases (see access.oversees): they confirm a
    second factor before the administrators' pages open."""
    with services.uow() as uow:
        return oversees(uow.people.assignments_of(username), services.catalogue)


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// address an authenticator app reads (typed in or from a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="SCR procedures")


def enrolled(services: Services, username: str) -> bool:
    """True when this person has confirmed a second factor."""
    with services.uow() as uow:
        stored = uow.people.totp_secret(username)
    return stored is not None and not stored.startswith(PENDING)


def _good(secret: str, code: str, services: Services) -> bool:
    code = "".join(code.split())
    return code.isdigit() and len(code) == 6 and pyotp.TOTP(secret).verify(code, for_time=services.clock.now(),
                                                                            valid_window=1)


def enrol(services: Services, username: str, code: str) -> None:
    """Confirm the pending secret once a code from it checks out (InvalidSubmission otherwise; nothing changes)."""
    secret = enrolment_secret(services, username)
    if secret is None or not _good(secret, code, services):
        raise InvalidSubmission([FieldError("code", "that code does not match: type the 6 digits your "
                                            "authenticator app shows now for this account")])
    with services.uow() as uow:
        uow.people.set_totp_secret(username, secret)
        uow.commit()


def verify(services: Services, username: str, code: str) -> None:
    """Check a code against the enrolled secret (InvalidSubmission when it does not match or none is enrolled)."""
    with services.uow() as uow:
        secret = uow.people.totp_secret(username)
    if secret is None or secret.startswith(PENDING) or not _good(secret, code, services):
        raise InvalidSubmission([FieldError("code", "that code does not match: type the 6 digits your "
                                            "authenticator app shows now (codes change every 30 seconds)")])
