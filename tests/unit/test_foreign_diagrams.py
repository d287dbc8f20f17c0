"""Diagrams from other modelers through `run.py check-diagram`, one file per call, with the procedures deployed.

The corpus (tests/fixtures/foreign/) is hand-written in the shapes Camunda Modeler 5 (Camunda 7 and 8), the bpmn.io
demo, Signavio, Bizagi, Activiti, Flowable and spiff-arena export. Each check judges the file it was given: every line
names it, nothing is said about the deployed procedures, no line repeats, and every refusal names an element of the
file and what to write instead.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

import run
from engine.authoring.versions import deploy
from engine.bootstrap import build_services
from engine.clock import FrozenClock
from engine.errors import ExpressionError
from engine.workflow import expressions
from engine.workflow.catalogue import load_catalogue
from engine.workflow.runtime import Case
from engine.workflow.specs import compile_processes, read_diagrams, read_forms
from tests.databases import POSTGRES_URL, postgres_schema, unreachable

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = ROOT / "tests" / "fixtures" / "foreign"
CORPUS = sorted(FOREIGN.rglob("*.bpmn"))
OURS = ("scr_dorset", "scr_bournemouth_poole")
HINT = re.compile(r"\b(use|write|instead|allowed|add|remove)\b")
T0 = datetime(2024, 1, 31, 9, 0, tzinfo=UTC)

# What each file of the corpus gets: "ok" (its own processes reported), or the codes of its refusal.
EXPECTED: dict[str, str | set[str]] = {
    "activiti_export.bpmn": {"extension_not_supported", "expression_not_allowed", "form_missing"},
    "bizagi_export.bpmn": {"unknown_lane"},
    "bpmnio_call_activity_without_process.bpmn": {"call_without_process"},
    "bpmnio_calls_unknown_process.bpmn": {"unknown_process"},
    "bpmnio_demo_not_executable.bpmn": {"not_executable", "no_lane"},
    "bpmnio_empty_timers.bpmn": {"timer_invalid"},
    "bpmnio_plain_task_in_lane.bpmn": "ok",
    "bpmnio_plain_task_without_lane.bpmn": {"no_lane"},
    "calls_deployed_imr.bpmn": "ok",
    "camunda7_groovy_script.bpmn": {"extension_not_supported", "script_not_allowed"},
    "camunda7_invoice_formkey.bpmn": {"extension_not_supported", "form_missing"},
    "camunda7_juel_conditions.bpmn": {"expression_not_allowed"},
    "camunda7_listeners_external.bpmn": {"extension_not_supported", "script_not_allowed"},
    "camunda7_metadata_only.bpmn": "ok",
    "camunda7_multi_instance.bpmn": {"extension_not_supported"},
    "camunda7_service_tasks.bpmn": {"extension_not_supported", "script_not_allowed"},
    "camunda8_call_activity.bpmn": {"extension_not_supported"},
    "camunda8_feel.bpmn": {"extension_not_supported", "expression_not_allowed", "form_missing"},
    "camunda8_feel_conditions.bpmn": {"expression_not_allowed"},
    "camunda8_job_worker.bpmn": {"extension_not_supported", "script_not_allowed"},
    "camunda8_timers.bpmn": {"expression_not_allowed", "timer_invalid"},
    "collaboration_with_collapsed_pool.bpmn": "ok",
    "dmn_decision_table.bpmn": {"not_bpmn"},
    "duplicate_ids.bpmn": {"duplicate_id"},
    "embedded_subprocess_in_lane.bpmn": "ok",
    "embedded_subprocess_outside_lanes.bpmn": {"no_lane"},
    "flowable_export.bpmn": {"extension_not_supported", "script_not_allowed", "form_missing"},
    "imr.bpmn": "ok",
    "lanes_unnamed_and_wrong.bpmn": {"unknown_lane"},
    "no_start_event.bpmn": {"invalid_bpmn"},
    "scripts_python_statements.bpmn": {"script_not_allowed"},
    "signavio_export.bpmn": "ok",
    "signavio_not_executable.bpmn": {"not_executable", "unknown_lane"},
    "spiffarena_user_task.bpmn": "ok",
    "user_task_without_form.bpmn": {"form_missing"},
}


@pytest.fixture(scope="module")
def deployed_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database (SQLite, or PostgreSQL when SCR_TEST_DATABASE says) with the project's diagrams deployed."""
    if os.environ.get("SCR_TEST_DATABASE", "sqlite") != "postgresql":
        yield from _deployed(f"sqlite:///{tmp_path_factory.mktemp('foreign') / 'scr.sqlite3'}")
        return
    with postgres_schema("foreign") as url:
        if url is None:
            unreachable(f"PostgreSQL unreachable at {POSTGRES_URL}")
        assert url is not None
        yield from _deployed(url)


def _deployed(url: str) -> Iterator[str]:
    services, engine = build_services(url, ROOT / "forms", FrozenClock(T0))
    try:
        deploy(services, read_diagrams([ROOT / "bpmn"]), by="tests")
    finally:
        engine.dispose()
    yield url


def check(url: str, *paths: Path | str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
          ) -> tuple[int, list[str], list[str]]:
    """run.py check-diagram in-process: (exit code, stdout lines, stderr lines)."""
    code = cli(url, "check-diagram", *(str(p) for p in paths), monkeypatch=monkeypatch)
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def cli(url: str, *args: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """run.main on `url`, closing the database connections it opened (the command line leaves that to its exit)."""
    engines = []

    def build(*given: object, **named: object) -> object:
        services, engine = build_services(*given, **named)  # type: ignore[arg-type]
        engines.append(engine)
        return services, engine

    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr(run, "build_services", build)
    try:
        return run.main(list(args))
    finally:
        for engine in engines:
            engine.dispose()


def ids_of(path: Path) -> set[str]:
    return {str(i) for i in etree.parse(str(path)).getroot().xpath("//@id")}


def test_the_corpus_holds_at_least_25_foreign_diagrams_each_with_an_expected_outcome() -> None:
    assert len(CORPUS) >= 25
    assert sorted(p.name for p in CORPUS) == sorted(EXPECTED)


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_a_foreign_diagram_gets_an_answer_about_that_file_only_and_every_refusal_says_where_and_what_instead(
        deployed_url: str, path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    given = str(path.relative_to(ROOT))
    monkeypatch.chdir(ROOT)
    code, out, err = check(deployed_url, given, monkeypatch=monkeypatch, capsys=capsys)
    lines = out + err
    assert lines and "Traceback" not in "\n".join(lines)
    assert all(line.startswith(given + ": ") for line in lines), lines
    assert not any(name in line for line in lines for name in OURS), lines
    assert len(lines) == len(set(lines)), "a line is repeated"
    expected = EXPECTED[path.name]
    if expected == "ok":
        assert code == 0 and not err, err
        assert all(": ok: " in line for line in out)
        return
    assert code == 2 and not out
    ids = ids_of(path)
    codes = set()
    for line in err:
        where, _, rest = line[len(given) + 2:].partition(": ")
        assert where.split(" ")[0] in ids, f"no element of the file named: {line}"
        found = re.search(r"\[(\w+)\]$", line)
        assert found, line
        codes.add(found.group(1))
        assert HINT.search(rest.rsplit("[", 1)[0]), f"no hint of what to do instead: {line}"
    assert codes == expected


def test_camunda_modeler_metadata_is_ignored_and_the_file_is_reported_on_its_own_process(
        deployed_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    path = FOREIGN / "camunda7_metadata_only.bpmn"
    code, out, _ = check(deployed_url, path, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0
    assert out == [f'{path}: ok: Process_record_referral "Record the referral": 0 called processes, 1 human tasks, '
                   f"0 forms, hash {out[0][-12:]}"]


def test_a_foreign_file_named_like_a_deployed_one_is_judged_alone_and_the_deployed_one_stays(
        deployed_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    cli(deployed_url, "versions", monkeypatch=monkeypatch)
    before = capsys.readouterr().out
    code, out, _ = check(deployed_url, FOREIGN / "named_like_ours" / "imr.bpmn", monkeypatch=monkeypatch,
                         capsys=capsys)
    assert code == 0 and len(out) == 1 and "ok: Process_7imr" in out[0] and "imr_review" not in out[0]
    cli(deployed_url, "versions", monkeypatch=monkeypatch)
    assert capsys.readouterr().out == before
    code, out, _ = check(deployed_url, FOREIGN / "calls_deployed_imr.bpmn", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0 and "ok: Process_6single_imr" in out[0] and "(deployed: imr_preparation, imr_review)" in out[0]


def test_our_own_folder_is_reported_process_by_process_each_under_its_own_file(
        deployed_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = check(deployed_url, "bpmn/", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, err
    assert any(line.startswith("bpmn/dorset/scr_dorset.bpmn: ok: scr_dorset ") for line in out)
    assert any(line.startswith("bpmn/common/imr.bpmn: ok: imr_review ") for line in out)
    assert len(out) == len(set(out))


def refusals(url: str, path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> list[str]:
    code, out, err = check(url, path, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 2 and not out
    return err


def test_a_camunda_form_key_is_named_on_its_task_with_the_property_to_use_instead(
        deployed_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    path = FOREIGN / "camunda7_invoice_formkey.bpmn"
    lines = refusals(deployed_url, path, monkeypatch, capsys)
    assert (f'{path}: approveInvoice "Approve Invoice": camunda:formKey="embedded:app:forms/approve-invoice.html" '
            "is a Camunda 7 extension, not supported here: use the spiffworkflow property formJsonSchemaFilename (a "
            "JSON Schema under forms/) instead [extension_not_supported]") in lines
    assignee = next(line for line in lines if 'camunda:assignee="demo"' in line)
    assert "put the task in a lane named for a role instead" in assignee and "'LSCB Chair'" in assignee
    assert not any("asyncBefore" in line or "historyTimeToLive" in line for line in lines)


def test_camunda_code_hooks_are_named_and_refused_as_code(
        deployed_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    lines = refusals(deployed_url, FOREIGN / "camunda7_service_tasks.bpmn", monkeypatch, capsys)
    for attribute in ('camunda:class="org.example.SendLettersDelegate"', "camunda:expression=",
                      'camunda:delegateExpression="${mailDelegate}"'):
        line = next(line for line in lines if attribute in line)
        assert line.endswith("[script_not_allowed]") and "script task in the restricted language" in line
    assert not any("asyncBefore" in line for line in lines), "engine tuning is ignored"


@pytest.mark.parametrize(("file", "element", "written", "accepted"), [
    ("camunda7_juel_conditions.bpmn", "Flow_again", "${!clarified}", "not clarified"),
    ("camunda7_juel_conditions.bpmn", "Flow_large", '#{execution.getVariable("count") gt 3}', "count > 3"),
    ("camunda8_feel.bpmn", "Flow_approved", "= approved", "approved"),
    ("camunda8_feel_conditions.bpmn", "Flow_19many", "=count(agencies) > 3 and agreed = true",
     "len(agencies) > 3 and agreed == True"),
    ("camunda8_timers.bpmn", "TimerEventDefinition_0six", '=duration("P6W")', '"P6W"'),
])
def test_a_juel_or_feel_expression_is_named_as_such_quoted_and_given_in_the_accepted_form(
        deployed_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        file: str, element: str, written: str, accepted: str) -> None:
    lines = refusals(deployed_url, FOREIGN / file, monkeypatch, capsys)
    line = next(line for line in lines if f": {element} " in line)
    assert f"`{written}`" in line and f"write `{accepted}` instead" in line
    assert ("JUEL" if written[0] in "$#" else "FEEL") in line


def test_an_empty_timer_says_it_has_no_value_and_gives_examples(
        deployed_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    path = FOREIGN / "bpmnio_empty_timers.bpmn"
    lines = refusals(deployed_url, path, monkeypatch, capsys)
    assert [line.split(": ", 2)[1] for line in lines] == [
        'TimerEventDefinition_3date (the timer of Event_3date "On the due date")',
        'TimerEventDefinition_3bare (the timer of Event_3bare "Later")']
    assert all('the timer has no value: write a quoted duration such as "P6W"' in line and "add_months(" in line
               for line in lines)


def test_an_unnamed_lane_says_so_and_a_wrong_one_is_quoted_both_listing_the_allowed_names(
        deployed_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    blank, clerk = refusals(deployed_url, FOREIGN / "lanes_unnamed_and_wrong.bpmn", monkeypatch, capsys)
    lanes = [r.lane for r in load_catalogue(ROOT / "forms").roles if r.lane]
    assert ": Lane_8blank: the lane has no name" in blank and "None" not in blank
    assert ': Lane_8clerk "Clerk": lane \'Clerk\' is not a role' in clerk
    assert all(f"'{lane}'" in blank and f"'{lane}'" in clerk for lane in lanes)


def test_a_duplicate_id_names_both_elements(deployed_url: str, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    (line,) = refusals(deployed_url, FOREIGN / "duplicate_ids.bpmn", monkeypatch, capsys)
    assert ("id 'Activity_9copy' is used by two elements (manualTask 'Send the letter' and manualTask 'Send the "
            "reminder'): use a different id for each") in line
    assert "xs:ID" not in line


def test_python_statements_in_a_script_are_quoted_with_what_to_write_instead(
        deployed_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    lines = refusals(deployed_url, FOREIGN / "scripts_python_statements.bpmn", monkeypatch, capsys)
    assert any(line.endswith(': Activity_10increment "Count one more": script: `v += 1` is not allowed; write '
                             "`v = v + 1` instead [script_not_allowed]") for line in lines)
    assert not any("AugAssign" in line or "ListComp" in line or "ImportFrom" in line for line in lines)


@pytest.mark.parametrize(("source", "said"), [
    ("v += 1", "`v += 1` is not allowed; write `v = v + 1` instead"),
    ("total -= cost", "write `total = total - cost` instead"),
    ("names = [a.upper() for a in agencies]", "comprehensions are not allowed"),
    ("x = agency.name", "`agency.name`: reading an attribute or calling a method is not allowed"),
    ('execution.setVariable("greeting", "hello")', 'write `greeting = "hello"` instead'),
    ("x = f'{a}'", "f-strings are not allowed; join text with + and str(...) instead"),
    ("x = 2 ** 3", "`2 ** 3`: `**` is not allowed; multiply instead"),
    ("x = a & b", "write `and` instead"),
    ("import os", "`import os`: importing is not allowed"),
    ("for a in b: pass", "loops are not allowed"),
    ("x = print(a)", "print is not a function of the language; use one of"),
])
def test_a_construct_outside_the_language_is_quoted_in_words_not_by_its_python_node_name(source: str,
                                                                                       said: str) -> None:
    with pytest.raises(ExpressionError) as info:
        expressions.check_script(source)
    assert said in str(info.value)
    assert not re.search(r"'[A-Z][a-zA-Z]+'", str(info.value)), "a Python AST node name leaked"


def test_the_same_problem_of_the_same_element_is_said_once(
        deployed_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    text = (FOREIGN / "camunda7_listeners_external.bpmn").read_text()
    listener = '<camunda:taskListener class="org.example.NotifyAuthor" event="create" />'
    twice = tmp_path / "twice.bpmn"
    twice.write_text(text.replace(listener, listener * 3))
    lines = refusals(deployed_url, twice, monkeypatch, capsys)
    assert sum("camunda:taskListener" in line for line in lines) == 1


def test_a_missing_path_a_name_too_long_and_an_empty_folder_each_get_one_line_and_exit_2(
        deployed_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": deployed_url}
    (tmp_path / "empty").mkdir()
    for path, said in ((tmp_path / "nowhere.bpmn", "no file or folder"), (tmp_path / ("a" * 300 + ".bpmn"),
                       "no file or folder"), (tmp_path / "empty", "the folder holds no .bpmn file")):
        answer = subprocess.run([sys.executable, str(ROOT / "run.py"), "check-diagram", str(path)],
                                capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
        assert answer.returncode == 2 and "Traceback" not in answer.stderr
        assert len(answer.stderr.strip().splitlines()) == 1 and said in answer.stderr, answer.stderr
        assert str(path)[:60] in answer.stderr


# --- the two lane fixes, run: a task in an embedded sub-process, and bpmn.io's plain task ----------------------

def _start(file: str) -> Case:
    catalogue = load_catalogue(ROOT / "forms")
    compiled = compile_processes({file: (FOREIGN / file).read_bytes()}, read_forms(ROOT / "forms"), catalogue,
                                 wanted=[etree.parse(str(FOREIGN / file)).getroot().find(
                                     "{http://www.omg.org/spec/BPMN/20100524/MODEL}process").get("id")])
    (process,) = compiled.values()
    case, _ = Case.start(process, catalogue, FrozenClock(T0))
    return case


def test_tasks_inside_an_embedded_sub_process_wait_in_the_inbox_of_the_sub_processs_lane() -> None:
    case = _start("embedded_subprocess_in_lane.bpmn")
    clock = FrozenClock(T0)
    for expected in ("Activity_12request", "Activity_12file"):
        (task,) = case.ready_tasks()
        assert (task.name, task.lane, task.role) == (expected, "LSCB administrator", "lscb_administrator")
        case.complete(task.id, {}, clock)
    assert case.completed


def test_a_plain_task_in_a_lane_waits_in_that_roles_inbox_and_is_done_without_a_form() -> None:
    case = _start("bpmnio_plain_task_in_lane.bpmn")
    (task,) = case.ready_tasks()
    assert (task.name, task.title, task.role, task.form) == ("Activity_2ack", "Acknowledge the referral",
                                                              "lscb_administrator", None)
    case.complete(task.id, {}, FrozenClock(T0))
    assert case.completed


def test_a_plain_task_outside_any_lane_is_refused_saying_to_put_it_in_a_lane(
        deployed_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (line,) = refusals(deployed_url, FOREIGN / "bpmnio_plain_task_without_lane.bpmn", monkeypatch, capsys)
    assert 'Activity_1check "Check the proforma": a plain task is a step a person does' in line
    assert "put it in a lane named for a role" in line and line.endswith("[no_lane]")
