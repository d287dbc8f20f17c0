"""Every route against every relationship to a case: a route missing from the matrix fails the test (T-Z1, T-Z3)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from engine.casework.accounts import issue_token
from engine.casework.cases import start_case
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.ports import Assignment, SubmissionRecord
from tests.drive import SCR_PATH, SUPERUSER, drive_until, grant_everything, ready
from tests.web.conftest import Browser

AGENCIES = ["police", "health_commissioning"]

# Who, relative to one Dorset case with a police IMR task waiting:
PEOPLE = {
    "anonymous": None,
    "own agency (police IMR author on the case)": "dorset.police.imr",
    "other agency (health IMR author on the case)": "dorset.healthcommissioning.imr",
    "same board, no role on the case": "dorset.socialcare.imr",
    "other case (IMR author on another Dorset case)": "dorset.education.imr",
    "board role (Dorset administrator)": "dorset.admin",
    "board role (Dorset administrator, no second factor this session)": "dorset.admin",
    "other board (Bournemouth & Poole administrator)": "bp.admin",
    "process owner (Dorset, no case role, no second factor yet)": "dorset.owner",
}
OK, DENIED, SIGN_IN, INVALID, MOVED, CREATED, SEE_OTHER = 200, 404, 302, 422, 302, 201, 303
NO_WORKER = 503  # /health answers, and says "down": no timer worker sweeps in this test


@dataclass(frozen=True)
class Rule:
    """Expected status per person for one route and method."""

    method: str
    path: str
    expect: dict[str, int]
    body: dict[str, Any] | None = None


def everyone(status: int, anonymous: int = SIGN_IN) -> dict[str, int]:
    return {name: (anonymous if name == "anonymous" else status) for name in PEOPLE}


def only(allowed: set[str], yes: int, no: int = DENIED, anonymous: int = SIGN_IN) -> dict[str, int]:
    return {name: anonymous if name == "anonymous" else (yes if name in allowed else no) for name in PEOPLE}


ON_CASE = {"own agency (police IMR author on the case)", "other agency (health IMR author on the case)",
           "board role (Dorset administrator)"}
POLICE = {"own agency (police IMR author on the case)"}
HEALTH = {"other agency (health IMR author on the case)"}
ADMIN = {"board role (Dorset administrator)"}
OTHER_ADMIN = {"other board (Bournemouth & Poole administrator)"}
OWNER = {"process owner (Dorset, no case role, no second factor yet)"}
# A board-wide role (the process owner's too) reads the overview of its board's cases, never an agency's answers.
NO_FACTOR = "board role (Dorset administrator, no second factor this session)"
SECOND_FACTOR, MFA_NEEDED = 302, 403  # owners and administrators are sent to /verify first; writes are refused
DONE_ALREADY = {("DELETE", "people"): DENIED, ("POST", "key"): 409}  # the role is gone; the key is kept once
ADMIN_PAGES = ("/monitor/", "/tasks/<task>/reassign", "/cases/<case>/people")  # web/monitor and web/admin


@dataclass(frozen=True)
class Scene:
    """The task and case the matrix is about, and one document each of police, health and the case as a whole."""

    task: str
    case: int
    police_doc: int
    health_doc: int
    case_doc: int
    role: str


def matrix(scene: Scene) -> dict[tuple[str, str], Rule]:
    """The access matrix, keyed by (method, URL rule)."""
    task, case = scene.task, scene.case
    docs = f"/cases/{case}/documents"
    role = {"username": "dorset.police.imr", "role": scene.role, "agency": "police"}
    rules = [
        Rule("GET", "/login", everyone(OK, OK)),
        Rule("GET", "/favicon.ico", everyone(OK, OK)),
        Rule("GET", "/metrics", everyone(OK, OK)),  # for Prometheus: no sign-in, nothing that names anyone
        Rule("GET", "/health", everyone(NO_WORKER, NO_WORKER)),  # for load balancers: no sign-in
        Rule("GET", "/", everyone(OK)),
        Rule("GET", "/verify", only(OWNER | ADMIN | OTHER_ADMIN, OK)),  # the second factor: nobody else needs it
        Rule("POST", "/verify", only(OWNER | ADMIN | OTHER_ADMIN, INVALID), body={"code": "000000"}),
        Rule("GET", "/cases/", everyone(OK)),
        Rule("GET", "/cases/new", everyone(OK)),
        Rule("GET", f"/cases/{case}", only(ON_CASE | OWNER, OK)),
        Rule("GET", f"/tasks/{task}", only(POLICE, OK)),
        Rule("POST", f"/tasks/{task}", only(POLICE, INVALID), body={}),
        Rule("POST", f"/tasks/{task}/claim", only(POLICE, MOVED), body={}),
        Rule("POST", f"/tasks/{task}/release", only(POLICE | ADMIN, MOVED), body={}),
        Rule("GET", f"/tasks/{task}/reassign", only(ADMIN, OK)),
        Rule("POST", f"/tasks/{task}/reassign", only(ADMIN, INVALID), body={}),
        Rule("GET", f"{docs}/{scene.police_doc}", only(POLICE | ADMIN, OK)),
        Rule("GET", f"{docs}/{scene.health_doc}", only(HEALTH | ADMIN, OK)),
        Rule("GET", f"{docs}/{scene.case_doc}", only(ADMIN, OK)),
        Rule("GET", f"/cases/{case}/people", only(ADMIN, OK)),
        Rule("POST", f"/cases/{case}/people", only(ADMIN, INVALID), body={}),
        Rule("GET", "/api/openapi.json", everyone(OK, OK)),
        Rule("GET", "/api/inbox", everyone(OK, 401)),
        Rule("GET", "/api/cases", everyone(OK, 401)),
        Rule("GET", f"/api/cases/{case}", only(ON_CASE | OWNER, OK, anonymous=401)),
        Rule("GET", f"/api/tasks/{task}", only(POLICE, OK, anonymous=401)),
        Rule("POST", f"/api/tasks/{task}", only(POLICE, INVALID, anonymous=401), body={"data": {}}),
        Rule("POST", f"/api/tasks/{task}/claim", only(POLICE, OK, anonymous=401)),
        Rule("POST", f"/api/tasks/{task}/release", only(POLICE | ADMIN, OK, anonymous=401)),
        Rule("POST", f"/api/tasks/{task}/reassign", only(ADMIN, INVALID, anonymous=401),
             body={"to": "nobody", "reason": "leave"}),
        Rule("PUT", f"/api/tasks/{task}/draft", only(POLICE, OK, anonymous=401), body={"data": {}}),
        Rule("GET", f"/api/tasks/{task}/draft", only(POLICE, OK, anonymous=401)),
        Rule("GET", f"/api{docs}", only(ON_CASE | OWNER, OK, anonymous=401)),
        Rule("GET", f"/api{docs}/{scene.police_doc}", only(POLICE | ADMIN, OK, anonymous=401)),
        Rule("GET", f"/api{docs}/{scene.health_doc}", only(HEALTH | ADMIN, OK, anonymous=401)),
        Rule("GET", f"/api{docs}/{scene.case_doc}", only(ADMIN, OK, anonymous=401)),
        Rule("POST", f"/api/cases/{case}/people", only(ADMIN, INVALID, anonymous=401), body={**role, "role": "x"}),
        Rule("DELETE", f"/api/cases/{case}/people", only(ADMIN, OK, anonymous=401), body=role),
        *studio_rules(case),
        *monitor_rules(case, task),
        *document_rules(case),
        *authoring_rules(case),
        *pack_rules(case),
        Rule("DELETE", "/api/token", everyone(204, 401)),  # near the end: it revokes the token the API rows use
        Rule("POST", "/logout", everyone(SIGN_IN, SIGN_IN)),  # last: it ends the session
    ]
    admin_pages = tuple(p.replace("<task>", task).replace("<case>", str(case)) for p in ADMIN_PAGES)
    return {(r.method, r.path): without_factor(r, admin_pages) for r in rules}


def without_factor(rule: Rule, admin_pages: tuple[str, ...]) -> Rule:
    """The rule with the Dorset administrator who has not confirmed the second factor: as with it, but every
    administrators' page sends them to /verify (GET) or refuses (403) until they do."""
    expected = rule.expect[next(iter(ADMIN))]
    if (rule.method, rule.path.split("/")[-1]) in DONE_ALREADY:  # the same account did it a moment before
        expected = DONE_ALREADY[rule.method, rule.path.split("/")[-1]]
    if rule.path.startswith(admin_pages):
        expected = SECOND_FACTOR if rule.method == "GET" else MFA_NEEDED
    return Rule(rule.method, rule.path, {**rule.expect, NO_FACTOR: expected}, rule.body)


def studio_rules(case: int) -> list[Rule]:
    """The studio: nobody but a process owner learns it exists; an owner must pass the second factor first."""
    pages = ["/studio/", "/studio/versions/1", "/studio/versions/1/download", "/studio/drafts/1",
             "/studio/drafts/1/download", "/studio/drafts/1/changes", "/studio/drafts/1/forms/x.schema.json",
             "/studio/drafts/1/forms/new", "/studio/processes/scr_dorset/cases", "/studio/jobs/1"]
    writes = ["/studio/versions/1/drafts", "/studio/upload", "/studio/versions/1/rollback", "/studio/drafts/1/file",
              "/studio/drafts/1/submit", "/studio/forms/preview", "/studio/processes/scr_dorset/cases",
              f"/studio/cases/{case}/migrate", "/studio/migrations/1/undo"]
    return [
        Rule("GET", "/studio/verify", only(OWNER | ADMIN | OTHER_ADMIN, OK)),  # /verify, at its old address
        Rule("POST", "/studio/verify", only(OWNER | ADMIN | OTHER_ADMIN, INVALID), body={"code": "000000"}),
        *(Rule("GET", page, only(OWNER, SECOND_FACTOR)) for page in pages),
        *(Rule("POST", page, only(OWNER, MFA_NEEDED), body={}) for page in writes),
    ]


def monitor_rules(case: int, task: str) -> list[Rule]:
    """The monitor: only those who monitor the case's board learn it exists (the Dorset administrator here);
    refused interventions (no reason given) change nothing and say why."""
    boards = ["/monitor/", "/monitor/export.csv", "/monitor/deadlines", "/monitor/workload", "/monitor/heatmap"]
    cases = [f"/monitor/cases/{case}", f"/monitor/cases/{case}/tasks/{task}/complete"]
    return [
        *(Rule("GET", page, only(ADMIN | OTHER_ADMIN, OK)) for page in boards),  # each sees their own board's
        *(Rule("GET", page, only(ADMIN, OK)) for page in cases),
        Rule("POST", "/monitor/filters", only(ADMIN | OTHER_ADMIN, MOVED), body={}),
        Rule("POST", "/monitor/filters/1/delete", only(set(), OK), body={}),  # nobody's filter 1: 404 to all
        Rule("POST", f"/monitor/cases/{case}/suspend", only(ADMIN, SEE_OTHER), body={}),
        Rule("POST", f"/monitor/cases/{case}/tasks/{task}/skip", only(ADMIN, SEE_OTHER), body={}),
        Rule("POST", f"/monitor/cases/{case}/tasks/{task}/complete", only(ADMIN, INVALID), body={}),
    ]


def document_rules(case: int) -> list[Rule]:
    """The anonymisation key: its keeper (the Dorset administrator) only; those who see the case are told 403,
    everyone else 404."""
    sees_case = (ON_CASE | OWNER) - ADMIN

    def keeper(status: int) -> dict[str, int]:
        return {**only(ADMIN, status), **{name: 403 for name in sees_case}}

    def readers(status: int, others: int = 403) -> dict[str, int]:
        return {**only(ON_CASE, status), **{name: others for name in OWNER}}

    return [
        Rule("GET", f"/cases/{case}/chronology", readers(OK)),  # IMR authors read their own agency's only
        Rule("POST", f"/cases/{case}/chronology/import", readers(SEE_OTHER), body={}),  # no file: told, nothing done
        Rule("POST", f"/cases/{case}/chronology/undo", only(set(), OK), body={}),  # no such import: 404 to all
        Rule("GET", f"/cases/{case}/chronology.csv", keeper(INVALID)),  # no key kept yet: nothing can leave
        Rule("GET", f"/cases/{case}/key", keeper(OK)),
        Rule("GET", f"/cases/{case}/key.json", keeper(OK)),
        Rule("POST", f"/cases/{case}/key", keeper(OK), body={"people-0-real": "", "addresses": ""}),
    ]


OUTLINE, SECTION = "overview_report", "analysis"  # the document and section the authoring rows are about


def authoring_rules(case: int) -> list[Rule]:
    """The documents written on a case: all who see the case get the list (of what they may read); the overview
    report is read by its writers, signers and the case file's readers (here the administrator, who keeps the key and
    so may also write it) and refused (403) to the others who see the case; nobody here signs it. Refused posts
    store nothing (no text, no file)."""
    doc = f"/cases/{case}/documents/{OUTLINE}"

    def writers(status: int) -> dict[str, int]:
        return {**only(ADMIN, status), **{name: 403 for name in (ON_CASE | OWNER) - ADMIN}}

    return [
        Rule("GET", f"/cases/{case}/documents", only(ON_CASE | OWNER, OK)),
        Rule("GET", doc, writers(OK)),
        Rule("POST", f"{doc}/sections/{SECTION}", writers(INVALID), body={}),  # nothing written: told, nothing kept
        Rule("POST", f"{doc}/upload", writers(INVALID), body={}),  # no file chosen
        Rule("POST", f"{doc}/signoff", writers(403), body={}),  # the panel chair and the board sign it
    ]


def pack_rules(case: int) -> list[Rule]:
    """Packs: their pages are the key's keeper's (the Dorset administrator); the case has no key, so a pack started
    is refused (its download: 409) and a document exported is refused (422) to those who may read it (the keeper
    here); those who see the case are told 403, everyone else 404."""
    sees_case = (ON_CASE | OWNER) - ADMIN

    def keeper(status: int) -> dict[str, int]:
        return {**only(ADMIN, status), **{name: 403 for name in sees_case}}

    releases = f"/cases/{case}/releases/1"
    return [
        Rule("GET", f"/cases/{case}/packs", keeper(OK)),
        Rule("POST", f"/cases/{case}/packs/ofsted", keeper(SEE_OTHER), body={}),  # before its release is read
        Rule("GET", releases, keeper(OK)),
        Rule("GET", f"{releases}.json", keeper(OK)),
        Rule("GET", f"{releases}/download", keeper(409)),  # refused: nothing to download
        Rule("GET", f"/cases/{case}/documents/{OUTLINE}/export/docx", keeper(INVALID)),
    ]


# Routes whose effect is to create or end things are checked in their own tests, not here.
NOT_IN_MATRIX = {("POST", "/login"), ("POST", "/cases/new"), ("POST", "/api/cases")}


def rule_key(method: str, rule: str, scene: Scene) -> tuple[str, str]:
    path = rule.replace("<task_id>", scene.task).replace("<int:case_id>", str(scene.case))
    if path.startswith("/studio/"):
        path = re.sub(r"<int:(?!case_id)[a-z_]+>", "1", path).replace("<path:name>", "x.schema.json")
        path = path.replace("<any(submit, withdraw, approve, reject):action>", "submit")
        path = path.replace("<process_id>", "scr_dorset")
    if path.startswith("/monitor/"):
        path = path.replace("<kind>", "csv").replace("<int:filter_id>", "1")
        path = path.replace("/tasks/" + scene.task + "/<action>", "/tasks/" + scene.task + "/skip")
        path = path.replace("<action>", "suspend")
    path = path.replace("<outline_id>", OUTLINE).replace("<section_id>", SECTION)
    path = path.replace("<pack_id>", "ofsted").replace("<int:release_id>", "1").replace("<fmt>", "docx")
    return method, path.replace("<int:document_id>", str(scene.police_doc))


@pytest.fixture
def scene(services: Services) -> Scene:
    """A Dorset case with IMR work waiting for police and health; people placed as PEOPLE says."""
    grant_everything(services, "dorset", AGENCIES)
    record = start_case(services, "dorset", SUPERUSER)
    case_id = record.id or 0
    drive_until(services, case_id, lambda tasks: {"police", "health_commissioning"} <= {
        t.agency for t in tasks if t.role in ("imr_author", "chief_executive")}, {**SCR_PATH, "agencies": AGENCIES})
    [police] = [t for t in ready(services, case_id) if t.agency == "police" and t.role in ("imr_author",
                                                                                            "chief_executive")]
    for agency, user in (("police", "dorset.police.imr"), ("health_commissioning", "dorset.healthcommissioning.imr")):
        assign_role(services, Assignment(user, police.role or "", "dorset", case_id, agency))
    other = start_case(services, "dorset", SUPERUSER)
    assign_role(services, Assignment("dorset.education.imr", "imr_author", "dorset", other.id, "education"))
    docs = []
    with services.uow() as uow:
        for agency in ("police", "health_commissioning", None):
            docs.append(uow.submissions.add(SubmissionRecord(
                case_id, f"task-{agency}", "answers", f"Answers of {agency or 'the case'}", police.role, agency, None,
                SUPERUSER, services.clock.now(), {"secret": f"canary {agency}"})).id or 0)
        uow.commit()
    return Scene(police.id, case_id, *docs, police.role or "")


def test_every_route_is_in_the_matrix_and_answers_each_person_as_expected(
        app: Flask, services: Services, scene: Scene) -> None:
    expected = matrix(scene)
    routes = {rule_key(m, r.rule, scene) for r in app.url_map.iter_rules() if r.endpoint != "static"
              for m in (r.methods or set()) - {"HEAD", "OPTIONS"}}
    missing = routes - set(expected) - NOT_IN_MATRIX
    assert missing == set(), f"routes missing from the access matrix: {sorted(missing)}"
    failures = []
    for person, username in PEOPLE.items():
        browser = Browser(app.test_client())
        headers = {}
        if username:
            browser.sign_in(username, second_factor=person != NO_FACTOR)
            headers = {"Authorization": f"Bearer {issue_token(services, username)}"}
        for (method, path), rule in expected.items():
            if path.startswith("/api/"):
                answer = browser.client.open(path, method=method, json=rule.body, headers=headers)
            elif method == "POST":
                token = browser.token("/login")
                answer = browser.client.post(path, data={**(rule.body or {}), "csrf_token": token})
            else:
                answer = browser.client.get(path)
            if answer.status_code != rule.expect[person]:
                failures.append(f"{person}: {method} {path} -> {answer.status_code}, expected {rule.expect[person]}")
    assert failures == [], "\n".join(failures)
