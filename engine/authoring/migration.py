"""Moving running cases to another version of their procedure: a per-case preview, one case at a time or all the
safe ones in a background job, each move audited and undoable.

The rule (`judge`), applied to every task of the case's workflow and of each process it has called:

- A task only *planned* (SpiffWorkflow's MAYBE, LIKELY, FUTURE) never makes a move unsafe: after the move each
  step under way plans its next steps again from the new version.
- A task that *happened* (COMPLETED, CANCELLED) makes it unsafe when the new version removes its element (or the
  whole called process it ran in): the case's history would name a step the version does not have. Changes to a
  step that is over do not matter.
- A task *under way* (READY, WAITING, STARTED) makes it unsafe when the new version removes its element, or
  changes anything of it but its id, name, documentation, lane, properties, outgoing flows, conditions or default
  flow; its incoming flows may change too unless it is WAITING (a join counts its incoming flows). So a waiting
  timer whose duration changed, a running call activity whose called process changed, or a multi-instance step
  whose collection changed are refused: the case keeps the dates and instances its version gave it.
- A task that *failed* (ERROR) makes it unsafe whatever the new version does: it is put right first.
- A case already on the version, or completed, has nothing to move (a preview says so; `migrate_case` returns
  None).

The move itself is SpiffWorkflow's: WorkflowDiff aligns each task with the new spec and `migrate_workflow` swaps the
specs. No task is reset (its data, due date and timer instants stay as they are); instead every step under way
re-plans its next steps from the new version, and the result must load on the new version before it is saved.
A preview runs the same move in memory, so "safe" means the move was made and checked.
"""

from __future__ import annotations

import gzip
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from SpiffWorkflow.bpmn.util.diff import WorkflowDiff, migrate_workflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine import clock as clocks
from engine.authoring.diff import VersionDiff, in_words, version_diff
from engine.casework.access import owns_procedures
from engine.casework.cases import board_of_process
from engine.casework.services import Services
from engine.casework.steps import projected, record_step
from engine.errors import (
    Conflict,
    EngineError,
    FieldError,
    InvalidSubmission,
    MigrationNotSafe,
    NotFound,
    NotPermitted,
)
from engine.ports import CaseMigrationRecord, CaseRecord, EventRow, MigrationJobRecord, TaskRow, UnitOfWork
from engine.workflow.runtime import Case
from engine.workflow.specs import CompiledProcess

log = logging.getLogger(__name__)

BATCH = 50  # cases per progress commit of a job
KINDS = ("preview", "migrate")
PLANNED = TaskState.MAYBE | TaskState.LIKELY | TaskState.FUTURE  # SpiffWorkflow's predictions of what comes next
UNDER_WAY = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
# Passed to migrate_workflow as the states to reset: a case with a failed step (ERROR) is refused by `judge`, so no
# task is reset and every task keeps its data, due date and timer instants.
RESET_NOTHING = TaskState.ERROR
HARMLESS_UNDER_WAY = frozenset({"name", "bpmn_id", "bpmn_name", "description", "documentation", "lane",
                                "extensions", "outputs", "cond_task_specs", "default_task_spec", "lookahead"})
_STATE_WORDS = {TaskState.READY: "is ready", TaskState.WAITING: "is waiting (for a date, a message or other steps)",
                TaskState.STARTED: "is under way", TaskState.ERROR: "failed", TaskState.COMPLETED: "was done",
                TaskState.CANCELLED: "was withdrawn"}


@dataclass(frozen=True)
class Touched:
    """A change of the new version that touches a step of this case (done, under way or planned)."""

    element: str
    name: str
    change: str  # "removed", or "changes its lane, properties"
    state: str  # done, ready, waiting, under way, withdrawn, planned


@dataclass(frozen=True)
class CasePreview:
    """Whether one case can move to a version, and why, in a process owner's words."""

    case_id: int
    reference: str
    from_version_id: int
    from_hash: str
    to_version_id: int
    to_hash: str
    safe: bool
    why: str
    changes: tuple[Touched, ...] = ()
    needed: bool = True  # False: already on the version, or completed (nothing to do)
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class PinnedCase:
    """An open case of a process on another version than the one asked about."""

    case_id: int
    reference: str
    board: str
    version_id: int
    content_hash: str


@dataclass
class _Verdict:
    reasons: list[str] = field(default_factory=list)
    touched: list[Touched] = field(default_factory=list)


# ---- who may -----------------------------------------------------------------------------------------------------

def _require_owner(services: Services, uow: UnitOfWork, username: str, board: str) -> None:
    if not owns_procedures(uow.people.assignments_of(username), board, services.catalogue):
        raise NotPermitted("only a process owner of this board may move its cases to another version")


# ---- judging and moving one workflow -----------------------------------------------------------------------------

def _label(task: Any) -> str:
    spec = task.task_spec
    element = getattr(spec, "bpmn_id", None) or spec.name
    name = getattr(spec, "bpmn_name", None)
    return f"'{name}' ({element})" if name and name != element else f"'{element}'"


def _state_word(task: Any) -> str:
    if task.has_state(PLANNED):
        return "planned"
    return {TaskState.READY: "ready", TaskState.WAITING: "waiting", TaskState.STARTED: "under way",
            TaskState.ERROR: "failed", TaskState.COMPLETED: "done", TaskState.CANCELLED: "withdrawn"}[task.state]


def _workflows(workflow: Any) -> Iterator[tuple[Any, Any]]:
    """(workflow, its process spec name) for the case and every process it has called."""
    yield workflow, None
    for sub in workflow.subprocesses.values():
        yield sub, sub.spec.name


def judge(workflow: Any, diff: VersionDiff) -> tuple[_Verdict, dict[int, WorkflowDiff]]:
    """Apply the module's rule: the reasons a move is unsafe, the changes that touch the case, and the workflow
    diffs to move it with (keyed by id() of each workflow)."""
    verdict = _Verdict()
    diffs: dict[int, WorkflowDiff] = {}
    for flow, called in _workflows(workflow):
        spec_diff = diff.top if called is None else diff.called.get(called)
        if spec_diff is None:
            verdict.reasons.append(f"the new version no longer has the process '{called}' that this case "
                                   f"{'ran' if flow.completed else 'is running'}")
            continue
        try:
            found = WorkflowDiff(flow, spec_diff)
        except KeyError as unaligned:  # a step SpecDiff could not reach from the start event (foreign diagrams)
            verdict.reasons.append(f"SpiffWorkflow could not match the step {unaligned} with the new version")
            continue
        diffs[id(flow)] = found
        for task in flow.get_tasks(state=TaskState.ERROR, skip_subprocesses=True):
            verdict.reasons.append(f"{_label(task)} failed in this case: it must be put right before the case moves")
        for task in found.removed:
            element = getattr(task.task_spec, "bpmn_id", None)
            if element:
                verdict.touched.append(Touched(element, task.task_spec.bpmn_name or element, "removed",
                                               _state_word(task)))
            if not task.has_state(PLANNED):
                verdict.reasons.append(f"{_label(task)} {_STATE_WORDS[task.state]} in this case and the new "
                                       f"version removes it")
        for task in found.changed:
            keys = spec_diff.changed[task.task_spec]
            element = getattr(task.task_spec, "bpmn_id", None)
            if element:
                verdict.touched.append(Touched(element, task.task_spec.bpmn_name or element,
                                               "changes its " + ", ".join(in_words(keys)), _state_word(task)))
            harmful = [k for k in keys if k not in HARMLESS_UNDER_WAY
                       and not (k == "inputs" and task.state != TaskState.WAITING)]
            if task.has_state(UNDER_WAY) and harmful:
                verdict.reasons.append(f"{_label(task)} {_STATE_WORDS[task.state]} in this case and the new "
                                       f"version changes its {', '.join(in_words(harmful))}")
    verdict.touched = list(dict.fromkeys(verdict.touched))
    verdict.reasons = list(dict.fromkeys(verdict.reasons))
    return verdict, diffs


def _replan(task: Any) -> None:
    """Drop what a step had planned after it and plan it again from its (new) spec, keeping the step itself and
    the instances it started (SpiffWorkflow's reset_branch without resetting the step)."""
    for child in list(task.children):
        if child.has_state(PLANNED) and not child.triggered:
            task.workflow._remove_task(child.id)
    task.task_spec._predict(task, mask=PLANNED | task.state)


def move(workflow: Any, diff: VersionDiff, diffs: dict[int, WorkflowDiff], services: Services) -> list[str]:
    """Move a judged-safe workflow onto the new version in place; returns reasons it could not be (none: moved)."""
    new = diff.new  # compiled, so each multi-instance step already collects instances it did not create
    flows = list(_workflows(workflow))
    live = TaskState.READY | TaskState.WAITING | TaskState.STARTED
    try:
        with clocks.using(services.clock):
            migrate_workflow(diffs[id(workflow)], workflow, new.spec, reset_mask=RESET_NOTHING)
            workflow.subprocess_specs = new.subprocess_specs
            for flow, called in flows[1:]:
                migrate_workflow(diffs[id(flow)], flow, new.subprocess_specs[called], reset_mask=RESET_NOTHING)
            for flow, _called in flows:
                roots = [t for t in flow.get_tasks(skip_subprocesses=True) if t.has_state(live) or (
                    t.state == TaskState.FUTURE and t.parent is not None
                    and t.parent.has_state(TaskState.FINISHED_MASK))]
                for task in roots:
                    if task.id in flow.tasks:
                        _replan(task)
    except (SpiffWorkflowException, WorkflowException, KeyError) as exc:
        return [f"SpiffWorkflow could not move this case: {exc}"]
    stray = [task for flow, _called in flows for task in flow.tasks.values()
             if flow.spec.task_specs.get(task.task_spec.name) is not task.task_spec]
    return [f"{_label(t)}, {_state_word(t)} in this case, has no place in the new version" for t in stray[:3]]


# ---- previews ----------------------------------------------------------------------------------------------------

def _target(services: Services, uow: UnitOfWork, process_id: str, to_version_id: int) -> CompiledProcess:
    """The compiled version a case of `process_id` may move to (NotFound for an unknown or another process's)."""
    try:
        process = services.process_by_id(uow, to_version_id)
    except NotFound:
        raise NotFound(f"there is no version {to_version_id}") from None
    if process.process_id != process_id:
        raise NotFound(f"version {to_version_id} is not a version of {process_id}")
    return process


def _preview(services: Services, uow: UnitOfWork, record: CaseRecord, to_version_id: int,
             ) -> tuple[CasePreview, Case | None]:
    """The preview of one loaded case and, when safe, the case already moved in memory onto the new version."""
    assert record.id is not None
    old = services.process_by_id(uow, record.version_id)
    new = _target(services, uow, record.process_id, to_version_id)
    preview = CasePreview(record.id, record.reference, record.version_id, old.content_hash, to_version_id,
                          new.content_hash, safe=True, why="")
    if record.version_id == to_version_id:
        return replace(preview, needed=False,
                       why=f"{record.reference} is already on version {to_version_id}: nothing to do"), None
    if record.status != "open":
        return replace(preview, needed=False, why=f"{record.reference} is {record.status}: there is nothing to "
                                                  "move"), None
    diff = version_diff(old, new)
    case = Case.restore(old, services.catalogue, record.state)
    verdict, diffs = judge(case.workflow, diff)
    reasons = verdict.reasons or move(case.workflow, diff, diffs, services)
    preview = replace(preview, changes=tuple(verdict.touched), reasons=tuple(reasons))
    if reasons:
        more = f" (and {len(reasons) - 3} more)" if len(reasons) > 3 else ""
        return replace(preview, safe=False, why="; ".join(reasons[:3]) + more), None
    reached = [t for t in verdict.touched if t.state != "planned"]
    why = (f"safe: {len(reached)} step(s) this case has reached change in ways that do not break them"
           if reached else "safe: the changes touch only steps this case has not reached")
    return replace(preview, why=why), Case(new, services.catalogue, case.workflow)


def preview_case(services: Services, case_id: int, to_version_id: int) -> CasePreview:
    """Whether a case can move to a version of its procedure, and why (NotFound for an unknown case or version)."""
    with services.uow() as uow:
        record = _case(uow, case_id)
        preview, _moved = _preview(services, uow, record, to_version_id)
        return preview


def _case(uow: UnitOfWork, case_id: int, for_update: bool = False) -> CaseRecord:
    try:
        return uow.cases.get(case_id, for_update=for_update)
    except NotFound:
        raise NotFound("no such case") from None


def pinned_cases(services: Services, process_id: str, to_version_id: int) -> list[PinnedCase]:
    """The open cases of a process on any version but `to_version_id`, oldest first."""
    with services.uow() as uow:
        hashes: dict[int, str] = {}
        found = []
        for record in uow.cases.list():
            if record.process_id != process_id or record.status != "open" or record.version_id == to_version_id:
                continue
            if record.version_id not in hashes:
                hashes[record.version_id] = uow.versions.get(record.version_id).content_hash
            assert record.id is not None
            found.append(PinnedCase(record.id, record.reference, record.board, record.version_id,
                                    hashes[record.version_id]))
        return found


# ---- moving one case, and undoing it -----------------------------------------------------------------------------

def _reason(reason: str, what: str) -> str:
    if not reason.strip():
        raise InvalidSubmission([FieldError("reason", f"Say why {what}: it is kept in the case's history.")])
    return reason.strip()


def _reproject(uow: UnitOfWork, record: CaseRecord, case: Case, now: Any) -> None:
    """Rebuild the case's task and timer rows from its workflow on its (new) version; an open task whose role,
    title, form or agency changed is written afresh (so its inbox and mail follow the change)."""
    assert record.id is not None
    current = {t.id: t for t in uow.tasks.for_case(record.id) if t.state == "ready"}
    rows = [TaskRow(t.id, record.id, t.name, t.title, t.lane, t.role, t.agency, t.form, now, t.due_at, t.week)
            for t in case.ready_tasks()]

    def same(row: TaskRow) -> bool:
        old = current.get(row.id)
        return old is not None and (old.name, old.title, old.lane, old.role, old.agency, old.form) == (
            row.name, row.title, row.lane, row.role, row.agency, row.form)

    if any(not same(r) for r in rows if r.id in current):
        uow.tasks.replace_for_case(record.id, [r for r in rows if same(r)])
    record_step(uow, record, case, [], now)


def migrate_case(services: Services, case_id: int, to_version_id: int, by: str, reason: str,
                 job_id: int | None = None) -> CaseMigrationRecord | None:
    """Move one case to another version of its procedure, in one transaction; None when there is nothing to do.

    Raises NotFound (case or version), NotPermitted (not a process owner of the case's board), InvalidSubmission
    (no reason), MigrationNotSafe (why, in a process owner's words), StaleCase (the case changed meanwhile).
    """
    why = _reason(reason, "this case moves to another version")
    now = services.clock.now()
    with services.uow() as uow:
        record = _case(uow, case_id, for_update=True)
        _require_owner(services, uow, by, record.board)
        preview, moved = _preview(services, uow, record, to_version_id)
        if not preview.needed:
            return None
        if moved is None:
            raise MigrationNotSafe(preview.why)
        previous = record.state
        state = moved.dump().encode()
        case = Case.restore(moved.process, services.catalogue, state)  # what is saved must load on the new version
        record.version_id = to_version_id  # the step kept for looking back is on the version it moved to
        saved = uow.cases.save(projected(record, case, now))
        uow.migrations.pin_case(case_id, to_version_id)
        saved.version_id = to_version_id
        migration = uow.migrations.add(CaseMigrationRecord(
            None, case_id, preview.from_version_id, to_version_id, by, why, now,
            gzip.compress(previous, mtime=0), job_id))
        _reproject(uow, saved, case, now)
        uow.events.append(EventRow(case_id, now, "case_migrated", by, {
            "migration": migration.id, "from_version": preview.from_version_id, "to_version": to_version_id,
            "from_hash": preview.from_hash, "to_hash": preview.to_hash, "reason": why,
            "lock_version": saved.lock_version, "job": job_id}))
        uow.commit()
        return migration


def undo_migration(services: Services, migration_id: int, by: str, reason: str) -> CaseMigrationRecord:
    """Put a case back exactly as it was before its newest migration, if nothing happened on it since.

    Raises NotFound, NotPermitted, InvalidSubmission (no reason) and Conflict (already undone, not the newest
    migration of the case, or the case moved on since: a step done or a timer fired would be lost).
    """
    why = _reason(reason, "this migration is undone")
    now = services.clock.now()
    with services.uow() as uow:
        try:
            migration = uow.migrations.get(migration_id)
        except NotFound:
            raise NotFound("no such migration") from None
        record = _case(uow, migration.case_id, for_update=True)
        _require_owner(services, uow, by, record.board)
        if migration.undone_at is not None:
            raise Conflict(f"this migration was already undone by {migration.undone_by} at "
                           f"{migration.undone_at:%d %b %Y %H:%M}")
        newest = [m for m in uow.migrations.for_case(migration.case_id) if m.undone_at is None][-1]
        if newest.id != migration.id:
            raise Conflict(f"{record.reference} was migrated again since (to version {newest.to_version_id}): "
                           "undo that migration first")
        after = next((e.detail.get("lock_version") for e in uow.events.for_case(migration.case_id)
                      if e.kind == "case_migrated" and e.detail.get("migration") == migration.id), None)
        if record.version_id != migration.to_version_id or record.lock_version != after:
            raise Conflict(f"{record.reference} has moved on since it was migrated (a step was done or a timer "
                           "fired): undoing would lose that work")
        previous = gzip.decompress(migration.previous_state)
        case = Case.restore(services.process_by_id(uow, migration.from_version_id), services.catalogue, previous)
        record.state, record.updated_at, record.status = previous, now, "open"
        saved = uow.cases.save(record)
        uow.migrations.pin_case(migration.case_id, migration.from_version_id)
        saved.version_id = migration.from_version_id
        _reproject(uow, saved, case, now)
        uow.migrations.mark_undone(migration_id, by, now)
        uow.events.append(EventRow(migration.case_id, now, "case_migration_undone", by, {
            "migration": migration_id, "from_version": migration.to_version_id,
            "to_version": migration.from_version_id, "reason": why}))
        uow.commit()
        return replace(migration, undone_at=now, undone_by=by)


# ---- jobs: every pinned case, in batches, in the background ------------------------------------------------------

def start_job(services: Services, process_id: str, to_version_id: int, kind: str, by: str, reason: str = "") -> int:
    """Queue a preview or migration of every open case of a process pinned to another version; returns its id."""
    errors = []
    if kind not in KINDS:
        errors.append(FieldError("kind", "Choose preview or migrate."))
    if kind == "migrate" and not reason.strip():
        errors.append(FieldError("reason", "Say why these cases move to the new version: it is kept in each "
                                           "case's history."))
    with services.uow() as uow:
        board = board_of_process(services, uow, process_id)
        if board is None:
            raise NotFound(f"no procedure {process_id!r}")
        _require_owner(services, uow, by, board)
        _target(services, uow, process_id, to_version_id)
        if errors:
            raise InvalidSubmission(errors)
    total = len(pinned_cases(services, process_id, to_version_id))
    with services.uow() as uow:
        job = uow.migrations.add_job(MigrationJobRecord(None, process_id, to_version_id, kind, by,
                                                        services.clock.now(), reason.strip(), total=total))
        uow.commit()
    assert job.id is not None
    return job.id


def _preview_result(services: Services, uow: UnitOfWork, case_id: int, to_version_id: int) -> dict[str, Any]:
    preview, _moved = _preview(services, uow, _case(uow, case_id), to_version_id)
    return {"case_id": case_id, "reference": preview.reference, "from_version": preview.from_version_id,
            "safe": preview.safe, "why": preview.why, "migrated": False}


def _one_case(services: Services, job: MigrationJobRecord, pinned: PinnedCase) -> dict[str, Any]:
    """One case of a job, its own transaction; a refusal or failure is its result, never the job's end."""
    assert job.id is not None
    result: dict[str, Any] = {"case_id": pinned.case_id, "reference": pinned.reference,
                              "from_version": pinned.version_id, "migrated": False}
    try:
        if job.kind == "preview":
            with services.uow() as uow:
                return _preview_result(services, uow, pinned.case_id, job.to_version_id)
        migration = migrate_case(services, pinned.case_id, job.to_version_id, job.requested_by, job.reason, job.id)
    except MigrationNotSafe as refused:
        return {**result, "safe": False, "why": refused.why}
    except EngineError as failed:
        return {**result, "safe": False, "why": str(failed), "error": True}
    except Exception as failed:  # one case's unexpected failure must not stop the others
        log.exception("migration job %s failed on case %s", job.id, pinned.case_id)
        return {**result, "safe": False, "why": f"failed: {failed}", "error": True}
    if migration is None:
        return {**result, "safe": True, "why": "nothing to do"}
    return {**result, "safe": True, "why": "migrated", "migrated": True, "migration": migration.id}


def _claim(services: Services, job_id: int) -> MigrationJobRecord | None:
    """The job, marked running, if it was queued and no other runner took it first."""
    with services.uow() as uow:
        job = uow.migrations.get_job(job_id)
        if not uow.migrations.claim_job(job_id):
            return None
        uow.commit()
    return replace(job, status="running")


def run_job(services: Services, job_id: int) -> MigrationJobRecord:
    """Run a queued job: its cases in batches, progress committed per batch; a job another runner took (or that
    already ran) is returned as it stands (NotFound for an unknown job)."""
    job = _claim(services, job_id)
    if job is None:
        with services.uow() as uow:
            return uow.migrations.get_job(job_id)
    return _run(services, job)


def _run(services: Services, job: MigrationJobRecord) -> MigrationJobRecord:
    try:
        pinned = pinned_cases(services, job.process_id, job.to_version_id)
        job.total, job.done, job.results = len(pinned), 0, []
        _save(services, job)
        for start in range(0, len(pinned), BATCH):
            job.results.extend(_one_case(services, job, case) for case in pinned[start:start + BATCH])
            job.done = len(job.results)
            _save(services, job)
        job.status = "done"
    except Exception:  # the job is marked failed for the page; the cases done so far stay done
        log.exception("migration job %s failed", job.id)
        job.status = "failed"
    job.finished_at = services.clock.now()
    _save(services, job)
    return job


def _save(services: Services, job: MigrationJobRecord) -> None:
    with services.uow() as uow:
        uow.migrations.save_job(job)
        uow.commit()


def run_queued_jobs(services: Services) -> int:
    """Run every queued job, oldest first (the worker's loop calls this); returns how many this call ran."""
    with services.uow() as uow:
        queued = [j.id for j in reversed(uow.migrations.jobs(status="queued")) if j.id is not None]
    ran = 0
    for job_id in queued:
        job = _claim(services, job_id)
        if job is not None:
            _run(services, job)
            ran += 1
    return ran


def run_in_background(services: Services, job_id: int) -> threading.Thread:
    """Run a job on a daemon thread, so the request that queued it returns at once; the page polls its progress."""
    thread = threading.Thread(target=run_job, args=(services, job_id), name=f"migration-job-{job_id}", daemon=True)
    thread.start()
    return thread
