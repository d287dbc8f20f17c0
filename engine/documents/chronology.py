"""The integrated chronology (App. 4): each agency's entries, added one at a time or imported whole from a
spreadsheet, merged in time order with their provenance, accounts of one event side by side, the health sub-merge,
and the rows of its export.

Who may do what: a holder of an agency-scoped role on the case (or its board) adds, imports and reads the entries
of that agency only; holders of a `reads_case_file` role read the merged chronology of every agency; whoever keeps
the board's keys (the LSCB administrator, 7.4) may also add and import for any agency (App. 4: "merged by the LSCB
administrator"). Someone who cannot see the case is told NotFound; someone who can but may not do this, NotPermitted.
Audit events count rows and name the agency, never a person or anything written.

Gap decisions:
- gap 27 ("Chronology.xls" is not supplied, its columns unknown): the columns are App. 4's own words (1.1 level,
  1.4 person, 1.5/1.8 written or verbal account, 1.6 accounts of one event, 1.7 substantiated (how) or
  unsubstantiated (source), 1.8 every occasion the child was seen and their wishes and feelings sought or
  expressed) plus App. 5's "seen alone"; imports take .csv and .xlsx (the old binary .xls is refused with a
  request to save it as .xlsx), and match headings by a few synonyms so agencies' own sheets need little editing.
- gap 28 (each review picks its chronology format, 14.3-14.4): every column but the date and the entry is
  optional on import, so a review that asks only for significant events or critical incidents (1.1) imports them
  as they are.
- 1.6 without corroboration, differing accounts are shown side by side: accounts carrying the same event
  reference are one event; without a reference, entries of the same day about the same named person from
  different agencies are taken to be accounts of one event (entries naming nobody are never grouped).
- the integrated health chronology (8.5, 14.8; PROCESS.md A.4 "Integrated health chronology") is the merge of
  the agencies agencies.json marks `"health": true`; the designated health professional reads it through their
  `reads_case_file` role. No gap is numbered for this.
- a date without a time is taken as the start of that day in the board's zone; its export leaves the time blank.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from engine.casework.access import readable_case, reads_case_file
from engine.casework.services import Services
from engine.documents.keys import keeps_key
from engine.errors import FieldError, InvalidSubmission, NotFound, NotPermitted
from engine.ports import Assignment, CaseRecord, ChronologyRecord, EventRow, UnitOfWork
from engine.workflow.catalogue import Catalogue

LOCAL = ZoneInfo("Europe/London")  # dates without an offset are read here (the web layer passes SCR_TIME_ZONE)
MAX_ROWS = 20_000
MAX_BYTES = 10 * 1024 * 1024
MAX_ERRORS = 50  # a file refused for many rows lists this many and counts the rest
HEADING_SEARCH = 10  # the heading row may follow a title row or two

ACCOUNTS = ("written", "verbal")
LEVELS = ("entry", "significant", "critical")
STATUSES = ("", "substantiated", "unsubstantiated")
FLAGS = ("seen", "seen_alone", "views")
LIMITS = {"subject": 200, "source": 300, "event": 100, "entry": 20_000, "status_note": 5_000}
YES = {"yes", "y", "true", "1", "x", "on", "\u2713"}
NO = {"no", "n", "false", "0", ""}
WORDS = {
    "account": {"written": "written", "written record": "written", "record": "written", "verbal": "verbal",
                "verbal account": "verbal", "oral": "verbal", "oral account": "verbal"},
    "level": {"entry": "entry", "file entry": "entry", "all file entries": "entry", "significant": "significant",
              "significant event": "significant", "critical": "critical", "critical incident": "critical"},
    "status": {"": "", "substantiated": "substantiated", "yes": "substantiated", "unsubstantiated": "unsubstantiated",
               "no": "unsubstantiated", "not substantiated": "unsubstantiated"},
}
CHOICES = {"account": "written or verbal", "level": "entry, significant or critical",
           "status": "substantiated, unsubstantiated or left blank"}


@dataclass(frozen=True)
class Column:
    """One App. 4 column: the field it fills, its heading in exports and the headings read as it on import."""

    field: str
    heading: str
    synonyms: tuple[str, ...] = ()


COLUMNS = (
    Column("date", "Date", ("date/time", "date and time", "date time", "datetime", "when")),
    Column("time", "Time"),
    Column("subject", "Person", ("subject", "child or adult", "child/adult", "person's name")),
    Column("entry", "Entry", ("event", "details", "description", "what happened")),
    Column("source", "Source document", ("source", "document", "source of information")),
    Column("account", "Account", ("written or verbal", "written/verbal")),
    Column("level", "Level", ("significance",)),
    Column("seen", "Child seen", ("seen",)),
    Column("seen_alone", "Seen alone", ("child seen alone",)),
    Column("views", "Wishes and feelings", ("views", "child's views", "wishes and feelings sought or expressed",
                                            "child's wishes and feelings")),
    Column("status", "Status", ("substantiated", "substantiated or unsubstantiated", "substantiated?")),
    Column("status_note", "Note", ("notes", "status note", "how substantiated or source")),
    Column("event", "Event ref", ("event reference", "event ref.", "ref", "event id")),
)
HEADING = {c.field: c.heading for c in COLUMNS}
EXPORT_HEADINGS = ["Date", "Time", "Agency", "Person", "Entry", "Source document", "Account", "Level", "Child seen",
                   "Seen alone", "Wishes and feelings", "Status", "Note", "Event ref", "Differing accounts"]


def _fold(text: str) -> str:
    """Text compared without case, curly quotes, runs of spaces or trailing punctuation."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").casefold()
    return " ".join(text.split()).strip(" .:*")


COLUMN_OF = {_fold(name): c.field for c in COLUMNS for name in (c.heading, *c.synonyms)}


# ------------------------------------------------------------------------------------------------ results

@dataclass(frozen=True)
class ImportResult:
    """What one import added: its batch (for undo) and counts, never content."""

    batch: str
    agency: str
    rows: int
    levels: Mapping[str, int]
    seen: int
    verbal: int
    ignored_columns: tuple[str, ...]  # headings of the file read as no App. 4 column


@dataclass(frozen=True)
class Account:
    """One agency's entry in the merge, with its provenance."""

    record: ChronologyRecord
    agency_name: str

    @property
    def source(self) -> str:
        """The source document the entry came from."""
        return self.record.source


@dataclass(frozen=True)
class Group:
    """One line of the merged chronology: an entry, or the accounts of one event side by side (App. 4 1.6)."""

    at: datetime
    accounts: tuple[Account, ...]
    event: str = ""  # the shared event reference ("" for an entry alone or accounts grouped by day and person)
    differing: tuple[str, ...] = ()  # what the accounts differ on: entry, time, seen, seen_alone, views

    @property
    def side_by_side(self) -> bool:
        """True when more than one account of the event is shown together."""
        return len(self.accounts) > 1

    @property
    def conflicting(self) -> bool:
        """True when the accounts' texts differ (disputed facts, App. 4 1.6)."""
        return "entry" in self.differing


@dataclass(frozen=True)
class Merged:
    """A case's chronology as one reads it: every readable agency's entries in time order, grouped by event."""

    case: CaseRecord
    groups: tuple[Group, ...]
    agencies: tuple[tuple[str, str], ...]  # (code, name) of the agencies with entries, in first-entry order
    health_only: bool
    zone: tzinfo

    @property
    def entries(self) -> int:
        """How many entries the merge holds."""
        return sum(len(g.accounts) for g in self.groups)

    @property
    def conflicts(self) -> int:
        """How many events have differing accounts."""
        return sum(1 for g in self.groups if g.conflicting)


# ------------------------------------------------------------------------------------------------ access

def _on_case(assignment: Assignment, case: CaseRecord) -> bool:
    """True when the assignment is on this case or board-wide on its board."""
    return assignment.case_id == case.id or (assignment.case_id is None and assignment.board == case.board)


def _speaks_for(assignments: Sequence[Assignment], case: CaseRecord, agency: str, catalogue: Catalogue) -> bool:
    """True when the person holds an agency-scoped role on the case for this agency."""
    return any(_on_case(a, case) and a.agency == agency and (r := catalogue.role(a.role)) is not None
               and r.agency_scoped for a in assignments)


def _writable_case(services: Services, uow: UnitOfWork, username: str, case_id: int, agency: str) -> CaseRecord:
    """The case, if the person may add entries for `agency` (NotFound, NotPermitted, InvalidSubmission)."""
    case = readable_case(uow, case_id, username)
    if agency not in services.catalogue.agencies:
        raise InvalidSubmission([FieldError("agency", "Choose one of the agencies of the catalogue.")])
    assignments = uow.people.assignments_of(username)
    if not (_speaks_for(assignments, case, agency, services.catalogue)
            or keeps_key(services, uow, username, case.board)):
        raise NotPermitted(f"Only {services.catalogue.agency_name(agency)}'s own people on this case, or the LSCB "
                           "administrator, add to its chronology.")
    return case


def _readable(services: Services, uow: UnitOfWork, username: str, case_id: int, agency: str | None) -> CaseRecord:
    """The case, if the person may read the chronology of `agency` (None: of every agency)."""
    case = readable_case(uow, case_id, username)
    if not reads_case_file(uow.people.assignments_of(username), case.board, case.id or 0, agency, services.catalogue):
        raise NotPermitted("You may read the chronology of your own agency on this case only." if agency is None
                           else "You may not read this agency's chronology.")
    return case


def chronology_access(services: Services, username: str, case_id: int) -> tuple[bool, tuple[str, ...], bool]:
    """What the person may do with the case's chronology: read every agency's (the merge), the agencies they add
    for (their own; every agency for the LSCB administrator), and whether they keep the key (so export)."""
    with services.uow() as uow:
        case = readable_case(uow, case_id, username)
        assignments = uow.people.assignments_of(username)
        keeper = keeps_key(services, uow, username, case.board)
        everything = reads_case_file(assignments, case.board, case.id or 0, None, services.catalogue)
        own = sorted({a.agency for a in assignments if a.agency and _speaks_for(assignments, case, a.agency,
                                                                              services.catalogue)})
    writes = tuple(services.catalogue.agencies) if keeper else tuple(own)
    return everything, writes, keeper


# ------------------------------------------------------------------------------------------------ values

_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_YMD = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_HM = re.compile(r"(\d{1,2})[:.](\d{2})(?::(\d{2})(?:\.\d+)?)?")
_DATE_TIME = re.compile(rf"(?P<date>{_DMY.pattern}|{_YMD.pattern})(?:(?:\s+|T)(?P<time>{_HM.pattern}))?")


def _text(value: object) -> str:
    """A cell or field as trimmed text (numbers without a needless '.0')."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _clock_time(text: str) -> time | None:
    """HH:MM (or HH:MM:SS) as a time, None when it is not one."""
    match = _HM.fullmatch(text)
    if not match:
        return None
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    return time(hours, minutes, seconds) if hours < 24 and minutes < 60 and seconds < 60 else None


def _calendar_date(text: str) -> date | None:
    """dd/mm/yyyy (or with - or .) or yyyy-mm-dd as a date, None when it is not one."""
    try:
        if match := _YMD.fullmatch(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _DMY.fullmatch(text):
            return date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        return None
    return None


def _date_and_time(value: object) -> tuple[date, time | None] | None:
    """A date cell or field as (date, time if given), None when it is not a date."""
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=None)
        return moment.date(), (moment.time() if moment.time() != time(0) else None)
    if isinstance(value, date):
        return value, None
    match = _DATE_TIME.fullmatch(_text(value))
    if not match:
        return None
    day = _calendar_date(match["date"])
    at = _clock_time(match["time"]) if match["time"] else None
    if day is None or (match["time"] and at is None):
        return None
    return day, at


def _time_of(value: object) -> time | None | str:
    """A time cell or field: a time, None when blank, 'bad' when it is not a time."""
    if isinstance(value, datetime):
        return value.time()
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    text = _text(value)
    if not text:
        return None
    return _clock_time(text) or "bad"


def _flag(value: object) -> bool | None:
    """yes/no/true/false/y/n/1/0/x (blank is no) as a bool, None when it is none of these."""
    text = _fold(_text(value))
    return True if text in YES else False if text in NO else None


def _validated(values: Mapping[str, object], label: Mapping[str, str], zone: tzinfo, now: datetime
               ) -> tuple[dict[str, object], list[FieldError]]:
    """The fields of one entry checked and converted; each problem as a FieldError named by `label[field]`."""
    errors: list[FieldError] = []
    out: dict[str, object] = {}

    def bad(field: str, message: str) -> None:
        errors.append(FieldError(label.get(field, field), message))

    when = values.get("date")
    parsed = _date_and_time(when) if _text(when) else None
    at = _time_of(values.get("time"))
    if not _text(when):
        bad("date", "is required: when it happened (dd/mm/yyyy, with HH:MM if known).")
    elif parsed is None:
        bad("date", "is not a date: write dd/mm/yyyy or yyyy-mm-dd, with HH:MM if known.")
    if at == "bad":
        bad("time", "is not a time: write HH:MM.")
    if parsed is not None and at != "bad":
        day, clock = parsed
        local = datetime.combine(day, at if isinstance(at, time) else clock or time(0), tzinfo=zone)
        if day.year < 1900:
            bad("date", "is before 1900: check the year.")
        elif local.astimezone(UTC) > now + timedelta(days=1):
            bad("date", "is in the future: a chronology records what has happened.")
        else:
            out["happened_at"] = local.astimezone(UTC)
    for field in ("entry", "subject", "source", "event", "status_note"):
        out[field] = _text(values.get(field))
        if len(str(out[field])) > LIMITS[field]:
            bad(field, f"is longer than {LIMITS[field]:,} characters.")
    if not out["entry"]:
        bad("entry", "is required: what happened, as the record says.")
    for field, default in (("account", "written"), ("level", "entry"), ("status", "")):
        given = _fold(_text(values.get(field)))
        word = WORDS[field].get(given) if given else default
        if word is None:
            bad(field, f"must be {CHOICES[field]}.")
        out[field] = word or default
    for field in FLAGS:
        flag = _flag(values.get(field))
        if flag is None:
            bad(field, "must be yes or no.")
        out[field] = bool(flag)
    if out["status"] == "substantiated" and not out["status_note"]:
        bad("status_note", "say how this was substantiated (App. 4 1.7).")
    if out["status"] == "unsubstantiated" and not out["status_note"]:
        bad("status_note", "give the source of this unsubstantiated account (App. 4 1.7).")
    return out, errors


def _record(case: CaseRecord, agency: str, checked: Mapping[str, object], batch: str, username: str,
            now: datetime) -> ChronologyRecord:
    """A new entry from checked fields."""
    fields = {k: v for k, v in checked.items() if k in ChronologyRecord.__dataclass_fields__}
    return ChronologyRecord(id=None, case_id=case.id or 0, agency=agency, batch=batch, created_by=username,
                            created_at=now, **fields)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ adding one

def add_entry(services: Services, username: str, case_id: int, agency: str, fields: Mapping[str, str], *,
              zone: tzinfo = LOCAL) -> ChronologyRecord:
    """Add one entry to an agency's chronology; InvalidSubmission lists every bad field."""
    now = services.clock.now()
    with services.uow() as uow:
        case = _writable_case(services, uow, username, case_id, agency)
        checked, errors = _validated(fields, {}, zone, now)
        if errors:
            raise InvalidSubmission(errors)
        record = _record(case, agency, checked, "", username, now)
        uow.documents.add_entries([record])
        uow.events.append(EventRow(case.id, now, "chronology_entry_added", username,
                                   {"agency": agency, "rows": 1, "level": record.level}))
        uow.commit()
    return record


# ------------------------------------------------------------------------------------------------ importing

def _refused(message: str) -> InvalidSubmission:
    """A refusal of the whole file."""
    return InvalidSubmission([FieldError("file", message)])


def _decoded(data: bytes) -> str:
    """CSV bytes as text: UTF-8 with or without its BOM, UTF-16 with its BOM, else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise _refused("The file is not text in UTF-8 or Windows-1252: save it again as CSV (UTF-8).") from None


Rows = list[tuple[int, list[object]]]  # (row number as the spreadsheet shows it, cells) of the rows not blank


def _kept(rows: Rows, number: int, row: Sequence[object]) -> bool:
    """Keep a row that is not blank; False once more rows are kept than any file may have (the file is refused
    for its length, so nothing is ever dropped unnoticed)."""
    if any(_text(v) for v in row):
        rows.append((number, list(row)))
    return len(rows) <= MAX_ROWS + HEADING_SEARCH


def _csv_rows(data: bytes) -> Rows:
    """The rows of a CSV file (comma, semicolon or tab separated) that are not blank."""
    text = _decoded(data)
    first = text[:4096].split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    rows: Rows = []
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            if not _kept(rows, number, row):
                break
    except csv.Error:
        raise _refused("The file cannot be read as CSV: save it again from the spreadsheet as CSV.") from None
    return rows


def _xlsx_rows(data: bytes) -> Rows:
    """The rows of an .xlsx workbook's first sheet (values, not formulas) that are not blank."""
    from openpyxl import load_workbook  # imported here: only imports need it

    rows: Rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it does not read
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # a zip that is not a workbook, a broken part, ...: all are "cannot be read"
            raise _refused("The file cannot be read as an .xlsx workbook: save it again from the spreadsheet as "
                           ".xlsx.") from None
        try:
            if not book.worksheets:
                raise _refused("The workbook has no sheet.")
            for number, row in enumerate(book.worksheets[0].iter_rows(min_row=1, values_only=True), start=1):
                if not _kept(rows, number, row):
                    break
        except InvalidSubmission:
            raise
        except Exception:
            raise _refused("The workbook's first sheet cannot be read: save it again from the spreadsheet as "
                           ".xlsx.") from None
        finally:
            book.close()
    return rows


def _table(filename: str, data: bytes) -> Rows:
    """The rows of an uploaded file, told by its name; refused when too large or of another kind."""
    if len(data) > MAX_BYTES:
        raise _refused(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB: split it (by person or by "
                       "period) and import each part.")
    name = filename.lower()
    if name.endswith(".csv"):
        return _csv_rows(data)
    if name.endswith(".xlsx"):
        return _xlsx_rows(data)
    if name.endswith(".xls"):
        raise _refused("Old Excel (.xls) files are not read: save it as .xlsx (Excel Workbook) and import that.")
    raise _refused("Import a .csv or .xlsx file.")


def _heading_row(rows: Rows) -> int:
    """The index of the heading row: the first of the opening rows naming both the date and the entry."""
    for index, (_number, row) in enumerate(rows[:HEADING_SEARCH]):
        fields = {COLUMN_OF.get(_fold(_text(v))) for v in row}
        if {"date", "entry"} <= fields:
            return index
    wanted = ", ".join(c.heading for c in COLUMNS)
    raise _refused(f"No heading row names the Date and Entry columns. The first row should name the columns: "
                   f"{wanted}.")


def _columns(headings: Sequence[object]) -> tuple[dict[int, str], dict[str, str], tuple[str, ...]]:
    """Which column fills which field, each field's heading as the file writes it, and headings read as none."""
    by_index: dict[int, str] = {}
    label: dict[str, str] = {}
    ignored: list[str] = []
    for index, value in enumerate(headings):
        heading = _text(value)
        field = COLUMN_OF.get(_fold(heading))
        if field is None:
            if heading:
                ignored.append(heading)
            continue
        if field in label:
            raise _refused(f"The columns {label[field]!r} and {heading!r} are both read as {HEADING[field]}: "
                           "keep one.")
        by_index[index] = field
        label[field] = heading
    return by_index, label, tuple(ignored)


def _parsed(rows: Rows, zone: tzinfo, now: datetime) -> tuple[list[dict[str, object]], tuple[str, ...]]:
    """Every data row checked (all-or-nothing): the entries' fields and the ignored headings, or InvalidSubmission
    naming each bad row and column, never what the cell says."""
    top = _heading_row(rows)
    by_index, label, ignored = _columns(rows[top][1])
    body = rows[top + 1:]
    if len(body) > MAX_ROWS:
        raise _refused(f"The file has more than {MAX_ROWS:,} entries: split it (by person or by period) and import "
                       "each part.")
    if not body:
        raise _refused("The file has no entries under its heading row.")
    entries: list[dict[str, object]] = []
    errors: list[FieldError] = []
    problems = 0
    for number, row in body:
        values = {field: row[index] if index < len(row) else None for index, field in by_index.items()}
        where = {f: f"row {number}, {label.get(f) or label.get('date' if f == 'time' else f, HEADING[f])}"
                 for f in HEADING}
        checked, found = _validated(values, where, zone, now)
        problems += len(found)
        errors += found[:max(0, MAX_ERRORS - len(errors))]
        entries.append(checked)
    if problems:
        if problems > len(errors):
            errors.append(FieldError("file", f"and {problems - len(errors)} more problems; nothing was imported."))
        raise InvalidSubmission(errors)
    return entries, ignored


def import_entries(services: Services, username: str, case_id: int, agency: str, filename: str, data: bytes, *,
                   zone: tzinfo = LOCAL) -> ImportResult:
    """Import an agency's chronology from .csv or .xlsx: every row or none (InvalidSubmission naming rows and
    columns), as a new batch that `undo_import` removes whole."""
    now = services.clock.now()
    with services.uow() as uow:
        case = _writable_case(services, uow, username, case_id, agency)
        entries, ignored = _parsed(_table(filename, data), zone, now)
        batch = uuid.uuid4().hex
        records = [_record(case, agency, checked, batch, username, now) for checked in entries]
        uow.documents.add_entries(records)
        levels = Counter(r.level for r in records)
        result = ImportResult(batch, agency, len(records), {lv: levels.get(lv, 0) for lv in LEVELS},
                              sum(r.seen for r in records), sum(r.account == "verbal" for r in records), ignored)
        uow.events.append(EventRow(case.id, now, "chronology_imported", username, {
            "agency": agency, "batch": batch, "rows": result.rows, "levels": dict(result.levels),
            "format": filename.lower().rsplit(".", 1)[-1], "ignored_columns": len(ignored)}))
        uow.commit()
    return result


def undo_import(services: Services, username: str, case_id: int, batch: str) -> int:
    """Remove every entry one import added (NotFound when there is no such import); how many."""
    now = services.clock.now()
    with services.uow() as uow:
        readable_case(uow, case_id, username)
        agencies = {r.agency for r in uow.documents.chronology(case_id) if batch and r.batch == batch}
        if not agencies:
            raise NotFound("no such import")
        for agency in sorted(agencies):
            _writable_case(services, uow, username, case_id, agency)
        removed = uow.documents.delete_batch(case_id, batch)
        uow.events.append(EventRow(case_id, now, "chronology_import_undone", username,
                                   {"agency": sorted(agencies)[0], "batch": batch, "rows": removed}))
        uow.commit()
    return removed


# ------------------------------------------------------------------------------------------------ merging

def _same(text: str) -> str:
    """An entry's text as compared between accounts."""
    return " ".join(text.casefold().split()).rstrip(".")


def _key(record: ChronologyRecord, zone: tzinfo) -> tuple[str, str, str] | None:
    """What puts an entry with others: its event reference, else its day and named person, else nothing."""
    if record.event.strip():
        return ("event", _fold(record.event), "")
    person = _fold(record.subject)
    if person:
        return ("day", record.happened_at.astimezone(zone).date().isoformat(), person)
    return None


def _differing(accounts: Sequence[Account]) -> tuple[str, ...]:
    """What the accounts of one event differ on."""
    records = [a.record for a in accounts]
    checks = {"entry": lambda r: _same(r.entry), "time": lambda r: r.happened_at, "seen": lambda r: r.seen,
              "seen_alone": lambda r: r.seen_alone, "views": lambda r: r.views}
    return tuple(name for name, of in checks.items() if len({of(r) for r in records}) > 1)


def merge(records: Sequence[ChronologyRecord], catalogue: Catalogue, zone: tzinfo = LOCAL) -> tuple[Group, ...]:
    """Entries in time order, accounts of one event together at the first of them (App. 4 1.6): all entries with
    one event reference, or, without one, the same day's entries about the same person from two or more agencies."""
    ordered = sorted(records, key=lambda r: (r.happened_at, r.agency, r.id or 0))
    names = {code: catalogue.agency_name(code) for code in {r.agency for r in ordered}}
    keys = [_key(r, zone) for r in ordered]
    buckets: dict[tuple[str, str, str], list[ChronologyRecord]] = {}
    for record, key in zip(ordered, keys, strict=True):
        if key is not None:
            buckets.setdefault(key, []).append(record)
    together = {key for key, members in buckets.items()
                if len(members) > 1 and (key[0] == "event" or len({m.agency for m in members}) > 1)}
    groups: list[Group] = []
    for record, key in zip(ordered, keys, strict=True):
        if key in together:
            assert key is not None
            members = buckets[key]
            if members[0] is not record:
                continue
            accounts = tuple(Account(m, names[m.agency]) for m in members)
            groups.append(Group(record.happened_at, accounts, record.event.strip() if key[0] == "event" else "",
                                _differing(accounts)))
        else:
            groups.append(Group(record.happened_at, (Account(record, names[record.agency]),), record.event.strip()))
    return tuple(groups)


def _health(catalogue: Catalogue, code: str) -> bool:
    """True when agencies.json marks the agency as a health agency."""
    entry = catalogue.agencies.get(code)
    return bool(entry.get("health")) if isinstance(entry, Mapping) else False


def merged(services: Services, username: str, case_id: int, *, health_only: bool = False,
           agency: str | None = None, zone: tzinfo = LOCAL) -> Merged:
    """The case's chronology merged across agencies (of one `agency` when given: what its own people read), with
    provenance and accounts of one event side by side; `health_only` gives the integrated health chronology."""
    with services.uow() as uow:
        case = _readable(services, uow, username, case_id, agency)
        records = uow.documents.chronology(case_id, agency)
    if health_only:
        records = [r for r in records if _health(services.catalogue, r.agency)]
    groups = merge(records, services.catalogue, zone)
    seen = dict.fromkeys(a.record.agency for g in groups for a in g.accounts)
    return Merged(case, groups, tuple((code, services.catalogue.agency_name(code)) for code in seen), health_only,
                  zone)


# ------------------------------------------------------------------------------------------------ export

def _yes(flag: bool) -> str:
    """A flag as the export writes it."""
    return "yes" if flag else ""


def export_rows(merged: Merged) -> list[list[str]]:
    """The merged chronology as rows under the App. 4 headings: one row per account, the accounts of one event
    next to each other, marked when they differ."""
    rows = [list(EXPORT_HEADINGS)]
    for group in merged.groups:
        differing = ("yes" if group.conflicting else "no") if group.side_by_side else ""
        for account in group.accounts:
            r = account.record
            local = r.happened_at.astimezone(merged.zone)
            rows.append([f"{local:%d/%m/%Y}", "" if local.time() == time(0) else f"{local:%H:%M}", account.agency_name,
                         r.subject, r.entry, r.source, r.account, r.level, _yes(r.seen), _yes(r.seen_alone),
                         _yes(r.views), r.status, r.status_note, r.event, differing])
    return rows


__all__ = ["COLUMNS", "EXPORT_HEADINGS", "Account", "Group", "ImportResult", "Merged", "add_entry",
           "chronology_access", "export_rows",
           "import_entries", "merge", "merged", "undo_import"]
