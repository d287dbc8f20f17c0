"""Retention (T-D2): `run.py purge-closed` deletes a case closed longer ago than the retention period, every row
of it and its mail files, and leaves one tombstone in the audit log; open cases and recently closed ones stay."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from engine.casework.mail import Mailer
from engine.casework.mailer import FileTransport
from engine.casework.services import Services
from engine.documents.keys import save_key
from engine.store.models import Base, Case
from engine.store.retention import case_tables
from tests.service.test_audit_chain import asked as asked_about
from tests.service.test_audit_chain import (
    cli,
    clock,
    decided,
    engine,  # noqa: F401  (the fixture)
    every_event,
    services,  # noqa: F401  (the fixture)
)

OLD, KEPT, RECENT = "Zebedee Quillfeather", "Philomena Brackwater", "Ottoline Vexham"  # one name per case


@pytest.fixture
def mail_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the file transport writes mail, for the app and for `run.py`."""
    folder = tmp_path / "mail"
    monkeypatch.setenv("SCR_MAIL_TRANSPORT", "file")
    monkeypatch.setenv("SCR_MAIL_DIR", str(folder))
    return folder


@pytest.fixture
def cases(services: Services, mail_dir: Path) -> Iterator[dict[str, int]]:  # noqa: F811  (the fixture)
    """Three cases: one closed on day 0, one still open since day 0, one closed on day 300; now is day 400."""
    mailer = Mailer(FileTransport(mail_dir), fallback_domain="example.org")
    old = asked(services, OLD)
    save_key(services, "adam", old, {"people": [{"real": OLD, "role": "subject", "kind": "child",
                                                 "pseudonym": "Child A"}]}, None)
    mailer.run(services)
    decided(services, old)
    kept = asked(services, KEPT)
    mailer.run(services)
    clock(services).advance(timedelta(days=300))
    recent = asked(services, RECENT)
    decided(services, recent)
    clock(services).advance(timedelta(days=100))
    yield {"old": old, "kept": kept, "recent": recent}


def asked(app: Services, name: str) -> int:
    """A case whose referrer's free text names someone."""
    return asked_about(app, f"Should we review what happened to {name}?")


def rows_of(db: Engine, case_id: int) -> dict[str, int]:
    """How many rows of each table belong to the case (the case row itself under "case")."""
    with db.connect() as conn:
        found = {t.name: conn.scalar(select(func.count()).select_from(t).where(t.c.case_id == case_id)) or 0
                 for t in case_tables()}
        found["case"] = conn.scalar(select(func.count()).select_from(Case).where(Case.id == case_id)) or 0
    return found


def everything(db: Engine) -> str:
    """Every value of every table as text, compressed workflow states unpacked."""
    def shown(value: Any) -> str:
        if isinstance(value, bytes):
            return gzip.decompress(value).decode() if value[:2] == b"\x1f\x8b" else value.decode("utf-8", "replace")
        return str(value)

    with db.connect() as conn:
        return "\n".join(shown(v) for t in Base.metadata.sorted_tables for r in conn.execute(select(t)) for v in r)


def purge(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database_url: str, app: Services,
          *args: str) -> tuple[int, str, str]:
    """`run.py purge-closed <args>` at the app's now (day 400), keeping closed cases a year."""
    now = app.clock.now().isoformat()
    return cli(monkeypatch, capsys, database_url, "purge-closed", "--older-than-days", "365", "--now", now, *args)


def test_a_dry_run_lists_only_the_case_closed_over_a_year_ago_and_deletes_nothing(
        services: Services, engine: Engine, cases: dict[str, int], mail_dir: Path,  # noqa: F811  (fixtures)
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database_url: str) -> None:
    before = everything(engine)
    mails = sorted(mail_dir.glob("*.eml"))
    code, out, _ = purge(monkeypatch, capsys, database_url, services)
    assert code == 0
    [listed, summary] = out.splitlines()
    assert listed.startswith(f"would purge FX-2024-0001 (case {cases['old']}), closed 2024-01-31: ")
    assert "anonymisation_key 1" in listed and "mail 1" in listed and listed.endswith(", 1 mail files")
    assert summary == "dry run, nothing deleted: 1 case closed before 2024-03-06 (365 days); add --yes to purge"
    assert everything(engine) == before and sorted(mail_dir.glob("*.eml")) == mails and len(mails) == 2


def test_purging_leaves_nothing_of_the_case_but_a_tombstone_and_touches_no_other_case(
        services: Services, engine: Engine, cases: dict[str, int], mail_dir: Path,  # noqa: F811  (fixtures)
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database_url: str) -> None:
    others = {name: rows_of(engine, cases[name]) for name in ("kept", "recent")}
    had = {table: n for table, n in rows_of(engine, cases["old"]).items() if n}
    assert OLD in everything(engine)
    code, out, _ = purge(monkeypatch, capsys, database_url, services, "--yes", "--user", "adam")
    assert code == 0 and out.splitlines()[-1] == ("purged 1 case closed before 2024-03-06 (365 days); each left a "
                                                  "case_purged tombstone in the audit log")
    assert set(rows_of(engine, cases["old"]).values()) == {0}
    assert {name: rows_of(engine, cases[name]) for name in ("kept", "recent")} == others
    assert OLD not in everything(engine) and OLD.split()[1] not in everything(engine)
    assert KEPT in everything(engine) and RECENT in everything(engine)
    assert [p.read_text().count("FX-2024-0002") > 0 for p in mail_dir.glob("*.eml")] == [True], "its mail file went"

    [tombstone] = [e for e in every_event(engine) if e["kind"] == "case_purged"]
    assert (tombstone["case_id"], tombstone["actor"], tombstone["at"]) == (None, "adam", services.clock.now())
    assert tombstone["detail"] == {"purged_case": cases["old"], "reference": "FX-2024-0001", "board": "fx",
                                   "closed_at": "2024-01-31T09:00:00+00:00", "retention_days": 365, "rows": had,
                                   "files": 1}
    code, out, _ = cli(monkeypatch, capsys, database_url, "verify-audit")
    assert code == 0 and out.startswith("audit chain ok: "), out


def checkpoint(db: Engine) -> None:
    """Copy SQLite's write-ahead log into the database file (outside any transaction)."""
    raw = db.raw_connection()
    try:
        raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    finally:
        raw.close()


def test_on_sqlite_the_purged_names_are_gone_from_the_database_file_too(
        services: Services, engine: Engine, cases: dict[str, int],  # noqa: F811  (fixtures)
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database_url: str) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps dead rows until VACUUM (docs/audit.md)")
    file = Path(engine.url.database or "")
    checkpoint(engine)
    assert OLD.encode() in file.read_bytes()
    purge(monkeypatch, capsys, database_url, services, "--yes")
    checkpoint(engine)
    assert OLD.encode() not in file.read_bytes() and KEPT.encode() in file.read_bytes()


def test_purging_again_finds_nothing_more(
        services: Services, engine: Engine, cases: dict[str, int],  # noqa: F811  (fixtures)
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database_url: str) -> None:
    purge(monkeypatch, capsys, database_url, services, "--yes")
    after = everything(engine)
    code, out, _ = purge(monkeypatch, capsys, database_url, services, "--yes")
    assert code == 0 and out == "purged 0 cases closed before 2024-03-06 (365 days); each left a case_purged " \
                                "tombstone in the audit log\n"
    assert everything(engine) == after


def test_the_retention_period_comes_from_scr_retention_days_and_must_be_given(
        services: Services, cases: dict[str, int],  # noqa: F811  (fixtures)
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database_url: str) -> None:
    now = services.clock.now().isoformat()
    monkeypatch.delenv("SCR_RETENTION_DAYS", raising=False)
    code, _, err = cli(monkeypatch, capsys, database_url, "purge-closed", "--now", now)
    assert code == 2 and "--older-than-days N or SCR_RETENTION_DAYS" in err
    monkeypatch.setenv("SCR_RETENTION_DAYS", "30")
    code, out, _ = cli(monkeypatch, capsys, database_url, "purge-closed", "--now", now)
    assert code == 0 and "2 cases closed before 2025-02-04 (30 days)" in out
