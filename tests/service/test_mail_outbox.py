"""E-mail about work: who is told of new, overdue and noticed work, once each, and how the messages leave."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import smtplib
import socketserver
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from engine.authoring.versions import deploy
from engine.bootstrap import build_services
from engine.casework import claims
from engine.casework.accounts import seed_users
from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.mail import Mailer, deliver_mail, queue_mail
from engine.casework.mailer import FileTransport, SmtpTransport
from engine.casework.queries import my_tasks
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.casework.timers import fire_due_timers
from engine.casework.worker import run_worker
from engine.clock import FrozenClock
from engine.ports import Assignment, MailRow, UserRecord
from engine.workflow.specs import read_diagrams
from tests.service.test_fixture_case import deploy_fixture

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_FORMS = ROOT / "tests" / "fixtures" / "forms"
BASE = "https://scr.example.org"
CANARY = "Zebediah Canary"
T0 = datetime(2024, 1, 31, 9, 0, tzinfo=UTC)


def give_addresses(services: Services, *usernames: str) -> None:
    with services.uow() as uow:
        for username in usernames:
            user = uow.people.get_user(username)
            assert user is not None
            uow.people.add_user(UserRecord(user.username, user.display_name, user.board, user.agency,
                                           f"{username}@example.org"))
        uow.commit()


def mail_of(services: Services, case_id: int | None) -> list[MailRow]:
    with services.uow() as uow:
        return list(uow.mail.for_case(case_id or 0))


def recipients(services: Services, case_id: int | None, kind: str) -> list[str]:
    return sorted(m.username for m in mail_of(services, case_id) if f":{kind}:" in m.key)


def advance(services: Services, delta: timedelta) -> None:
    clock = services.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(delta)


def asked(services: Services, answers: dict[str, Any] | None = None, data: dict[str, Any] | None = None) -> int:
    """A fixture case whose first task is done, so the decision waits for a chair."""
    deploy_fixture(services)
    record = start_case(services, "fx", "rita", data)
    [ask] = my_tasks(services, "rita")
    complete_task(services, ask.id, "rita", answers or {"question": "q"})
    assert record.id is not None
    return record.id


class Recorder:
    """A transport that keeps what it was given."""

    def __init__(self) -> None:
        self.sent: list[MailRow] = []

    def send(self, mail: MailRow) -> None:
        self.sent.append(mail)


class Refuser:
    """A transport whose server is down."""

    def send(self, mail: MailRow) -> None:
        raise ConnectionRefusedError("connection refused by the mail server")


@pytest.fixture
def services(fixture_services: Services) -> Services:
    give_addresses(fixture_services, "rita", "carl", "olga")
    return fixture_services


def test_a_new_task_is_mailed_once_to_each_person_who_can_act_on_it(services: Services) -> None:
    deploy_fixture(services)
    record = start_case(services, "fx", "rita")
    assert queue_mail(services, BASE) == 1
    [ask] = my_tasks(services, "rita")
    [message] = mail_of(services, record.id)
    assert (message.username, message.address) == ("rita", "rita@example.org")
    assert message.subject == f"[{record.reference}] New task: Ask for a decision"
    assert f"{BASE}/tasks/{ask.id}" in message.body
    complete_task(services, ask.id, "rita", {"question": "q"})
    assert queue_mail(services, BASE) == 1
    assert recipients(services, record.id, "new") == ["carl", "rita"], "the chair of another board is not told"


def test_queueing_again_queues_nothing_new(services: Services) -> None:
    case_id = asked(services)
    assert queue_mail(services, BASE) == 1
    assert queue_mail(services, BASE) == 0
    assert len(mail_of(services, case_id)) == 1


def test_overdue_work_is_mailed_once_after_its_due_date_passes(services: Services) -> None:
    case_id = asked(services)
    [decide] = my_tasks(services, "carl")
    assert decide.due_at is not None
    queue_mail(services, BASE)
    advance(services, decide.due_at - services.clock.now())
    assert queue_mail(services, BASE) == 0, "due now is not yet overdue"
    advance(services, timedelta(minutes=1))
    assert queue_mail(services, BASE) == 1
    assert queue_mail(services, BASE) == 0
    [overdue] = [m for m in mail_of(services, case_id) if ":overdue:" in m.key]
    assert (overdue.username, overdue.subject) == ("carl", f"[FX-2024-0001] Overdue: {decide.title}")


def test_overdue_work_someone_has_taken_is_chased_with_them_alone(services: Services) -> None:
    case_id = asked(services)
    [decide] = my_tasks(services, "carl")
    assert decide.due_at is not None
    assign_role(services, Assignment("rita", decide.role or "", "fx", case_id))
    claims.claim_task(services, decide.id, "carl")
    queue_mail(services, BASE)
    advance(services, decide.due_at - services.clock.now() + timedelta(minutes=1))
    assert queue_mail(services, BASE) == 1
    assert recipients(services, case_id, "overdue") == ["carl"]


def test_a_reassigned_task_is_mailed_to_its_new_holder_and_nobody_twice(services: Services) -> None:
    case_id = asked(services)
    [decide] = my_tasks(services, "carl")
    queue_mail(services, BASE)
    seed_users(services, [{"username": "ada", "display_name": "Ada Admin", "board": "fx", "roles": ["admin"]},
                             {"username": "nina", "display_name": "Nina New", "board": "fx", "roles": [],
                              "email": "nina@example.org"}])
    claims.reassign_task(services, decide.id, "ada", "nina", "Carl is away")
    assert queue_mail(services, BASE) == 1
    assert recipients(services, case_id, "new") == ["carl", "nina"]


def test_a_notice_becomes_mail_to_the_holders_of_its_role_on_its_case(services: Services) -> None:
    case_id = asked(services)
    advance(services, timedelta(weeks=6, minutes=1))
    assert fire_due_timers(services) == 1
    queue_mail(services, BASE)
    [notice] = [m for m in mail_of(services, case_id) if m.key.startswith("notice:")]
    assert notice.username == "carl"
    assert notice.subject.startswith("[FX-2024-0001] Escalation")
    assert "The decision is overdue." in notice.body and f"{BASE}/cases/{case_id}" in notice.body
    with services.uow() as uow:
        assert uow.mail.undelivered_notices(10) == []
    assert queue_mail(services, BASE) == 0


def test_no_message_repeats_what_anyone_wrote_on_the_case(services: Services, tmp_path: Path) -> None:
    deploy_fixture(services)
    case_id = start_case(services, "fx", "rita", {"child": CANARY}).id
    queue_mail(services, BASE)
    [ask] = my_tasks(services, "rita")
    complete_task(services, ask.id, "rita", {"question": f"Should {CANARY} of 1 Acacia Avenue be reviewed?"})
    queue_mail(services, BASE)
    advance(services, timedelta(weeks=6, minutes=1))
    fire_due_timers(services)
    queue_mail(services, BASE)
    assert deliver_mail(services, FileTransport(tmp_path)) == 4  # two new, one overdue, one notice
    for message in mail_of(services, case_id):
        assert CANARY not in message.subject + message.body and "Acacia" not in message.body
    for path in tmp_path.glob("*.eml"):
        assert CANARY.encode() not in path.read_bytes()


def test_a_person_without_an_address_is_told_only_when_a_fallback_domain_is_set(fixture_services: Services) -> None:
    deploy_fixture(fixture_services)
    record = start_case(fixture_services, "fx", "rita")
    assert queue_mail(fixture_services, BASE) == 0
    record2 = start_case(fixture_services, "fx", "rita")
    assert queue_mail(fixture_services, BASE, fallback_domain="example.net") == 1
    assert [m.address for m in mail_of(fixture_services, record2.id)] == ["rita@example.net"]
    assert mail_of(fixture_services, record.id) == [], "the first task was announced, to nobody"


# Agency scope needs an agency-scoped role: the fixture catalogue with its chair made agency-scoped.

@pytest.fixture
def scoped_services(database_url: str, tmp_path: Path) -> Iterator[Services]:
    forms = tmp_path / "forms"
    shutil.copytree(FIXTURE_FORMS, forms)
    roles = json.loads((forms / "roles.json").read_text())
    for role in roles["roles"]:
        role["agency_scoped"] = role["role"] == "chair"
    (forms / "roles.json").write_text(json.dumps(roles))
    (forms / "agencies.json").write_text(json.dumps({"agencies": [{"code": "north", "name": "North"},
                                                                  {"code": "south", "name": "South"},
                                                                  {"code": "east", "name": "East"}]}))
    built, engine = build_services(database_url, forms, FrozenClock(T0))
    try:
        seed_users(built, [
            {"username": "rita", "board": "fx", "email": "rita@example.org"},
            {"username": "nora", "board": "fx", "agency": "north", "roles": ["chair"], "email": "nora@example.org"},
            {"username": "sam", "board": "fx", "agency": "south", "roles": ["chair"], "email": "sam@example.org"},
            {"username": "gus", "board": "fx", "roles": ["chair"], "email": "gus@example.org"},
            {"username": "eve", "board": "fx", "agency": "east", "email": "eve@example.org"},
        ])
        yield built
    finally:
        engine.dispose()


def test_agency_scoped_work_is_mailed_only_to_holders_for_that_agency(scoped_services: Services) -> None:
    case_id = asked(scoped_services, data={"agency": "north"})
    queue_mail(scoped_services, BASE)
    told = recipients(scoped_services, case_id, "new")
    assert told == ["nora"]
    inboxes = sorted(u for u in ("nora", "sam", "gus") if my_tasks(scoped_services, u))
    assert told == inboxes, "mail goes to exactly the people whose inbox shows the work"
    advance(scoped_services, timedelta(weeks=6, minutes=1))
    fire_due_timers(scoped_services)
    queue_mail(scoped_services, BASE)
    assert sorted(m.username for m in mail_of(scoped_services, case_id) if m.key.startswith("notice:")) == ["nora"]


def test_work_nobody_holds_yet_is_mailed_to_whoever_is_given_the_role(scoped_services: Services) -> None:
    case_id = asked(scoped_services, data={"agency": "east"})
    queue_mail(scoped_services, BASE)
    assert recipients(scoped_services, case_id, "new") == []
    assign_role(scoped_services, Assignment("eve", "chair", "fx", None, "east"))
    assert queue_mail(scoped_services, BASE) == 1
    assert recipients(scoped_services, case_id, "new") == ["eve"]


def test_work_of_an_unscoped_role_is_mailed_whatever_agency_it_is_about(services: Services) -> None:
    case_id = asked(services, data={"agency": "police"})
    queue_mail(services, BASE)
    assert recipients(services, case_id, "new") == ["carl"]


# Delivery.

def test_the_file_transport_writes_eml_files_that_parse_back(services: Services, tmp_path: Path) -> None:
    case_id = asked(services)
    queue_mail(services, BASE)
    assert deliver_mail(services, FileTransport(tmp_path, sender="scr@example.org")) == 1
    assert deliver_mail(services, FileTransport(tmp_path)) == 0, "nothing is sent twice"
    [carls] = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in tmp_path.glob("*.eml")]
    assert isinstance(carls, EmailMessage)
    assert (carls["To"], carls["From"]) == ("carl@example.org", "scr@example.org")
    assert carls["Subject"] == "[FX-2024-0001] New task: Decide"
    body = carls.get_body()
    assert body is not None and f"{BASE}/tasks/" in body.get_content()
    assert all(m.sent_at is not None and m.attempts == 1 for m in mail_of(services, case_id))


def test_a_failed_delivery_is_recorded_and_retried_on_the_next_round(services: Services) -> None:
    deploy_fixture(services)
    record = start_case(services, "fx", "rita")
    queue_mail(services, BASE)
    assert deliver_mail(services, Refuser()) == 0
    [failed] = mail_of(services, record.id)
    assert failed.sent_at is None and failed.attempts == 1
    assert failed.last_error is not None and "connection refused" in failed.last_error
    recorder = Recorder()
    assert deliver_mail(services, recorder) == 1
    assert [m.key for m in recorder.sent] == [failed.key]
    [sent] = mail_of(services, record.id)
    assert sent.sent_at == services.clock.now() and sent.attempts == 2


@pytest.mark.postgres
def test_a_message_another_worker_is_sending_is_left_to_it(services: Services, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("on SQLite, BEGIN IMMEDIATE lets one worker at a time near the outbox")
    deploy_fixture(services)
    start_case(services, "fx", "rita")
    queue_mail(services, BASE)
    recorder = Recorder()
    with services.uow() as other_worker:
        [mail] = other_worker.mail.unsent(10)
        assert mail.id is not None and other_worker.mail.claim(mail.id) is not None
        assert deliver_mail(services, recorder) == 0
    assert deliver_mail(services, recorder) == 1 and len(recorder.sent) == 1


def test_a_mailer_rests_for_longer_after_each_round_that_only_failed(services: Services) -> None:
    deploy_fixture(services)
    start_case(services, "fx", "rita")
    mailer = Mailer(Refuser(), BASE)
    rounds = [mailer.run(services) for _ in range(5)]
    assert [(r.sent, r.failed) for r in rounds] == [(0, 1), (0, 0), (0, 1), (0, 0), (0, 0)]
    mailer.transport = Recorder()
    rounds = [mailer.run(services) for _ in range(2)]
    assert [(r.sent, r.failed) for r in rounds] == [(0, 0), (1, 0)]
    assert (mailer.failures, mailer.rest) == (0, 0)


class SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greeting, EHLO, MAIL, RCPT, DATA, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 test ESMTP")
        envelope: dict[str, Any] = {"to": []}
        while line := self.rfile.readline():
            verb, _, rest = line.decode().rstrip("\r\n").partition(" ")
            verb = verb.upper()
            if verb == "MAIL":
                envelope["from"] = rest
            elif verb == "RCPT":
                envelope["to"].append(rest)
            elif verb == "DATA":
                self.reply("354 go ahead")
                lines = []
                while (data := self.rfile.readline()) != b".\r\n":
                    lines.append(data[1:] if data.startswith(b"..") else data)
                self.server.received.append((envelope, b"".join(lines)))  # type: ignore[attr-defined]
                envelope = {"to": []}
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            self.reply("250 ok")


@pytest.fixture
def smtp_server() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SmtpHandler)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_the_smtp_transport_hands_each_message_to_the_smtp_server(
        services: Services, smtp_server: socketserver.ThreadingTCPServer) -> None:
    deploy_fixture(services)
    record = start_case(services, "fx", "rita")
    queue_mail(services, BASE)
    port = smtp_server.server_address[1]
    assert deliver_mail(services, SmtpTransport("127.0.0.1", port, sender="scr@example.org")) == 1
    [(envelope, data)] = smtp_server.received  # type: ignore[attr-defined]
    assert envelope["to"] == ["TO:<rita@example.org>"] and envelope["from"].startswith("FROM:<scr@example.org>")
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert message["Subject"] == f"[{record.reference}] New task: Ask for a decision"


def test_the_smtp_transport_secures_the_connection_and_signs_in_when_configured(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    class FakeSmtp:
        def __init__(self, host: str, port: int, timeout: float) -> None:
            calls.append(f"connect {host}:{port}")

        def __enter__(self) -> FakeSmtp:
            return self

        def __exit__(self, *args: object) -> None:
            calls.append("quit")

        def starttls(self, context: object) -> None:
            calls.append("starttls")

        def login(self, user: str, password: str) -> None:
            calls.append(f"login {user}:{password}")

        def send_message(self, message: EmailMessage) -> None:
            calls.append(f"send {message['To']}")

    monkeypatch.setattr(smtplib, "SMTP", FakeSmtp)
    deploy_fixture(services)
    start_case(services, "fx", "rita")
    queue_mail(services, BASE)
    transport = SmtpTransport("mail.example.org", 587, "scr", "secret", starttls=True)
    assert deliver_mail(services, transport) == 1
    assert calls == ["connect mail.example.org:587", "starttls", "login scr:secret", "send rita@example.org", "quit"]


def test_the_worker_queues_and_delivers_mail_after_each_sweep(services: Services, tmp_path: Path) -> None:
    deploy_fixture(services)
    start_case(services, "fx", "rita")
    swept, stop = threading.Event(), threading.Event()
    worker = threading.Thread(target=run_worker, args=(services, stop, 0.1, lambda _n: swept.set()),
                              kwargs={"mailer": Mailer(FileTransport(tmp_path), BASE)})
    worker.start()
    try:
        assert swept.wait(5), "the worker swept at least once"
    finally:
        stop.set()
        worker.join(5)
    assert len(list(tmp_path.glob("*.eml"))) == 1


def test_run_py_mail_writes_the_demo_cases_first_message_to_a_file(
        repository_services: Services, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest) -> None:
    import run

    engines: list[Engine] = []

    def build_and_remember(*args: Any) -> tuple[Services, Engine]:
        built = build_services(*args)
        engines.append(built[1])
        return built

    monkeypatch.setattr(run, "build_services", build_and_remember)
    request.addfinalizer(lambda: [engine.dispose() for engine in engines])
    deploy(repository_services, read_diagrams([ROOT / "bpmn"]))
    starter = next(u for u in repository_services.catalogue.users if u.get("demo_starts_case"))
    start_case(repository_services, starter["board"], starter["username"])
    for name, value in {"DATABASE_URL": database_url, "SCR_MAIL_TRANSPORT": "file",
                        "SCR_MAIL_DIR": str(tmp_path / "mail")}.items():
        monkeypatch.setenv(name, value)
    assert run.main(["mail"]) == 0
    assert capsys.readouterr().out.strip() == "1 message(s) queued, 1 sent, 0 failed"
    [path] = (tmp_path / "mail").glob("*.eml")
    assert email.message_from_bytes(path.read_bytes(), policy=email.policy.default)["To"] == starter["email"]
    assert run.main(["mail"]) == 0
    assert capsys.readouterr().out.strip() == "0 message(s) queued, 0 sent, 0 failed"
