"""Failed sign-ins record the client's address: the limit counts per name and address, and per address.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("login_failure") as batch:
        batch.add_column(sa.Column("address", sa.String(length=64), nullable=True))
    op.create_index("ix_login_failure_address_at", "login_failure", ["address", "at"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_login_failure_address_at", table_name="login_failure")
    with op.batch_alter_table("login_failure") as batch:
        batch.drop_column("address")
