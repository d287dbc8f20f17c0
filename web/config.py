"""Configuration, read in one place: environment variables prefixed SCR_, plus DATABASE_URL."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def database_url(default_file: Path | None = None) -> str:
    """DATABASE_URL if set, else an SQLite file under instance/."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    path = default_file or ROOT / "instance" / "scr.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def forms_dir() -> Path:
    """Where roles, agencies, boards and forms live (SCR_FORMS_DIR overrides)."""
    return Path(os.environ.get("SCR_FORMS_DIR", ROOT / "forms"))


def bpmn_dir() -> Path:
    """Where the procedure diagrams live (SCR_BPMN_DIR overrides)."""
    return Path(os.environ.get("SCR_BPMN_DIR", ROOT / "bpmn"))
