"""Fuzz the served API with schemathesis, per role: the app under gunicorn in its own process, `st run` per role.

T-F1 runs every check of schemathesis (`--checks all`) with one role's bearer token; T-Z5 runs the authorisation
checks with a Web Fuzzing Commons auth document naming every role, the two IMR authors of one case as peers who
must not see each other's objects. Each run's JSON report gives the figures: operations, test cases, failures.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fuzz.arrange import PEERS, ROLES, ROOT

BIN = Path(sys.executable).parent
GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
PHASES = "examples,coverage,fuzzing,stateful"
ONE_OPERATION = "examples,coverage,fuzzing"  # stateful testing needs links between operations
ALL_CHECKS = "all"
AUTHZ_CHECKS = "ignored_auth,object_level_authorization,not_a_server_error"
PEER_ROLES = tuple(role for role, user in ROLES.items() if user in PEERS)
REVOKE = "/api/token"  # revokes the token it is sent with: fuzzed last, alone, with a token of its own
# Operations whose body names what no schema can list (a task's form fields, people, roles): a well-formed body
# may still be refused with 422 naming the field, so schemathesis' positive_data_acceptance takes 422 there.
SEMANTIC_BODIES = (("POST", "/api/tasks/{task_id}"), ("POST", "/api/tasks/{task_id}/reassign"),
                   ("POST", "/api/cases/{case_id}/people"), ("DELETE", "/api/cases/{case_id}/people"))
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]


@dataclass
class Outcome:
    """One `st run`: which, how much was tried, what failed."""

    name: str
    operations: int = 0
    test_cases: int = 0
    failures: list[str] = field(default_factory=list)  # "ST103 Undocumented status code: POST /api/cases"
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    exit_code: int = 0

    @property
    def ok(self) -> bool:
        """No failure, no error, and schemathesis itself agrees."""
        return not self.failures and not self.errors and self.exit_code == 0

    def line(self) -> str:
        """One line for the summary table."""
        verdict = "ok" if self.ok else f"{len(self.failures)} failures, {len(self.errors)} errors"
        return (f"{self.name:<28} {self.operations:>3} operations {self.test_cases:>6} test cases "
                f"{self.seconds:>6.1f} s  {verdict}")


def free_port() -> int:
    """A TCP port nobody listens on just now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(database_url: str, workdir: Path, app: str = "web.wsgi:app", env: Mapping[str, str] | None = None,
           ) -> Iterator[str]:
    """The app served by gunicorn as in production (deploy/gunicorn.conf.py: two processes) on a free port of
    127.0.0.1 (its base URL), stopped afterwards."""
    port = free_port()
    log_path = workdir / f"gunicorn-{port}.log"
    environment = {**os.environ, "DATABASE_URL": database_url, "SCR_MAIL_TRANSPORT": "none",
                   "SCR_WEB_BIND": f"127.0.0.1:{port}", "SCR_WEB_WORKERS": "2", **(env or {})}
    settings = ["-c", str(GUNICORN_CONFIG)] if GUNICORN_CONFIG.exists() else [
        "--bind", f"127.0.0.1:{port}", "--workers", "2", "--chdir", str(ROOT)]
    with open(log_path, "wb") as log:
        server = subprocess.Popen([str(BIN / "gunicorn"), *settings, app], env=environment, stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_answering(base + "/api/openapi.json", server, log_path)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(40)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_answering(url: str, server: subprocess.Popen[bytes], log: Path, seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped (exit {server.returncode}): {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {url} within {seconds:.0f} s")


def _operation_config(method: str, path: str) -> str:
    return (f'[[operations]]\ninclude-method = "{method}"\ninclude-path = "{path}"\n'
            f"checks.positive_data_acceptance.expected-statuses = {json.dumps(ACCEPTED)}\n")


def write_config(workdir: Path, name: str, auth: Path | None = None, user: str | None = None) -> Path:
    """schemathesis.toml for one run: 422 accepted where SEMANTIC_BODIES say, and the WFC document if any."""
    text = "".join(_operation_config(m, p) for m, p in SEMANTIC_BODIES)
    if auth is not None:
        text = (f'[auth.wfc]\npath = "{auth}"\n' + (f'user = "{user}"\n' if user else "")
                + f"peers = {json.dumps(list(PEER_ROLES))}\n\n" + text)
    path = workdir / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def write_wfc(workdir: Path, tokens: Mapping[str, str]) -> Path:
    """A Web Fuzzing Commons auth document: one entry per role, its bearer token as a fixed header."""
    path = workdir / "auth.json"
    path.write_text(json.dumps({"auth": [
        {"name": role, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}]}
        for role, token in tokens.items()]}), encoding="utf-8")
    return path


def st_run(base: str, name: str, workdir: Path, *, checks: str, examples: int, seed: int,
           token: str | None = None, config: Path | None = None, only: str | None = None,
           timeout: float = 600.0) -> Outcome:
    """One `st run` against the served document; its JSON report read into an Outcome."""
    reports = workdir / name
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "report.json").unlink(missing_ok=True)  # never read an earlier run's figures
    command = [str(BIN / "st")]
    if config is not None:
        command += ["--config-file", str(config)]
    command += ["run", str(served_document(base, reports)), "--url", base, "--checks", checks,
                "--phases", ONE_OPERATION if only else PHASES,
                "--max-examples", str(examples), "--seed", str(seed), "--generation-allow-x00", "false",
                "--workers", "1", "--request-timeout", "30", "--no-color", "--output-truncate", "false",
                "--report", "json,junit", "--report-dir", str(reports),
                "--report-json-path", str(reports / "report.json"), "--report-junit-path", str(reports / "junit.xml")]
    command += ["--include-path", only] if only else ["--exclude-path", REVOKE]
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}"]
    started = time.monotonic()
    with open(reports / "output.txt", "wb") as output:
        try:
            finished = subprocess.run(command, cwd=workdir, stdout=output, stderr=subprocess.STDOUT,
                                      timeout=timeout, check=False)
            exit_code = finished.returncode
        except subprocess.TimeoutExpired:
            return Outcome(name, errors=[f"st run took longer than {timeout:.0f} s"],
                           seconds=time.monotonic() - started, exit_code=-1)
    return read_report(name, reports / "report.json", exit_code, time.monotonic() - started)


def served_document(base: str, folder: Path) -> Path:
    """The server's OpenAPI document saved as a file: read from its URL, schemathesis would leave that URL's own
    operation (GET /api/openapi.json) out of the run."""
    path = folder / "openapi.json"
    with urllib.request.urlopen(f"{base}/api/openapi.json", timeout=10) as answer:
        path.write_bytes(answer.read())
    return path


def read_report(name: str, path: Path, exit_code: int, seconds: float) -> Outcome:
    """The figures and failures of a schemathesis JSON report."""
    if not path.exists():
        return Outcome(name, errors=[f"no report (st exit {exit_code}): see {path.parent / 'output.txt'}"],
                       seconds=seconds, exit_code=exit_code)
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    failures = [f"{f['code']} {f['title']} x{f['count']}: {', '.join(f['operations'])}" for f in report["failures"]]
    errors = [json.dumps(e)[:300] for e in report["errors"]]
    if not report.get("complete", False):
        errors.append(f"the run stopped early: {report.get('stop_reason')}")
    return Outcome(name, report["operations"]["tested"], report["test_cases"]["generated"], failures, errors,
                   seconds, exit_code)


@dataclass(frozen=True)
class Plan:
    """How hard to fuzz: test cases per operation for T-F1 and T-Z5, the seed, and the limit of each run."""

    fuzz_examples: int
    authz_examples: int
    seed: int = 42
    timeout: float = 900.0


def fuzz_roles(base: str, tokens: Mapping[str, str], workdir: Path, plan: Plan) -> list[Outcome]:
    """T-F1: every check, once per role with that role's token."""
    config = write_config(workdir, "fuzz")
    return [st_run(base, f"T-F1 {role}", workdir, checks=ALL_CHECKS, examples=plan.fuzz_examples, seed=plan.seed,
                   token=token, config=config, timeout=plan.timeout) for role, token in tokens.items()]


def authorise_roles(base: str, tokens: Mapping[str, str], workdir: Path, plan: Plan,
                    roles: Sequence[str] | None = None) -> list[Outcome]:
    """T-Z5: the authorisation checks once per role (or each of `roles`), that role pinned, every role's token in
    the auth document, the two IMR authors as peers."""
    auth = write_wfc(workdir, tokens)
    outcomes = []
    for role in roles or list(tokens):
        config = write_config(workdir, f"authz-{role}", auth, user=role)
        outcomes.append(st_run(base, f"T-Z5 {role}", workdir, checks=AUTHZ_CHECKS, examples=plan.authz_examples,
                               seed=plan.seed, config=config, timeout=plan.timeout))
    return outcomes


def revoke_each(base: str, tokens: Mapping[str, str], workdir: Path, plan: Plan) -> list[Outcome]:
    """DELETE /api/token, every check, once per role with a token spent on it (the first call revokes it)."""
    config = write_config(workdir, "revoke")
    return [st_run(base, f"T-F1 {role} revoke", workdir, checks=ALL_CHECKS, examples=plan.fuzz_examples,
                   seed=plan.seed, token=token, config=config, only=REVOKE, timeout=plan.timeout)
            for role, token in tokens.items()]
