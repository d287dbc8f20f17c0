"""The monitor: each case's projection for administrators, each step's state kept, step times, saved filters,
the worker's heartbeat, and revised due dates.

Cases already running get their projection the next time a step runs on them; until then the list shows them
with what the task rows say (`run.py reproject` writes it at once).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("case") as batch:
        batch.add_column(sa.Column("step", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("next_due_at", WHEN, nullable=True))
        batch.add_column(sa.Column("planned_week", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("planned_by", WHEN, nullable=True))
        batch.add_column(sa.Column("clock_started_at", WHEN, nullable=True))
        batch.add_column(sa.Column("clock_weeks", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("elements", sa.Text(), nullable=True))
        batch.add_column(sa.Column("facts", sa.Text(), nullable=True))
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("suspended_at", WHEN, nullable=True))
        batch.create_index("ix_case_next_due_at", ["next_due_at"])
        batch.create_index("ix_case_planned_by", ["planned_by"])
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("due_original", WHEN, nullable=True))
        batch.add_column(sa.Column("due_reason", sa.Text(), nullable=True))
        batch.create_index("ix_task_state_name", ["state", "name"])
        batch.create_index("ix_task_state_agency", ["state", "agency"])
        batch.create_index("ix_task_claimed_by", ["claimed_by"])
    op.create_table(
        "case_step",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("elements", sa.Text(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name="fk_case_step_case_id_case"),
        sa.ForeignKeyConstraint(["version_id"], ["process_version.id"], name="fk_case_step_version_id_process_version"),
        sa.PrimaryKeyConstraint("id", name="pk_case_step"),
    )
    op.create_index("ix_case_step_case_id_at", "case_step", ["case_id", "at"])
    op.create_table(
        "step_time",
        sa.Column("board", sa.String(length=100), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("element", sa.String(length=200), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("board", "process_id", "element", "hours", name="pk_step_time"),
    )
    op.create_table(
        "saved_filter",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["username"], ["app_user.username"], name="fk_saved_filter_username_app_user"),
        sa.PrimaryKeyConstraint("id", name="pk_saved_filter"),
        sa.UniqueConstraint("username", "name", name="uq_saved_filter_username_name"),
    )
    op.create_table(
        "worker_beat",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("swept_at", WHEN, nullable=False),
        sa.Column("fired", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_worker_beat"),
    )
    # Steps finished before this revision count towards the heatmap's times too.
    op.execute(
        "INSERT INTO step_time (board, process_id, element, hours, count) "
        "SELECT c.board, c.process_id, t.name, "
        + _hours("t.completed_at", "t.created_at")
        + ", COUNT(*) FROM task t JOIN \"case\" c ON c.id = t.case_id "
        "WHERE t.state = 'completed' AND t.completed_at IS NOT NULL GROUP BY 1, 2, 3, 4"
    )


def _hours(later: str, earlier: str) -> str:
    """SQL for the whole hours between two instants, on the dialect at hand."""
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM ({later} - {earlier})) / 3600) AS INTEGER)"
    return f"CAST((julianday({later}) - julianday({earlier})) * 24 AS INTEGER)"


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("worker_beat")
    op.drop_table("saved_filter")
    op.drop_table("step_time")
    op.drop_index("ix_case_step_case_id_at", table_name="case_step")
    op.drop_table("case_step")
    with op.batch_alter_table("task") as batch:
        batch.drop_index("ix_task_claimed_by")
        batch.drop_index("ix_task_state_agency")
        batch.drop_index("ix_task_state_name")
        batch.drop_column("due_reason")
        batch.drop_column("due_original")
    with op.batch_alter_table("case") as batch:
        batch.drop_index("ix_case_planned_by")
        batch.drop_index("ix_case_next_due_at")
        batch.drop_column("suspended_at")
        batch.drop_column("error")
        batch.drop_column("facts")
        batch.drop_column("elements")
        batch.drop_column("clock_weeks")
        batch.drop_column("clock_started_at")
        batch.drop_column("planned_by")
        batch.drop_column("planned_week")
        batch.drop_column("next_due_at")
        batch.drop_column("step")
