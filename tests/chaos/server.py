"""The served app under test: gunicorn in a process group of its own on 127.0.0.1, killed with SIGKILL and restarted.

deploy/gunicorn.conf.py (the production settings) is used when it exists; else gunicorn's own flags. Every wait is
bounded: a server that does not answer in time fails the run with the tail of its log.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
FORMS = ROOT / "tests" / "fixtures" / "forms"
START_SECONDS = 60.0


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """gunicorn serving web.wsgi:app on one port, started again after each kill."""

    def __init__(self, database_url: str, workdir: Path, workers: int = 2, hooks: str = "") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.log = workdir / "server.log"
        self.env: Mapping[str, str] = {
            **os.environ, "DATABASE_URL": database_url, "SCR_SECRET_KEY": secrets.token_hex(32),
            "SCR_FORMS_DIR": str(FORMS), "SCR_MAIL_DIR": str(workdir / "mail"), "SCR_TEST_HOOKS": hooks,
            "SCR_WEB_BIND": f"127.0.0.1:{self.port}", "SCR_WEB_WORKERS": str(workers), "SCR_WEB_LOGLEVEL": "warning",
            "PYTHONDONTWRITEBYTECODE": "1"}
        self.process: subprocess.Popen[bytes] | None = None
        self.starts: list[float] = []  # seconds from each start to the first answer

    def command(self) -> list[str]:
        """gunicorn with the deployment's settings when there are some, bound to our port either way."""
        base = [sys.executable, "-m", "gunicorn"]
        if CONFIG.exists():
            return [*base, "-c", str(CONFIG), "-b", f"127.0.0.1:{self.port}", "-w", str(self.workers)]
        return [*base, "-b", f"127.0.0.1:{self.port}", "-w", str(self.workers), "--log-level", "warning",
                "web.wsgi:app"]

    def start(self) -> float:
        """Start it in a new session (its own process group) and wait until it answers; the seconds that took."""
        began = time.monotonic()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.command(), cwd=ROOT, env=dict(self.env), stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=log, start_new_session=True)
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped with {self.process.returncode}:\n{self.tail()}")
            try:
                if requests.get(f"{self.url}/api/openapi.json", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() - began > START_SECONDS:
                self.kill()
                raise RuntimeError(f"the server did not answer within {START_SECONDS:.0f} s:\n{self.tail()}")
            threading.Event().wait(0.05)
        self.starts.append(time.monotonic() - began)
        return self.starts[-1]

    def kill(self) -> None:
        """`kill -9 -- -PGID`: the master and every worker at once; waits for the master to be gone."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        self.process = None

    def tail(self, lines: int = 30) -> str:
        """The end of the server's log."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])
