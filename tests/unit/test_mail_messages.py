"""The text of e-mail about work names the case reference, the task, the role, the due date and a link, nobody."""

from __future__ import annotations

from datetime import timedelta

from engine.casework.mail import NEW, OVERDUE, notice_letter, task_letter
from engine.clock import FrozenClock
from engine.ports import NoticeRow, TaskRow
from engine.workflow.catalogue import Catalogue
from engine.workflow.runtime import Case, HumanTask
from engine.workflow.specs import CompiledProcess

CANARY = "Zebediah Canary"
REFERENCE = "FX-2024-0001"
BASE = "https://scr.example.org"


def row(task: HumanTask, clock: FrozenClock) -> TaskRow:
    return TaskRow(task.id, 1, task.name, task.title, task.lane, task.role, task.agency, task.form, clock.now(),
                   task.due_at, task.week)


def test_no_message_about_a_case_repeats_what_anyone_wrote_on_it(simple_process: CompiledProcess,
                                                                catalogue: Catalogue, clock: FrozenClock) -> None:
    case, _ = Case.start(simple_process, catalogue, clock, {"child": CANARY})
    [ask] = case.ready_tasks()
    case.complete(ask.id, {"question": f"Should {CANARY} of 1 Acacia Avenue be reviewed?"}, clock)
    assert CANARY in str(case.data), "the canary is in the workflow data, so the test means something"
    [decide] = case.ready_tasks()
    letters = [task_letter(kind, REFERENCE, row(decide, clock), "Chair", BASE) for kind in (NEW, OVERDUE)]
    clock.advance(timedelta(weeks=6, minutes=1))
    [notice] = case.advance(clock).notices
    letters.append(notice_letter(REFERENCE, NoticeRow(1, clock.now(), notice.role, notice.agency, notice.kind,
                                                      notice.message, notice.element), "Chair", BASE))
    for letter in letters:
        assert CANARY not in letter.subject and CANARY not in letter.body
        assert "Acacia" not in letter.subject + letter.body


def test_a_new_task_message_gives_reference_task_role_due_date_and_link(simple_process: CompiledProcess,
                                                                       catalogue: Catalogue,
                                                                       clock: FrozenClock) -> None:
    case, _ = Case.start(simple_process, catalogue, clock)
    [ask] = case.ready_tasks()
    case.complete(ask.id, {"question": "q"}, clock)
    [decide] = case.ready_tasks()
    letter = task_letter(NEW, REFERENCE, row(decide, clock), "Chair of the board", BASE)
    assert letter.subject == f"[{REFERENCE}] New task: Decide"
    assert "Role: Chair of the board" in letter.body
    assert "Due: 29 February 2024" in letter.body
    assert f"{BASE}/tasks/{decide.id}" in letter.body


def test_an_overdue_message_says_so_in_its_subject(clock: FrozenClock) -> None:
    task = TaskRow("t-1", 1, "t", "Sign off", None, "chair", None, None, clock.now(), None)
    letter = task_letter(OVERDUE, REFERENCE, task, "Chair", BASE)
    assert letter.subject == f"[{REFERENCE}] Overdue: Sign off"
    assert "Due: no due date" in letter.body


def test_a_title_drawn_over_two_lines_makes_a_one_line_subject(clock: FrozenClock) -> None:
    task = TaskRow("t-1", 1, "t", "Decide on\nthe  review", None, "chair", None, None, clock.now(), None)
    assert task_letter(NEW, REFERENCE, task, "Chair", BASE).subject == f"[{REFERENCE}] New task: Decide on the review"


def test_a_notice_message_carries_the_diagrams_words_and_links_to_the_case(clock: FrozenClock) -> None:
    notice = NoticeRow(7, clock.now(), "chair", None, "escalation", "The decision is overdue.", "escalate")
    letter = notice_letter(REFERENCE, notice, "Chair", BASE)
    assert letter.subject == f"[{REFERENCE}] Escalation for Chair"
    assert "The decision is overdue." in letter.body
    assert f"{BASE}/cases/7" in letter.body
