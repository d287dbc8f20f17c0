"""Use cases, each one unit of work: deploy, start a case, list and complete tasks, fire due timers."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePosixPath
from typing import Any

from engine.assignment import may_act
from engine.catalogue import Catalogue
from engine.clock import Clock
from engine.errors import Claimed, Conflict, InvalidDiagram, NotFound, NotPermitted, Problem
from engine.ports import (
    Assignment,
    CaseRecord,
    EventRow,
    NoticeRow,
    SubmissionRecord,
    TaskRow,
    TimerRow,
    UnitOfWork,
    UserRecord,
    VersionRecord,
)
from engine.runtime import Case, StepResult
from engine.specs import CompiledProcess, compile_processes


@dataclass
class Services:
    """The composition of replaceable parts every use case needs (one per process; cheap to share)."""

    uow: Callable[[], UnitOfWork]
    catalogue: Catalogue
    forms: Callable[[], Mapping[str, bytes]]
    clock: Clock
    _compiled: dict[int, CompiledProcess] = field(default_factory=dict)

    def compiled(self, version: VersionRecord) -> CompiledProcess:
        """The compiled specs of a stored version (parsed once per process, then cached)."""
        assert version.id is not None
        if version.id not in self._compiled:
            diagrams = {k[5:]: v.encode() for k, v in version.files.items() if k.startswith("bpmn/")}
            forms = {k[6:]: v.encode() for k, v in version.files.items() if k.startswith("forms/")}
            self._compiled[version.id] = compile_processes(diagrams, forms, self.catalogue, [version.process_id])[
                version.process_id]
        return self._compiled[version.id]

    def process_of(self, uow: UnitOfWork, record: CaseRecord) -> CompiledProcess:
        """The compiled version a case is pinned to, read from the store only on a cache miss."""
        return self.process_by_id(uow, record.version_id)

    def process_by_id(self, uow: UnitOfWork, version_id: int) -> CompiledProcess:
        """The compiled process of a stored version id, read from the store only on a cache miss."""
        cached = self._compiled.get(version_id)
        return cached if cached is not None else self.compiled(uow.versions.get(version_id))


def _overlay(base: Mapping[str, bytes], new: Mapping[str, bytes]) -> dict[str, bytes]:
    """`base` diagrams with the `new` files laid over them (a new file replaces any of the same name)."""
    names = {PurePosixPath(key).name for key in new}
    return {**{k: v for k, v in base.items() if PurePosixPath(k).name not in names}, **new}


def check_diagrams(services: Services, diagrams: Mapping[str, bytes]) -> dict[str, CompiledProcess]:
    """Validate diagrams, laid over the latest deployed ones, without storing anything (InvalidDiagram)."""
    deployed: dict[str, bytes] = {}
    with services.uow() as uow:
        for board in services.catalogue.boards:
            latest = uow.versions.latest(board.process)
            if latest is not None:
                deployed.update({k[5:]: v.encode() for k, v in latest.files.items() if k.startswith("bpmn/")})
    compiled = compile_processes(_overlay(deployed, diagrams), services.forms(), services.catalogue)
    if not compiled:
        raise InvalidDiagram([Problem("no_board_process",
                                      "these diagrams define no process named in forms/boards.json")])
    return compiled


def deploy(services: Services, diagrams: Mapping[str, bytes], by: str | None = None) -> list[VersionRecord]:
    """Validate, then store a new version of each process that changed; returns those (InvalidDiagram)."""
    compiled = check_diagrams(services, diagrams)
    now = services.clock.now()
    stored: list[VersionRecord] = []
    with services.uow() as uow:
        for process in compiled.values():
            if uow.versions.by_hash(process.content_hash) is not None:
                continue
            version = uow.versions.add(VersionRecord(None, process.process_id, process.content_hash,
                                                     process.files, now, by))
            uow.events.append(EventRow(None, now, "version_deployed", by,
                                       {"process": process.process_id, "hash": process.content_hash,
                                        "version": version.id}))
            stored.append(version)
        uow.commit()
    return stored


def _project(uow: UnitOfWork, record: CaseRecord, case: Case, now: Any) -> None:
    """Write the inbox and timer rows of a case from its loaded workflow (same transaction as the step)."""
    assert record.id is not None
    uow.tasks.replace_for_case(record.id, [
        TaskRow(t.id, record.id, t.name, t.title, t.lane, t.role, t.agency, t.form, now, t.due_at, t.week)
        for t in case.ready_tasks()
    ])
    uow.timers.replace_for_case(record.id, [TimerRow(t.id, record.id, t.name, t.due_at) for t in case.waiting_timers()])


def _save(uow: UnitOfWork, record: CaseRecord, case: Case, now: Any) -> CaseRecord:
    """Save the new state first, under the optimistic lock, so a stale step fails before it writes anything."""
    record.state = case.dump().encode()
    record.status = "completed" if case.completed else "open"
    record.updated_at = now
    return uow.cases.save(record)


def _after_step(uow: UnitOfWork, record: CaseRecord, case: Case, result: StepResult, actor: str | None,
                now: Any) -> None:
    """Projections, notices, role assignments and audit events of one step."""
    assert record.id is not None
    _project(uow, record, case, now)
    for notice in result.notices:
        uow.notices.add(NoticeRow(record.id, now, notice.role, notice.agency, notice.kind, notice.message,
                                  notice.element))
        uow.events.append(EventRow(record.id, now, "notice", None,
                                   {"role": notice.role, "kind": notice.kind, "element": notice.element,
                                    "agency": notice.agency}))
    for role, username, agency in result.assignments:
        if uow.people.get_user(username) is None:
            raise NotFound(f"no user called {username!r} to assign as {role}")
        uow.people.assign(Assignment(username, role, record.board, record.id, agency))
        uow.events.append(EventRow(record.id, now, "role_assigned", actor,
                                   {"role": role, "user": username, "agency": agency}))
    if case.completed:
        uow.events.append(EventRow(record.id, now, "case_completed", actor, {}))


def start_case(services: Services, board_code: str, username: str, data: dict[str, Any] | None = None) -> CaseRecord:
    """Start a case of a board on its latest process version; the starter takes the initiator role."""
    for _ in range(8):  # people starting cases at once may pick the same next reference: try the next one
        try:
            return _start_case(services, board_code, username, data)
        except Conflict:
            continue
    return _start_case(services, board_code, username, data)


def _start_case(services: Services, board_code: str, username: str, data: dict[str, Any] | None) -> CaseRecord:
    board = services.catalogue.board(board_code)
    if board is None:
        raise NotFound(f"no board {board_code!r}")
    now = services.clock.now()
    with services.uow() as uow:
        if uow.people.get_user(username) is None:
            raise NotPermitted(f"{username} has no account")
        version_id = uow.versions.latest_id(board.process)
        if version_id is None:
            raise NotFound(f"no deployed process for {board.name}; run `run.py deploy bpmn/` first")
        process = services.process_by_id(uow, version_id)
        case, result = Case.start(process, services.catalogue, services.clock, data)
        reference = f"{board.reference_prefix}-{now:%Y}-{uow.cases.count(board.code) + 1:04d}"
        record = uow.cases.add(CaseRecord(None, reference, board.code, board.process, version_id,
                                          case.dump().encode(), "completed" if case.completed else "open", now, now))
        assert record.id is not None
        initiator = services.catalogue.initiator_role()
        if initiator is not None:
            uow.people.assign(Assignment(username, initiator.role, board.code, record.id))
        uow.events.append(EventRow(record.id, now, "case_started", username,
                                   {"reference": reference, "version": version_id, "hash": process.content_hash}))
        _after_step(uow, record, case, result, username, now)
        uow.commit()
        return record


def my_tasks(services: Services, username: str) -> Sequence[TaskRow]:
    """The ready tasks a user may act on, across cases (pure SQL; no workflow is loaded)."""
    with services.uow() as uow:
        return uow.tasks.inbox(uow.people.assignments_of(username), services.catalogue.scoped_roles())


def complete_task(services: Services, task_id: str, username: str, data: dict[str, Any]) -> CaseRecord:
    """Complete a ready task as `username` (NotFound, NotPermitted, InvalidSubmission, Conflict)."""
    now = services.clock.now()
    with services.uow() as uow:
        row = uow.tasks.get(task_id)
        if row is None:
            raise NotFound(f"no task {task_id}")
        record = uow.cases.get(row.case_id)
        if not may_act(row, record.board, uow.people.assignments_of(username), services.catalogue):
            raise NotPermitted(f"{username} may not act on this task")
        if row.state != "ready":
            raise Conflict(f"this task was completed by {row.completed_by} at {row.completed_at}")
        if row.claimed_by not in (None, username):
            raise Claimed(f"{row.claimed_by} is working on this task; ask them or an administrator to release it")
        case = Case.restore(services.process_of(uow, record), services.catalogue, record.state)
        result = case.complete(task_id, data, services.clock)
        record = _save(uow, record, case, now)
        uow.tasks.mark_completed(task_id, username, now)
        assert record.id is not None
        uow.submissions.add(SubmissionRecord(record.id, task_id, row.name, row.title, row.role, row.agency, row.form,
                                             username, now, result.answers))
        uow.drafts.discard(task_id, username)  # others keep theirs: a 409 must lose nothing they typed
        uow.events.append(EventRow(record.id, now, "task_completed", username,
                                   {"task": row.name, "title": row.title, "role": row.role, "agency": row.agency,
                                    "fields": sorted(data)}))
        _after_step(uow, record, case, result, username, now)
        uow.commit()
        return record


def fire_due_timers(services: Services, limit: int = 100) -> int:
    """Fire timers that are due, one case per transaction; returns how many cases moved on."""
    fired = 0
    seen: set[int] = set()
    for _ in range(limit):
        now = services.clock.now()
        with services.uow() as uow:
            # SpiffWorkflow fires a timer only once its instant has passed (due < now), so claim those alone.
            due = [t for t in uow.timers.claim_due(now - timedelta(microseconds=1), 1) if t.case_id not in seen]
            if not due:
                return fired
            timer = due[0]
            seen.add(timer.case_id)
            record = uow.cases.get(timer.case_id)
            case = Case.restore(services.process_of(uow, record), services.catalogue, record.state)
            result = case.advance(services.clock)
            record = _save(uow, record, case, now)
            uow.timers.mark_fired(timer.id, now)
            uow.events.append(EventRow(record.id, now, "timer_fired", None,
                                       {"timer": timer.name, "due_at": timer.due_at.isoformat()}))
            _after_step(uow, record, case, result, None, now)
            uow.commit()
            fired += 1
    return fired


def assign_role(services: Services, assignment: Assignment, by: str | None = None) -> None:
    """Give a user a role, board-wide or on one case (audited)."""
    if services.catalogue.role(assignment.role) is None:
        raise NotFound(f"no role {assignment.role!r} in forms/roles.json")
    with services.uow() as uow:
        if uow.people.get_user(assignment.username) is None:
            raise NotFound(f"no user {assignment.username!r}")
        uow.people.assign(assignment)
        uow.events.append(EventRow(assignment.case_id, services.clock.now(), "role_assigned", by,
                                   {"role": assignment.role, "user": assignment.username,
                                    "agency": assignment.agency, "board": assignment.board}))
        uow.commit()


def seed_users(services: Services, users: Sequence[Mapping[str, Any]]) -> int:
    """Create users and their board-level roles from the demo list (idempotent); returns users added."""
    added = 0
    with services.uow() as uow:
        for entry in users:
            if uow.people.get_user(entry["username"]) is not None:
                continue
            uow.people.add_user(UserRecord(entry["username"], entry.get("display_name", entry["username"]),
                                           entry.get("board"), entry.get("agency"), entry.get("email")))
            for role in entry.get("roles", []):
                uow.people.assign(Assignment(entry["username"], role, entry.get("board"), None, entry.get("agency")))
            added += 1
        uow.commit()
    return added


def set_password_hash(services: Services, username: str, password_hash: str, by: str | None = None) -> None:
    """Store a user's (already hashed) password (NotFound for an unknown user); audited without the hash."""
    with services.uow() as uow:
        if uow.people.get_user(username) is None:
            raise NotFound(f"no user {username!r}")
        uow.people.set_password_hash(username, password_hash)
        uow.events.append(EventRow(None, services.clock.now(), "password_set", by, {"user": username}))
        uow.commit()


def password_hash_of(services: Services, username: str) -> str | None:
    """The stored password hash of a user, if any (for sign-in)."""
    with services.uow() as uow:
        return uow.people.password_hash(username)


def issue_token(services: Services, username: str) -> str:
    """A new API bearer token for a user (only its sha256 is stored; NotFound for an unknown user)."""
    token = secrets.token_urlsafe(32)
    now = services.clock.now()
    with services.uow() as uow:
        if uow.people.get_user(username) is None:
            raise NotFound(f"no user {username!r}")
        uow.people.add_token(username, hashlib.sha256(token.encode()).hexdigest(), now)
        uow.events.append(EventRow(None, now, "api_token_issued", username, {"user": username}))
        uow.commit()
    return token


def user_for_token(services: Services, token: str) -> str | None:
    """Who a bearer token signs in, or None."""
    with services.uow() as uow:
        return uow.people.user_for_token(hashlib.sha256(token.encode()).hexdigest())
