"""Mail leaves over one SMTP connection per round, reopened once if it drops, in plain text, STARTTLS or TLS."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import smtplib
import socket
import socketserver
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from engine.bootstrap import build_services
from engine.casework.mail import MailSettings, deliver_mail, transport_for
from engine.casework.mailer import ConnectionDropped, FileTransport, SmtpTransport, session_of
from engine.casework.services import Services
from engine.clock import FrozenClock
from engine.ports import MailRow
from tests.databases import POSTGRES_URL, postgres_schema, unreachable
from web import config

FORMS_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "forms"
T0 = datetime(2024, 1, 31, 9, 0, tzinfo=UTC)


# A real SMTP server on localhost, in a thread.

@dataclass
class Log:
    """What the test server saw: connections, messages (by connection), polite goodbyes, TLS."""

    drops: list[int] = field(default_factory=list)  # connection n (from 0) hangs up after drops[n] messages
    connections: int = 0
    received: list[tuple[int, EmailMessage]] = field(default_factory=list)
    quits: int = 0
    encrypted: list[bool] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def subjects(self) -> list[str]:
        return [str(message["Subject"]) for _, message in self.received]

    def connection_of(self) -> list[int]:
        return [number for number, _ in self.received]


class SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greeting, EHLO, MAIL, RCPT, DATA, QUIT; may hang up as the server's log says."""

    timeout = 10

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        log: Log = self.server.log  # type: ignore[attr-defined]
        with log.lock:
            number, log.connections = log.connections, log.connections + 1
            log.encrypted.append(isinstance(self.connection, ssl.SSLSocket))
        limit = log.drops[number] if number < len(log.drops) else None
        delivered = 0
        self.reply("220 test ESMTP")
        while line := self.rfile.readline():
            verb = line.decode().split(" ", 1)[0].strip().upper()
            if verb == "DATA":
                self.reply("354 go ahead")
                lines = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(data[1:] if data.startswith(b"..") else data)
                message = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                assert isinstance(message, EmailMessage)
                with log.lock:
                    log.received.append((number, message))
                delivered += 1
                self.reply("250 queued")
                if delivered == limit:
                    return  # hang up without a word
                continue
            if verb == "QUIT":
                with log.lock:
                    log.quits += 1
                self.reply("221 bye")
                return
            self.reply("250 ok")


class SmtpServer(socketserver.ThreadingTCPServer):
    """The test server; with a context, it speaks TLS from the first byte (like port 465)."""

    daemon_threads = True

    def __init__(self, log: Log, context: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), SmtpHandler)
        self.log, self.context = log, context

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        if self.context is None:
            return connection, address
        connection.settimeout(10)
        return self.context.wrap_socket(connection, server_side=True), address  # a failed handshake closes it


@contextmanager
def serving(log: Log, context: ssl.SSLContext | None = None) -> Iterator[int]:
    """Run an SMTP server until the block ends; yields its port."""
    server = SmtpServer(log, context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate (and its key) for localhost and 127.0.0.1, made by openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


# The outbox, on a real database.

@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    """Services on an empty database (SQLite, or PostgreSQL when SCR_TEST_DATABASE says)."""
    if os.environ.get("SCR_TEST_DATABASE", "sqlite") != "postgresql":
        yield from _services(f"sqlite:///{tmp_path / 'scr.sqlite3'}")
        return
    with postgres_schema("mailtx") as url:
        if url is None:
            unreachable(f"PostgreSQL unreachable at {POSTGRES_URL}")
        assert url is not None
        yield from _services(url)


def _services(url: str) -> Iterator[Services]:
    services, engine = build_services(url, FORMS_DIR, FrozenClock(T0))
    try:
        yield services
    finally:
        engine.dispose()


def queue(services: Services, *names: str) -> None:
    """Queue one message to each name, subject `Hello <name>`, in this order."""
    with services.uow() as uow:
        for name in names:
            uow.mail.queue(MailRow(f"test:{name}", None, name, f"{name}@example.org", f"Hello {name}",
                                   "Sign in to read the case.", T0))
        uow.commit()


def unsent(services: Services) -> list[tuple[str, int, str | None]]:
    """(recipient, attempts, last error) of every message still to send."""
    with services.uow() as uow:
        return [(m.username, m.attempts, m.last_error) for m in uow.mail.unsent(100)]


def smtp(port: int, **options: Any) -> SmtpTransport:
    return SmtpTransport("127.0.0.1", port, sender="scr@example.org", timeout=5, **options)


# One connection per round.

def test_three_queued_messages_go_over_one_connection(services: Services) -> None:
    queue(services, "ann", "bob", "cat")
    log = Log()
    with serving(log) as port:
        assert deliver_mail(services, smtp(port)) == 3
    assert log.subjects() == ["Hello ann", "Hello bob", "Hello cat"]
    assert (log.connections, log.quits) == (1, 1), "one connection, closed politely at the end of the round"
    assert unsent(services) == []


def test_a_round_with_nothing_to_send_does_not_connect(services: Services) -> None:
    log = Log()
    with serving(log) as port:
        assert deliver_mail(services, smtp(port)) == 0
    assert log.connections == 0


def test_a_dropped_connection_fails_one_message_and_the_rest_go_over_a_new_one(services: Services) -> None:
    queue(services, "ann", "bob", "cat", "dan")
    log = Log(drops=[1])
    with serving(log) as port:
        assert deliver_mail(services, smtp(port)) == 3
        assert log.subjects() == ["Hello ann", "Hello cat", "Hello dan"]
        assert log.connection_of() == [0, 1, 1]
        [(who, attempts, error)] = unsent(services)
        assert (who, attempts) == ("bob", 1)
        assert error is not None and error.startswith("ConnectionDropped: SMTPServerDisconnected")
        assert deliver_mail(services, smtp(port)) == 1, "the failed message goes on the next round"
    assert log.subjects()[-1] == "Hello bob"
    assert log.connections == 3 and unsent(services) == []


def test_a_second_drop_in_one_round_ends_the_round(services: Services) -> None:
    queue(services, "ann", "bob", "cat", "dan", "eve")
    log = Log(drops=[1, 1])
    with serving(log) as port:
        assert deliver_mail(services, smtp(port)) == 2
    assert log.subjects() == ["Hello ann", "Hello cat"]
    assert [(who, attempts) for who, attempts, _ in unsent(services)] == [("eve", 0), ("bob", 1), ("dan", 1)]
    assert log.connections == 2


def test_a_server_that_is_down_fails_one_message_and_leaves_the_rest_for_later(services: Services) -> None:
    queue(services, "ann", "bob", "cat")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert deliver_mail(services, smtp(port)) == 0
    [(ann, ann_attempts, error), *rest] = reversed(unsent(services))
    assert (ann, ann_attempts) == ("ann", 1) and error is not None and error.startswith("ConnectionRefusedError")
    assert [(who, attempts) for who, attempts, _ in rest] == [("cat", 0), ("bob", 0)]


def test_send_alone_still_delivers_one_message_over_its_own_connection(services: Services) -> None:
    queue(services, "ann")
    with services.uow() as uow:
        [mail] = uow.mail.unsent(1)
    log = Log()
    with serving(log) as port:
        smtp(port).send(mail)
        smtp(port).send(mail)
    assert log.subjects() == ["Hello ann", "Hello ann"] and (log.connections, log.quits) == (2, 2)


def test_a_session_keeps_its_connection_until_it_is_closed(services: Services) -> None:
    queue(services, "ann", "bob")
    with services.uow() as uow:
        mails = list(uow.mail.unsent(2))
    log = Log()
    with serving(log) as port:
        with smtp(port).session() as send:
            for mail in mails:
                send(mail)
            assert log.quits == 0
        assert (log.connections, log.quits) == (1, 1)


def test_a_drop_is_reported_as_connection_dropped(services: Services) -> None:
    queue(services, "ann", "bob")
    with services.uow() as uow:
        ann, bob = uow.mail.unsent(2)
    log = Log(drops=[1])
    with serving(log) as port, smtp(port).session() as send:
        send(ann)
        with pytest.raises(ConnectionDropped):
            send(bob)
        send(bob)
    assert log.connection_of() == [0, 1]


def test_the_file_transport_writes_each_message_of_a_session_to_its_own_file(services: Services,
                                                                             tmp_path: Path) -> None:
    queue(services, "ann", "bob")
    with services.uow() as uow:
        mails = list(uow.mail.unsent(2))
    with session_of(FileTransport(tmp_path / "mail")) as send:
        for mail in mails:
            send(mail)
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 2


# Implicit TLS (port 465).

def test_implicit_tls_delivers_over_an_encrypted_connection(services: Services,
                                                            certificate: tuple[Path, Path]) -> None:
    queue(services, "ann", "bob")
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    log = Log()
    with serving(log, server_context(certificate)) as port:
        assert deliver_mail(services, smtp(port, security="tls", context=trusting)) == 2
    assert log.subjects() == ["Hello ann", "Hello bob"]
    assert log.encrypted == [True] and log.quits == 1


def test_implicit_tls_refuses_a_certificate_nobody_vouches_for(services: Services,
                                                               certificate: tuple[Path, Path]) -> None:
    queue(services, "ann")
    log = Log()
    with serving(log, server_context(certificate)) as port:
        assert deliver_mail(services, smtp(port, security="tls")) == 0
    [(_, attempts, error)] = unsent(services)
    assert attempts == 1 and error is not None and error.startswith("SSLCertVerificationError")
    assert log.received == []


class FakeSmtp:
    """Stands in for smtplib.SMTP and SMTP_SSL, writing down what it was asked to do."""

    calls: list[str] = []

    def __init__(self, host: str, port: int, timeout: float, context: ssl.SSLContext | None = None) -> None:
        self.calls.append(f"{type(self).__name__} {host}:{port}" + (" with context" if context else ""))

    def __exit__(self, *args: object) -> None:
        self.calls.append("quit")

    def starttls(self, context: ssl.SSLContext) -> None:
        self.calls.append("starttls")

    def login(self, user: str, password: str) -> None:
        self.calls.append(f"login {user}")

    def send_message(self, message: EmailMessage) -> None:
        self.calls.append(f"send {message['To']}")


class FakeSmtpSsl(FakeSmtp):
    pass


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setattr(smtplib, "SMTP", FakeSmtp)
    monkeypatch.setattr(smtplib, "SMTP_SSL", FakeSmtpSsl)
    monkeypatch.setattr(FakeSmtp, "calls", [])
    return FakeSmtp.calls


def test_tls_connects_with_smtp_ssl_on_port_465_and_signs_in(services: Services, calls: list[str]) -> None:
    queue(services, "ann", "bob")
    context = ssl.create_default_context()
    transport = SmtpTransport("mail.example.org", username="scr", password="secret", security="tls",
                              context=context)
    assert deliver_mail(services, transport) == 2
    assert calls == ["FakeSmtpSsl mail.example.org:465 with context", "login scr", "send ann@example.org",
                     "send bob@example.org", "quit"]


def test_starttls_upgrades_a_plain_connection_on_port_25(services: Services, calls: list[str]) -> None:
    queue(services, "ann")
    assert deliver_mail(services, SmtpTransport("mail.example.org", security="starttls")) == 1
    assert calls == ["FakeSmtp mail.example.org:25", "starttls", "send ann@example.org", "quit"]


def test_an_unknown_security_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="none, starttls or tls"):
        SmtpTransport("mail.example.org", security="ssl")


# Settings.

@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("SCR_SMTP_SECURITY", "SCR_SMTP_STARTTLS", "SCR_SMTP_PORT", "SCR_SMTP_USER", "SCR_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SCR_MAIL_TRANSPORT", "smtp")
    monkeypatch.setenv("SCR_SMTP_HOST", "mail.example.org")
    return monkeypatch


def smtp_transport(settings: MailSettings) -> SmtpTransport:
    transport = transport_for(settings)
    assert isinstance(transport, SmtpTransport)
    return transport


@pytest.mark.parametrize(("variables", "security", "port"), [
    ({}, "none", 25),
    ({"SCR_SMTP_STARTTLS": "true"}, "starttls", 25),
    ({"SCR_SMTP_STARTTLS": "true", "SCR_SMTP_PORT": "587"}, "starttls", 587),
    ({"SCR_SMTP_SECURITY": "tls"}, "tls", 465),
    ({"SCR_SMTP_SECURITY": " TLS ", "SCR_SMTP_PORT": "2465"}, "tls", 2465),
    ({"SCR_SMTP_SECURITY": "none", "SCR_SMTP_STARTTLS": "true"}, "none", 25),
])
def test_the_settings_choose_the_security_and_its_usual_port(environment: pytest.MonkeyPatch,
                                                            variables: dict[str, str], security: str,
                                                            port: int) -> None:
    for name, value in variables.items():
        environment.setenv(name, value)
    transport = smtp_transport(config.mail_settings())
    assert (transport.host, transport.security, transport.port) == ("mail.example.org", security, port)


def test_the_settings_sign_in_when_a_user_is_given(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("SCR_SMTP_USER", "scr")
    environment.setenv("SCR_SMTP_PASSWORD", "secret")
    transport = smtp_transport(config.mail_settings())
    assert (transport.username, transport.password) == ("scr", "secret")


def test_an_unknown_security_setting_is_refused_naming_the_choices(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("SCR_SMTP_SECURITY", "ssl")
    with pytest.raises(ValueError, match=r"SCR_SMTP_SECURITY='ssl'.*none, starttls or tls"):
        config.mail_settings()


def test_a_port_that_is_not_a_number_is_refused(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("SCR_SMTP_PORT", "smtps")
    with pytest.raises(ValueError, match="SCR_SMTP_PORT='smtps' is not a port number"):
        config.mail_settings()
