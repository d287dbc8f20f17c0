"""E-mail about work: new tasks, overdue tasks and the diagrams' notices, queued in the outbox, then delivered.

What a message may say: the case reference, the task title or notice kind (and a notice's message, which is
diagram text), the role title, the due date and a link into the app. Nothing else: no workflow data, no form
answers, no names, so a message read by the wrong eyes discloses nothing about the child or family.

Who is told: everyone who would see the task in their inbox (role, board, case, and agency for agency-scoped
roles: `people.holders`). A task nobody holds the role for yet stays unannounced, so whoever is given the role
later still hears of it; a notice is marked delivered even when nobody holds its role (it is logged).

Addresses: a user's `email`; a user without one gets `<username>@<fallback domain>` when a fallback domain is
configured (SCR_MAIL_DOMAIN), else no message (logged at info level).

Queueing is idempotent (each message has a key naming the task occurrence or notice, the kind and the person)
and runs one transaction per batch. Delivery runs one transaction per message, the row locked while it is
sent: a crash before commit sends it again on the next round (at least once), never twice after commit; a
failed send is recorded (attempts + 1, last_error) and retried on a later round. A round's messages share one
connection, opened again once if it drops.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.casework.mailer import (
    DEFAULT_SENDER,
    ConnectionDropped,
    FileTransport,
    SmtpTransport,
    Transport,
    session_of,
)
from engine.casework.services import Services
from engine.ports import MailRow, NoticeRow, TaskRow, UnitOfWork
from engine.workflow.catalogue import Catalogue

log = logging.getLogger(__name__)

NEW, OVERDUE = "new", "overdue"
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
SUBJECT_LIMIT = 300
MAX_REST_ROUNDS = 256
FOOTER = "\nThis message names no one. Sign in to read the case.\n"


@dataclass(frozen=True)
class Letter:
    """The subject and body of one message."""

    subject: str
    body: str


def _line(text: str) -> str:
    """Diagram text on one line (a multi-line label must not break a header)."""
    return " ".join(text.split())


def _date(value: datetime | None) -> str:
    return f"{value.day} {value:%B %Y}" if value is not None else "no due date"


def task_letter(kind: str, reference: str, task: TaskRow, role_title: str, base_url: str) -> Letter:
    """A new-work or overdue message: reference, task title, role title, due date and link, nothing else."""
    title, due = _line(task.title), _date(task.due_at)
    if kind == OVERDUE:
        subject, opening = f"[{reference}] Overdue: {title}", f"A task on case {reference} is overdue."
    else:
        subject, opening = f"[{reference}] New task: {title}", f"A task on case {reference} is waiting for you."
    body = (f"{opening}\n\nTask: {title}\nRole: {_line(role_title)}\nDue: {due}\n\n"
            f"Open it: {base_url}/tasks/{task.id}\n{FOOTER}")
    return Letter(subject[:SUBJECT_LIMIT], body)


def notice_letter(reference: str, notice: NoticeRow, role_title: str, base_url: str) -> Letter:
    """A notice message: reference, notice kind, the diagram's message, role title and a link to the case."""
    kind = _line(notice.kind).capitalize() or "Notice"
    message = _line(notice.message)
    body = (f"{kind} about case {reference}.\n\n" + (f"{message}\n\n" if message else "")
            + f"Role: {_line(role_title)}\n\nOpen the case: {base_url}/cases/{notice.case_id}\n{FOOTER}")
    return Letter(f"[{reference}] {kind} for {_line(role_title)}"[:SUBJECT_LIMIT], body)


def _role_title(catalogue: Catalogue, role: str | None) -> str:
    definition = catalogue.role(role) if role is not None else None
    return definition.title if definition is not None else (role or "")


def _holders(uow: UnitOfWork, catalogue: Catalogue, role: str | None, board: str, case_id: int,
             agency: str | None) -> Sequence[str]:
    """Who would see work of `role` in their inbox; the agency narrows it only for agency-scoped roles."""
    return [] if role is None else uow.people.holders(role, board, case_id, catalogue.scope(role, agency))


def _post(uow: UnitOfWork, usernames: Sequence[str], key: str, case_id: int, letter: Letter, now: datetime,
          fallback_domain: str | None) -> int:
    """Queue one message per person (skipping people without an address); returns how many were new."""
    queued = 0
    for username in usernames:
        user = uow.people.get_user(username)
        address = user.email if user is not None and user.email else None
        if address is None and fallback_domain:
            address = f"{username}@{fallback_domain}"
        if address is None:
            log.info("%s has no e-mail address: %s not mailed to them", username, key)
            continue
        queued += uow.mail.queue(MailRow(f"{key}:{username}", case_id, username, address, letter.subject,
                                         letter.body, now))
    return queued


def _announce(services: Services, kind: str, base_url: str, fallback_domain: str | None, limit: int) -> int:
    """Queue new-work (or overdue) mail for ready tasks not yet announced, a batch per transaction."""
    queued, after = 0, None
    while True:
        now = services.clock.now()
        with services.uow() as uow:
            tasks = (uow.mail.overdue_unannounced(now, after, limit) if kind == OVERDUE
                     else uow.mail.unannounced(after, limit))
            labels = uow.cases.labels({t.case_id for t in tasks})
            for task in tasks:
                reference, board = labels[task.case_id]
                people = _holders(uow, services.catalogue, task.role, board, task.case_id, task.agency)
                if kind == OVERDUE and task.claimed_by is not None:
                    people = [task.claimed_by]  # whoever has taken it is the one to chase
                if task.role is not None and not people:
                    continue  # left unannounced: whoever is given the role later still hears of it
                letter = task_letter(kind, reference, task, _role_title(services.catalogue, task.role), base_url)
                key = f"task:{task.id}:{task.created_at:%Y%m%dT%H%M%S%f}:{kind}"
                queued += _post(uow, people, key, task.case_id, letter, now, fallback_domain)
                uow.mail.mark_announced(task.id, now, overdue=kind == OVERDUE)
            uow.commit()
        if len(tasks) < limit:
            return queued
        after = tasks[-1].id


def _notices(services: Services, base_url: str, fallback_domain: str | None, limit: int) -> int:
    """Turn undelivered notices into mail to the holders of their role on their case, a batch per transaction."""
    queued = 0
    while True:
        now = services.clock.now()
        with services.uow() as uow:
            pending = uow.mail.undelivered_notices(limit)
            labels = uow.cases.labels({n.case_id for _, n in pending})
            for notice_id, notice in pending:
                reference, board = labels[notice.case_id]
                people = _holders(uow, services.catalogue, notice.role, board, notice.case_id, notice.agency)
                if not people:
                    log.warning("nobody holds %s on case %s: notice %d reaches no one", notice.role, reference,
                                notice_id)
                letter = notice_letter(reference, notice, _role_title(services.catalogue, notice.role), base_url)
                queued += _post(uow, people, f"notice:{notice_id}", notice.case_id, letter, now, fallback_domain)
                uow.mail.mark_notice_delivered(notice_id, now)
            uow.commit()
        if len(pending) < limit:
            return queued


def queue_mail(services: Services, base_url: str = DEFAULT_BASE_URL, fallback_domain: str | None = None,
               limit: int = 100) -> int:
    """Queue mail about new work, overdue work and notices for everyone who can act; returns messages queued."""
    base = base_url.rstrip("/")
    return (_announce(services, NEW, base, fallback_domain, limit)
            + _announce(services, OVERDUE, base, fallback_domain, limit)
            + _notices(services, base, fallback_domain, limit))


def _deliver(services: Services, transport: Transport, limit: int) -> tuple[int, int]:
    """Send up to `limit` unsent messages over one session, one transaction each: (sent, failed).

    A failure ends the round, except the first dropped connection: that message is recorded as failed and the
    rest go over a new connection.
    """
    with services.uow() as uow:
        ids = [m.id for m in uow.mail.unsent(limit) if m.id is not None]
    if not ids:
        return 0, 0
    sent, failed, may_reconnect = 0, 0, True
    with session_of(transport) as send:
        for mail_id in ids:
            with services.uow() as uow:
                mail = uow.mail.claim(mail_id)
                if mail is None:
                    continue  # sent meanwhile, or being sent by another worker
                try:
                    send(mail)
                except Exception as exc:  # whatever went wrong is recorded on the message and retried later
                    uow.mail.mark_failed(mail_id, f"{type(exc).__name__}: {exc}")
                    uow.commit()
                    log.warning("mail %d not sent: %s", mail_id, exc)
                    failed += 1
                    if isinstance(exc, ConnectionDropped) and may_reconnect:
                        may_reconnect = False
                        continue
                    return sent, failed
                uow.mail.mark_sent(mail_id, services.clock.now())
                uow.commit()
                sent += 1
    return sent, failed


def deliver_mail(services: Services, transport: Transport, limit: int = 100) -> int:
    """Send unsent messages (least tried, then oldest, first) over one session; returns how many were sent."""
    return _deliver(services, transport, limit)[0]


@dataclass(frozen=True)
class MailRound:
    """What one round of the mail work did."""

    queued: int
    sent: int
    failed: int


@dataclass
class Mailer:
    """Queues and delivers mail once per worker round, resting for more rounds after each round that only failed."""

    transport: Transport
    base_url: str = DEFAULT_BASE_URL
    fallback_domain: str | None = None
    limit: int = 100
    failures: int = 0
    rest: int = 0

    def run(self, services: Services) -> MailRound:
        """Queue what is new; deliver unless resting after failures."""
        queued = queue_mail(services, self.base_url, self.fallback_domain, self.limit)
        if self.rest > 0:
            self.rest -= 1
            return MailRound(queued, 0, 0)
        sent, failed = _deliver(services, self.transport, self.limit)
        self.failures = self.failures + 1 if failed and not sent else 0
        self.rest = min(2 ** self.failures, MAX_REST_ROUNDS) - 1 if self.failures else 0
        return MailRound(queued, sent, failed)


@dataclass(frozen=True)
class MailSettings:
    """How mail leaves the system (web/config.py reads them from SCR_ variables)."""

    transport: str = "file"  # file | smtp | none
    directory: Path = Path("instance/mail")
    smtp_host: str = "localhost"
    smtp_port: int | None = None  # None: 465 for tls, else 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_security: str = "none"  # none | starttls | tls (implicit TLS)
    sender: str = DEFAULT_SENDER
    base_url: str = DEFAULT_BASE_URL
    fallback_domain: str | None = None


def transport_for(settings: MailSettings) -> Transport | None:
    """The configured transport, or None when mail is switched off (ValueError for an unknown kind or security)."""
    if settings.transport == "none":
        return None
    if settings.transport == "file":
        return FileTransport(settings.directory, settings.sender)
    if settings.transport == "smtp":
        return SmtpTransport(settings.smtp_host, settings.smtp_port, settings.smtp_user, settings.smtp_password,
                             sender=settings.sender, security=settings.smtp_security)
    raise ValueError(f"unknown mail transport {settings.transport!r}: use file, smtp or none")


def mailer_from(settings: MailSettings) -> Mailer | None:
    """A worker's mailer for these settings, or None when mail is switched off."""
    transport = transport_for(settings)
    if transport is None:
        return None
    return Mailer(transport, settings.base_url, settings.fallback_domain)
