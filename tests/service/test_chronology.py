"""The integrated chronology (App. 4): each agency adds or imports its own entries, every row or none; the panel
and authors read them merged in time order with where each came from, differing accounts of one event side by
side; the health sub-merge; the export; undo; audit events that count and never quote."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from openpyxl import Workbook

from engine.authoring.versions import deploy
from engine.casework.cases import start_case
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.documents.chronology import (
    EXPORT_HEADINGS,
    add_entry,
    export_rows,
    import_entries,
    merged,
    undo_import,
)
from engine.errors import InvalidSubmission, NotFound, NotPermitted
from engine.ports import Assignment
from engine.workflow.specs import read_diagrams
from tests.service.conftest import ROOT

ON_CASE = [("dorset.police.imr", "imr_author", "police"), ("dorset.socialcare.imr", "imr_author", "social_care"),
           ("dorset.healthacute.imr", "imr_author", "health_acute"), ("dorset.police.ce", "chief_executive", "police"),
           ("dorset.healthcommissioning.imr", "imr_author", "health_commissioning"),
           ("dorset.overview", "overview_author", None), ("dorset.healthoverview", "health_overview_author", None),
           ("dorset.panelmember", "panel_member", None)]
HEADINGS = ["Date", "Time", "Person", "Entry", "Source document", "Child seen", "Seen alone", "Wishes and feelings",
            "Level", "Account", "Status", "Note", "Event ref"]


@pytest.fixture
def case_id(repository_services: Services) -> int:
    """A Dorset case with IMR authors of four agencies, a chief executive, the overview authors and a panel member."""
    services = repository_services
    deploy(services, read_diagrams([ROOT / "bpmn"]), by="tester")
    case = start_case(services, "dorset", "dorset.referrer")
    assert case.id is not None
    for username, role, agency in ON_CASE:
        assign_role(services, Assignment(username, role, "dorset", case.id, agency))
    return case.id


def xlsx(rows: Sequence[Sequence[object]]) -> bytes:
    """A workbook whose first sheet holds `rows`."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_file(rows: Sequence[Sequence[object]], delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    """`rows` as a CSV file."""
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode(encoding)


def texts(services: Services, username: str, case_id: int, **kwargs: object) -> list[list[str]]:
    """The merged chronology as (agency, entry) per group, the way a reader sees the order."""
    result = merged(services, username, case_id, **kwargs)  # type: ignore[arg-type]
    return [[f"{a.agency_name}: {a.record.entry}" for a in g.accounts] for g in result.groups]


POLICE_ROWS = [
    HEADINGS,
    [datetime(2023, 3, 14, 22, 40), None, "Child A", "Officers attended a report of shouting", "Incident log 4471",
     "yes", "no", "no", "critical", "written", "", "", ""],
    [datetime(2023, 1, 9), None, "Child A", "Referral to children's social care", "Referral form", "no", "no", "no",
     "significant", "written", "", "", ""],
]
SOCIAL_CARE_ROWS = [
    ["Date/time", "Person", "Details", "Source", "Seen", "Seen alone", "Views", "Significance"],
    ["10/01/2023 11:15", "Child A", "Referral received and screened", "Contact record", "n", "n", "n", "significant"],
    ["2023-03-15", "Child A", "Home visit after police notification", "Case note", "y", "y", "y", "significant"],
]


def test_an_imr_author_imports_their_agencys_chronology_from_xlsx_and_it_merges_in_time_order(
        repository_services: Services, case_id: int) -> None:
    services = repository_services
    result = import_entries(services, "dorset.police.imr", case_id, "police", "Police chronology.xlsx",
                            xlsx(POLICE_ROWS))
    assert (result.rows, result.agency, result.levels, result.seen) == (
        2, "police", {"entry": 0, "significant": 1, "critical": 1}, 1)
    import_entries(services, "dorset.socialcare.imr", case_id, "social_care", "sc.csv", csv_file(SOCIAL_CARE_ROWS))
    assert texts(services, "dorset.overview", case_id) == [
        ["Police: Referral to children's social care"],
        ["Children's Services - Social Care: Referral received and screened"],
        ["Police: Officers attended a report of shouting"],
        ["Children's Services - Social Care: Home visit after police notification"],
    ]
    chronology = merged(services, "dorset.panelmember", case_id)
    first = chronology.groups[2].accounts[0]
    assert (first.agency_name, first.source, first.record.seen, first.record.level) == (
        "Police", "Incident log 4471", True, "critical")
    assert first.record.happened_at == datetime(2023, 3, 14, 22, 40, tzinfo=UTC)  # GMT in March: no shift
    assert chronology.agencies == (("police", "Police"), ("social_care", "Children's Services - Social Care"))
    visit = chronology.groups[3].accounts[0].record
    assert (visit.seen, visit.seen_alone, visit.views) == (True, True, True)


def test_a_csv_from_windows_excel_with_semicolons_or_a_bom_is_read(repository_services: Services,
                                                                    case_id: int) -> None:
    services = repository_services
    rows = [["Date", "Time", "Child or adult", "Event", "Source document"],
            ["01/06/2023", "09:30", "Zoë B", "Seen at clinic – weight checked", "GP notes"]]
    import_entries(services, "dorset.healthacute.imr", case_id, "health_acute", "a.CSV",
                   csv_file(rows, ";", "cp1252"))
    import_entries(services, "dorset.healthacute.imr", case_id, "health_acute", "b.csv",
                   csv_file([rows[0], ["02/06/2023", "", "Zoë B", "Follow-up call", "GP notes"]], ",", "utf-8-sig"))
    [visit, call] = merged(services, "dorset.healthacute.imr", case_id, agency="health_acute").groups
    assert visit.accounts[0].record.entry == "Seen at clinic – weight checked"
    assert visit.accounts[0].record.subject == call.accounts[0].record.subject == "Zoë B"
    assert visit.at == datetime(2023, 6, 1, 8, 30, tzinfo=UTC)  # 09:30 British Summer Time


def test_a_bad_row_refuses_the_whole_file_naming_the_row_and_column_not_the_text(repository_services: Services,
                                                                                  case_id: int) -> None:
    services = repository_services
    rows = [["Date", "Entry", "Child seen", "Level", "Status", "Note"],
            ["03/02/2023", "Tayla told the nurse she was hungry", "yes", "entry", "", ""],
            ["31/02/2023", "Tayla missed school", "sometimes", "urgent", "", ""],
            ["", "", "", "", "unsubstantiated", ""]]
    with pytest.raises(InvalidSubmission) as refused:
        import_entries(services, "dorset.police.imr", case_id, "police", "police.xlsx", xlsx(rows))
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("row 3, Date", "is not a date: write dd/mm/yyyy or yyyy-mm-dd, with HH:MM if known."),
        ("row 3, Level", "must be entry, significant or critical."),
        ("row 3, Child seen", "must be yes or no."),
        ("row 4, Date", "is required: when it happened (dd/mm/yyyy, with HH:MM if known)."),
        ("row 4, Entry", "is required: what happened, as the record says."),
        ("row 4, Note", "give the source of this unsubstantiated account (App. 4 1.7)."),
    ]
    said = str(refused.value)
    assert "Tayla" not in said and "sometimes" not in said and "urgent" not in said and "31/02" not in said
    assert merged(services, "dorset.overview", case_id).groups == ()


def test_a_title_row_and_blank_lines_are_passed_over_and_rows_keep_the_spreadsheets_numbers(
        repository_services: Services, case_id: int) -> None:
    services = repository_services
    rows: list[list[object]] = [["Police chronology for the review"], [], ["Date", "Entry"], ["01/02/2023", "One"],
                                [], ["30/02/2023", "Two"]]
    with pytest.raises(InvalidSubmission) as refused:
        import_entries(services, "dorset.police.imr", case_id, "police", "p.xlsx", xlsx(rows))
    assert [e.field for e in refused.value.errors] == ["row 6, Date"]
    rows[5][0] = "28/02/2023"
    assert import_entries(services, "dorset.police.imr", case_id, "police", "p.xlsx", xlsx(rows)).rows == 2


def test_adding_one_entry_checks_every_field_and_an_unsubstantiated_one_needs_its_source(
        repository_services: Services, case_id: int) -> None:
    services = repository_services
    with pytest.raises(InvalidSubmission) as refused:
        add_entry(services, "dorset.police.imr", case_id, "police",
                  {"date": "2023-13-01", "entry": "", "account": "hearsay", "status": "substantiated"})
    assert {e.field for e in refused.value.errors} == {"date", "entry", "account", "status_note"}
    with pytest.raises(InvalidSubmission) as future:
        add_entry(services, "dorset.police.imr", case_id, "police", {"date": "01/01/2031", "entry": "Visit"})
    assert [e.message for e in future.value.errors] == ["is in the future: a chronology records what has happened."]
    record = add_entry(services, "dorset.police.imr", case_id, "police", {
        "date": "05/05/2023 14:00", "entry": "Neighbour reported a child crying", "account": "Verbal",
        "status": "unsubstantiated", "status_note": "Neighbour, by telephone, not corroborated", "seen": "on"})
    assert (record.account, record.status, record.seen, record.created_by) == (
        "verbal", "unsubstantiated", True, "dorset.police.imr")
    assert record.happened_at == datetime(2023, 5, 5, 13, 0, tzinfo=UTC)


def test_conflicting_accounts_of_one_event_are_shown_side_by_side(repository_services: Services,
                                                                   case_id: int) -> None:
    services = repository_services
    add = add_entry
    add(services, "dorset.police.imr", case_id, "police",
        {"date": "14/03/2023 22:40", "entry": "Mother said the child fell down the stairs", "event": "E7"})
    add(services, "dorset.healthacute.imr", case_id, "health_acute",
        {"date": "15/03/2023 01:10", "entry": "Mother said the child fell from a bunk bed", "event": "e7",
         "seen": "yes"})
    add(services, "dorset.socialcare.imr", case_id, "social_care",
        {"date": "20/03/2023 10:00", "subject": "Child A", "entry": "Strategy discussion held."})
    add(services, "dorset.police.imr", case_id, "police",
        {"date": "20/03/2023 10:05", "subject": "child a", "entry": "Strategy discussion held"})
    add(services, "dorset.police.imr", case_id, "police",
        {"date": "21/03/2023 09:00", "subject": "Child A", "entry": "Crime report filed"})
    add(services, "dorset.police.imr", case_id, "police",
        {"date": "21/03/2023 15:00", "subject": "Child A", "entry": "Officer in the case appointed"})
    chronology = merged(services, "dorset.overview", case_id)
    fall, strategy, *singles = chronology.groups
    assert [a.agency_name for a in fall.accounts] == ["Police", "Health - acute hospital trust"]
    assert fall.side_by_side and fall.conflicting and fall.event == "E7"
    assert fall.differing == ("entry", "time", "seen")
    assert strategy.side_by_side and not strategy.conflicting  # the same account from two agencies agrees
    assert [len(g.accounts) for g in singles] == [1, 1]  # one agency's two entries of a day are two entries
    assert chronology.conflicts == 1 and chronology.entries == 6
    exported = export_rows(chronology)
    assert [row[2] for row in exported[1:3]] == ["Police", "Health - acute hospital trust"]
    assert [row[-1] for row in exported[1:]] == ["yes", "yes", "no", "no", "", ""]


def test_the_health_sub_merge_has_health_agencies_only(repository_services: Services, case_id: int) -> None:
    services = repository_services
    for username, agency in [("dorset.police.imr", "police"), ("dorset.healthacute.imr", "health_acute"),
                             ("dorset.healthcommissioning.imr", "health_commissioning")]:
        add_entry(services, username, case_id, agency, {"date": "01/02/2023", "entry": f"{agency} entry"})
    health = merged(services, "dorset.healthoverview", case_id, health_only=True)
    assert health.health_only
    assert [code for code, _name in health.agencies] == ["health_acute", "health_commissioning"]
    assert len(merged(services, "dorset.healthoverview", case_id).groups) == 3


def test_another_agencys_author_cannot_read_or_add(repository_services: Services, case_id: int) -> None:
    services = repository_services
    add_entry(services, "dorset.police.imr", case_id, "police", {"date": "01/02/2023", "entry": "Police entry"})
    with pytest.raises(NotPermitted):
        merged(services, "dorset.socialcare.imr", case_id, agency="police")
    with pytest.raises(NotPermitted):
        merged(services, "dorset.socialcare.imr", case_id)  # the merge of every agency is the panel's
    with pytest.raises(NotPermitted):
        add_entry(services, "dorset.socialcare.imr", case_id, "police", {"date": "01/02/2023", "entry": "x"})
    with pytest.raises(NotPermitted):
        import_entries(services, "dorset.socialcare.imr", case_id, "police", "p.xlsx", xlsx(POLICE_ROWS))
    with pytest.raises(NotFound):  # not on this case at all
        merged(services, "dorset.education.imr", case_id, agency="education")
    with pytest.raises(NotFound):  # another board's author
        add_entry(services, "bp.police.imr", case_id, "police", {"date": "01/02/2023", "entry": "x"})
    assert texts(services, "dorset.police.ce", case_id, agency="police") == [["Police: Police entry"]]


def test_the_lscb_administrator_adds_for_any_agency_and_the_panel_only_reads(repository_services: Services,
                                                                              case_id: int) -> None:
    services = repository_services
    import_entries(services, "dorset.admin", case_id, "education", "education.xlsx", xlsx(POLICE_ROWS))
    assert len(merged(services, "dorset.admin", case_id).groups) == 2
    with pytest.raises(NotPermitted):
        add_entry(services, "dorset.panelmember", case_id, "police", {"date": "01/02/2023", "entry": "x"})
    with pytest.raises(InvalidSubmission) as unknown:
        add_entry(services, "dorset.admin", case_id, "the_moon", {"date": "01/02/2023", "entry": "x"})
    assert [e.field for e in unknown.value.errors] == ["agency"]


def test_an_import_is_undone_whole(repository_services: Services, case_id: int) -> None:
    services = repository_services
    add_entry(services, "dorset.police.imr", case_id, "police", {"date": "01/12/2022", "entry": "Typed in"})
    first = import_entries(services, "dorset.police.imr", case_id, "police", "p.xlsx", xlsx(POLICE_ROWS))
    second = import_entries(services, "dorset.police.imr", case_id, "police", "p2.xlsx", xlsx(POLICE_ROWS))
    assert first.batch != second.batch
    with pytest.raises(NotPermitted):
        undo_import(services, "dorset.socialcare.imr", case_id, first.batch)
    assert undo_import(services, "dorset.police.imr", case_id, first.batch) == 2
    assert len(merged(services, "dorset.overview", case_id).groups) == 3
    with pytest.raises(NotFound):
        undo_import(services, "dorset.police.imr", case_id, first.batch)


def test_audit_events_count_rows_and_name_the_agency_but_carry_no_entry_text(repository_services: Services,
                                                                             case_id: int) -> None:
    services = repository_services
    result = import_entries(services, "dorset.police.imr", case_id, "police", "Child A chronology.xlsx",
                            xlsx(POLICE_ROWS))
    add_entry(services, "dorset.police.imr", case_id, "police", {"date": "02/02/2023", "entry": "Tayla seen"})
    undo_import(services, "dorset.police.imr", case_id, result.batch)
    with services.uow() as uow:
        events = [e for e in uow.events.for_case(case_id) if e.kind.startswith("chronology_")]
    assert [(e.kind, e.detail["agency"], e.detail["rows"]) for e in events] == [
        ("chronology_imported", "police", 2), ("chronology_entry_added", "police", 1),
        ("chronology_import_undone", "police", 2)]
    said = repr(events)
    assert "Tayla" not in said and "shouting" not in said and "Child A" not in said and "4471" not in said


def test_a_file_too_large_too_long_or_of_another_kind_is_refused_with_a_clear_message(
        repository_services: Services, case_id: int) -> None:
    services = repository_services

    def refusal(filename: str, data: bytes) -> str:
        with pytest.raises(InvalidSubmission) as refused:
            import_entries(services, "dorset.police.imr", case_id, "police", filename, data)
        return str(refused.value)

    assert "larger than 10 MB" in refusal("big.csv", b"Date,Entry\n" + b"x" * (10 * 1024 * 1024))
    long = csv_file([["Date", "Entry"]] + [["01/01/2023", "entry"]] * 20_001)
    assert "more than 20,000 entries" in refusal("long.csv", long)
    assert "save it as .xlsx" in refusal("old.xls", b"\xd0\xcf\x11\xe0")
    assert "cannot be read as an .xlsx" in refusal("fake.xlsx", b"PK\x03\x04 not really")
    assert "No heading row names the Date and Entry" in refusal("x.csv", csv_file([["When?", "What?"], ["a", "b"]]))
    assert merged(services, "dorset.overview", case_id).groups == ()


def test_the_export_has_the_app_4_headings_first_and_reads_back_in(repository_services: Services,
                                                                    case_id: int) -> None:
    services = repository_services
    import_entries(services, "dorset.police.imr", case_id, "police", "p.xlsx", xlsx(POLICE_ROWS))
    rows = export_rows(merged(services, "dorset.overview", case_id))
    assert rows[0] == EXPORT_HEADINGS
    assert rows[1][:8] == ["09/01/2023", "", "Police", "Child A", "Referral to children's social care",
                           "Referral form", "written", "significant"]
    assert rows[2][:2] == ["14/03/2023", "22:40"] and rows[2][8] == "yes"
    again = import_entries(services, "dorset.admin", case_id, "education", "export.csv", csv_file(rows))
    assert again.rows == 2 and again.ignored_columns == ("Agency", "Differing accounts")


def test_five_thousand_entries_of_ten_agencies_merge_in_time_order_with_one_event_told_ten_times(
        repository_services: Services, case_id: int) -> None:
    services = repository_services
    agencies = [code for code in services.catalogue.agencies][:10]
    for n, agency in enumerate(agencies):
        rows = [["Date", "Time", "Person", "Entry", "Event ref"]] + [
            [f"{1 + i % 28:02d}/{1 + i % 12:02d}/{2015 + i % 8}", f"{i % 24:02d}:{n:02d}", f"Person {i % 7}",
             f"Entry {i} of {agency}", f"E{i}" if i % 50 == 0 else ""] for i in range(500)]
        import_entries(services, "dorset.admin", case_id, agency, f"{agency}.csv", csv_file(rows))
    chronology = merged(services, "dorset.overview", case_id)  # how fast: tests/bench/pack.py reads 5,000 entries
    rows = export_rows(chronology)
    assert chronology.entries == 5_000 and len(rows) == 5_001
    assert [g.at for g in chronology.groups] == sorted(g.at for g in chronology.groups)
    assert any(g.event == "E0" and len(g.accounts) == 10 for g in chronology.groups)
