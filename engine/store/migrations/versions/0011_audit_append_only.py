"""The audit table refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL), in the database itself. The one delete
it lets through is a retention purge: an event of a case may go only once a `case_purged` tombstone naming that
case (detail.purged_case) has been appended after it, in the chain of no case, which itself can never be changed.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSED = "audit events are append-only"
ONLY_PURGE = f"{REFUSED}: DELETE refused (only a retention purge after its tombstone may delete)"

SQLITE_TOMBSTONE = """EXISTS (SELECT 1 FROM event AS t WHERE t.case_id IS NULL AND t.kind = 'case_purged'
    AND t.id > OLD.id AND json_extract(t.detail, '$.purged_case') = OLD.case_id)"""

SQLITE = [
    f"""CREATE TRIGGER event_refuses_update BEFORE UPDATE ON event
    BEGIN SELECT RAISE(ABORT, '{REFUSED}: UPDATE refused'); END""",
    f"""CREATE TRIGGER event_refuses_delete BEFORE DELETE ON event
    WHEN OLD.case_id IS NULL OR NOT {SQLITE_TOMBSTONE}
    BEGIN SELECT RAISE(ABORT, '{ONLY_PURGE}'); END""",
]

POSTGRESQL = [
    f"""CREATE FUNCTION event_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            IF OLD.case_id IS NOT NULL AND EXISTS (
                SELECT 1 FROM event AS t WHERE t.case_id IS NULL AND t.kind = 'case_purged' AND t.id > OLD.id
                AND (t.detail::jsonb ->> 'purged_case') = OLD.case_id::text) THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION '{ONLY_PURGE}' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RAISE EXCEPTION '{REFUSED}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$""",
    """CREATE TRIGGER event_refuses_change BEFORE UPDATE OR DELETE ON event
    FOR EACH ROW EXECUTE FUNCTION event_is_append_only()""",
    """CREATE TRIGGER event_refuses_truncate BEFORE TRUNCATE ON event
    FOR EACH STATEMENT EXECUTE FUNCTION event_is_append_only()""",
]

DROP = {
    "sqlite": ["DROP TRIGGER IF EXISTS event_refuses_update", "DROP TRIGGER IF EXISTS event_refuses_delete"],
    "postgresql": ["DROP TRIGGER IF EXISTS event_refuses_change ON event",
                   "DROP TRIGGER IF EXISTS event_refuses_truncate ON event",
                   "DROP FUNCTION IF EXISTS event_is_append_only()"],
}


def upgrade() -> None:
    """Apply this revision."""
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(dialect, []):
        op.execute(statement)


def downgrade() -> None:
    """Revert this revision."""
    for statement in DROP.get(op.get_bind().dialect.name, []):
        op.execute(statement)
