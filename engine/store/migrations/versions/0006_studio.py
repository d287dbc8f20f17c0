"""The studio: versions say whose board they are for and why; publications, drafts, migrations, a second factor.

Every version deployed before this revision becomes a publication of its own, in the order it was deployed, so
new cases keep starting on the version they started on before.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("process_version") as batch:
        batch.add_column(sa.Column("board", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("title", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("approved_by", sa.String(length=200), nullable=True))
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
    op.create_table(
        "publication",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("board", sa.String(length=100), nullable=True),
        sa.Column("published_at", WHEN, nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["process_version.id"],
                                name="fk_publication_version_id_process_version"),
        sa.PrimaryKeyConstraint("id", name="pk_publication"),
    )
    op.create_index("ix_publication_process_id", "publication", ["process_id"])
    op.create_index("ix_publication_board", "publication", ["board"])
    op.execute("INSERT INTO publication (process_id, version_id, published_at, submitted_by) "
               "SELECT process_id, id, deployed_at, deployed_by FROM process_version ORDER BY id")
    op.create_table(
        "procedure_draft",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("board", sa.String(length=100), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("base_version_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("submitted_at", WHEN, nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", WHEN, nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("published_version_id", sa.Integer(), nullable=True),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["base_version_id"], ["process_version.id"],
                                name="fk_procedure_draft_base_version_id_process_version"),
        sa.ForeignKeyConstraint(["published_version_id"], ["process_version.id"],
                                name="fk_procedure_draft_published_version_id_process_version"),
        sa.PrimaryKeyConstraint("id", name="pk_procedure_draft"),
    )
    op.create_index("ix_procedure_draft_board", "procedure_draft", ["board"])
    op.create_index("ix_procedure_draft_status", "procedure_draft", ["status"])
    op.create_table(
        "migration_job",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("to_version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["to_version_id"], ["process_version.id"],
                                name="fk_migration_job_to_version_id_process_version"),
        sa.PrimaryKeyConstraint("id", name="pk_migration_job"),
    )
    op.create_index("ix_migration_job_status", "migration_job", ["status"])
    op.create_table(
        "case_migration",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("from_version_id", sa.Integer(), nullable=False),
        sa.Column("to_version_id", sa.Integer(), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("previous_state", sa.LargeBinary(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("undone_at", WHEN, nullable=True),
        sa.Column("undone_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name="fk_case_migration_case_id_case"),
        sa.ForeignKeyConstraint(["from_version_id"], ["process_version.id"],
                                name="fk_case_migration_from_version_id_process_version"),
        sa.ForeignKeyConstraint(["to_version_id"], ["process_version.id"],
                                name="fk_case_migration_to_version_id_process_version"),
        sa.ForeignKeyConstraint(["job_id"], ["migration_job.id"], name="fk_case_migration_job_id_migration_job"),
        sa.PrimaryKeyConstraint("id", name="pk_case_migration"),
    )
    op.create_index("ix_case_migration_case_id", "case_migration", ["case_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("case_migration")
    op.drop_table("migration_job")
    op.drop_table("procedure_draft")
    op.drop_table("publication")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("totp_secret")
    with op.batch_alter_table("process_version") as batch:
        batch.drop_column("approved_by")
        batch.drop_column("note")
        batch.drop_column("title")
        batch.drop_column("board")
