"""The shared IMR diagram (bpmn/common/imr.bpmn) keeps each board's IMR timetable (8.5, 9.1, App. 2, App. 3 N.B.).

One anchor per agency's IMR: the date its preparation tasks show is the date of the reminder (a week before) and of
the escalation (at it, never before), and every later step counts from the decision date plus the board's week for
it in `imr_weeks` (Dorset: health IMRs week 6, others 8, Meeting 3 week 9, revisions 12, Meeting 4 and action plans
15; B&P: IMRs 8, panel 10, revisions 12, further revisions and action plans 14, final IMRs 17). `imr_review` is
called here by a small board of the test's own, with a plain call activity (no multi-instance, as a board adding an
agency later does, 9.1) and the review's `timetable_delay_weeks` data object, which a timer branch can put back
(8.3). The board diagrams are driven by their own path tests; here they are read only for the weeks they pass.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest

from engine.errors import InvalidSubmission
from engine.workflow.forms import private_fields, validate_submission
from engine.workflow.runtime import HumanTask
from engine.workflow.specs import CompiledProcess, compile_processes, read_diagrams, read_forms
from tests.bpmn.harness import ROOT, Drive, repository_catalogue
from tests.formfill import fill

DECISION = datetime(2024, 2, 5, tzinfo=UTC)  # a Monday: week 0 of the review timetable
NEVER = "2030-01-01"  # the test board's timetable is not put back unless a test says when

DORSET = {"imr": 8, "health_imr": 6, "review": 9, "resubmission": 12, "resubmission_review": 15, "action_plan": 15}
BP = {"imr": 8, "health_imr": 8, "review": 10, "resubmission": 12, "resubmission_review": 14, "action_plan": 14}
BOARDS = {"dorset": DORSET, "bournemouth_poole": BP}
FINAL = {"dorset": 18, "bournemouth_poole": 17}  # Dorset: with the final overview report; B&P: "final IMRs ... CE"
HEALTH = ["health_acute", "gp"]
PREPARATION = ["prep_gather", "prep_interviews", "prep_chronology", "prep_draft", "prep_staff_read", "prep_signoff"]

CALLER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs_imr_caller" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="imr_caller" isExecutable="true">
    <bpmn:laneSet id="ls_caller">
      <bpmn:lane id="lane_caller" name="LSCB administrator">
        <bpmn:flowNodeRef>c_start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>c_split</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>c_imr</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>c_put_back_at</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>c_put_back</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>c_join</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>c_end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:dataObject id="timetable_delay_weeks" />
    <bpmn:dataObjectReference id="ref_timetable_delay_weeks" dataObjectRef="timetable_delay_weeks" />
    <bpmn:startEvent id="c_start"><bpmn:outgoing>c1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="c_split"><bpmn:incoming>c1</bpmn:incoming><bpmn:outgoing>c2</bpmn:outgoing>
      <bpmn:outgoing>c3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:callActivity id="c_imr" calledElement="imr_review"><bpmn:incoming>c2</bpmn:incoming>
      <bpmn:outgoing>c4</bpmn:outgoing></bpmn:callActivity>
    <bpmn:intermediateCatchEvent id="c_put_back_at"><bpmn:incoming>c3</bpmn:incoming><bpmn:outgoing>c5</bpmn:outgoing>
      <bpmn:timerEventDefinition id="ted_put_back">
        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">put_back_on</bpmn:timeDate>
      </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="c_put_back"><bpmn:incoming>c5</bpmn:incoming><bpmn:outgoing>c6</bpmn:outgoing>
      <bpmn:dataOutputAssociation id="doa_put_back"><bpmn:targetRef>ref_timetable_delay_weeks</bpmn:targetRef>
      </bpmn:dataOutputAssociation>
      <bpmn:script>timetable_delay_weeks = put_back_weeks</bpmn:script></bpmn:scriptTask>
    <bpmn:parallelGateway id="c_join"><bpmn:incoming>c4</bpmn:incoming><bpmn:incoming>c6</bpmn:incoming>
      <bpmn:outgoing>c7</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:endEvent id="c_end"><bpmn:incoming>c7</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="c1" sourceRef="c_start" targetRef="c_split" />
    <bpmn:sequenceFlow id="c2" sourceRef="c_split" targetRef="c_imr" />
    <bpmn:sequenceFlow id="c3" sourceRef="c_split" targetRef="c_put_back_at" />
    <bpmn:sequenceFlow id="c4" sourceRef="c_imr" targetRef="c_join" />
    <bpmn:sequenceFlow id="c5" sourceRef="c_put_back_at" targetRef="c_put_back" />
    <bpmn:sequenceFlow id="c6" sourceRef="c_put_back" targetRef="c_join" />
    <bpmn:sequenceFlow id="c7" sourceRef="c_join" targetRef="c_end" />
  </bpmn:process>
</bpmn:definitions>
"""


@cache
def compiled() -> dict[str, CompiledProcess]:
    """The shared diagrams (bpmn/common) and the test's calling board, compiled with the repository's forms."""
    diagrams = read_diagrams([ROOT / "bpmn" / "common"], root=ROOT / "bpmn")
    diagrams["test/imr_caller.bpmn"] = CALLER.encode()
    return compile_processes(diagrams, read_forms(ROOT / "forms"), repository_catalogue(),
                             wanted=["imr_caller", "imr_review", "alternative_review"])


def at(week: float, days: float = 0) -> datetime:
    """Midnight at the start of the day `week` weeks (and `days` days) after the decision."""
    return DECISION + timedelta(weeks=week, days=days)


def day(when: datetime) -> str:
    return when.date().isoformat()


def start(board: str, agency: str = "police", added_on: datetime | None = None,
          put_back: tuple[float, int] | None = None, begin: datetime | None = None,
          save_restore: bool = False) -> Drive:
    """`imr_review` for one agency, called by the test board with `board`'s weeks; optionally added later on
    `added_on` (9.1) and with the timetable put back `put_back[1]` weeks in week `put_back[0]` (8.3)."""
    weeks: dict[str, Any] = dict(BOARDS[board])
    if added_on is not None:
        weeks["added_on"] = day(added_on)
    data = {"agency": agency, "decision_date": day(DECISION), "health_agencies": HEALTH, "imr_weeks": weeks,
            "put_back_on": day(at(put_back[0])) if put_back else NEVER,
            "put_back_weeks": put_back[1] if put_back else 0}
    when = begin or added_on or DECISION + timedelta(hours=9)
    return Drive("imr_caller", save_restore=save_restore, start=when, data=data, process=compiled()["imr_caller"])


def form(d: Drive, task: HumanTask, **choices: Any) -> dict[str, Any]:
    return fill(d.process.form(task.form or ""), choices)


def complete(d: Drive, name: str, **choices: Any) -> HumanTask:
    task = d.task(name)
    d.complete_task(task, form(d, task, **choices))
    return task


def prepare(d: Drive, upto: str | None = None) -> None:
    """The letter, naming the author and the preparation steps, up to (not including) `upto`."""
    for name in ["imr_letter", "prep_name_author", *PREPARATION]:
        if name == upto:
            return
        complete(d, name)


def escalations(d: Drive) -> list[tuple[str, str | None]]:
    return [(n.role, n.agency) for _, n in d.notices_of("escalation")]


def reminders(d: Drive) -> list[tuple[datetime, str, str | None]]:
    return [(when, n.role, n.agency) for when, n in d.notices_of("reminder")]


def imr_week(board: str, agency: str) -> int:
    weeks = BOARDS[board]
    return weeks["health_imr"] if agency in HEALTH else weeks["imr"]


CASES = [("dorset", "health_acute"), ("dorset", "police"), ("bournemouth_poole", "gp"),
         ("bournemouth_poole", "social_care")]


def case_id(case: tuple[str, str]) -> str:
    return "-".join(case)


# ------------------------------------------------------------------------------------------ one anchor (8.5, gap 13)
@pytest.mark.parametrize(("board", "agency"), CASES, ids=map(case_id, CASES))
def test_every_preparation_task_is_due_on_the_boards_week_for_the_agency(board: str, agency: str) -> None:
    d = start(board, agency)
    deadline = at(imr_week(board, agency))
    letter = d.task("imr_letter")
    assert (letter.role, letter.due_at, letter.week) == ("lscb_administrator", at(1), 1)
    complete(d, "imr_letter")
    author = d.task("prep_name_author")
    assert (author.role, author.agency, author.due_at) == ("chief_executive", agency, at(1))
    complete(d, "prep_name_author")
    for name in PREPARATION:
        task = d.task(name)
        assert (task.due_at, task.week) == (deadline, imr_week(board, agency)), name
        complete(d, name)
    assert d.task("imr_panel_review").role == "panel_member"


@pytest.mark.parametrize(("board", "agency"), CASES, ids=map(case_id, CASES))
def test_the_author_is_reminded_a_week_before_and_nobody_is_escalated_until_the_deadline_the_tasks_show(
        board: str, agency: str) -> None:
    d = start(board, agency)
    prepare(d, upto="prep_draft")
    deadline = d.task("prep_draft").due_at
    assert deadline == at(imr_week(board, agency))
    d.advance_to(deadline - timedelta(weeks=1, hours=1))
    assert reminders(d) == []
    d.advance_to(deadline - timedelta(weeks=1) + timedelta(minutes=1))
    assert [(role, a) for _, role, a in reminders(d)] == [("imr_author", agency)]
    d.advance_to(deadline - timedelta(days=1))
    assert escalations(d) == [], "one day before its deadline nobody is escalated"
    d.advance_to(deadline + timedelta(minutes=1))
    assert escalations(d) == [("chief_executive", agency), ("lscb_administrator", agency)]
    assert len(reminders(d)) == 1
    prepare_rest(d)
    assert d.task("imr_panel_review").due_at == at(BOARDS[board]["review"])


def prepare_rest(d: Drive) -> None:
    for name in PREPARATION:
        if [t for t in d.tasks() if t.name == name]:
            complete(d, name)


@pytest.mark.parametrize("board", BOARDS)
def test_an_imr_in_on_time_is_not_escalated_at_all(board: str) -> None:
    d = start(board, "police")
    prepare(d)
    d.advance_to(at(30))
    assert escalations(d) == [] and reminders(d) == []


# ------------------------------------------------------------------------------------------ later steps
@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("save_restore", [False, True], ids=["straight", "save-restore"])
def test_the_revision_the_re_signing_the_resubmission_review_and_the_action_plan_fall_in_the_boards_weeks(
        board: str, save_restore: bool) -> None:
    weeks = BOARDS[board]
    d = start(board, "police", save_restore=save_restore)
    prepare(d)
    d.advance_to(at(weeks["review"], days=1))
    review = d.task("imr_panel_review")
    assert (review.due_at, review.week) == (at(weeks["review"]), weeks["review"])
    complete(d, "imr_panel_review", revisions_required=True, review_date=day(d.clock.now()))
    revise = d.task("imr_revise")
    assert (revise.role, revise.due_at, revise.week) == ("imr_author", at(weeks["resubmission"]),
                                                         weeks["resubmission"])
    complete(d, "imr_revise")
    resign = d.task("imr_resign")
    assert (resign.role, resign.due_at) == ("chief_executive", at(weeks["resubmission"]))
    complete(d, "imr_resign")
    again = d.task("imr_panel_review")
    assert (again.due_at, again.week) == (at(weeks["resubmission_review"]), weeks["resubmission_review"])
    complete(d, "imr_panel_review", revisions_required=False)
    plan = d.task("imr_action_plan")
    assert (plan.role, plan.due_at, plan.week) == ("chief_executive", at(weeks["action_plan"]), weeks["action_plan"])
    complete(d, "imr_action_plan")
    assert d.case.data["imr_outcome"]["revisions"] == 1 and d.case.completed is False  # the caller's timer branch


@pytest.mark.parametrize("board", BOARDS)
def test_a_further_revision_and_its_action_plan_are_due_in_the_boards_final_week_not_in_the_past(board: str) -> None:
    weeks, final = BOARDS[board], FINAL[board]
    d = start(board, "police")
    prepare(d)
    d.advance_to(at(weeks["review"]))
    complete(d, "imr_panel_review", revisions_required=True, review_date=day(d.clock.now()))
    complete(d, "imr_revise")
    complete(d, "imr_resign")
    d.advance_to(at(weeks["resubmission_review"]))
    complete(d, "imr_panel_review", revisions_required=True, review_date=day(d.clock.now()))
    for name in ("imr_revise", "imr_resign"):
        task = d.task(name)
        assert (task.due_at, task.week) == (at(final), final), name
        complete(d, name)
    third = d.task("imr_panel_review")
    assert third.due_at == at(final)
    d.advance_to(at(final, days=2))
    complete(d, "imr_panel_review", revisions_required=True, review_date=day(d.clock.now()))
    late = d.task("imr_revise")
    usual = weeks["resubmission"] - weeks["review"]
    assert late.due_at == at(final, days=2) + timedelta(weeks=usual), "past the final week: the board's usual time"
    complete(d, "imr_revise")
    complete(d, "imr_resign")
    complete(d, "imr_panel_review", revisions_required=False)
    plan = d.task("imr_action_plan")
    assert plan.due_at == at(final)  # final IMRs and action plans together (B&P wk 17)


@pytest.mark.parametrize("board", BOARDS)
def test_an_imr_accepted_first_time_has_its_action_plan_due_in_the_boards_action_plan_week(board: str) -> None:
    d = start(board, "health_acute")
    prepare(d)
    complete(d, "imr_panel_review", revisions_required=False)
    assert d.task("imr_action_plan").due_at == at(BOARDS[board]["action_plan"])


# ------------------------------------------------------------------------------------------ an agency added later
@pytest.mark.parametrize("board", BOARDS)
def test_an_agency_added_later_has_six_weeks_from_being_added_and_the_boards_intervals_after_that(board: str) -> None:
    weeks = BOARDS[board]
    added = at(12, days=2)  # a Wednesday in week 13, long after the board's IMR week; its letter is due in week 14
    d = start(board, "probation", added_on=added, begin=added + timedelta(hours=10))
    letter = d.task("imr_letter")
    assert (letter.agency, letter.due_at, letter.week) == ("probation", added + timedelta(weeks=1), 14)
    complete(d, "imr_letter")
    assert d.task("prep_name_author").due_at == added + timedelta(weeks=1)
    complete(d, "prep_name_author")
    deadline = added + timedelta(weeks=6)
    assert d.task("prep_gather").due_at == deadline
    for name in PREPARATION[:-1]:
        complete(d, name)
    assert d.task("prep_signoff").due_at == deadline
    d.advance_to(deadline - timedelta(weeks=1, hours=1))
    assert reminders(d) == []
    d.advance_to(deadline - timedelta(days=1))
    assert [(role, agency) for _, role, agency in reminders(d)] == [("imr_author", "probation")]
    assert escalations(d) == []
    d.advance_to(deadline + timedelta(minutes=1))
    assert escalations(d) == [("chief_executive", "probation"), ("lscb_administrator", "probation")]
    complete(d, "prep_signoff")
    after = deadline - timedelta(weeks=weeks["imr"])  # the board's weeks counted from its own deadline
    assert d.task("imr_panel_review").due_at == after + timedelta(weeks=weeks["review"])
    complete(d, "imr_panel_review", revisions_required=True, review_date=day(d.clock.now()))
    assert d.task("imr_revise").due_at == after + timedelta(weeks=weeks["resubmission"])
    complete(d, "imr_revise")
    complete(d, "imr_resign")
    assert d.task("imr_panel_review").due_at == after + timedelta(weeks=weeks["resubmission_review"])
    complete(d, "imr_panel_review", revisions_required=False)
    assert d.task("imr_action_plan").due_at == after + timedelta(weeks=weeks["action_plan"])


def test_an_agency_added_in_the_first_weeks_keeps_the_boards_week_when_that_is_later() -> None:
    added = at(1)  # six weeks from being added is week 7: the Dorset week 8 is later
    d = start("dorset", "police", added_on=added, begin=added + timedelta(hours=9))
    prepare(d, upto="prep_gather")
    assert d.task("prep_gather").due_at == at(8)
    added_health = at(1)  # a Dorset health IMR added in week 1: six weeks from being added (week 7) wins
    h = start("dorset", "health_acute", added_on=added_health, begin=added_health + timedelta(hours=9))
    prepare(h, upto="prep_gather")
    assert h.task("prep_gather").due_at == at(7)


def test_imr_review_runs_on_its_own_for_one_agency_with_only_its_four_inputs() -> None:
    data = {"agency": "police", "decision_date": day(DECISION), "health_agencies": HEALTH, "imr_weeks": DORSET}
    d = Drive("imr_review", start=DECISION + timedelta(hours=9), data=data, process=compiled()["imr_review"])
    prepare(d)
    complete(d, "imr_panel_review", revisions_required=False)
    complete(d, "imr_action_plan")
    assert d.case.completed and d.case.data["imr_outcome"]["agency"] == "police"


# ------------------------------------------------------------------------------------------ a revised timetable (8.3)
@pytest.mark.parametrize("board", BOARDS)
def test_a_revised_timetable_puts_back_the_reviews_revisions_and_action_plan_but_not_the_imr_deadline(
        board: str) -> None:
    weeks = BOARDS[board]
    d = start(board, "police", put_back=(5, 4))
    prepare(d, upto="prep_interviews")
    d.advance_to(at(5, days=1))  # the LSCB revised its timetable in week 6: four weeks later from now on
    assert d.task("prep_interviews").due_at == at(8), "the deadline the agency was given stays"
    d.advance_to(at(8) + timedelta(minutes=1))
    assert escalations(d) == [("chief_executive", "police"), ("lscb_administrator", "police")]
    prepare_rest(d)
    review = d.task("imr_panel_review")
    assert (review.due_at, review.week) == (at(weeks["review"] + 4), weeks["review"])
    complete(d, "imr_panel_review", revisions_required=True, review_date=day(d.clock.now()))
    assert d.task("imr_revise").due_at == at(weeks["resubmission"] + 4)
    complete(d, "imr_revise")
    assert d.task("imr_resign").due_at == at(weeks["resubmission"] + 4)
    complete(d, "imr_resign")
    assert d.task("imr_panel_review").due_at == at(weeks["resubmission_review"] + 4)
    complete(d, "imr_panel_review", revisions_required=False)
    plan = d.task("imr_action_plan")
    assert (plan.due_at, plan.week) == (at(weeks["action_plan"] + 4), weeks["action_plan"])


# ------------------------------------------------------------------------------------------ the boards' data
def board_scripts() -> Iterator[tuple[str, str]]:
    for path in sorted((ROOT / "bpmn").glob("*/scr_*.bpmn")):
        for script in re.findall(r"<bpmn:script>(.*?)</bpmn:script>", path.read_text(), re.S):
            yield path.parent.name, script


def literal_items(source: str, earlier: dict[str, Any]) -> dict[str, Any]:
    """The entries of a dict display whose values are literals or copy an entry of the board's earlier `imr_weeks`
    (an added agency's date is worked out at run time and left out)."""
    node = ast.parse(source, mode="eval").body
    assert isinstance(node, ast.Dict)
    items: dict[str, Any] = {}
    for key, value in zip(node.keys, node.values, strict=True):
        name = ast.literal_eval(key)  # type: ignore[arg-type]
        if (isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) and value.value.id == "imr_weeks"
                and isinstance(value.slice, ast.Constant) and value.slice.value in earlier):
            items[name] = earlier[value.slice.value]
            continue
        try:
            items[name] = ast.literal_eval(value)
        except ValueError:
            continue
    return items


def passed_weeks(folder: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for name, script in board_scripts():
        for line in script.splitlines():
            if name == folder and line.startswith("imr_weeks = {"):
                found.append(literal_items(line.split("=", 1)[1].strip(), found[0] if found else {}))
    return found


@pytest.mark.parametrize(("folder", "board"), [("dorset", "dorset"), ("bournemouth-poole", "bournemouth_poole")])
def test_each_board_passes_the_seeds_imr_weeks_to_imr_review(folder: str, board: str) -> None:
    passed = passed_weeks(folder)
    assert passed, f"{folder} sets imr_weeks for imr_review"
    for weeks in passed:
        assert {k: v for k, v in weeks.items() if k in BOARDS[board]} == BOARDS[board]
        assert weeks.get("final", FINAL[board]) == FINAL[board]


# ------------------------------------------------------------------------------------------ the referral (3.1)
REFERRAL = json.loads((ROOT / "forms" / "common" / "request_proforma.schema.json").read_text())


def referral(**answers: Any) -> dict[str, Any]:
    data = fill(REFERRAL)
    data.pop("other_children_action", None)
    data.update(answers)
    return {k: v for k, v in data.items() if v is not None}


def test_the_dorset_referral_asks_whether_other_children_may_be_at_risk() -> None:
    with pytest.raises(InvalidSubmission, match="other_children_at_risk"):
        validate_submission(REFERRAL, referral(other_children_at_risk=None))
    for answer in ("no", "not_known"):
        assert validate_submission(REFERRAL, referral(other_children_at_risk=answer))
    with pytest.raises(InvalidSubmission, match="other_children_action"):
        validate_submission(REFERRAL, referral(other_children_at_risk="yes"))
    validate_submission(REFERRAL, referral(other_children_at_risk="yes", other_children_action="Strategy discussion"))


def test_the_action_taken_for_other_children_stays_in_the_case_file_and_the_answer_diagrams_read_does_not() -> None:
    assert "other_children_action" in private_fields(REFERRAL)
    assert "other_children_at_risk" not in private_fields(REFERRAL)
    assert set(REFERRAL["properties"]["other_children_at_risk"]["enum"]) == {"yes", "no", "not_known"}


# ------------------------------------------------------------------------------------------ alternative review (7.7)
@pytest.mark.parametrize(("share", "roles"), [(True, ["standing_panel", "qa_group", "standing_panel"]),
                                              (False, ["standing_panel", "standing_panel"])],
                         ids=["dorset-qa-group", "bp-sub-group-only"])
def test_alternative_review_findings_go_to_the_panel_and_in_dorset_the_qa_group_with_no_ofsted_step(
        share: bool, roles: list[str]) -> None:
    d = Drive("alternative_review", start=DECISION, data={"decision_date": day(DECISION), "share_with_qa_group": share},
              process=compiled()["alternative_review"])
    complete(d, "alt_plan", alternative_type="case_audit", review_target_date=day(at(8)))
    complete(d, "alt_case_audit")
    seen = []
    while d.tasks():
        [task] = d.tasks()
        seen.append(task.role)
        d.complete_task(task, form(d, task))
    assert seen == roles and d.case.completed
    forms = {n: text for n, text in d.process.files.items() if n.startswith("forms/")}
    assert forms and not [n for n, text in forms.items() if "ofsted" in text.lower()], "Ofsted is the board's step"
