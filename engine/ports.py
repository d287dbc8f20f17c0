"""The records the engine reads and writes, and the storage interface (unit of work) it needs."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class VersionRecord:
    """One deployed, immutable process version (spec stored once, content-hashed)."""

    id: int | None
    process_id: str
    content_hash: str
    files: dict[str, str]
    deployed_at: datetime
    deployed_by: str | None = None
    board: str | None = None  # the board whose process owners published it (None: deployed from the command line)
    title: str | None = None
    note: str | None = None
    approved_by: str | None = None


@dataclass(frozen=True)
class PublicationRecord:
    """A version made the one new cases of its process start on; the newest publication of a process wins."""

    id: int | None
    process_id: str
    version_id: int
    published_at: datetime
    board: str | None = None
    submitted_by: str | None = None
    approved_by: str | None = None
    note: str | None = None


@dataclass
class ProcedureDraftRecord:
    """A process owner's working copy of a procedure: diagrams and forms, the problems found at the last save."""

    id: int | None
    board: str
    process_id: str
    title: str
    files: dict[str, str]
    base_version_id: int | None
    author: str
    created_at: datetime
    updated_at: datetime
    note: str = ""
    status: str = "draft"  # draft, submitted, published, rejected, withdrawn
    problems: list[dict[str, Any]] = field(default_factory=list)
    submitted_at: datetime | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    published_version_id: int | None = None
    lock_version: int = 1


@dataclass
class MigrationJobRecord:
    """A background preview or migration of every case pinned to older versions of a process."""

    id: int | None
    process_id: str
    to_version_id: int
    kind: str  # preview or migrate
    requested_by: str
    created_at: datetime
    reason: str = ""
    status: str = "queued"  # queued, running, done, failed
    total: int = 0
    done: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)
    finished_at: datetime | None = None


@dataclass
class CaseMigrationRecord:
    """One case moved between versions: who, why, and its state before (kept, so the move can be undone)."""

    id: int | None
    case_id: int
    from_version_id: int
    to_version_id: int
    by: str
    reason: str
    at: datetime
    previous_state: bytes
    job_id: int | None = None
    undone_at: datetime | None = None
    undone_by: str | None = None


@dataclass
class CaseRecord:
    """One running case: workflow state without the spec, and its optimistic-lock version."""

    id: int | None
    reference: str
    board: str
    process_id: str
    version_id: int
    state: bytes
    status: str
    created_at: datetime
    updated_at: datetime
    data_summary: dict[str, Any] = field(default_factory=dict)
    lock_version: int = 1
    # The monitor's projection (engine.workflow.monitor), written with every step.
    step: str | None = None
    next_due_at: datetime | None = None
    planned_week: int | None = None
    planned_by: datetime | None = None  # the end of that planned week: the case is behind plan after it
    clock_started_at: datetime | None = None
    clock_weeks: int | None = None
    elements: dict[str, Any] | None = None
    facts: dict[str, Any] | None = None
    error: dict[str, Any] | None = None  # the engine step that failed: element, message, what to retry
    suspended_at: datetime | None = None


@dataclass
class TaskRow:
    """Inbox projection of one ready human task."""

    id: str
    case_id: int
    name: str
    title: str
    lane: str | None
    role: str | None
    agency: str | None
    form: str | None
    created_at: datetime
    due_at: datetime | None
    week: int | None = None
    state: str = "ready"
    completed_at: datetime | None = None
    completed_by: str | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    due_original: datetime | None = None  # set when an administrator revised the due date, with the reason
    due_reason: str | None = None


@dataclass
class TimerRow:
    """A timer of a case, due at a known instant: waiting, or fired (kept as history).

    A timer the diagram makes a deadline (`accountable` roles: a `milestone`, or one that escalates) that fired
    while its step was still open is a missed deadline until `settled_at` (the step done, or an extension).
    """

    id: str
    case_id: int
    name: str
    due_at: datetime
    fired_at: datetime | None = None
    title: str | None = None
    agency: str | None = None
    accountable: tuple[str, ...] = ()
    settled_at: datetime | None = None

    @property
    def missed(self) -> bool:
        """A deadline that passed while its step was open and is not settled yet."""
        return bool(self.accountable) and self.fired_at is not None and self.settled_at is None


@dataclass
class EventRow:
    """One append-only audit event (hash-chained per case)."""

    case_id: int | None
    at: datetime
    kind: str
    actor: str | None
    detail: dict[str, Any]


@dataclass
class NoticeRow:
    """A notification addressed to a role on a case (delivered by the outbox)."""

    case_id: int
    at: datetime
    role: str
    agency: str | None
    kind: str
    message: str
    element: str


@dataclass(frozen=True)
class UserRecord:
    """A person with an account."""

    username: str
    display_name: str
    board: str | None
    agency: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Assignment:
    """A role held by a user: board-wide (case_id None) or on one case, optionally for one agency."""

    username: str
    role: str
    board: str | None
    case_id: int | None = None
    agency: str | None = None


@dataclass
class DraftRecord:
    """A person's saved, unsubmitted answers to a ready task."""

    task_id: str
    username: str
    case_id: int
    data: dict[str, Any]
    saved_at: datetime


@dataclass
class SubmissionRecord:
    """The answers a task was completed with (the case file), with the agency whose work it was."""

    case_id: int
    task_id: str
    name: str
    title: str
    role: str | None
    agency: str | None
    form: str | None
    username: str
    at: datetime
    data: dict[str, Any]
    id: int | None = None


@dataclass
class MailRow:
    """One e-mail in the outbox: to one person, never naming anyone the case is about."""

    key: str
    case_id: int | None
    username: str
    address: str
    subject: str
    body: str
    created_at: datetime
    id: int | None = None
    sent_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None


class VersionRepository(Protocol):
    """Deployed process versions."""

    def add(self, version: VersionRecord) -> VersionRecord: ...
    def get(self, version_id: int) -> VersionRecord: ...
    def by_hash(self, content_hash: str) -> VersionRecord | None: ...
    def latest(self, process_id: str) -> VersionRecord | None: ...
    def latest_id(self, process_id: str) -> int | None: ...
    def in_use(self) -> Sequence[int]: ...
    def list(self) -> Sequence[VersionRecord]: ...
    def publish(self, publication: PublicationRecord) -> PublicationRecord: ...
    def publications(self, process_id: str | None = None) -> Sequence[PublicationRecord]: ...
    def of_process(self, process_id: str) -> Sequence[VersionRecord]: ...


class StudioRepository(Protocol):
    """Process owners' drafts of procedures."""

    def add(self, draft: ProcedureDraftRecord) -> ProcedureDraftRecord: ...
    def get(self, draft_id: int, for_update: bool = False) -> ProcedureDraftRecord: ...
    def save(self, draft: ProcedureDraftRecord) -> ProcedureDraftRecord: ...
    def list(self, board: str | None = None) -> Sequence[ProcedureDraftRecord]: ...


class MigrationRepository(Protocol):
    """Case migrations between versions (kept for undo) and the background jobs that run them."""

    def add(self, migration: CaseMigrationRecord) -> CaseMigrationRecord: ...
    def get(self, migration_id: int) -> CaseMigrationRecord: ...
    def for_case(self, case_id: int) -> Sequence[CaseMigrationRecord]: ...
    def mark_undone(self, migration_id: int, by: str, at: datetime) -> None: ...
    def add_job(self, job: MigrationJobRecord) -> MigrationJobRecord: ...
    def get_job(self, job_id: int) -> MigrationJobRecord: ...
    def save_job(self, job: MigrationJobRecord) -> None: ...
    def jobs(self, process_id: str | None = None, status: str | None = None) -> Sequence[MigrationJobRecord]: ...
    def claim_job(self, job_id: int) -> bool: ...
    def pin_case(self, case_id: int, version_id: int) -> None: ...


class CaseRepository(Protocol):
    """Cases; `get(..., for_update=True)` queues behind any other step on the case until commit; `save` raises
    engine.errors.StaleCase when lock_version is stale."""

    def add(self, case: CaseRecord) -> CaseRecord: ...
    def get(self, case_id: int, for_update: bool = False) -> CaseRecord: ...
    def stamps(self, case_ids: Collection[int]) -> dict[int, tuple[int, int]]: ...
    def save(self, case: CaseRecord) -> CaseRecord: ...
    def save_all(self, cases: Sequence[CaseRecord]) -> list[CaseRecord]: ...
    def save_standing(self, case: CaseRecord) -> CaseRecord: ...
    def list(self, board: str | None = None) -> Sequence[CaseRecord]: ...
    def count(self, board: str | None = None) -> int: ...
    def labels(self, case_ids: Collection[int]) -> dict[int, tuple[str, str]]: ...
    def labels_of_board(self, board: str) -> dict[int, tuple[str, str]]: ...


class TaskRepository(Protocol):
    """Ready-task projection rows."""

    def replace_for_case(self, case_id: int, rows: Iterable[TaskRow]) -> None: ...
    def replace_for_cases(self, rows: Mapping[int, Iterable[TaskRow]]) -> None: ...
    def get(self, task_id: str) -> TaskRow | None: ...
    def mark_completed(self, task_id: str, by: str, at: datetime) -> None: ...
    def count_time(self, board: str, process_id: str, element: str, hours: int) -> None: ...
    def revise_due(self, task_id: str, due_at: datetime, reason: str) -> None: ...
    def set_claim(self, task_id: str, username: str | None, at: datetime | None, expected: str | None) -> None: ...
    def for_case(self, case_id: int) -> Sequence[TaskRow]: ...
    def inbox(self, assignments: Sequence[Assignment],
              scoped_roles: Collection[str] | None = None) -> Sequence[TaskRow]: ...


class TimerRepository(Protocol):
    """Waiting timer rows; the sweep never deserializes a workflow."""

    def replace_for_case(self, case_id: int, rows: Iterable[TimerRow]) -> None: ...
    def replace_for_cases(self, rows: Mapping[int, Iterable[TimerRow]],
                          known: Mapping[int, Iterable[TimerRow]] | None = None) -> None: ...
    def claim_due(self, now: datetime, limit: int) -> Sequence[TimerRow]: ...
    def upcoming(self, after: datetime, until: datetime, limit: int) -> Sequence[TimerRow]: ...
    def mark_fired(self, timer_id: str, at: datetime) -> None: ...
    def mark_all_fired(self, timer_ids: Sequence[str], at: datetime) -> None: ...
    def next_due(self) -> datetime | None: ...
    def for_case(self, case_id: int) -> Sequence[TimerRow]: ...
    def for_cases(self, case_ids: Collection[int]) -> dict[int, list[TimerRow]]: ...
    def settle(self, timer_ids: Collection[str], at: datetime) -> None: ...
    def add(self, row: TimerRow) -> None: ...
    def missed(self, case_ids: Collection[int], boards: Collection[str] = ()) -> Sequence[TimerRow]: ...


class EventRepository(Protocol):
    """Append-only audit log."""

    def append(self, event: EventRow) -> None: ...
    def reach(self, case_ids: Collection[int]) -> None: ...
    def forget(self) -> None: ...
    def for_case(self, case_id: int | None) -> Sequence[EventRow]: ...


class NoticeRepository(Protocol):
    """Notifications outbox."""

    def add(self, notice: NoticeRow) -> None: ...
    def add_all(self, notices: Sequence[NoticeRow]) -> None: ...
    def for_case(self, case_id: int) -> Sequence[NoticeRow]: ...


class PeopleRepository(Protocol):
    """Users and the roles they hold."""

    def add_user(self, user: UserRecord) -> None: ...
    def get_user(self, username: str) -> UserRecord | None: ...
    def users(self, board: str | None = None) -> Sequence[UserRecord]: ...
    def set_totp_secret(self, username: str, secret: str | None) -> None: ...
    def totp_secret(self, username: str) -> str | None: ...
    def assign(self, assignment: Assignment) -> None: ...
    def unassign(self, assignment: Assignment) -> bool: ...
    def assignments_of(self, username: str) -> Sequence[Assignment]: ...
    def holders(self, role: str, board: str | None, case_id: int | None, agency: str | None) -> Sequence[str]: ...
    def holders_of(self, keys: Collection[tuple[str, str | None, int | None, str | None]]
                   ) -> dict[tuple[str, str | None, int | None, str | None], list[str]]: ...
    def set_password_hash(self, username: str, password_hash: str | None) -> None: ...
    def password_hash(self, username: str) -> str | None: ...
    def on_case(self, case_id: int) -> Sequence[Assignment]: ...
    def add_login_failure(self, username: str, at: datetime, address: str | None = None) -> None: ...
    def login_failures_since(self, since: datetime, username: str | None = None,
                             address: str | None = None) -> int: ...
    def clear_login_failures(self, username: str | None = None, address: str | None = None,
                             before: datetime | None = None) -> None: ...
    def open_session(self, id_hash: str, username: str, at: datetime) -> None: ...
    def session_user(self, id_hash: str) -> str | None: ...
    def end_session(self, id_hash: str, at: datetime) -> None: ...
    def add_token(self, username: str, token_hash: str, at: datetime) -> None: ...
    def user_for_token(self, token_hash: str, issued_after: datetime) -> str | None: ...
    def revoke_token(self, token_hash: str, at: datetime) -> str | None: ...
    def revoke_tokens(self, username: str, at: datetime) -> int: ...


class DraftRepository(Protocol):
    """Drafts, one per task and person."""

    def save(self, draft: DraftRecord) -> None: ...
    def get(self, task_id: str, username: str) -> DraftRecord | None: ...
    def discard(self, task_id: str, username: str | None = None) -> None: ...


class SubmissionRepository(Protocol):
    """The case file: what each task was completed with."""

    def add(self, submission: SubmissionRecord) -> SubmissionRecord: ...
    def get(self, submission_id: int) -> SubmissionRecord | None: ...
    def for_case(self, case_id: int) -> Sequence[SubmissionRecord]: ...


class MailRepository(Protocol):
    """The e-mail outbox (queueing is idempotent by key)."""

    def queue(self, mail: MailRow) -> bool: ...
    def unsent(self, limit: int) -> Sequence[MailRow]: ...
    def mark_sent(self, mail_id: int, at: datetime) -> None: ...
    def mark_failed(self, mail_id: int, error: str) -> None: ...
    def claim(self, mail_id: int) -> MailRow | None: ...
    def for_case(self, case_id: int) -> Sequence[MailRow]: ...
    def unannounced(self, after: str | None, limit: int) -> Sequence[TaskRow]: ...
    def overdue_unannounced(self, now: datetime, after: str | None, limit: int) -> Sequence[TaskRow]: ...
    def mark_announced(self, task_id: str, at: datetime | None, overdue: bool = False) -> None: ...
    def undelivered_notices(self, limit: int) -> Sequence[tuple[int, NoticeRow]]: ...
    def mark_notice_delivered(self, notice_id: int, at: datetime) -> None: ...


@dataclass(frozen=True)
class CaseQuery:
    """Which cases an administrator's list shows, in what order, which page (every filter optional)."""

    boards: tuple[str, ...] | None  # the boards the person may see (None: every board)
    board: str | None = None
    process_id: str | None = None
    version_id: int | None = None
    state: str | None = None  # open, suspended, errored, terminated, completed
    step: str | None = None  # an element with a ready task
    overdue: bool = False  # a ready step past its due date
    week: int | None = None  # week n of the timetable now running
    plan: str | None = None  # "behind" (past its planned week) or "on"
    assignee: str | None = None  # holds a role on the case, or has taken one of its ready steps
    agency: str | None = None  # a ready step for this agency
    sort: str = "reference"  # reference, created, updated, due, step, state, week
    descending: bool = False
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True)
class CaseSummary:
    """One line of the case list: control data only (no workflow data, no names)."""

    id: int
    reference: str
    board: str
    process_id: str
    version_id: int
    status: str
    step: str | None
    next_due_at: datetime | None
    planned_week: int | None
    planned_by: datetime | None
    clock_started_at: datetime | None
    clock_weeks: int | None
    created_at: datetime
    updated_at: datetime
    error_element: str | None

    @property
    def state(self) -> str:
        """open, suspended, errored, terminated or completed."""
        return "errored" if self.error_element is not None and self.status == "open" else self.status


@dataclass(frozen=True)
class StepSnapshot:
    """A case as it stood after one step: when, its lock version, version, element states and gzip state."""

    case_id: int
    at: datetime
    lock_version: int
    version_id: int
    elements: dict[str, Any]
    state: bytes = b""


@dataclass(frozen=True)
class SavedFilterRecord:
    """A case-list filter saved under a name by one person."""

    id: int | None
    username: str
    name: str
    query: str
    created_at: datetime


class MonitorRepository(Protocol):
    """The administrators' monitor over the projection tables (engine.store.monitoring)."""

    def case_page(self, query: CaseQuery, now: datetime) -> tuple[Sequence[CaseSummary], int]: ...
    def choices(self, boards: tuple[str, ...] | None) -> dict[str, list[Any]]: ...
    def processes(self, boards: tuple[str, ...] | None) -> list[str]: ...
    def open_clocks(self, boards: tuple[str, ...] | None) -> Sequence[tuple[datetime, datetime | None, int | None,
                                                                         datetime | None]]: ...
    def deadlines(self, boards: tuple[str, ...] | None, now: datetime, soon: datetime, limit: int
                  ) -> tuple[Sequence[tuple[TimerRow, str, str]], dict[str, int]]: ...
    def workload(self, boards: tuple[str, ...] | None, now: datetime
                 ) -> Sequence[tuple[str | None, str | None, str | None, int, int]]: ...
    def waiting(self, board: str | None, boards: tuple[str, ...] | None, process_id: str) -> dict[str, int]: ...
    def step_times(self, board: str | None, boards: tuple[str, ...] | None,
                   process_id: str) -> dict[str, list[tuple[int, int]]]: ...
    def snapshots(self, case_id: int) -> Sequence[StepSnapshot]: ...
    def snapshot(self, case_id: int, at: datetime | None = None, lock_version: int | None = None
                 ) -> StepSnapshot | None: ...
    def unprojected(self, limit: int) -> Sequence[int]: ...
    def saved_filters(self, username: str) -> Sequence[SavedFilterRecord]: ...
    def save_filter(self, record: SavedFilterRecord) -> SavedFilterRecord: ...
    def delete_filter(self, username: str, filter_id: int) -> bool: ...


class OperationsRepository(Protocol):
    """Workers' heartbeats and the counts /metrics and /health read (engine.store.operations).

    `ping` raises when the database cannot be reached; `beat` records that worker `name` finished a sweep;
    `last_sweep` is the latest sweep of any worker (None: none ever swept); `cases_by_state` counts cases by
    (board, state), the state being the status or "errored"; `ready_tasks` gives each board's (ready, overdue)
    tasks; `timer_lag` gives, over fired timers, the cumulative count whose lag (seconds fired after due) is
    within each bound, the sum of lags and the count. Nothing here names a case, a person or what anyone wrote.
    """

    def ping(self) -> None: ...
    def beat(self, name: str, at: datetime, fired: int) -> None: ...
    def last_sweep(self) -> datetime | None: ...
    def cases_by_state(self) -> dict[tuple[str, str], int]: ...
    def ready_tasks(self, now: datetime) -> dict[str, tuple[int, int]]: ...
    def timer_lag(self, bounds: Sequence[float]) -> tuple[list[int], float, int]: ...


@dataclass(frozen=True)
class KeyRecord:
    """A case's anonymisation key as stored (issue 13's JSON shape) and who last changed it."""

    case_id: int
    key: dict[str, Any]
    updated_at: datetime
    updated_by: str
    lock_version: int = 1


@dataclass(frozen=True)
class DocumentVersionRecord:
    """One saved version of a document section (text) or of a whole uploaded .docx."""

    id: int | None
    case_id: int
    document: str
    agency: str
    section: str
    number: int
    kind: str  # text or docx
    text: str | None
    data: bytes | None
    file_name: str | None
    sha256: str
    author: str
    created_at: datetime


@dataclass(frozen=True)
class SignOffRecord:
    """A sign-off bound to the sha256 of the version signed."""

    id: int | None
    case_id: int
    document: str
    agency: str
    sha256: str
    role: str
    username: str
    at: datetime


@dataclass(frozen=True)
class ChronologyRecord:
    """One chronology entry (App. 4) with provenance and flags."""

    id: int | None
    case_id: int
    agency: str
    happened_at: datetime
    entry: str
    subject: str = ""
    source: str = ""
    account: str = "written"
    level: str = "entry"
    seen: bool = False
    seen_alone: bool = False
    views: bool = False
    status: str = ""
    status_note: str = ""
    event: str = ""
    batch: str = ""
    created_by: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True)
class ReleaseRecord:
    """An assembled pack: its progress, the scan's findings (never names) and, once released, the zip."""

    id: int | None
    case_id: int
    kind: str
    status: str
    requested_by: str
    created_at: datetime
    total: int = 0
    done: int = 0
    findings: dict[str, Any] = field(default_factory=dict)
    data: bytes | None = None
    sha256: str | None = None
    finished_at: datetime | None = None


class DocumentRepository(Protocol):
    """Keys, document versions, sign-offs, chronology entries and releases of cases."""

    def key(self, case_id: int) -> KeyRecord | None: ...
    def save_key(self, record: KeyRecord, expected_version: int | None) -> KeyRecord: ...
    def versions(self, case_id: int, document: str | None = None, agency: str | None = None,
                 with_data: bool = False) -> Sequence[DocumentVersionRecord]: ...
    def version(self, version_id: int) -> DocumentVersionRecord | None: ...
    def add_version(self, record: DocumentVersionRecord) -> DocumentVersionRecord: ...
    def signoffs(self, case_id: int, document: str | None = None,
                 agency: str | None = None) -> Sequence[SignOffRecord]: ...
    def add_signoff(self, record: SignOffRecord) -> SignOffRecord: ...
    def chronology(self, case_id: int, agency: str | None = None) -> Sequence[ChronologyRecord]: ...
    def add_entries(self, records: Iterable[ChronologyRecord]) -> int: ...
    def delete_batch(self, case_id: int, batch: str) -> int: ...
    def releases(self, case_id: int) -> Sequence[ReleaseRecord]: ...
    def release(self, release_id: int) -> ReleaseRecord | None: ...
    def add_release(self, record: ReleaseRecord) -> ReleaseRecord: ...
    def update_release(self, release_id: int, **changes: Any) -> None: ...


class UnitOfWork(Protocol):
    """One transaction: `with uow: ...; uow.commit()`; leaving without commit rolls back."""

    versions: VersionRepository
    cases: CaseRepository
    tasks: TaskRepository
    timers: TimerRepository
    events: EventRepository
    notices: NoticeRepository
    people: PeopleRepository
    drafts: DraftRepository
    submissions: SubmissionRepository
    mail: MailRepository
    studio: StudioRepository
    migrations: MigrationRepository
    monitor: MonitorRepository
    operations: OperationsRepository
    documents: DocumentRepository

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, *args: object) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def savepoint(self) -> AbstractContextManager[None]: ...
