"""Users, their role assignments, and who holds a role for a task."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.ports import Assignment, UserRecord
from engine.store.models import ApiToken, AppUser, LoginFailure, RoleAssignment, UserSession
from engine.store.sql import fresh, rowcount

HolderKey = tuple[str, str | None, int | None, str | None]


class SqlPeopleRepository:
    """Users and their role assignments."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add_user(self, user: UserRecord) -> None:
        """Create the user, or update name, board and agency if the username exists."""
        row = self.session.get(AppUser, user.username, populate_existing=True)
        if row is None:
            row = AppUser(username=user.username)
            self.session.add(row)
        row.display_name, row.board, row.agency = user.display_name, user.board, user.agency
        if user.email is not None:
            row.email = user.email
        self.session.flush()

    def get_user(self, username: str) -> UserRecord | None:
        """The user, if any."""
        row = self.session.get(AppUser, username, populate_existing=True)
        return _user(row) if row else None

    def users(self, board: str | None = None) -> Sequence[UserRecord]:
        """All users by username (with `board`: those of that board and those of none)."""
        stmt = select(AppUser).order_by(AppUser.username)
        if board is not None:
            stmt = stmt.where(or_(AppUser.board.is_(None), AppUser.board == board))
        return [_user(r) for r in fresh(self.session, stmt)]

    def set_password_hash(self, username: str, password_hash: str | None) -> None:
        """Store a (pre-hashed) password; raises NotFound for an unknown user."""
        row = self.session.get(AppUser, username)
        if row is None:
            raise NotFound(f"user {username}")
        row.password_hash = password_hash
        self.session.flush()

    def password_hash(self, username: str) -> str | None:
        """The stored password hash, if the user exists and has one."""
        return self.session.scalar(select(AppUser.password_hash).where(AppUser.username == username))

    def set_totp_secret(self, username: str, secret: str | None) -> None:
        """Enrol (or remove) a person's second factor."""
        row = self.session.get(AppUser, username)
        if row is None:
            raise NotFound(f"user {username}")
        row.totp_secret = secret

    def totp_secret(self, username: str) -> str | None:
        """A person's second-factor secret, when enrolled."""
        return self.session.scalar(select(AppUser.totp_secret).where(AppUser.username == username))

    def assign(self, assignment: Assignment) -> None:
        """Grant a role; granting one already held changes nothing."""
        a = assignment
        exists = self.session.scalar(
            select(RoleAssignment.id).where(
                RoleAssignment.username == a.username,
                RoleAssignment.role == a.role,
                RoleAssignment.board.is_not_distinct_from(a.board),
                RoleAssignment.case_id.is_not_distinct_from(a.case_id),
                RoleAssignment.agency.is_not_distinct_from(a.agency),
            )
        )
        if exists is None:
            self.session.add(
                RoleAssignment(username=a.username, role=a.role, board=a.board, case_id=a.case_id, agency=a.agency)
            )
            self.session.flush()

    def unassign(self, assignment: Assignment) -> bool:
        """Take a role away; True when it was held."""
        a = assignment
        result = self.session.execute(
            delete(RoleAssignment).where(
                RoleAssignment.username == a.username,
                RoleAssignment.role == a.role,
                RoleAssignment.board.is_not_distinct_from(a.board),
                RoleAssignment.case_id.is_not_distinct_from(a.case_id),
                RoleAssignment.agency.is_not_distinct_from(a.agency),
            ).execution_options(synchronize_session=False)
        )
        return rowcount(result) > 0

    def assignments_of(self, username: str) -> Sequence[Assignment]:
        """The roles a user holds, in order of granting."""
        stmt = select(RoleAssignment).where(RoleAssignment.username == username).order_by(RoleAssignment.id)
        return [
            Assignment(username=r.username, role=r.role, board=r.board, case_id=r.case_id, agency=r.agency)
            for r in fresh(self.session, stmt)
        ]

    def on_case(self, case_id: int) -> Sequence[Assignment]:
        """Every role held on one case, in order of granting."""
        stmt = select(RoleAssignment).where(RoleAssignment.case_id == case_id).order_by(RoleAssignment.id)
        return [
            Assignment(username=r.username, role=r.role, board=r.board, case_id=r.case_id, agency=r.agency)
            for r in fresh(self.session, stmt)
        ]

    def add_login_failure(self, username: str, at: datetime, address: str | None = None) -> None:
        """Record a failed sign-in for a name from an address (kept in the database so every process sees it)."""
        self.session.add(LoginFailure(username=username, at=at, address=address))
        self.session.flush()

    def login_failures_since(self, since: datetime, username: str | None = None,
                             address: str | None = None) -> int:
        """How many sign-ins failed since `since`: for this name (when given) from this address (when given)."""
        stmt = select(func.count()).select_from(LoginFailure).where(LoginFailure.at > since)
        if username is not None:
            stmt = stmt.where(LoginFailure.username == username)
        if address is not None:
            stmt = stmt.where(LoginFailure.address == address)
        return int(self.session.scalar(stmt) or 0)

    def clear_login_failures(self, username: str | None = None, address: str | None = None,
                             before: datetime | None = None) -> None:
        """Forget failed sign-ins: of this name (when given) from this address (when given), all or those at or
        before `before`."""
        stmt = delete(LoginFailure)
        if username is not None:
            stmt = stmt.where(LoginFailure.username == username)
        if address is not None:
            stmt = stmt.where(LoginFailure.address == address)
        if before is not None:
            stmt = stmt.where(LoginFailure.at <= before)
        self.session.execute(stmt.execution_options(synchronize_session=False))

    def open_session(self, id_hash: str, username: str, at: datetime) -> None:
        """Record a new browser session."""
        self.session.add(UserSession(id_hash=id_hash, username=username, started_at=at))
        self.session.flush()

    def session_user(self, id_hash: str) -> str | None:
        """Who a browser session signs in, unless it has ended."""
        stmt = select(UserSession.username).where(UserSession.id_hash == id_hash, UserSession.ended_at.is_(None))
        return self.session.scalar(stmt)

    def end_session(self, id_hash: str, at: datetime) -> None:
        """End a browser session (replaying its cookie signs no one in)."""
        stmt = update(UserSession).where(UserSession.id_hash == id_hash, UserSession.ended_at.is_(None))
        self.session.execute(stmt.values(ended_at=at).execution_options(synchronize_session=False))

    def add_token(self, username: str, token_hash: str, at: datetime) -> None:
        """Store a new API token's hash for a user."""
        self.session.add(ApiToken(token_hash=token_hash, username=username, created_at=at))
        self.session.flush()

    def user_for_token(self, token_hash: str, issued_after: datetime) -> str | None:
        """The user a live token belongs to: not revoked, and issued after `issued_after` (else it has expired)."""
        return self.session.scalar(
            select(ApiToken.username).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None),
                                            ApiToken.created_at > issued_after))

    def revoke_token(self, token_hash: str, at: datetime) -> str | None:
        """Revoke one token; the user it belonged to, or None when it was unknown or already revoked."""
        username = self.session.scalar(select(ApiToken.username).where(ApiToken.token_hash == token_hash,
                                                                       ApiToken.revoked_at.is_(None)))
        if username is not None:
            self.session.execute(update(ApiToken).where(ApiToken.token_hash == token_hash).values(revoked_at=at)
                                 .execution_options(synchronize_session=False))
        return username

    def revoke_tokens(self, username: str, at: datetime) -> int:
        """Revoke every live token of a user; how many there were."""
        result = self.session.execute(
            update(ApiToken).where(ApiToken.username == username, ApiToken.revoked_at.is_(None)).values(revoked_at=at)
            .execution_options(synchronize_session=False))
        return rowcount(result)

    def holders_of(self, keys: Collection[HolderKey]) -> dict[HolderKey, list[str]]:
        """`holders` for many (role, board, case id, agency) at once, in one query (the inbox's "also can act")."""
        if not keys:
            return {}
        ra = RoleAssignment
        case_ids = {case_id for _, _, case_id, _ in keys if case_id is not None}
        stmt = select(ra.username, ra.role, ra.board, ra.case_id, ra.agency).where(
            ra.role.in_({role for role, _, _, _ in keys}),
            or_(ra.case_id.is_(None), ra.case_id.in_(case_ids)) if case_ids else ra.case_id.is_(None))
        by_role: dict[str, list[Any]] = {}
        for row in self.session.execute(stmt):
            by_role.setdefault(row.role, []).append(row)
        found: dict[HolderKey, list[str]] = {}
        for key in keys:
            role, board, case_id, agency = key
            found[key] = sorted({r.username for r in by_role.get(role, ()) if r.board in (None, board)
                                 and r.case_id in (None, case_id) and (agency is None or r.agency == agency)})
        return found

    def holders(self, role: str, board: str | None, case_id: int | None, agency: str | None) -> Sequence[str]:
        """Usernames who would see a task of `role` on this board/case/agency (the inbox rule, inverted)."""
        key = (role, board, case_id, agency)
        return self.holders_of({key})[key]


def _user(row: AppUser) -> UserRecord:
    return UserRecord(username=row.username, display_name=row.display_name, board=row.board, agency=row.agency,
                      email=row.email)
