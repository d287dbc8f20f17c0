"""Initial schema: versions, cases, task/timer projections, audit events, notices, people.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "app_user",
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("board", sa.String(length=100), nullable=True),
        sa.Column("agency", sa.String(length=100), nullable=True),
        sa.Column("password_hash", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_app_user")),
    )
    op.create_table(
        "process_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deployed_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_version")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_process_version_content_hash")),
    )
    op.create_index(op.f("ix_process_version_process_id"), "process_version", ["process_id"], unique=False)

    op.create_table(
        "case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("board", sa.String(length=100), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_summary", sa.Text(), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["process_version.id"], name=op.f("fk_case_version_id_process_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case")),
        sa.UniqueConstraint("reference", name=op.f("uq_case_reference")),
    )
    op.create_index(op.f("ix_case_board"), "case", ["board"], unique=False)
    op.create_index(op.f("ix_case_status"), "case", ["status"], unique=False)
    op.create_index(op.f("ix_case_version_id"), "case", ["version_id"], unique=False)

    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_event_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    op.create_index(op.f("ix_event_case_id"), "event", ["case_id"], unique=False)

    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("agency", sa.String(length=100), nullable=True),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("element", sa.String(length=200), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_notice_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice")),
    )
    op.create_index(op.f("ix_notice_case_id"), "notice", ["case_id"], unique=False)
    op.create_index(op.f("ix_notice_delivered_at"), "notice", ["delivered_at"], unique=False)

    op.create_table(
        "role_assignment",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("board", sa.String(length=100), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("agency", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_role_assignment_case_id_case")),
        sa.ForeignKeyConstraint(["username"], ["app_user.username"], name=op.f("fk_role_assignment_username_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_assignment")),
        sa.UniqueConstraint(
            "username",
            "role",
            "board",
            "case_id",
            "agency",
            name=op.f("uq_role_assignment_username_role_board_case_id_agency"),
        ),
    )
    op.create_index(
        "ix_role_assignment_role_board_case_id_agency",
        "role_assignment",
        ["role", "board", "case_id", "agency"],
        unique=False,
    )
    op.create_index(op.f("ix_role_assignment_username"), "role_assignment", ["username"], unique=False)

    op.create_table(
        "task",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("lane", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=100), nullable=True),
        sa.Column("agency", sa.String(length=100), nullable=True),
        sa.Column("form", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("week", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_task_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task")),
    )
    op.create_index("ix_task_case_id_state", "task", ["case_id", "state"], unique=False)
    op.create_index(op.f("ix_task_due_at"), "task", ["due_at"], unique=False)
    op.create_index("ix_task_role_state", "task", ["role", "state"], unique=False)

    op.create_table(
        "timer",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_timer_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timer")),
    )
    op.create_index(op.f("ix_timer_case_id"), "timer", ["case_id"], unique=False)
    op.create_index(op.f("ix_timer_due_at"), "timer", ["due_at"], unique=False)
    op.create_index("ix_timer_fired_at_due_at", "timer", ["fired_at", "due_at"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_timer_fired_at_due_at", table_name="timer")
    op.drop_index(op.f("ix_timer_due_at"), table_name="timer")
    op.drop_index(op.f("ix_timer_case_id"), table_name="timer")

    op.drop_table("timer")
    op.drop_index("ix_task_role_state", table_name="task")
    op.drop_index(op.f("ix_task_due_at"), table_name="task")
    op.drop_index("ix_task_case_id_state", table_name="task")

    op.drop_table("task")
    op.drop_index(op.f("ix_role_assignment_username"), table_name="role_assignment")
    op.drop_index("ix_role_assignment_role_board_case_id_agency", table_name="role_assignment")

    op.drop_table("role_assignment")
    op.drop_index(op.f("ix_notice_delivered_at"), table_name="notice")
    op.drop_index(op.f("ix_notice_case_id"), table_name="notice")

    op.drop_table("notice")
    op.drop_index(op.f("ix_event_case_id"), table_name="event")

    op.drop_table("event")
    op.drop_index(op.f("ix_case_version_id"), table_name="case")
    op.drop_index(op.f("ix_case_status"), table_name="case")
    op.drop_index(op.f("ix_case_board"), table_name="case")

    op.drop_table("case")
    op.drop_index(op.f("ix_process_version_process_id"), table_name="process_version")

    op.drop_table("process_version")
    op.drop_table("app_user")
