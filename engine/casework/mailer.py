"""Mail transports: SMTP for real delivery, .eml files for the demo; both send one outbox row as one message."""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from engine.ports import MailRow

DEFAULT_SENDER = "scr-workflow@localhost"
SECURITIES = ("none", "starttls", "tls")  # plain, upgraded after connecting, TLS from the first byte
DEFAULT_PORTS = {"none": 25, "starttls": 25, "tls": 465}

Send = Callable[[MailRow], None]


class Transport(Protocol):
    """Something that delivers one queued message or raises."""

    def send(self, mail: MailRow) -> None: ...


@runtime_checkable
class Sessions(Protocol):
    """A transport that can send many messages over one connection: `with transport.session() as send: ...`."""

    def session(self) -> AbstractContextManager[Send]: ...


class ConnectionDropped(ConnectionError):
    """The connection went away while a message was being sent; the next message may go on a new connection."""


def session_of(transport: Transport) -> AbstractContextManager[Send]:
    """A round's way to send: the transport's own session when it has one, else its `send` for each message."""
    return transport.session() if isinstance(transport, Sessions) else nullcontext(transport.send)


def security_named(value: str) -> str:
    """A known SMTP security (none, starttls or tls), whatever its case; ValueError naming them otherwise."""
    security = value.strip().lower()
    if security not in SECURITIES:
        raise ValueError(f"unknown SMTP security {value!r}: use none, starttls or tls")
    return security


def compose(mail: MailRow, sender: str) -> EmailMessage:
    """The message of an outbox row; its Message-ID comes from the row's key, so a resend is recognisably the same."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.address
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    domain = sender.rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<{hashlib.sha256(mail.key.encode()).hexdigest()[:32]}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body)
    return message


class FileTransport:
    """Writes each message to `directory` as an .eml file (the demo's post office)."""

    def __init__(self, directory: Path, sender: str = DEFAULT_SENDER) -> None:
        self.directory = Path(directory)
        self.sender = sender

    def path_of(self, mail: MailRow) -> Path:
        """Where a message is written: one file per outbox row, so sending it again overwrites it."""
        name = mail.id if mail.id is not None else hashlib.sha256(mail.key.encode()).hexdigest()[:16]
        return self.directory / f"{mail.created_at:%Y%m%dT%H%M%SZ}-{name}.eml"

    def session(self) -> AbstractContextManager[Send]:
        """Nothing to open or close: each message is its own file."""
        return nullcontext(self.send)

    def send(self, mail: MailRow) -> None:
        """Write the message atomically (a reader never sees half a file)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.path_of(mail)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(compose(mail, self.sender).as_bytes())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


class SmtpTransport:
    """Sends messages over SMTP (plain, STARTTLS or implicit TLS), signing in when a username is given."""

    def __init__(self, host: str, port: int | None = None, username: str | None = None, password: str | None = None,
                 starttls: bool = False, sender: str = DEFAULT_SENDER, timeout: float = 10.0, *,
                 security: str | None = None, context: ssl.SSLContext | None = None) -> None:
        """`security` (none, starttls, tls) wins over the older `starttls` flag; the port defaults to its usual one."""
        self.security = security_named(security if security is not None else "starttls" if starttls else "none")
        self.host = host
        self.port = port if port is not None else DEFAULT_PORTS[self.security]
        self.username, self.password, self.sender, self.timeout = username, password, sender, timeout
        self.context = context  # None: the system's trusted certificates

    def connect(self) -> smtplib.SMTP:
        """A new connection, secured and signed in as configured (closed again if securing or signing in fails)."""
        context = self.context or ssl.create_default_context()
        if self.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            hang_up(smtp)
            raise
        return smtp

    @contextmanager
    def session(self) -> Iterator[Send]:
        """One connection for many messages, opened for the first and closed on leaving."""
        session = SmtpSession(self)
        try:
            yield session.send
        finally:
            session.close()

    def send(self, mail: MailRow) -> None:
        """Connect, send one message, quit (smtplib errors and OSError propagate)."""
        with self.session() as send:
            send(mail)


class SmtpSession:
    """A round's connection: opened for its first message, reopened for the next one after a drop, closed at the end."""

    def __init__(self, transport: SmtpTransport) -> None:
        self.transport = transport
        self.smtp: smtplib.SMTP | None = None

    def send(self, mail: MailRow) -> None:
        """Send one message (one SMTP transaction); a lost connection raises ConnectionDropped and is let go."""
        if self.smtp is None:
            self.smtp = self.transport.connect()
        try:
            self.smtp.send_message(compose(mail, self.transport.sender))
        except Exception as exc:
            if not lost(exc):
                raise
            self.close()
            raise ConnectionDropped(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        """Quit and close the connection, if one is open."""
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            hang_up(smtp)


def lost(exc: BaseException) -> bool:
    """Whether an error means the connection itself is gone (not a refusal the server answered)."""
    return isinstance(exc, smtplib.SMTPServerDisconnected) or (
        isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException))


def hang_up(smtp: smtplib.SMTP) -> None:
    """QUIT and close the socket (smtplib's context-manager exit), ignoring a server that has already gone."""
    with suppress(OSError):
        smtp.__exit__(None, None, None)
