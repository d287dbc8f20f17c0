"""Inbox: which ready tasks a user's role assignments reach, and the inverse (holders)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from engine.errors import Conflict
from engine.ports import Assignment, TaskRow, UserRecord
from engine.store import SqlUnitOfWork

NewUow = Callable[[], SqlUnitOfWork]
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def task(task_id: str, case_id: int, role: str, agency: str | None = None, due_days: int | None = 7) -> TaskRow:
    due = None if due_days is None else T0 + timedelta(days=due_days)
    return TaskRow(task_id, case_id, task_id, task_id.title(), "Lane", role, agency, "form.json", T0, due)


@pytest.fixture
def board_cases(new_uow: NewUow, make_case: Callable[..., int]) -> tuple[int, int, int]:
    """Two north cases and one south case, each with a mix of ready tasks."""
    north1, north2, south = make_case("north"), make_case("north"), make_case("south")
    with new_uow() as uow:
        uow.tasks.replace_for_case(
            north1,
            [
                task("n1-chair", north1, "chair", due_days=3),
                task("n1-imr-police", north1, "imr_author", "police"),
                task("n1-imr-health", north1, "imr_author", "health", due_days=None),
                task("n1-brief", north1, "imr_author", None, due_days=1),
            ],
        )
        uow.tasks.replace_for_case(north2, [task("n2-chair", north2, "chair", due_days=2)])
        uow.tasks.replace_for_case(south, [task("s-chair", south, "chair", due_days=0)])
        uow.commit()
    return north1, north2, south


def inbox_ids(new_uow: NewUow, *assignments: Assignment) -> list[str]:
    with new_uow() as uow:
        return [t.id for t in uow.tasks.inbox(assignments)]


def test_board_level_assignment_sees_that_role_on_every_case_of_its_board_only(
    new_uow: NewUow, board_cases: tuple[int, int, int]
) -> None:
    assert inbox_ids(new_uow, Assignment("ann", "chair", "north")) == ["n2-chair", "n1-chair"]


def test_case_level_assignment_sees_only_that_case(new_uow: NewUow, board_cases: tuple[int, int, int]) -> None:
    north1, _, _ = board_cases
    assert inbox_ids(new_uow, Assignment("ann", "chair", "north", case_id=north1)) == ["n1-chair"]


def test_agency_assignment_sees_its_agency_and_unscoped_tasks_but_not_other_agencies(
    new_uow: NewUow, board_cases: tuple[int, int, int]
) -> None:
    police = Assignment("pat", "imr_author", "north", agency="police")
    assert inbox_ids(new_uow, police) == ["n1-brief", "n1-imr-police"]


def test_assignment_without_agency_sees_only_unscoped_tasks_of_its_role(
    new_uow: NewUow, board_cases: tuple[int, int, int]
) -> None:
    assert inbox_ids(new_uow, Assignment("max", "imr_author", "north")) == ["n1-brief"]


def test_several_assignments_are_merged_in_due_order_with_undated_tasks_last(
    new_uow: NewUow, board_cases: tuple[int, int, int]
) -> None:
    north1, _, _ = board_cases
    ids = inbox_ids(
        new_uow,
        Assignment("kim", "chair", "south"),
        Assignment("kim", "imr_author", "north", case_id=north1, agency="health"),
        Assignment("kim", "imr_author", "north", case_id=north1, agency="health"),
    )
    assert ids == ["s-chair", "n1-brief", "n1-imr-health"]
    assert inbox_ids(new_uow) == []
    assert inbox_ids(new_uow, Assignment("zoe", "chair", "east")) == []


def test_completed_tasks_leave_the_inbox_but_stay_in_the_case_history(
    new_uow: NewUow, board_cases: tuple[int, int, int]
) -> None:
    north1, _, _ = board_cases
    with new_uow() as uow:
        uow.tasks.mark_completed("n1-chair", "ann", T0 + timedelta(days=1))
        with pytest.raises(Conflict):
            uow.tasks.mark_completed("n1-chair", "bob", T0 + timedelta(days=1))
        uow.tasks.replace_for_case(north1, [task("n1-next", north1, "chair")])
        uow.commit()
    with new_uow() as uow:
        assert [t.id for t in uow.tasks.inbox([Assignment("ann", "chair", "north", case_id=north1)])] == ["n1-next"]
        done = uow.tasks.get("n1-chair")
        assert done is not None and (done.state, done.completed_by) == ("completed", "ann")
        assert sorted(t.id for t in uow.tasks.for_case(north1)) == ["n1-chair", "n1-next"]


def test_holders_are_the_users_whose_inbox_would_show_the_task(new_uow: NewUow, make_case: Callable[..., int]) -> None:
    case_id, other = make_case("north"), make_case("north")
    with new_uow() as uow:
        for name, agency in [
            ("ann", None),
            ("pat", "police"),
            ("hal", "health"),
            ("cy", None),
            ("sam", None),
        ]:
            uow.people.add_user(UserRecord(name, name.title(), "north", agency))
        uow.people.assign(Assignment("ann", "imr_author", "north"))
        uow.people.assign(Assignment("ann", "imr_author", "north"))  # granting twice changes nothing
        uow.people.assign(Assignment("pat", "imr_author", "north", agency="police"))
        uow.people.assign(Assignment("hal", "imr_author", "north", case_id=case_id, agency="health"))
        uow.people.assign(Assignment("cy", "imr_author", "north", case_id=other))
        uow.people.assign(Assignment("sam", "imr_author", "south"))
        uow.commit()
    with new_uow() as uow:
        assert uow.people.holders("imr_author", "north", case_id, None) == ["ann", "hal", "pat"]
        assert uow.people.holders("imr_author", "north", case_id, "police") == ["pat"]
        assert uow.people.holders("imr_author", "north", None, None) == ["ann", "pat"]
        assert uow.people.holders("chair", "north", case_id, None) == []
        assert len(uow.people.assignments_of("ann")) == 1


def test_a_task_of_an_unscoped_role_names_its_agency_without_hiding_it(
    new_uow: NewUow, make_case: Callable[..., int]
) -> None:
    case = make_case("north")
    with new_uow() as uow:
        uow.tasks.replace_for_case(case, [task("review-police", case, "panel_member", "police"),
                                          task("imr-police", case, "imr_author", "police")])
        uow.commit()
    with new_uow() as uow:
        seen = uow.tasks.inbox([Assignment("pat", "panel_member", "north", case_id=case),
                                Assignment("pat", "imr_author", "north", case_id=case, agency="health")],
                               scoped_roles={"imr_author"})
    assert [(t.id, t.agency) for t in seen] == [("review-police", "police")]
