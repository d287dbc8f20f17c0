"""Documents: each case's anonymisation key, versions of document sections and uploads, sign-offs bound to a
version's sha256, chronology entries, and released packs.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def _case(table: str) -> sa.ForeignKeyConstraint:
    """The foreign key of a table's case_id."""
    return sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=f"fk_{table}_case_id_case")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "anonymisation_key",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        _case("anonymisation_key"),
        sa.PrimaryKeyConstraint("case_id", name="pk_anonymisation_key"),
    )
    op.create_table(
        "document_version",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("document", sa.String(100), nullable=False),
        sa.Column("agency", sa.String(100), nullable=False),
        sa.Column("section", sa.String(100), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("file_name", sa.String(300), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        _case("document_version"),
        sa.PrimaryKeyConstraint("id", name="pk_document_version"),
    )
    op.create_index("ix_document_version_case_document", "document_version",
                    ["case_id", "document", "agency", "section"])
    op.create_table(
        "signoff",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("document", sa.String(100), nullable=False),
        sa.Column("agency", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("role", sa.String(100), nullable=False),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        _case("signoff"),
        sa.PrimaryKeyConstraint("id", name="pk_signoff"),
    )
    op.create_index("ix_signoff_case_document", "signoff", ["case_id", "document", "agency"])
    op.create_table(
        "chronology_entry",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("happened_at", WHEN, nullable=False),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("account", sa.String(10), nullable=False),
        sa.Column("level", sa.String(12), nullable=False),
        sa.Column("seen", sa.Boolean(), nullable=False),
        sa.Column("seen_alone", sa.Boolean(), nullable=False),
        sa.Column("views", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_note", sa.Text(), nullable=False),
        sa.Column("event", sa.String(100), nullable=False),
        sa.Column("batch", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        _case("chronology_entry"),
        sa.PrimaryKeyConstraint("id", name="pk_chronology_entry"),
    )
    op.create_index("ix_chronology_entry_case_happened", "chronology_entry", ["case_id", "happened_at"])
    op.create_table(
        "document_release",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN, nullable=True),
        _case("document_release"),
        sa.PrimaryKeyConstraint("id", name="pk_document_release"),
    )
    op.create_index("ix_document_release_case", "document_release", ["case_id"])


def downgrade() -> None:
    """Revert this revision."""
    for index, table in (("ix_document_release_case", "document_release"),
                         ("ix_chronology_entry_case_happened", "chronology_entry"),
                         ("ix_signoff_case_document", "signoff"),
                         ("ix_document_version_case_document", "document_version")):
        op.drop_index(index, table_name=table)
        op.drop_table(table)
    op.drop_table("anonymisation_key")
