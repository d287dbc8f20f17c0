"""T-L2 and T-L5 (RELIABILITY.md): a whole Dorset review run to its end with the child's name, nickname, date of
birth and address written into every free-text answer, the chronology and the documents; then every byte that
leaves the system is scanned against the case's key (each document downloaded as Word and some as PDF, both packs,
the chronology export, the monitor's exports, every e-mail in the outbox: subject and body, the recipient's own
address aside), and the logs, the error responses and
the audit table are searched for the canaries.

Decisions: the key itself (exported only to its keeper, 7.4) is not an outgoing channel; pages shown to people on the
case are inside the system. The database holds the case's content in plain text (no column encryption: gap decision
in docs/documents.md): the test names the tables that may hold it, and nothing else may (the audit table, mail,
releases, sessions and the monitor's projection hold none)."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine

from engine.casework.accounts import issue_token
from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.mail import queue_mail
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.casework.timers import fire_due_timers
from engine.clock import FrozenClock
from engine.documents import authoring
from engine.documents.chronology import add_entry
from engine.documents.extract import parts_of
from engine.documents.keys import save_key, scanner_for
from engine.documents.leakscan import Scanner
from engine.documents.library import library
from engine.errors import InvalidSubmission
from engine.ports import Assignment
from engine.store.db import make_engine
from tests.drive import SCR_PATH, SUPERUSER, form_data, grant_everything, in_driving_order, ready, standing_steps
from tests.web.conftest import Browser
from tests.wordfiles import word

BOARD, KEEPER = "dorset", "dorset.admin"
AGENCIES = ["police", "social_care", "education"]
CHILD, NICKNAME, MOTHER = "Tayla Quist", "Tay", "Marnie Quist"
DOB, ADDRESS = "2015-11-23", "7 Larkspur Crescent, Wareham BH20 4QT"
CANARY = f"{CHILD} ({NICKNAME}), born 23/11/2015, lives with {MOTHER} at {ADDRESS}."
CANARIES = ["Tayla", "Quist", "Larkspur", "BH20 4QT", "23/11/2015", "2015-11-23"]
OFFICIALS = [("dorset.chair", "lscb_chair"), ("dorset.panelchair", "panel_chair"), ("dorset.overview",
                                                                                    "overview_author")]
PANEL_MEMBER = ("dorset.panelmember", "panel_member")
# The tables that keep what people wrote about the case (plain text, as a review's working files are).
CASE_CONTENT = {"case", "case_step", "task", "draft", "submission", "anonymisation_key", "document_version",
                "chronology_entry"}


def canaried(value: Any) -> Any:
    """A generated answer with every free-text value replaced by the canary sentence."""
    if isinstance(value, str) and value and set(value) == {"x"}:
        return CANARY
    if isinstance(value, list):
        return [canaried(v) for v in value]
    if isinstance(value, dict):
        return {k: canaried(v) for k, v in value.items()}
    return value


def drive_to_the_end(services: Services, case_id: int) -> int:
    """Complete every task with canaried answers, moving the clock on a week when only timers wait; the steps."""
    clock = services.clock
    assert isinstance(clock, FrozenClock)
    standing = standing_steps(services, case_id)
    for step in range(3_000):
        with services.uow() as uow:
            case = uow.cases.get(case_id)
        assert case is not None
        queue_mail(services, fallback_domain="example.org")  # as the worker does each round
        if case.status == "completed":
            return step
        tasks = [t for t in ready(services, case_id) if not standing(t)]
        if not tasks:
            clock.advance(timedelta(days=7))
            fire_due_timers(services)
            continue
        task = in_driving_order(services, case_id, tasks)[0]
        data = form_data(services, case_id, task, SCR_PATH)
        try:
            complete_task(services, task.id, SUPERUSER, canaried(data))
        except InvalidSubmission:  # a field too short for the canary keeps its generated value
            complete_task(services, task.id, SUPERUSER, data)
    raise AssertionError("the review did not reach its end")


def the_key(services: Services, case_id: int) -> dict[str, Any]:
    """The child, the mother, every professional on the case by a pseudonym, the three officials by name."""
    with services.uow() as uow:
        people = {a.username for a in uow.people.on_case(case_id)}
        users = {u: uow.people.get_user(u) for u in people}
    officials = {u for u, _ in OFFICIALS}
    named = [{"name": users[u].display_name, "role": role} for u, role in OFFICIALS if users.get(u)]
    professionals = sorted({users[u].display_name for u in people - officials if users.get(u)})
    return {"people": [
        {"real": CHILD, "aliases": [NICKNAME], "dob": DOB, "role": "subject", "kind": "child", "pseudonym": "Child A"},
        {"real": MOTHER, "role": "mother", "kind": "family", "pseudonym": "Mother"},
        *({"real": name, "role": "", "kind": "professional", "pseudonym": f"Professional {n}"}
          for n, name in enumerate(professionals, start=1))],
        "addresses": [ADDRESS], "permitted": named}


def write_documents(services: Services, case_id: int) -> None:
    """Every written section of every document names the child; one IMR is a Word upload that does too."""
    outlines = library(services).outlines
    for outline in outlines.values():
        if not outline.authors:
            continue
        for agency in (AGENCIES if outline.per_agency else [""]):
            for section in authoring.section_ids(outline):
                try:
                    authoring.save_section(services, SUPERUSER, case_id, outline, section, CANARY, agency)
                except InvalidSubmission:
                    continue  # a section included from another outline is written there
    authoring.upload(services, SUPERUSER, case_id, outlines["imr"], "education-imr.docx",
                     word(CANARY, f"{NICKNAME}'s teacher saw {MOTHER}."), "education")
    for agency in AGENCIES[:2]:
        add_entry(services, SUPERUSER, case_id, agency, {
            "date": "03/02/2023 10:30", "subject": CHILD, "entry": CANARY, "source": "Visit log", "seen": "yes"})


@pytest.fixture
def review(services: Services) -> Iterator[tuple[int, list[str]]]:
    """A whole review with canaries everywhere and a complete key; yields the case id and the log lines."""
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        grant_everything(services, BOARD, AGENCIES)
        case = start_case(services, BOARD, SUPERUSER)
        assert case.id is not None
        for username, role in [*OFFICIALS, PANEL_MEMBER]:
            assign_role(services, Assignment(username, role, BOARD, case.id))
        drive_to_the_end(services, case.id)
        write_documents(services, case.id)
        save_key(services, KEEPER, case.id, the_key(services, case.id), expected_version=None)
        yield case.id, records
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def outgoing(browser: Browser, services: Services, case_id: int) -> dict[str, bytes]:
    """Every file the system lets out for this case, as the keeper downloads them, and every e-mail."""
    browser.sign_in(KEEPER)
    got: dict[str, bytes] = {}

    def fetch(path: str, name: str) -> None:
        answer = browser.client.get(path)
        assert answer.status_code == 200, (path, answer.status_code, answer.get_data(as_text=True)[-3000:])
        got[name] = answer.data

    for outline in library(services).outlines.values():
        for agency in (AGENCIES if outline.per_agency else [""]):
            query = f"?agency={agency}" if agency else ""
            fetch(f"/cases/{case_id}/documents/{outline.id}/export/docx{query}", f"{outline.id}-{agency}.docx")
    for outline_id in ("executive_summary", "overview_report"):
        fetch(f"/cases/{case_id}/documents/{outline_id}/export/pdf", f"{outline_id}.pdf")
    for pack in library(services).packs.get("packs", []):
        started = browser.post(f"/cases/{case_id}/packs/{pack['id']}", {}, token_from=f"/cases/{case_id}/packs")
        assert started.status_code == 303, started.get_data(as_text=True)[:500]
        release = started.headers["Location"].rstrip("/").rsplit("/", 1)[1]
        fetch(f"/cases/{case_id}/releases/{release}/download", f"{pack['id']}.zip")
    fetch(f"/cases/{case_id}/chronology.csv", "chronology.csv")
    fetch("/monitor/export.csv", "monitor.csv")
    fetch("/monitor/export.xlsx", "monitor.xlsx")
    with services.uow() as uow:
        for mail in uow.mail.for_case(case_id):
            # the recipient's own address is not scanned: it names the professional to themself
            got[f"mail-{mail.id}.eml"] = f"Subject: {mail.subject}\n\n{mail.body}".encode()
    return got


def scanner(services: Services, case_id: int) -> Scanner:
    with services.uow() as uow:
        case = uow.cases.get(case_id)
        assert case is not None
        found, missing = scanner_for(services, uow, case)
    assert missing == []
    return found


def test_every_byte_that_leaves_a_whole_review_names_no_one_but_the_permitted_officials(
        review: tuple[int, list[str]], browser: Browser, services: Services) -> None:
    case_id, _logs = review
    files = outgoing(browser, services, case_id)
    leaks = {name: [f.line() for f in scanner(services, case_id).scan_bytes(name, data)]
             for name, data in files.items()}
    assert {name: found for name, found in leaks.items() if found} == {}
    assert any(name.startswith("mail-") for name in files), "the outbox was scanned"
    with zipfile.ZipFile(io.BytesIO(files["ofsted.zip"])) as pack:
        report = next(pack.read(n) for n in pack.namelist() if "overview" in n)
    text = "\n".join(p.text for p in parts_of("overview.docx", report))
    title = services.catalogue.role(PANEL_MEMBER[1])
    assert title is not None and title.title in text, "panel members appear by job title"
    assert "Child A" in text and "Henrietta Kettlewell" in text  # the pseudonym, and a permitted official by name


def searched(texts: Mapping[str, str]) -> dict[str, list[str]]:
    return {where: [c for c in CANARIES if c.casefold() in text.casefold()] for where, text in texts.items()
            if any(c.casefold() in text.casefold() for c in CANARIES)}


def test_no_canary_in_the_logs_the_error_responses_or_the_audit_table_and_the_database_keeps_them_only_as_case_content(
        review: tuple[int, list[str]], browser: Browser, services: Services,
        database_url: str) -> None:
    case_id, logs = review
    browser.sign_in(KEEPER)
    errors: dict[str, str] = {}
    save_key(services, KEEPER, case_id, {**the_key(services, case_id), "people": [
        *the_key(services, case_id)["people"], {"real": "Kit Quist", "role": "brother", "kind": "family"}]},
        expected_version=1)  # incomplete now: every export is refused
    for path in (f"/cases/{case_id}/documents/synopsis/export/docx", f"/cases/{case_id}/chronology.csv",
                 f"/api/cases/{case_id}/nothing", f"/cases/{case_id}/documents/nothing"):
        for accept in ("text/html", "application/json"):
            answer = browser.client.get(path, headers={"Accept": accept})
            assert answer.status_code >= 400
            errors[f"{path} {accept}"] = answer.get_data(as_text=True)
    other = start_case(services, BOARD, SUPERUSER)
    [task] = ready(services, other.id or 0)
    with services.uow() as uow:
        schema = services.process_of(uow, other).form(task.form or "")
    refused = browser.client.post(f"/api/tasks/{task.id}", json={"data": {k: CANARY for k in schema["properties"]}},
                                  headers={"Authorization": f"Bearer {issue_token(services, SUPERUSER)}"})
    assert refused.status_code == 422
    errors["api completion"] = refused.get_data(as_text=True)
    with services.uow() as uow:
        audit = [json.dumps({"kind": e.kind, "actor": e.actor, "detail": e.detail}) for e in uow.events.for_case(
            case_id)]
    assert searched({"logs": "\n".join(logs)}) == {}
    assert searched(errors) == {}
    assert searched({"audit": "\n".join(audit)}) == {}

    engine = make_engine(database_url)
    try:
        tables = holding_canaries(engine)
    finally:
        engine.dispose()
    assert tables <= CASE_CONTENT, f"identifying text outside the case's content: {sorted(tables - CASE_CONTENT)}"
    assert {"submission", "chronology_entry", "document_version", "anonymisation_key"} <= tables, \
        "the search finds the canaries where they are kept (a control on the search itself)"


def holding_canaries(engine: Engine) -> set[str]:
    """The tables of a plain dump of the database that hold any canary (gzip columns opened)."""
    import gzip

    found: set[str] = set()
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        raw = bytes(value)
                        try:
                            raw = gzip.decompress(raw)
                        except OSError:
                            pass
                        value = raw.decode("utf-8", "replace")
                    text = json.dumps(value, default=str, ensure_ascii=False) if not isinstance(value, str) else value
                    if any(c.casefold() in text.casefold() for c in CANARIES):
                        found.add(table.name)
                        break
                if table.name in found:
                    break
    return found
