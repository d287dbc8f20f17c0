"""The monitor at 10,000 cases: the case's workflow state becomes its last column on SQLite, and the ready-step
indexes become partial.

SQLite keeps a row's columns in declaration order and spills a long value to overflow pages, so reading any
column declared after the gzip state means following that chain; the case list reads thousands of rows and never
the state. Moving it last: add a new last column, copy, drop the old one and take its name (SQLite 3.35+ drops a
column in place, so the table is never rebuilt and no foreign key to it is disturbed). PostgreSQL keeps long
values out of line already, so there it is left where it is.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

READY = sa.text("state = 'ready'")


def upgrade() -> None:
    """Apply this revision."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE \"case\" ADD COLUMN state_last BLOB NOT NULL DEFAULT x''")
        op.execute("UPDATE \"case\" SET state_last = state")
        op.execute("ALTER TABLE \"case\" DROP COLUMN state")
        op.execute("ALTER TABLE \"case\" RENAME COLUMN state_last TO state")
    op.drop_index("ix_task_state_name", table_name="task")
    op.drop_index("ix_task_state_agency", table_name="task")
    op.create_index("ix_task_ready_name", "task", ["name", "case_id", "title"],
                    sqlite_where=READY, postgresql_where=READY)
    op.create_index("ix_task_ready_agency", "task", ["agency", "case_id"], sqlite_where=READY, postgresql_where=READY)


def downgrade() -> None:
    """Revert this revision (the state stays last: column order is not part of the schema)."""
    op.drop_index("ix_task_ready_agency", table_name="task")
    op.drop_index("ix_task_ready_name", table_name="task")
    op.create_index("ix_task_state_agency", "task", ["state", "agency"])
    op.create_index("ix_task_state_name", "task", ["state", "name"])
