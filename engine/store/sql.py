"""Small query helpers shared by the repositories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Select
from sqlalchemy.orm import Session

M = TypeVar("M")


# A statement of a step's projection rows neither reads nor needs the audit events appended before it, so it does
# not first write them (autoflush): a step's events then go to the database together, in one INSERT at the next
# flush (its savepoint's end or the commit) instead of one each. Only statements reading events must see them.
NO_AUTOFLUSH: dict[str, Any] = {"autoflush": False}


def fresh(session: Session, stmt: Select[M], autoflush: bool = True) -> Sequence[M]:
    """Run an entity select, overwriting identity-map copies (rows are changed by bulk UPDATEs); `autoflush=False`
    leaves pending audit events unwritten (NO_AUTOFLUSH)."""
    return session.scalars(stmt.execution_options(populate_existing=True, autoflush=autoflush)).all()


def rowcount(result: Any) -> int:
    """Rows matched by an UPDATE/DELETE."""
    return cast(CursorResult[Any], result).rowcount
