"""The command line, as a person uses it: deploy, start a case, see the inbox, complete a task, fire timers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMR = ROOT / "bpmn" / "common" / "imr.bpmn"


def run_cli(*args: str, database: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


def test_a_referral_goes_from_the_command_line_to_the_safeguarding_leads_inbox(tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite3"
    assert run_cli("init-db", database=db).returncode == 0
    deployed = run_cli("deploy", "bpmn/", database=db)
    assert deployed.returncode == 0, deployed.stderr
    assert "deployed scr_dorset" in deployed.stdout and "deployed scr_bournemouth_poole" in deployed.stdout
    assert "58 demo users added" in run_cli("seed-users", database=db).stdout
    started = run_cli("start-case", "--board", "dorset", "--user", "dorset.referrer", database=db)
    assert started.returncode == 0 and "started DSCB-" in started.stdout
    inbox = run_cli("tasks", "--user", "dorset.referrer", database=db).stdout.splitlines()
    assert len(inbox) == 1 and "[referrer]" in inbox[0]
    task_id = inbox[0].split()[0]

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"requester_name": ""}))
    refused = run_cli("complete", task_id, "--user", "dorset.referrer", "--data", str(bad), database=db)
    assert refused.returncode == 3 and "this field is required" in refused.stderr
    other = run_cli("complete", task_id, "--user", "dorset.chair", "--data", str(bad), database=db)
    assert other.returncode == 1 and "NotFound: no such task" in other.stderr

    cases = run_cli("cases", database=db).stdout
    assert "DSCB-" in cases and "open" in cases
    assert "fired timers on 0 case(s)" in run_cli("fire-timers", "--now", "2030-01-01T00:00:00+00:00",
                                                   database=db).stdout


XXE = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')
BOMB = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>')
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


@pytest.mark.parametrize("mutation,code", [
    (lambda t: t.replace(DECLARATION, XXE).replace("<bpmn:documentation>", "<bpmn:documentation>&xxe;", 1),
     "doctype_not_allowed"),
    (lambda t: t.replace(DECLARATION, BOMB).replace("<bpmn:documentation>", "<bpmn:documentation>&c;", 1),
     "doctype_not_allowed"),
    (lambda t: re.sub(r"<bpmn:script>.*?</bpmn:script>", "<bpmn:script>import os</bpmn:script>", t, count=1,
                      flags=re.S), "script_not_allowed"),
    (lambda t: re.sub(r"(<bpmn:conditionExpression[^>]*>).*?(</bpmn:conditionExpression>)",
                      r"\1__import__('os').system('id')\2", t, count=1, flags=re.S), "expression_not_allowed"),
    (lambda t: t.replace("<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                         "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x \"y\">]>"), "doctype_not_allowed"),
    (lambda t: t.replace('name="IMR author"', 'name="Unknown lane"', 1), "unknown_lane"),
    (lambda t: t.replace('.schema.json"', '.missing.schema.json"', 1), "form_missing"),
    (lambda t: t.replace('<bpmn:timeDate xsi:type="bpmn:tFormalExpression">add_weeks(imr_due, -1)</bpmn:timeDate>',
                         '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P5X"</bpmn:timeDuration>'),
     "timer_invalid"),
])
def test_check_diagram_and_deploy_refuse_a_broken_diagram_and_store_nothing(
        tmp_path: Path, mutation: object, code: str) -> None:
    db = tmp_path / "cli.sqlite3"
    broken = tmp_path / "imr.bpmn"
    broken.write_text(mutation(IMR.read_text()))  # type: ignore[operator]
    for command in ("check-diagram", "deploy"):
        result = run_cli(command, str(broken), database=db)
        assert result.returncode == 2, result.stdout
        assert code in result.stderr and "imr.bpmn" in result.stderr
    assert run_cli("versions", database=db).stdout == ""
    assert run_cli("cases", database=db).stdout == ""


def test_check_diagram_accepts_the_procedures_and_names_the_element_of_a_hostile_one(tmp_path: Path) -> None:
    database = tmp_path / "cli.sqlite3"
    good = run_cli("check-diagram", "bpmn/", database=database)
    assert good.returncode == 0, good.stderr
    assert "ok: scr_dorset" in good.stdout and "ok: scr_bournemouth_poole" in good.stdout
    hostile = tmp_path / "imr.bpmn"
    hostile.write_text(IMR.read_text().replace(">imr_due</bpmn:timeDate>",
                                               ">__import__('os').system('touch /tmp/pwned')</bpmn:timeDate>"))
    refused = run_cli("deploy", str(hostile), database=database)
    assert refused.returncode == 2
    assert "imr.bpmn" in refused.stderr and "expression_not_allowed" in refused.stderr
    listed = run_cli("cases", database=database)
    assert listed.returncode == 0 and listed.stdout == ""
    assert not Path("/tmp/pwned").exists()


MALFORMED = [
    ("frobnicate",),
    ("--port", "eighty"),
    ("deploy",),
    ("deploy", "no/such/folder"),
    ("check-diagram", "no/such/file.bpmn"),
    ("start-case", "--board", "dorset"),
    ("start-case", "--board", "dorset", "--user", "dorset.referrer", "--data", "no-such-file.json"),
    ("start-case", "--board", "dorset", "--user", "dorset.referrer", "--data", "NOT_JSON"),
    ("tasks",),
    ("complete", "--user", "dorset.referrer"),
    ("complete", "some-task", "--user", "dorset.referrer", "--data", "A_LIST"),
    ("token",),
    ("password",),
    ("assign", "--user", "dorset.admin"),
    ("assign", "--user", "dorset.admin", "--role", "lscb_chair", "--case", "first"),
    ("fire-timers", "--now", "next tuesday"),
    ("fire-timers", "--now", "2027-13-45"),
    ("worker", "--poll", "often"),
]


@pytest.mark.parametrize("args", MALFORMED, ids=[" ".join(a) for a in MALFORMED])
def test_every_command_answers_malformed_arguments_in_one_line_with_exit_2(
        tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "not.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    args = tuple({"NOT_JSON": str(tmp_path / "not.json"), "A_LIST": str(tmp_path / "list.json")}.get(a, a)
                 for a in args)
    answer = run_cli(*args, database=tmp_path / "cli.sqlite3")
    assert answer.returncode == 2, answer
    assert "Traceback" not in answer.stderr
    assert len(answer.stderr.strip().splitlines()) == 1, answer.stderr
    assert "--help" in answer.stderr, "it says where to read how to use the command"


def test_a_date_without_an_offset_is_read_as_london_time(tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite3"
    assert run_cli("init-db", database=db).returncode == 0
    answer = run_cli("fire-timers", "--now", "2027-01-16", database=db)
    assert answer.returncode == 0 and "fired timers on 0 case(s)" in answer.stdout, answer.stderr


def test_a_database_that_cannot_be_reached_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    answer = subprocess.run([sys.executable, str(ROOT / "run.py"), "cases"], capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=120)
    assert answer.returncode == 1 and "Traceback" not in answer.stderr
    assert len(answer.stderr.strip().splitlines()) == 1 and "OperationalError" in answer.stderr


FOREIGN = ROOT / "tests" / "fixtures" / "foreign"


def test_check_diagram_judges_the_foreign_file_given_and_leaves_the_deployed_procedures_alone(tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite3"
    assert run_cli("deploy", "bpmn/", database=db).returncode == 0
    before = run_cli("versions", database=db).stdout
    foreign = FOREIGN / "named_like_ours" / "imr.bpmn"
    checked = run_cli("check-diagram", str(foreign), database=db)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f'{foreign}: ok: Process_7imr "Our own IMR checklist": 0 called processes')
    assert len(checked.stdout.splitlines()) == 1 and "scr_dorset" not in checked.stdout
    camunda = FOREIGN / "camunda7_invoice_formkey.bpmn"
    refused = run_cli("check-diagram", str(camunda), database=db)
    assert refused.returncode == 2 and refused.stdout == "" and "Traceback" not in refused.stderr
    lines = refused.stderr.splitlines()
    assert all(line.startswith(f"{camunda}: ") for line in lines) and len(lines) == len(set(lines))
    assert any('approveInvoice "Approve Invoice": camunda:formKey=' in line and "formJsonSchemaFilename" in line
               for line in lines)
    assert run_cli("versions", database=db).stdout == before


def test_check_diagram_of_a_folder_without_diagrams_says_so_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "drafts").mkdir()
    answer = run_cli("check-diagram", str(tmp_path / "drafts"), database=tmp_path / "cli.sqlite3")
    assert answer.returncode == 2 and "Traceback" not in answer.stderr
    assert answer.stderr.strip() == (f"{tmp_path / 'drafts'}: the folder holds no .bpmn file: give a .bpmn file or "
                                     "a folder holding some instead [no_diagrams]")
