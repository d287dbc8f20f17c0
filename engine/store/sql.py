"""Small query helpers shared by the repositories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Select
from sqlalchemy.orm import Session

M = TypeVar("M")


def fresh(session: Session, stmt: Select[M]) -> Sequence[M]:
    """Run an entity select, overwriting identity-map copies (rows are changed by bulk UPDATEs)."""
    return session.scalars(stmt.execution_options(populate_existing=True)).all()


def rowcount(result: Any) -> int:
    """Rows matched by an UPDATE/DELETE."""
    return cast(CursorResult[Any], result).rowcount
