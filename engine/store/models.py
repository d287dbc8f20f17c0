"""Typed SQLAlchemy table models: versions, cases, projections (task, timer), audit, outbox, people."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, MetaData, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.store.types import JSONText, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (alembic needs them)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONText()}


class ProcessVersion(Base):
    """A deployed, immutable process version; the spec is stored once per content hash."""

    __tablename__ = "process_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    files: Mapped[dict[str, Any]]
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str | None] = mapped_column(String(200))
    board: Mapped[str | None] = mapped_column(String(100))  # the board whose process owners published it
    title: Mapped[str | None] = mapped_column(String(300))  # the procedure's name as process owners call it
    note: Mapped[str | None] = mapped_column(Text)  # why it changed
    approved_by: Mapped[str | None] = mapped_column(String(200))


class Publication(Base):
    """A version made the one new cases start on (again, for a roll-back): the newest row of a process wins."""

    __tablename__ = "publication"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    board: Mapped[str | None] = mapped_column(String(100), index=True)
    published_at: Mapped[datetime]
    submitted_by: Mapped[str | None] = mapped_column(String(200))
    approved_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class ProcedureDraft(Base):
    """A process owner's working copy of a procedure (diagrams and forms) on its way to publication."""

    __tablename__ = "procedure_draft"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    board: Mapped[str] = mapped_column(String(100), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    files: Mapped[dict[str, Any]]
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("process_version.id"))
    author: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), index=True)  # draft, submitted, published, rejected, withdrawn
    problems: Mapped[dict[str, Any]]  # {"problems": [...]}: the checks' findings at the last save
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    published_version_id: Mapped[int | None] = mapped_column(ForeignKey("process_version.id"))
    lock_version: Mapped[int] = mapped_column(default=1)


class MigrationJob(Base):
    """Moving every safe case of a process to a newer version, in the background, with progress."""

    __tablename__ = "migration_job"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    process_id: Mapped[str] = mapped_column(String(200))
    to_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    kind: Mapped[str] = mapped_column(String(20))  # preview or migrate
    requested_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), index=True)  # queued, running, done, failed
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    results: Mapped[dict[str, Any]]  # {"cases": [{"case_id", "reference", "safe", "why", "migrated"}]}
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class CaseMigration(Base):
    """One case moved from one version to another: who, why, and the state before, so it can be undone."""

    __tablename__ = "case_migration"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    from_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    to_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    previous_state: Mapped[bytes] = mapped_column(LargeBinary)  # gzip, as the case stored it
    job_id: Mapped[int | None] = mapped_column(ForeignKey("migration_job.id"))
    undone_at: Mapped[datetime | None]
    undone_by: Mapped[str | None] = mapped_column(String(200))


class Case(Base):
    """One case: gzip-compressed workflow state without spec, optimistic-lock counter."""

    __tablename__ = "case"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    board: Mapped[str] = mapped_column(String(100), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), index=True)
    status: Mapped[str] = mapped_column(String(40), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    data_summary: Mapped[dict[str, Any]]
    lock_version: Mapped[int]
    # The monitor's projection, written with every step (revision 0007): what an administrator's list, dashboards
    # and diagram read without restoring the workflow.
    step: Mapped[str | None] = mapped_column(String(500))  # the soonest-due ready step's title ("" when none)
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)  # the soonest due date of its ready steps
    planned_week: Mapped[int | None]  # the timetable week its ready steps are planned for (the earliest)
    planned_by: Mapped[datetime | None] = mapped_column(index=True)  # when that planned week ends: behind after
    clock_started_at: Mapped[datetime | None]  # week 0 of the timetable now running (None: counted from start)
    clock_weeks: Mapped[int | None]  # how many weeks that timetable plans
    elements: Mapped[dict[str, Any] | None] = mapped_column(JSONText())  # element -> counts by state, progress
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSONText())  # what the timetable reads (CaseFacts)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONText())  # an engine step that failed: element, message
    suspended_at: Mapped[datetime | None]
    # Last (revision 0008): SQLite stores a row's columns in order, so every column after this blob would be read
    # by following its overflow pages; the case list reads thousands of rows and never the state.
    state: Mapped[bytes] = mapped_column(LargeBinary)


READY = text("state = 'ready'")  # the partial indexes over ready steps only (revision 0008)


class Task(Base):
    """Inbox projection of one human task (id is the SpiffWorkflow task uuid)."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_role_state", "role", "state"),
        Index("ix_task_case_id_state", "case_id", "state"),
        # The monitor: cases at a step, the heatmap, cases with an agency's work (ready steps only).
        Index("ix_task_ready_name", "name", "case_id", "title", sqlite_where=READY, postgresql_where=READY),
        Index("ix_task_ready_agency", "agency", "case_id", sqlite_where=READY, postgresql_where=READY),
        Index("ix_task_claimed_by", "claimed_by"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))  # indexed by ix_task_case_id_state
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500))
    lane: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(100))
    agency: Mapped[str | None] = mapped_column(String(100))
    form: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    week: Mapped[int | None]
    state: Mapped[str] = mapped_column(String(20))
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    due_original: Mapped[datetime | None]  # the due date before an administrator revised it (revision 0007)
    due_reason: Mapped[str | None] = mapped_column(Text)  # why it was revised
    announced_at: Mapped[datetime | None]  # when "new work" mail was queued for it
    overdue_announced_at: Mapped[datetime | None]  # when "overdue" mail was queued for it


class CaseStep(Base):
    """A case as it stood after one step: its element states and (gzip) workflow state, for looking back."""

    __tablename__ = "case_step"
    __table_args__ = (Index("ix_case_step_case_id_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    at: Mapped[datetime]
    lock_version: Mapped[int]
    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    elements: Mapped[dict[str, Any]]
    state: Mapped[bytes] = mapped_column(LargeBinary)


class StepTime(Base):
    """How long finished steps took, counted per board, process, element and whole hour (the heatmap's source)."""

    __tablename__ = "step_time"

    board: Mapped[str] = mapped_column(String(100), primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    element: Mapped[str] = mapped_column(String(200), primary_key=True)
    hours: Mapped[int] = mapped_column(primary_key=True)
    count: Mapped[int]


class SavedFilter(Base):
    """A case-list filter an administrator saved under a name."""

    __tablename__ = "saved_filter"
    __table_args__ = (UniqueConstraint("username", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(ForeignKey("app_user.username"))
    name: Mapped[str] = mapped_column(String(200))
    query: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class AnonymisationKeyRow(Base):
    """A case's anonymisation key (7.4), kept by its LSCB administrator: real names and their pseudonyms."""

    __tablename__ = "anonymisation_key"

    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), primary_key=True)
    key: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(200))
    lock_version: Mapped[int] = mapped_column(default=1)


class DocumentVersion(Base):
    """One saved version of a section of a case's document (text written in the app) or of a whole document
    uploaded as .docx; versions only accumulate, and a sign-off binds to one version's sha256."""

    __tablename__ = "document_version"
    __table_args__ = (Index("ix_document_version_case_document", "case_id", "document", "agency", "section"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    document: Mapped[str] = mapped_column(String(100))  # the outline's id (forms/documents)
    agency: Mapped[str] = mapped_column(String(100), default="")  # "" unless one per agency (an IMR)
    section: Mapped[str] = mapped_column(String(100), default="")  # "" for a whole uploaded document
    number: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10))  # text or docx
    text: Mapped[str | None] = mapped_column(Text)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    file_name: Mapped[str | None] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class SignOff(Base):
    """A sign-off of a document (chief executive, panel, board) bound to the sha256 of the exact version signed."""

    __tablename__ = "signoff"
    __table_args__ = (Index("ix_signoff_case_document", "case_id", "document", "agency"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    document: Mapped[str] = mapped_column(String(100))
    agency: Mapped[str] = mapped_column(String(100), default="")
    sha256: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(100))
    username: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]


class ChronologyEntry(Base):
    """One entry of an agency's chronology (App. 4) with its provenance and flags."""

    __tablename__ = "chronology_entry"
    __table_args__ = (Index("ix_chronology_entry_case_happened", "case_id", "happened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    agency: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200), default="")  # whose chronology (App. 4 1.4)
    happened_at: Mapped[datetime]
    entry: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(300), default="")  # the source document
    account: Mapped[str] = mapped_column(String(10), default="written")  # written record or later verbal (1.8)
    level: Mapped[str] = mapped_column(String(12), default="entry")  # entry, significant, critical (1.1)
    seen: Mapped[bool] = mapped_column(default=False)  # the child was seen (1.8)
    seen_alone: Mapped[bool] = mapped_column(default=False)  # ... alone (App. 5)
    views: Mapped[bool] = mapped_column(default=False)  # the child's wishes and feelings sought or expressed
    status: Mapped[str] = mapped_column(String(16), default="")  # "", substantiated, unsubstantiated (1.7)
    status_note: Mapped[str] = mapped_column(Text, default="")  # how substantiated / the source
    event: Mapped[str] = mapped_column(String(100), default="")  # groups accounts of one event (1.6)
    batch: Mapped[str] = mapped_column(String(64), default="")  # the import it came in
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Release(Base):
    """An assembled pack (Ofsted/DfE, publication): its progress, what the leak scan found, the zip released."""

    __tablename__ = "document_release"
    __table_args__ = (Index("ix_document_release_case", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))  # queued, running, released, refused, failed
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    findings: Mapped[dict[str, Any]]  # {"findings": [lines without names], "problems": [...]}
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    sha256: Mapped[str | None] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class WorkerBeat(Base):
    """When each timer worker last finished a sweep (health and metrics read it)."""

    __tablename__ = "worker_beat"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    swept_at: Mapped[datetime]
    fired: Mapped[int] = mapped_column(default=0)


class Timer(Base):
    """A waiting timer of a case; the worker sweeps pending rows by due_at."""

    __tablename__ = "timer"
    __table_args__ = (Index("ix_timer_fired_at_due_at", "fired_at", "due_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(index=True)
    fired_at: Mapped[datetime | None]
    title: Mapped[str | None] = mapped_column(String(200))
    agency: Mapped[str | None] = mapped_column(String(100))
    accountable: Mapped[str | None] = mapped_column(String(500))  # roles, space-separated: a deadline kept when missed
    settled_at: Mapped[datetime | None]


class Event(Base):
    """Append-only audit event, sha256-chained per case (prev_hash of the first event is '')."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(100))
    actor: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Notice(Base):
    """Outbox notification for a role on a case; delivered_at is set by the sender."""

    __tablename__ = "notice"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    at: Mapped[datetime]
    role: Mapped[str] = mapped_column(String(100))
    agency: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    element: Mapped[str] = mapped_column(String(200))
    delivered_at: Mapped[datetime | None] = mapped_column(index=True)


class AppUser(Base):
    """A person with an account."""

    __tablename__ = "app_user"

    username: Mapped[str] = mapped_column(String(200), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    board: Mapped[str | None] = mapped_column(String(100))
    agency: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(320))
    totp_secret: Mapped[str | None] = mapped_column(String(64))  # a second factor (RFC 6238), when enrolled


class RoleAssignment(Base):
    """A role held by a user on a board, optionally narrowed to one case and/or one agency."""

    __tablename__ = "role_assignment"
    __table_args__ = (
        UniqueConstraint("username", "role", "board", "case_id", "agency"),
        Index("ix_role_assignment_role_board_case_id_agency", "role", "board", "case_id", "agency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(ForeignKey("app_user.username"), index=True)
    role: Mapped[str] = mapped_column(String(100))
    board: Mapped[str | None] = mapped_column(String(100))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    agency: Mapped[str | None] = mapped_column(String(100))


class ApiToken(Base):
    """A bearer token for API clients: only its sha256 is stored."""

    __tablename__ = "api_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("app_user.username"), index=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Draft(Base):
    """A person's unsubmitted answers to a ready task (private to that person)."""

    __tablename__ = "draft"

    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("app_user.username"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    data: Mapped[dict[str, Any]]
    saved_at: Mapped[datetime]


class Submission(Base):
    """The answers a task was completed with: the case file, read under the same agency rules as the task."""

    __tablename__ = "submission"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500))
    role: Mapped[str | None] = mapped_column(String(100))
    agency: Mapped[str | None] = mapped_column(String(100))
    form: Mapped[str | None] = mapped_column(String(200))
    username: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    data: Mapped[dict[str, Any]]


class Mail(Base):
    """Outbox of e-mail to people; `key` makes queueing idempotent, `sent_at` is set by the sender."""

    __tablename__ = "mail"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    username: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int]
    last_error: Mapped[str | None] = mapped_column(Text)


class LoginFailure(Base):
    """A failed sign-in (the name tried, from which address), kept so throttling holds across processes."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_username_at", "username", "at"),
                      Index("ix_login_failure_address_at", "address", "at"))

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    address: Mapped[str | None] = mapped_column(String(64))  # the client's address, as the web server sees it


class UserSession(Base):
    """A signed-in browser session: the cookie holds a random id, only its sha256 is stored; ended on sign-out."""

    __tablename__ = "user_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("app_user.username"), index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
