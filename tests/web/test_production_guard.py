"""Production refuses unsafe settings before it touches a database (RELIABILITY T-D1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from web.config import production_refusals

ROOT = Path(__file__).resolve().parents[2]
SAFE = {
    "SCR_ENV": "production", "DATABASE_URL": "postgresql://scr@db.example/scr?sslmode=verify-full",
    "SCR_SECRET_KEY": "k" * 64, "SCR_SESSION_COOKIE_SECURE": "true", "SCR_MAIL_TRANSPORT": "smtp",
}
UNSAFE = {
    "an SQLite database": ({"DATABASE_URL": "sqlite:///scr.sqlite3"}, "SQLite is for the demo"),
    "no database named": ({"DATABASE_URL": ""}, "must name the PostgreSQL database"),
    "PostgreSQL without verified TLS": ({"DATABASE_URL": "postgresql://scr@db/scr"}, "sslmode=verify-full"),
    "debug mode": ({"FLASK_DEBUG": "1"}, "Debug mode is on"),
    "test hooks": ({"APP_TEST_HOOKS": "1"}, "Test hooks are on"),
    "a missing secret key": ({"SCR_SECRET_KEY": ""}, "SCR_SECRET_KEY must be set"),
    "cookies without Secure": ({"SCR_SESSION_COOKIE_SECURE": "false"}, "SCR_SESSION_COOKIE_SECURE must be true"),
    "mail written to files": ({"SCR_MAIL_TRANSPORT": "file"}, "file transport is for the demo"),
}


def test_safe_production_settings_and_any_non_production_settings_are_accepted() -> None:
    assert production_refusals(SAFE) == []
    assert production_refusals({"DATABASE_URL": "sqlite:///demo.sqlite3"}) == []


@pytest.mark.parametrize("change, message", UNSAFE.values(), ids=UNSAFE.keys())
def test_production_refuses_unsafe_settings_saying_what_to_fix(change: dict[str, str], message: str) -> None:
    refusals = production_refusals({**SAFE, **change})
    assert len(refusals) == 1 and message in refusals[0]


def test_the_production_entry_point_exits_with_the_message_before_opening_a_database(tmp_path: Path) -> None:
    env = {**os.environ, **SAFE, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    done = subprocess.run([sys.executable, "-c", "import web.wsgi"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0
    assert "Refusing to start in production" in done.stderr and "SQLite is for the demo" in done.stderr
    assert not (tmp_path / "x.sqlite3").exists()
