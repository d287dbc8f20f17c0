"""The ledger held against the database: each task completed exactly once, by the one the ledger says, with the
workflow state of every case agreeing with its task, timer, submission and audit rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from SpiffWorkflow.util.task import TaskState

from engine.bootstrap import build_services
from engine.ports import SubmissionRecord, TaskRow, TimerRow
from engine.workflow.runtime import Case
from tests.chaos.ledger import read
from tests.chaos.server import FORMS

FAILURES = ("duplicated", "missing", "ack_200_not_in_db", "db_completion_without_intent", "intent_never_answered",
            "engine_state_inconsistent", "unfinished", "server_errors", "audit_chain_broken", "stuck")


@dataclass
class Figures:
    """What the reconciler counted; every failure figure must be 0."""

    cases: int = 0
    completions: int = 0  # submission rows: tasks completed as the database says
    sends: int = 0  # completion requests the load sent (retries included)
    unanswered_sends: int = 0  # of those, refused while the server was down or cut off by a kill
    cut_off: int = 0  # of those, cut off: taken by a server that was killed before it answered
    answered_200: int = 0
    answered_409: int = 0
    settled_by_reading: int = 0  # a 409 after an unanswered send, settled by reading the task
    acknowledged: int = 0  # keys that completed their task: answered 200, or settled by reading as the sender's
    duplicated: int = 0  # tasks with more than one submission, audit event or acknowledged completion
    missing: int = 0  # tasks the workflow or the task table says are done, without their submission or audit event
    ack_200_not_in_db: int = 0  # acknowledged completions the database does not hold
    db_completion_without_intent: int = 0  # submissions nobody in the ledger meant to send
    intent_never_answered: int = 0  # keys the load never got an answer for
    engine_state_inconsistent: int = 0  # cases whose restored workflow disagrees with their rows
    unfinished: int = 0  # cases not completed at the end
    server_errors: int = 0  # answers of 500 or more
    audit_chain_broken: int = 0  # cases whose audit hash chain does not verify
    stuck: int = 0  # tasks the load gave up on
    notes: list[str] = field(default_factory=list)  # the first few failures, in words

    @property
    def failed(self) -> dict[str, int]:
        """The failure figures that are not 0."""
        return {name: getattr(self, name) for name in FAILURES if getattr(self, name)}

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def reconcile(url: str, ledger_path: Path, case_ids: list[int]) -> Figures:
    """Count every way the ledger and the database disagree (see Figures)."""
    figures = Figures(cases=len(case_ids))
    ledger = read(ledger_path)
    attempts = list(ledger.attempts.values())
    figures.sends = sum(a.sends for a in attempts)
    figures.unanswered_sends = sum(a.lost for a in attempts)
    figures.cut_off = sum(a.cut for a in attempts)
    figures.answered_200 = sum(a.status == 200 for a in attempts)
    figures.answered_409 = sum(a.status == 409 for a in attempts)
    figures.settled_by_reading = sum(a.status == 409 and a.lost > 0 for a in attempts)
    figures.acknowledged = sum(a.done_by_me for a in attempts)
    figures.intent_never_answered = sum(a.status is None for a in attempts)
    figures.server_errors = sum(a.status is not None and a.status >= 500 for a in attempts)
    figures.stuck = len(ledger.stuck)
    acknowledged: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))  # case -> task -> who
    meant: set[tuple[str, str]] = set()  # (task, who) someone meant to complete
    for attempt in attempts:
        meant.add((attempt.task, attempt.who))
        if attempt.done_by_me:
            acknowledged[attempt.case][attempt.task].append(attempt.who)

    services, engine = build_services(url, FORMS, migrate=False)
    try:
        for case_id in case_ids:
            with services.uow() as uow:
                record = uow.cases.get(case_id)
                rows = {row.id: row for row in uow.tasks.for_case(case_id)}
                submissions = uow.submissions.for_case(case_id)
                events = uow.events.for_case(case_id)
                timers = uow.timers.for_case(case_id)
                broken = uow.events.first_broken(case_id)
                process = services.process_of(uow, record)
            case = Case.restore(process, services.catalogue, record.state)
            figures.completions += len(submissions)
            figures.audit_chain_broken += broken is not None
            done_by = acknowledged[case_id]
            by_task: dict[str, list[str]] = defaultdict(list)
            for submission in submissions:
                by_task[submission.task_id].append(submission.username)
            audited = Counter(str(e.detail.get("task")) for e in events if e.kind == "task_completed")
            workflow_done = {str(t.id): t for t in case.workflow.get_tasks(state=TaskState.COMPLETED, manual=True)}
            table_done = {i for i, row in rows.items() if row.state == "completed"}
            names = {i: row.name for i, row in rows.items()}
            names |= {i: t.task_spec.bpmn_id for i, t in workflow_done.items()}
            for task_id in set(rows) | set(workflow_done) | set(by_task) | set(done_by):
                name = names.get(task_id, "")
                if len(by_task[task_id]) > 1 or audited[name] > 1 or len(done_by[task_id]) > 1:
                    figures.duplicated += 1
                    _note(figures, f"case {case_id} task {name}: submissions {by_task[task_id]}, audit events "
                                   f"{audited[name]}, acknowledged to {done_by[task_id]}")
                if (task_id in workflow_done or task_id in table_done) and (not by_task[task_id] or not audited[name]):
                    figures.missing += 1
                    _note(figures, f"case {case_id} task {name}: done in the workflow or task table, but "
                                   f"{len(by_task[task_id])} submissions and {audited[name]} audit events")
                for who in done_by[task_id]:
                    if who not in by_task[task_id]:
                        figures.ack_200_not_in_db += 1
                        _note(figures, f"case {case_id} task {name}: acknowledged to {who}, not in the database")
                for who in by_task[task_id]:
                    if (task_id, who) not in meant:
                        figures.db_completion_without_intent += 1
                        _note(figures, f"case {case_id} task {name}: completed by {who}, who never meant to")
            why = _disagreement(case, record.status, rows, submissions, workflow_done, timers)
            if why:
                figures.engine_state_inconsistent += 1
                _note(figures, f"case {case_id}: {why}")
            if record.status != "completed":
                figures.unfinished += 1
    finally:
        engine.dispose()
    return figures


def _disagreement(case: Case, status: str, rows: dict[str, TaskRow], submissions: Sequence[SubmissionRecord],
                  workflow_done: dict[str, Any], timers: Sequence[TimerRow]) -> str | None:
    """Where the restored workflow and the case's rows disagree, in words; None when they agree."""
    ready = {t.id for t in case.ready_tasks()}
    table_ready = {i for i, row in rows.items() if row.state == "ready"}
    if ready != table_ready:
        return f"ready in the workflow {sorted(ready)}, in the task table {sorted(table_ready)}"
    table_done = {i for i, row in rows.items() if row.state == "completed"}
    if set(workflow_done) != table_done or table_done != {s.task_id for s in submissions}:
        return (f"done in the workflow {sorted(workflow_done)}, in the task table {sorted(table_done)}, "
                f"submitted {sorted(s.task_id for s in submissions)}")
    for submission in submissions:
        data = workflow_done[submission.task_id].data
        if any(data.get(name) != value for name, value in submission.data.items()):
            return f"the workflow holds other answers for {submission.name} than {submission.username} submitted"
        if rows[submission.task_id].completed_by != submission.username:
            return f"{submission.name} was submitted by {submission.username}, the task table names another"
    waiting = {t.id for t in case.waiting_timers()}
    if waiting != {t.id for t in timers if t.fired_at is None}:
        return "the workflow waits on other timers than the timer table holds"
    if (status == "completed") != case.completed:
        return f"the case is {status}, the workflow {'has' if case.completed else 'has not'} ended"
    return None


def _note(figures: Figures, line: str) -> None:
    if len(figures.notes) < 10:
        figures.notes.append(line)
