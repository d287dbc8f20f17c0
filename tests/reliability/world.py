"""Three cases on two boards, each agency's answers marked with its own canary, and the tools the sweeps share:
URLs filled from the app's own routes, signed-in clients, and a fingerprint of everything the database keeps."""

from __future__ import annotations

import hashlib
import io
import re
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from engine.casework.accounts import issue_token
from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.ports import Assignment, SubmissionRecord, TaskRow
from tests.drive import SCR_PATH, SUPERUSER, drive_until, form_data, grant_everything, ready
from tests.web.conftest import Browser

AGENCIES = ["police", "health_commissioning"]
CHOICES = {**SCR_PATH, "agencies": AGENCIES}
SCOPED = ("imr_author", "chief_executive")
POLICE, HEALTH = "dorset.police.imr", "dorset.healthcommissioning.imr"
AUTHORS = {"police": POLICE, "health_commissioning": HEALTH}
# Synthetic real names, ASCII letters only, so HTML and JSON escaping cannot hide one from a search.
CANARIES = {
    "A/police": "Zyxtrabelle Quorvane",
    "A/health": "Oxmundra Pelltwistle",
    "A/case": "Quillibert Fawnsnathe",
    "B": "Vexandrine Holloquay",
    "C": "Brumhilda Stoatwhistle",
}
# Tables that signing in, tokens, sweeps of the worker and timing write to whatever a request asks for.
SESSION_TABLES = {"login_failure", "user_session", "api_token", "worker_beat", "step_time", "alembic_version"}


@dataclass(frozen=True)
class World:
    """Case A (Dorset, police and health IMR work under way), case B (Dorset), case C (Bournemouth & Poole).

    `tasks` and `docs` are keyed by owner: "A/police", "A/health" (the agency's ready task and its answers on A),
    "A/case" (answers for the case as a whole), "B", "C" (the case's ready task and answers)."""

    cases: dict[str, int]
    tasks: dict[str, str]
    docs: dict[str, int]
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def case_of(self, key: str) -> int:
        """The case an object key belongs to."""
        return self.cases[key.split("/")[0]]


@dataclass(frozen=True)
class Reach:
    """What one person may reach (their own case, task and document) and what they must never reach."""

    own_case: str | None
    own_task: str | None
    own_doc: str | None
    foreign_cases: tuple[str, ...]
    foreign_tasks: tuple[str, ...]
    foreign_docs: tuple[str, ...]

    @property
    def foreign_canaries(self) -> list[str]:
        """The canaries of every document this person may not read."""
        return [CANARIES[k] for k in self.foreign_docs]


ALL_A = ("A/police", "A/health", "A/case")
REACH = {
    POLICE: Reach("A", "A/police", "A/police", ("B", "C"), ("A/health", "B", "C"), ("A/health", "A/case", "B", "C")),
    HEALTH: Reach("A", "A/health", "A/health", ("B", "C"), ("A/police", "B", "C"), ("A/police", "A/case", "B", "C")),
    "dorset.education.imr": Reach("B", None, "B", ("A", "C"), ("A/police", "A/health", "C"), (*ALL_A, "C")),
    "dorset.admin": Reach("A", "A/police", "A/police", ("C",), ("C",), ("C",)),
    "bp.admin": Reach("C", "C", "C", ("A", "B"), ("A/police", "A/health", "B"), (*ALL_A, "B")),
    "dorset.owner": Reach("A", None, None, ("C",), ("A/police", "A/health", "B", "C"), (*ALL_A, "B", "C")),
}


def marked(data: dict[str, Any], schema: dict[str, Any], canary: str) -> dict[str, Any]:
    """The answers with `canary` written into every free-text answer (top level, lists and rows)."""
    def mark(value: Any, spec: dict[str, Any]) -> Any:
        if isinstance(value, str) and not {"enum", "oneOf", "format", "const", "x-assign-role"} & spec.keys():
            return f"{canary} {value}"
        if isinstance(value, list):
            return [mark(v, spec.get("items", {})) for v in value]
        if isinstance(value, dict):
            return {k: mark(v, spec.get("properties", {}).get(k, {})) for k, v in value.items()}
        return value
    properties = schema.get("properties", {})
    return {k: mark(v, properties.get(k, {})) for k, v in data.items()}


def _scoped(services: Services, case_id: int, agency: str) -> TaskRow:
    [task] = [t for t in ready(services, case_id) if t.agency == agency and t.role in SCOPED][:1]
    return task


def build_world(services: Services) -> World:
    """Case A driven to its IMRs; each author names theirs and answers the next step with their canary, leaving
    their third step waiting; B and C each wait at their referral with one document holding their canary."""
    for board in ("dorset", "bournemouth-poole"):
        grant_everything(services, board, AGENCIES)
    a = start_case(services, "dorset", SUPERUSER).id or 0
    drive_until(services, a, lambda tasks: set(AGENCIES) <= {t.agency for t in tasks if t.role in SCOPED}, CHOICES)
    docs: dict[str, int] = {}
    tasks: dict[str, str] = {}
    answers: dict[str, dict[str, Any]] = {}
    with services.uow() as uow:
        process = services.process_of(uow, uow.cases.get(a))
    for agency, author in AUTHORS.items():
        key = "A/police" if agency == "police" else "A/health"
        for role in SCOPED:
            assign_role(services, Assignment(author, role, "dorset", a, agency))
        first = _scoped(services, a, agency)
        complete_task(services, first.id, author, form_data(services, a, first, CHOICES))
        second = _scoped(services, a, agency)
        data = marked(form_data(services, a, second, CHOICES), process.form(second.form or ""), CANARIES[key])
        complete_task(services, second.id, author, data)
        third = _scoped(services, a, agency)
        tasks[key] = third.id
        answers[key] = form_data(services, a, third, CHOICES)
    b = start_case(services, "dorset", SUPERUSER).id or 0
    c = start_case(services, "bournemouth-poole", SUPERUSER).id or 0
    assign_role(services, Assignment("dorset.education.imr", "imr_author", "dorset", b, "education"))
    assign_role(services, Assignment("bp.police.imr", "imr_author", "bournemouth-poole", c, "police"))
    for key, case_id in (("B", b), ("C", c)):
        [task] = ready(services, case_id)
        tasks[key] = task.id
        answers[key] = form_data(services, case_id, task, SCR_PATH)
    with services.uow() as uow:
        for key, case_id, agency in (("A/case", a, None), ("B", b, "education"), ("C", c, "police")):
            docs[key] = uow.submissions.add(SubmissionRecord(
                case_id, f"task-{key}", "answers", f"Answers {key}", "imr_author", agency, None, SUPERUSER,
                services.clock.now(), {"notes": f"{CANARIES[key]} was seen at home"})).id or 0
        for sub in uow.submissions.for_case(a):
            for key in ("A/police", "A/health"):
                if CANARIES[key] in str(sub.data):
                    docs[key] = sub.id or 0
        uow.commit()
    assert set(docs) == set(CANARIES), docs
    return World({"A": a, "B": b, "C": c}, tasks, docs, answers)


# ---- the fixture procedure (tests/fixtures/bpmn/simple.bpmn) -----------------------------------------------------


def asked(services: Services) -> int:
    """A new fixture case whose question is asked, so the chair's decision waits with its six-week timer."""
    case_id = start_case(services, "fx", "rita").id or 0
    [ask] = ready(services, case_id)
    complete_task(services, ask.id, "rita", {"question": "Should we review?"})
    return case_id


# ---- routes -------------------------------------------------------------------------------------------------------

FIXED = {"<outline_id>": "overview_report", "<section_id>": "analysis", "<pack_id>": "ofsted",
         "<int:release_id>": "1", "<fmt>": "docx", "<kind>": "csv", "<int:filter_id>": "1",
         "<process_id>": "scr_dorset", "<path:name>": "x.schema.json", "<int:draft_id>": "1",
         "<int:version_id>": "1", "<int:job_id>": "1", "<int:migration_id>": "1",
         "<any(submit, withdraw, approve, reject):action>": "submit"}
OBJECTS = ("<int:case_id>", "<task_id>", "<int:document_id>")


@dataclass(frozen=True)
class Route:
    """One method of one URL rule of the app."""

    method: str
    rule: str
    endpoint: str

    @property
    def objects(self) -> tuple[str, ...]:
        """Which object ids the rule takes."""
        return tuple(o for o in OBJECTS if o in self.rule)


def routes(app: Flask) -> list[Route]:
    """Every method of every rule (HEAD and OPTIONS aside), static files aside, in a stable order."""
    found = [Route(m, r.rule, r.endpoint) for r in app.url_map.iter_rules() if r.endpoint != "static"
             for m in sorted((r.methods or set()) - {"HEAD", "OPTIONS"})]
    return sorted(found, key=lambda r: (r.rule, r.method))


def fill(rule: str, case: int | None = None, task: str | None = None, doc: int | None = None) -> str:
    """The rule as a path: object ids as given, every other part a fixed, plausible value."""
    path = rule
    for part, value in FIXED.items():
        path = path.replace(part, value)
    path = path.replace("/<action>", "/skip") if "/tasks/<task_id>/<action>" in path else path.replace(
        "<action>", "suspend")
    for part, value in (("<int:case_id>", case), ("<task_id>", task), ("<int:document_id>", doc)):
        if part in path:
            assert value is not None, f"{rule} needs {part}"
            path = path.replace(part, str(value))
    assert "<" not in path, f"unfilled part in {path}"
    return path


def body(route: Route, world: World, task_key: str | None, username: str) -> dict[str, Any]:
    """A body that would do something if the access check let it: valid answers, a reason, a role to give."""
    if route.endpoint == "api.complete":
        return {"data": world.answers.get(task_key or "", {})}
    if route.endpoint == "api.save_draft":
        return {"data": {"notes": "written by someone else"}}
    if route.endpoint in ("api.give_role", "api.take_role", "admin.people"):
        return {"username": username, "role": "imr_author", "agency": "police"}
    if route.endpoint == "api.reassign":
        return {"to": username, "reason": "a reason"}
    if route.rule.startswith("/api/"):
        return {}
    return {"action": "draft", "reason": "a reason", "to": username, "text": "some text", "code": "000000",
            "version": "1", "addresses": ""}


# ---- people -------------------------------------------------------------------------------------------------------


@dataclass
class Person:
    """A signed-in browser and an API token for one user."""

    username: str
    browser: Browser
    bearer: dict[str, str]

    def send(self, route: Route, path: str, data: dict[str, Any] | None = None) -> Any:
        """The request as this person's browser (forms with its CSRF token) or API client sends it."""
        client: FlaskClient = self.browser.client
        if path.startswith("/api/"):
            return client.open(path, method=route.method, json=data, headers=self.bearer)
        if route.method == "GET":
            return client.get(path)
        return client.open(path, method=route.method, data={**(data or {}), "csrf_token": self.browser.token("/")})


def signed_in(app: Flask, services: Services, username: str) -> Person:
    """A person signed in on a browser of their own, with an API token."""
    browser = Browser(app.test_client())
    assert browser.sign_in(username).status_code == 302, f"{username} could not sign in"
    return Person(username, browser, {"Authorization": f"Bearer {issue_token(services, username)}"})


def text_of(answer: Any) -> str:
    """Everything a client receives: the body (each file of a zip, such as a Word document, unpacked) and every
    header."""
    data: bytes = answer.get_data()
    texts = [data.decode("utf-8", "replace")]
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as packed:
            texts += [packed.read(name).decode("utf-8", "replace") for name in packed.namelist()]
    return "\n".join(texts) + "".join(f"\n{k}: {v}" for k, v in answer.headers.items())


# ---- the database as a whole --------------------------------------------------------------------------------------


def fingerprint(database_url: str, ignore: Callable[[str, dict[str, Any]], bool] | None = None) -> dict[str, str]:
    """A digest of every row of every table (sign-in bookkeeping aside), per table; `ignore(table, row)` leaves out
    rows a refusal may legitimately add (an audit record of the refusal)."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        digests: dict[str, str] = {}
        with engine.connect() as conn:
            quote = conn.dialect.identifier_preparer.quote
            for name in sorted(set(inspect(conn).get_table_names()) - SESSION_TABLES):
                rows = [dict(r._mapping) for r in conn.exec_driver_sql(f"SELECT * FROM {quote(name)}")]
                kept = sorted(repr(sorted(r.items())) for r in rows if not (ignore and ignore(name, r)))
                digests[name] = hashlib.sha256("\n".join(kept).encode()).hexdigest()
        return digests
    finally:
        engine.dispose()


def refusal_audit(name: str, row: dict[str, Any]) -> bool:
    """An audit row recording a refused request (what audit completeness adds), which a refusal may write."""
    return name == "event" and bool(re.search(r"denied|refused|forbidden|not_found", str(row.get("kind", ""))))


# ---- a broken build, for negative controls -------------------------------------------------------------------------


def bound_everywhere(original: Any) -> Iterator[tuple[Any, str]]:
    """Every (module, name) of engine and web bound to `original`: a function imported by name is bound in each
    module that imports it, so a test replacing it must replace every binding."""
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith(("engine.", "web")) or module is None:
            continue
        for name, value in list(vars(module).items()):
            if value is original:
                yield module, name
