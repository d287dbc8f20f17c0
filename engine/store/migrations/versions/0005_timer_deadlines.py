"""Timers remember what they keep: a missed deadline stays on the case page and the accountable inboxes.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("timer") as batch:
        batch.add_column(sa.Column("title", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("agency", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("accountable", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("timer") as batch:
        batch.drop_column("settled_at")
        batch.drop_column("accountable")
        batch.drop_column("agency")
        batch.drop_column("title")
