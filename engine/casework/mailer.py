"""Mail transports: SMTP for real delivery, .eml files for the demo; both send one outbox row as one message."""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol

from engine.ports import MailRow

DEFAULT_SENDER = "scr-workflow@localhost"


class Transport(Protocol):
    """Something that delivers one queued message or raises."""

    def send(self, mail: MailRow) -> None: ...


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
    """Sends each message over SMTP, with STARTTLS and login when configured."""

    def __init__(self, host: str, port: int = 25, username: str | None = None, password: str | None = None,
                 starttls: bool = False, sender: str = DEFAULT_SENDER, timeout: float = 10.0) -> None:
        self.host, self.port, self.username, self.password = host, port, username, password
        self.starttls, self.sender, self.timeout = starttls, sender, timeout

    def send(self, mail: MailRow) -> None:
        """Connect, optionally secure and log in, send, quit (smtplib errors and OSError propagate)."""
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(compose(mail, self.sender))
