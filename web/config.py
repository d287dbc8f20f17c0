"""Configuration, read in one place: environment variables prefixed SCR_, plus DATABASE_URL."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.authoring.studio import MAX_FILE_BYTES
from engine.casework.mail import DEFAULT_BASE_URL, MailSettings
from engine.casework.mailer import DEFAULT_SENDER, security_named
from engine.documents.authoring import MAX_SECTION, MAX_UPLOAD
from engine.documents.chronology import MAX_BYTES as MAX_CHRONOLOGY

ROOT = Path(__file__).resolve().parents[1]


def database_url(default_file: Path | None = None) -> str:
    """DATABASE_URL if set, else an SQLite file under instance/."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    path = default_file or ROOT / "instance" / "scr.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def request_limits() -> dict[str, Any]:
    """The most a request may carry, checked before it is read (SCR_MAX_BODY_LENGTH, SCR_MAX_CONTENT_LENGTH override).

    MAX_BODY_LENGTH: a form, a JSON body or the text fields of an upload (1 MB: drafts and answers are far
    smaller). MAX_CONTENT_LENGTH: an upload (multipart), the largest file a page takes (a Word document) plus
    1 MB for the form around it; a file a little over a page's own limit still reaches the page, which says so.
    BODY_LENGTH_BY_ENDPOINT: the two pages whose text may be longer: a section of a document (its most characters,
    percent-encoded) and a diagram saved from the studio (its most bytes, escaped as JSON).
    """
    return {
        "MAX_BODY_LENGTH": 2**20,
        "MAX_CONTENT_LENGTH": max(MAX_UPLOAD, MAX_CHRONOLOGY, MAX_FILE_BYTES) + 2**20,
        "BODY_LENGTH_BY_ENDPOINT": {"authoring.save": MAX_SECTION * 9 + 2**16,
                                    "studio.save_file": MAX_FILE_BYTES * 2 + 2**16},
    }


def time_zone() -> ZoneInfo:
    """The zone dates without an offset are read in (SCR_TIME_ZONE, Europe/London by default)."""
    name = os.environ.get("SCR_TIME_ZONE", "Europe/London")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"SCR_TIME_ZONE={name!r} is not a time zone (e.g. Europe/London)") from exc


def forms_dir() -> Path:
    """Where roles, agencies, boards and forms live (SCR_FORMS_DIR overrides)."""
    return Path(os.environ.get("SCR_FORMS_DIR", ROOT / "forms"))


def bpmn_dir() -> Path:
    """Where the procedure diagrams live (SCR_BPMN_DIR overrides)."""
    return Path(os.environ.get("SCR_BPMN_DIR", ROOT / "bpmn"))


def mail_settings(base_url: str = DEFAULT_BASE_URL) -> MailSettings:
    """How mail leaves: SCR_MAIL_TRANSPORT (file|smtp|none), SCR_MAIL_DIR, SCR_SMTP_*, SCR_MAIL_*, SCR_BASE_URL.

    SCR_SMTP_SECURITY is none, starttls or tls (implicit TLS, port 465 unless SCR_SMTP_PORT says otherwise);
    without it, SCR_SMTP_STARTTLS=true still means starttls.
    """
    env = os.environ.get
    port = (env("SCR_SMTP_PORT") or "").strip()
    if port and not (port.isascii() and port.isdigit()):
        raise ValueError(f"SCR_SMTP_PORT={port!r} is not a port number")
    security = env("SCR_SMTP_SECURITY") or ("starttls" if _truthy(env("SCR_SMTP_STARTTLS")) else "none")
    try:
        security = security_named(security)
    except ValueError as exc:
        raise ValueError(f"SCR_SMTP_SECURITY={security!r} is unknown: use none, starttls or tls") from exc
    return MailSettings(
        transport=env("SCR_MAIL_TRANSPORT", "file").strip().lower(),
        directory=Path(env("SCR_MAIL_DIR", ROOT / "instance" / "mail")),
        smtp_host=env("SCR_SMTP_HOST", "localhost"),
        smtp_port=int(port) if port else None,
        smtp_user=env("SCR_SMTP_USER") or None,
        smtp_password=env("SCR_SMTP_PASSWORD") or None,
        smtp_security=security,
        sender=env("SCR_MAIL_FROM", DEFAULT_SENDER),
        base_url=env("SCR_BASE_URL", base_url),
        fallback_domain=env("SCR_MAIL_DOMAIN") or None,
    )


def retention_days() -> int | None:
    """SCR_RETENTION_DAYS: how many days after a case closed `run.py purge-closed` deletes it (unset: none set)."""
    value = (os.environ.get("SCR_RETENTION_DAYS") or "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()):
        raise ValueError(f"SCR_RETENTION_DAYS={value!r} is not a whole number of days")
    return int(value)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def production_refusals(env: Mapping[str, str] | None = None) -> list[str]:
    """Why this configuration must not serve real cases (RELIABILITY T-D1); empty unless SCR_ENV=production."""
    env = os.environ if env is None else env
    if (env.get("SCR_ENV") or env.get("ENV") or "").strip().lower() != "production":
        return []
    refusals = []
    url = env.get("DATABASE_URL", "")
    if not url or url.startswith("sqlite"):
        refusals.append("DATABASE_URL must name the PostgreSQL database; SQLite is for the demo and tests only.")
    elif "sslmode=verify-full" not in url:
        refusals.append("DATABASE_URL must end with ?sslmode=verify-full so the database link is encrypted and "
                        "the server's certificate is checked.")
    if any(_truthy(env.get(name)) for name in ("SCR_DEBUG", "FLASK_DEBUG", "DEBUG")):
        refusals.append("Debug mode is on (SCR_DEBUG / FLASK_DEBUG / DEBUG): turn it off.")
    if any((env.get(name) or "").strip().lower() not in ("", "0", "false", "no", "off")  # crash:<point> too
           for name in ("SCR_TEST_HOOKS", "APP_TEST_HOOKS")):
        refusals.append("Test hooks are on (SCR_TEST_HOOKS): turn them off.")
    if len(env.get("SCR_SECRET_KEY", "")) < 32:
        refusals.append("SCR_SECRET_KEY must be set to at least 32 random characters, the same for every worker.")
    if not _truthy(env.get("SCR_SESSION_COOKIE_SECURE")):
        refusals.append("SCR_SESSION_COOKIE_SECURE must be true: sessions travel over TLS only.")
    if (env.get("SCR_MAIL_TRANSPORT") or "file").strip().lower() == "file":
        refusals.append("SCR_MAIL_TRANSPORT must be smtp (or none): the file transport is for the demo.")
    return refusals


def refuse_unsafe_production() -> None:
    """Stop the process (non-zero exit) with a clear message when production settings are unsafe."""
    refusals = production_refusals()
    if refusals:
        raise SystemExit("Refusing to start in production:\n" + "\n".join(f"  - {r}" for r in refusals))
