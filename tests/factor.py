"""The second factor in tests (web/factor.py): the code a person's authenticator app shows now, read from the
secret the app keeps (pending until the first good code, then enrolled), on the clock the server checks against."""

from __future__ import annotations

import pyotp

from engine.casework import factors
from engine.casework.services import Services

# Each live browser-test server's Services by its address, for codes on its clock. Kept here, not in
# tests/browser/conftest.py, which pytest loads once as `conftest` and the test files import again by name.
SERVED: dict[str, Services] = {}


def secret_of(services: Services, username: str) -> str:
    """The person's TOTP secret: the one the verify page offers on a first visit, else the enrolled one."""
    secret = factors.enrolment_secret(services, username)
    if secret is None:
        with services.uow() as uow:
            secret = uow.people.totp_secret(username)
    assert secret is not None
    return secret


def code_now(services: Services, username: str) -> str:
    """The 6 digits the person's authenticator app shows at the services' clock."""
    return pyotp.TOTP(secret_of(services, username)).at(services.clock.now())


def needs_factor(services: Services, username: str) -> bool:
    """Whether the administrators' pages ask this person for a second factor."""
    return factors.administrator(services, username)
