"""The administrators' case list: every case of the boards they monitor, filtered, sorted and paged from the
projection tables, saved filters, and exports of control data only (never case content or names)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from engine.casework.access import monitored_boards
from engine.casework.services import Services
from engine.errors import FieldError, InvalidSubmission, NotFound
from engine.ports import CaseQuery, CaseSummary, SavedFilterRecord
from engine.workflow.deadlines import week_of

STATES = ("open", "errored", "suspended", "terminated", "completed")
SORTS = ("reference", "created", "updated", "due", "step", "state", "week")
FILTERS = ("board", "process", "version", "state", "step", "overdue", "week", "plan", "assignee", "agency")
PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
COLUMNS = ("reference", "board", "procedure", "version", "state", "current step", "week", "planned week",
           "behind plan", "next due", "started", "last changed", "errored at")


@dataclass(frozen=True)
class Line:
    """One case on the list, with its week now and whether it is behind its plan."""

    case: CaseSummary
    week: int | None
    behind: bool
    overdue: bool


@dataclass(frozen=True)
class CaseList:
    """A page of the list with what the filters offer and the person's saved filters."""

    lines: tuple[Line, ...]
    total: int
    page: int
    pages: int
    query: CaseQuery
    args: dict[str, str]
    choices: dict[str, list[Any]]
    saved: tuple[SavedFilterRecord, ...]
    all_boards: bool


def _int(args: Mapping[str, str], name: str, low: int = 0, high: int = 10**6) -> int | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        raise InvalidSubmission([FieldError(name, "Give a whole number.")]) from None
    if not low <= number <= high:
        raise InvalidSubmission([FieldError(name, f"Give a number from {low} to {high}.")])
    return number


def query_of(args: Mapping[str, str], boards: tuple[str, ...] | None, page_size: int = PAGE_SIZE) -> CaseQuery:
    """The list query a page's address asks for (InvalidSubmission naming a field that makes no sense)."""
    state = (args.get("state") or "").strip() or None
    if state is not None and state not in STATES:
        raise InvalidSubmission([FieldError("state", f"Choose one of: {', '.join(STATES)}.")])
    plan = (args.get("plan") or "").strip() or None
    if plan is not None and plan not in ("behind", "on"):
        raise InvalidSubmission([FieldError("plan", "Choose behind or on.")])
    sort = (args.get("sort") or "reference").strip()
    page = _int(args, "page", 1) or 1
    return CaseQuery(
        boards=boards, board=(args.get("board") or "").strip() or None,
        process_id=(args.get("process") or "").strip() or None, version_id=_int(args, "version", 1),
        state=state, step=(args.get("step") or "").strip() or None, overdue=args.get("overdue") in ("1", "on", "yes"),
        week=_int(args, "week", 0, 520), plan=plan, assignee=(args.get("assignee") or "").strip() or None,
        agency=(args.get("agency") or "").strip() or None, sort=sort if sort in SORTS else "reference",
        descending=args.get("order") == "desc", offset=(page - 1) * page_size, limit=page_size)


def kept_args(args: Mapping[str, str]) -> dict[str, str]:
    """The filter and sort arguments of an address (what a saved filter keeps), without the page."""
    return {k: str(args[k]) for k in (*FILTERS, "sort", "order") if args.get(k)}


def monitored(services: Services, username: str) -> tuple[str, ...] | None:
    """The boards the person monitors (NotFound when none: the monitor is not theirs)."""
    with services.uow() as uow:
        boards = monitored_boards(uow.people.assignments_of(username), services.catalogue)
    if boards == ():
        raise NotFound("no such page")
    return boards


def may_monitor(services: Services, username: str) -> bool:
    """True when the person monitors at least one board (the navigation shows the monitor)."""
    with services.uow() as uow:
        return monitored_boards(uow.people.assignments_of(username), services.catalogue) != ()


def _line(case: CaseSummary, now: datetime) -> Line:
    anchor = case.clock_started_at or case.created_at
    running = case.status in ("open", "suspended")
    return Line(case, week_of(anchor, now) if running else None,
                running and case.planned_by is not None and case.planned_by < now,
                running and case.next_due_at is not None and case.next_due_at < now)


def case_list(services: Services, username: str, args: Mapping[str, str]) -> CaseList:
    """A page of the cases the person monitors, as the address's filters ask."""
    boards = monitored(services, username)
    query = query_of(args, boards)
    now = services.clock.now()
    with services.uow() as uow:
        rows, total = uow.monitor.case_page(query, now)
        choices = uow.monitor.choices(boards)
        saved = tuple(uow.monitor.saved_filters(username))
    pages = max(1, -(-total // query.limit))
    return CaseList(tuple(_line(r, now) for r in rows), total, query.offset // query.limit + 1, pages, query,
                    kept_args(args), choices, saved, boards is None)


def export_lines(services: Services, username: str, args: Mapping[str, str]) -> list[Line]:
    """Every case the filters match (up to EXPORT_LIMIT), for an export."""
    boards = monitored(services, username)
    query = replace(query_of(args, boards), offset=0, limit=EXPORT_LIMIT)
    now = services.clock.now()
    with services.uow() as uow:
        rows, _total = uow.monitor.case_page(query, now)
    return [_line(r, now) for r in rows]


def control_row(line: Line, version_label: Mapping[int, str]) -> list[Any]:
    """The exported columns of one case: reference, board, procedure, version, state, step and dates only."""
    c = line.case
    return [c.reference, c.board, c.process_id, version_label.get(c.version_id, str(c.version_id)), c.state,
            c.step or "", line.week if line.week is not None else "", c.planned_week if c.planned_week else "",
            "yes" if line.behind else "", _day(c.next_due_at), _day(c.created_at), _day(c.updated_at),
            c.error_element or ""]


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value is not None else ""


def as_csv(lines: Sequence[Line], version_label: Mapping[int, str]) -> bytes:
    """The lines as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read it as UTF-8)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for line in lines:
        writer.writerow([_cell(v) for v in control_row(line, version_label)])
    return ("\ufeff" + out.getvalue()).encode()


def _cell(value: Any) -> Any:
    """A value safe to open in a spreadsheet: text that starts like a formula is quoted (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def as_xlsx(lines: Sequence[Line], version_label: Mapping[int, str]) -> bytes:
    """The lines as an .xlsx workbook (openpyxl), one sheet, a header row, frozen."""
    from openpyxl import Workbook  # imported here: only exports need it

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Cases"
    sheet.append(list(COLUMNS))
    for line in lines:
        sheet.append([_cell(v) for v in control_row(line, version_label)])
    sheet.freeze_panes = "A2"
    for column, width in zip("ABCDEFGHIJKLM", (16, 18, 18, 12, 11, 40, 6, 8, 7, 11, 11, 11, 18), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def version_labels(services: Services, username: str) -> dict[int, str]:
    """Version id -> "v<n> <hash>" as the list shows versions."""
    boards = monitored(services, username)
    with services.uow() as uow:
        versions = uow.monitor.choices(boards)["versions"]
    return {vid: f"#{vid} {digest[:8]}" for vid, _process, digest, _title in versions}


def save_filter(services: Services, username: str, name: str, args: Mapping[str, str]) -> SavedFilterRecord:
    """Keep the current filters under a name (replacing one of the same name)."""
    monitored(services, username)
    title = " ".join((name or "").split())[:200]
    if not title:
        raise InvalidSubmission([FieldError("name", "Give the filter a name.")])
    with services.uow() as uow:
        record = uow.monitor.save_filter(SavedFilterRecord(None, username, title, urlencode(kept_args(args)),
                                                           services.clock.now()))
        uow.commit()
    return record


def delete_filter(services: Services, username: str, filter_id: int) -> None:
    """Forget one of the person's saved filters (NotFound when it is not theirs)."""
    with services.uow() as uow:
        if not uow.monitor.delete_filter(username, filter_id):
            raise NotFound("no such filter")
        uow.commit()
