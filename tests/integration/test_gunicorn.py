"""The production serving set-up: real gunicorn with deploy/gunicorn.conf.py (two web processes) and a separate
timer worker (`run.py worker`), on SQLite or PostgreSQL as SCR_TEST_DATABASE says."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
import requests

from engine.authoring.versions import deploy
from engine.bootstrap import build_services
from engine.casework.accounts import seed_users, set_password_hash
from engine.casework.cases import start_case
from engine.workflow.specs import read_diagrams
from tests.databases import POSTGRES_URL, postgres_schema, unreachable
from web.accounts import Passwords
from web.safety import SERVER_NAME

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
PASSWORD = "correct horse battery staple"
PERSON = "dorset.referrer"
COLLEAGUE = "dorset.police.lead"
DEADLINE_SECONDS = 60.0
SOFTWARE = re.compile(r"gunicorn|werkzeug|python", re.IGNORECASE)


@pytest.fixture(scope="module")
def served_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A database with bpmn/ deployed, the demo users, a password for one of them and a case waiting on them
    (its URL and that case's reference)."""
    if os.environ.get("SCR_TEST_DATABASE", "sqlite") != "postgresql":
        yield _prepared(f"sqlite:///{tmp_path_factory.mktemp('served') / 'scr.sqlite3'}")
        return
    with postgres_schema("served") as url:
        if url is None:
            unreachable(f"PostgreSQL unreachable at {POSTGRES_URL}")
        assert url is not None
        yield _prepared(url)


def _prepared(url: str) -> tuple[str, str]:
    services, engine = build_services(url, ROOT / "forms")
    try:
        deploy(services, read_diagrams([ROOT / "bpmn"]), by="tests")
        seed_users(services, services.catalogue.users)
        hashed = Passwords(fast=True).hash(PASSWORD)
        for person in (PERSON, COLLEAGUE):
            set_password_hash(services, person, hashed)
        reference = start_case(services, "dorset", PERSON).reference
    finally:
        engine.dispose()
    return url, reference


@dataclass
class Served:
    """The address gunicorn listens on, its master's process id, the log both processes write and the reference of
    the case waiting on PERSON."""

    base: str
    port: int
    master: int
    log: Path
    reference: str


def _environment(database_url: str, port: int, **extra: str) -> dict[str, str]:
    """The process environment of a deployment: this one's PATH and the like, none of its SCR_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCR_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=database_url, SCR_SECRET_KEY="k" * 64, SCR_MAIL_TRANSPORT="none",
               SCR_WEB_BIND=f"127.0.0.1:{port}", SCR_WEB_WORKERS="2", PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(command: list[str], env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    """A process in its own process group (so stopping it stops its children), writing to `log`."""
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process group: politely, then for good after 20 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)
    else:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # any child the leader left behind
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def served(served_database: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """gunicorn and a timer worker running as deployed, once /health says both are up (within 60 s)."""
    port = _free_port()
    url, reference = served_database
    env = _environment(url, port, SCR_PROXIES="1")  # as behind one reverse proxy
    log_path = tmp_path_factory.mktemp("gunicorn") / "processes.log"
    with open(log_path, "wb") as log:
        web = _start([str(GUNICORN), "-c", str(CONFIG)], env, log)
        worker = _start([sys.executable, "run.py", "worker", "--poll", "0.2"], env, log)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_healthy(base, {"gunicorn": web, "the timer worker": worker}, log_path)
            _wait_for_web_processes(web.pid, 2, log_path)
            yield Served(base, port, web.pid, log_path, reference)
        finally:
            _stop(worker)
            _stop(web)


def _wait_until_healthy(base: str, processes: dict[str, subprocess.Popen[bytes]], log: Path) -> None:
    """Poll /health until it answers 200; fail naming the log when a process exits or 60 s pass."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{base}/health", timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    pytest.fail(f"/health did not answer 200 within {DEADLINE_SECONDS:.0f} s:\n{log.read_text()}")


def _wait_for_web_processes(master: int, count: int, log: Path) -> None:
    """Wait until gunicorn has forked `count` web processes: the first one can answer /health before the master
    has forked the next (a CI run met one of two)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while len(_worker_processes(master)) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"gunicorn did not start {count} web processes within {DEADLINE_SECONDS:.0f} s:\n"
                        f"{log.read_text()}")
        time.sleep(0.05)


def _signed_in(base: str, session: requests.Session, person: str = PERSON, password: str = PASSWORD,
               **headers: str) -> requests.Response:
    """Sign in through the login page (`headers` as a proxy would add them), without following the redirect."""
    page = session.get(f"{base}/login", headers=headers, timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None, page
    return session.post(f"{base}/login", data={"username": person, "password": password,
                                                "csrf_token": token.group(1)},
                        headers=headers, timeout=30, allow_redirects=False)


def _worker_processes(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def test_gunicorn_names_only_the_app_in_the_server_header_and_never_a_version(served: Served) -> None:
    for path in ("/health", "/login", "/no-such-page", "/static/favicon.svg"):
        response = requests.get(served.base + path, timeout=10)
        assert response.raw.headers.getlist("Server") == [SERVER_NAME], path
        assert "X-Powered-By" not in response.headers, path
        assert not any(SOFTWARE.search(f"{name}: {value}") for name, value in response.headers.items()), path


def test_a_request_gunicorn_itself_refuses_names_no_software_either(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as connection:
        connection.sendall(b"NOT A REQUEST\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    assert head.startswith("HTTP/1.1 400")
    assert "Server:" not in head and SOFTWARE.search(answer.decode("latin-1")) is None


def test_two_web_processes_answer_a_signed_in_person_and_requests_at_the_same_time(served: Served) -> None:
    assert len(_worker_processes(served.master)) == 2
    with requests.Session() as session:
        assert _signed_in(served.base, session).status_code == 302
        answers: list[Any] = []

        def read_inbox() -> None:
            answers.append(session.get(f"{served.base}/", timeout=30))

        readers = [threading.Thread(target=read_inbox) for _ in range(6)]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(timeout=60)
    assert [answer.status_code for answer in answers] == [200] * 6
    assert all(answer.url == f"{served.base}/" and "Your inbox" in answer.text and served.reference in answer.text
               for answer in answers)


def test_a_form_sent_through_a_tls_proxy_is_accepted_although_browsers_send_no_referer(served: Served) -> None:
    with requests.Session() as session:
        answer = _signed_in(served.base, session, **{"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.1"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/"


def test_sign_in_limits_count_per_client_address_the_proxy_reports(served: Served) -> None:
    guesser, colleague = {"X-Forwarded-For": "203.0.113.66"}, {"X-Forwarded-For": "203.0.113.7"}
    with requests.Session() as session:
        assert [_signed_in(served.base, session, COLLEAGUE, "a wrong guess", **guesser).status_code
                for _ in range(5)] == [401] * 5
        assert _signed_in(served.base, session, COLLEAGUE, **guesser).status_code == 429
    with requests.Session() as session:
        assert _signed_in(served.base, session, COLLEAGUE, **colleague).status_code == 302


def test_health_reports_the_database_and_the_separate_timer_worker_up(served: Served) -> None:
    answer = requests.get(f"{served.base}/health", timeout=10)
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok" and answer.json()["worker"] == "ok"


def test_gunicorn_refuses_to_start_in_production_on_sqlite(tmp_path: Path) -> None:
    env = _environment(f"sqlite:///{tmp_path / 'scr.sqlite3'}", _free_port(), SCR_ENV="production")
    with open(tmp_path / "gunicorn.log", "wb") as log:
        web = _start([str(GUNICORN), "-c", str(CONFIG)], env, log)
        try:
            returncode = web.wait(timeout=DEADLINE_SECONDS)
        finally:
            _stop(web)
    said = (tmp_path / "gunicorn.log").read_text()
    assert returncode != 0
    assert "Refusing to start in production" in said and "DATABASE_URL must name the PostgreSQL database" in said
