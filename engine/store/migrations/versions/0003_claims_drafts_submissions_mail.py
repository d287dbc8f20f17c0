"""Claims on tasks, drafts, submissions (the case file), the mail outbox, shared sign-in throttling.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("claimed_at", WHEN, nullable=True))
        batch.add_column(sa.Column("announced_at", WHEN, nullable=True))
        batch.add_column(sa.Column("overdue_announced_at", WHEN, nullable=True))
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("email", sa.String(length=320), nullable=True))
    op.create_table(
        "draft",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("saved_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_draft_case_id_case")),
        sa.ForeignKeyConstraint(["username"], ["app_user.username"], name=op.f("fk_draft_username_app_user")),
        sa.PrimaryKeyConstraint("task_id", "username", name=op.f("pk_draft")),
    )
    op.create_index(op.f("ix_draft_case_id"), "draft", ["case_id"], unique=False)
    op.create_table(
        "submission",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=True),
        sa.Column("agency", sa.String(length=100), nullable=True),
        sa.Column("form", sa.String(length=200), nullable=True),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_submission_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission")),
    )
    op.create_index(op.f("ix_submission_case_id"), "submission", ["case_id"], unique=False)
    op.create_table(
        "mail",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("sent_at", WHEN, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_mail_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail")),
        sa.UniqueConstraint("key", name=op.f("uq_mail_key")),
    )
    op.create_index(op.f("ix_mail_case_id"), "mail", ["case_id"], unique=False)
    op.create_index(op.f("ix_mail_sent_at"), "mail", ["sent_at"], unique=False)
    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failure")),
    )
    op.create_index("ix_login_failure_username_at", "login_failure", ["username", "at"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_login_failure_username_at", table_name="login_failure")
    op.drop_table("login_failure")
    op.drop_index(op.f("ix_mail_sent_at"), table_name="mail")
    op.drop_index(op.f("ix_mail_case_id"), table_name="mail")
    op.drop_table("mail")
    op.drop_index(op.f("ix_submission_case_id"), table_name="submission")
    op.drop_table("submission")
    op.drop_index(op.f("ix_draft_case_id"), table_name="draft")
    op.drop_table("draft")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("email")
    with op.batch_alter_table("task") as batch:
        batch.drop_column("overdue_announced_at")
        batch.drop_column("announced_at")
        batch.drop_column("claimed_at")
        batch.drop_column("claimed_by")
