"""A database ready for fuzzing the API: the demo users, one Dorset case at its IMR authors, a token per role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from engine.authoring.versions import deploy
from engine.bootstrap import build_services
from engine.casework.accounts import issue_token, seed_users
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.ports import Assignment
from engine.workflow.specs import read_diagrams
from tests import formfill
from tests.drive import SCR_PATH, at_the_imr_authors, grant_everything

ROOT = Path(__file__).resolve().parents[2]
BOARD = "dorset"
PEER_AGENCIES = ("police", "social_care")  # two IMR authors of the same case: each may see only their own work
PEERS = tuple(f"fuzz.imr.{agency}" for agency in PEER_AGENCIES)
# who fuzzes the API: a name for the reports -> the account whose token is sent
ROLES = {
    "board": "dorset.board",
    "imr_police": PEERS[0],
    "imr_social_care": PEERS[1],
    "administrator": "dorset.admin",
    "process_owner": "dorset.owner",
}


@dataclass(frozen=True)
class Arranged:
    """What the fuzz run needs to know of the database it arranged."""

    case_id: int
    tokens: dict[str, str]  # role name of ROLES -> bearer token


@contextmanager
def dated_today(services: Services) -> Iterator[None]:
    """Forms filled with today's date: the served app keeps the real time, and a case whose dates lie years back
    has every timer long due."""
    kept = formfill.DATE
    formfill.DATE = services.clock.now().date().isoformat()
    try:
        yield
    finally:
        formfill.DATE = kept


def arrange(database_url: str) -> Arranged:
    """Deploy bpmn/, seed the demo users, drive one case until both peers have an IMR task, issue a token per role."""
    services, engine = build_services(database_url, ROOT / "forms")
    try:
        deploy(services, read_diagrams([ROOT / "bpmn"]), by="fuzz")
        seed_users(services, services.catalogue.users)
        grant_everything(services, BOARD, list(PEER_AGENCIES))
        with dated_today(services):
            case_id = at_the_imr_authors(services, BOARD, list(PEER_AGENCIES),
                                         {**SCR_PATH, "agencies": list(PEER_AGENCIES)})
        peers = list(zip(PEERS, PEER_AGENCIES, strict=True))
        seed_users(services, [{"username": user, "display_name": f"IMR author ({agency})", "board": BOARD,
                               "agency": agency, "roles": []} for user, agency in peers])
        for user, agency in peers:
            assign_role(services, Assignment(user, "imr_author", BOARD, case_id, agency))
        return Arranged(case_id, {role: issue_token(services, user) for role, user in ROLES.items()})
    finally:
        engine.dispose()


def fresh_tokens(database_url: str) -> dict[str, str]:
    """Another token per role (for the run that revokes the token it is sent with)."""
    services, engine = build_services(database_url, ROOT / "forms", migrate=False)
    try:
        return {role: issue_token(services, user) for role, user in ROLES.items()}
    finally:
        engine.dispose()
