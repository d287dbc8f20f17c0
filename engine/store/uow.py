"""The SQLAlchemy unit of work: one session, one transaction, all repositories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from engine.ports import (
    CaseRepository,
    DocumentRepository,
    DraftRepository,
    EventRepository,
    MailRepository,
    MigrationRepository,
    MonitorRepository,
    NoticeRepository,
    OperationsRepository,
    PeopleRepository,
    StudioRepository,
    SubmissionRepository,
    TaskRepository,
    TimerRepository,
    VersionRepository,
)
from engine.store.casefile import SqlDraftRepository, SqlSubmissionRepository
from engine.store.db import make_session_factory
from engine.store.documents import SqlDocumentRepository
from engine.store.mailbox import SqlMailRepository
from engine.store.monitoring import SqlMonitorRepository
from engine.store.operations import SqlOperationsRepository
from engine.store.repositories import (
    SqlCaseRepository,
    SqlEventRepository,
    SqlNoticeRepository,
    SqlPeopleRepository,
    SqlTaskRepository,
    SqlTimerRepository,
    SqlVersionRepository,
)
from engine.store.studio import SqlMigrationRepository, SqlStudioRepository


class SqlUnitOfWork:
    """`with uow: ...; uow.commit()`; leaving the block without commit rolls back.

    Each `with` opens a fresh session, so one instance must not be entered by two threads at once:
    create one per request / per worker iteration (it is cheap).
    """

    # Typed as the ports' Protocols: UnitOfWork declares them as mutable attributes, hence invariant.
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

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def __enter__(self) -> SqlUnitOfWork:
        self.session = session = self.session_factory()
        self.versions = SqlVersionRepository(session)
        self.cases = SqlCaseRepository(session)
        self.tasks = SqlTaskRepository(session)
        self.timers = SqlTimerRepository(session)
        self.events = SqlEventRepository(session)
        self.notices = SqlNoticeRepository(session)
        self.people = SqlPeopleRepository(session)
        self.drafts = SqlDraftRepository(session)
        self.submissions = SqlSubmissionRepository(session)
        self.mail = SqlMailRepository(session)
        self.studio = SqlStudioRepository(session)
        self.migrations = SqlMigrationRepository(session)
        self.monitor = SqlMonitorRepository(session)
        self.documents = SqlDocumentRepository(session)
        self.operations = SqlOperationsRepository(session)
        return self

    def __exit__(self, *args: object) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        """Commit the transaction."""
        self.session.commit()

    def rollback(self) -> None:
        """Discard everything done since the last commit."""
        self.session.rollback()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A transaction inside this one: an exception leaving the block undoes only what the block did (and is
        raised again); the rest of the transaction stays usable."""
        try:
            with self.session.begin_nested():
                yield
        except BaseException:
            self.events.forget()  # the chain ends it cached may be events the savepoint just undid
            raise


def uow_factory(engine: Engine) -> Callable[[], SqlUnitOfWork]:
    """A zero-argument factory of fresh units of work on `engine` (one per request or job)."""
    session_factory = make_session_factory(engine)
    return lambda: SqlUnitOfWork(session_factory)
