"""The restricted expression language: what it allows, and every T-A1 payload it must refuse."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.clock import FrozenClock, using
from engine.errors import ExpressionError
from engine.workflow import expressions

DATA = {
    "decision": "yes", "count": 3, "agencies": ["police", "health"], "case": {"ref": "FX-1", "n": 2},
    "asked_at": "2024-01-31T09:00:00+00:00", "flag": True, "nothing": None,
}


@pytest.mark.parametrize(("source", "expected"), [
    ("decision == 'yes'", True),
    ("decision != 'yes'", False),
    ("count > 2 and count <= 3", True),
    ("1 < count < 5", True),
    ("count >= 4 or flag", True),
    ("not flag", False),
    ("'police' in agencies", True),
    ("'social care' not in agencies", True),
    ("nothing is None", True),
    ("agencies[0]", "police"),
    ("agencies[-1]", "health"),
    ("agencies[0:1]", ["police"]),
    ("case['ref']", "FX-1"),
    ("'scr' if count > 2 else 'none'", "scr"),
    ("count * 2 + 1 - 1", 6),
    ("count / 2", 1.5),
    ("count // 2", 1),
    ("count % 2", 1),
    ("-count", -3),
    ("len(agencies)", 2),
    ("max(1, count)", 3),
    ("sorted(agencies)", ["health", "police"]),
    ("[1, 2]", [1, 2]),
    ("(1, 2)", (1, 2)),
    ("{'a': count}", {"a": 3}),
    ("str(count) + 'x'", "3x"),
    ("int('4') + abs(-1)", 5),
    ("round(2.6)", 3),
    ("any([flag, False]) and all([flag, True])", True),
    ("defined('count')", True),
    ("defined('missing')", False),
    ("True", True),
])
def test_the_allowed_grammar_evaluates_against_workflow_data(source: str, expected: object) -> None:
    expressions.check_expression(source)
    assert expressions.evaluate(source, DATA) == expected


def test_add_months_clamps_31_january_to_29_february_in_a_leap_year() -> None:
    assert expressions.evaluate("add_months('2024-01-31T09:00:00+00:00', 1)", {}) == "2024-02-29T09:00:00+00:00"


def test_spiffworkflows_own_p1m_would_overshoot_to_2_march() -> None:
    start = datetime(2024, 1, 31, 9, tzinfo=UTC)
    spiff = start + TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration("P1M"), start)
    assert spiff == datetime(2024, 3, 2, 9, tzinfo=UTC)
    assert expressions.add_months(start.isoformat(), 1) != spiff.isoformat()


def test_add_months_refuses_a_fractional_month_count() -> None:
    with pytest.raises(ExpressionError):
        expressions.evaluate("add_months(asked_at, 1.5)", DATA)


def test_add_weeks_adds_seven_day_weeks() -> None:
    assert expressions.evaluate("add_weeks(asked_at, 6)", DATA) == "2024-03-13T09:00:00+00:00"


def test_add_days_reads_a_naive_date_as_utc() -> None:
    assert expressions.evaluate("add_days('2024-02-28', 1)", {}) == "2024-02-29T00:00:00+00:00"


def test_date_of_gives_the_calendar_date() -> None:
    assert expressions.evaluate("date_of(asked_at)", DATA) == "2024-01-31"
    assert expressions.evaluate("date_of('2024-02-29T23:30:00Z')", {}) == "2024-02-29"


def test_now_reads_the_engine_clock() -> None:
    with using(FrozenClock(datetime(2024, 2, 29, 12, tzinfo=UTC))):
        assert expressions.evaluate("now()", {}) == "2024-02-29T12:00:00+00:00"


def test_a_date_helper_given_a_non_date_raises_an_expression_error() -> None:
    with pytest.raises(ExpressionError, match="ISO date"):
        expressions.evaluate("date_of('2024-13-01')", {})


def test_an_unknown_variable_raises_an_expression_error() -> None:
    with pytest.raises(ExpressionError, match="unknown variable 'missing'"):
        expressions.evaluate("missing == 1", DATA)


def test_a_script_of_assignments_writes_each_name_into_the_data() -> None:
    data = dict(DATA)
    source = "due = add_months(asked_at, 1)\ntwice = count * 2"
    expressions.check_script(source)
    expressions.run_script(source, data)
    assert data["due"] == "2024-02-29T09:00:00+00:00"
    assert data["twice"] == 6


# Every payload a diagram author might use to escape the language (T-A1).  Each must be refused
# statically by check_expression, by check_script (as the right-hand side of an assignment) and by evaluate.
HOSTILE = {
    "import": "__import__('os')",
    "import_system": "__import__('os').system('touch CANARY')",
    "uuid_os": "uuid.os",
    "random_os": "random._os.system('touch CANARY')",
    "subclasses": "().__class__.__mro__[1].__subclasses__()",
    "subclasses_base": "''.__class__.__base__.__subclasses__()",
    "open_read": "open('/etc/passwd')",
    "open_write": "open('CANARY', 'w').write('x')",
    "globals": "globals()",
    "locals": "locals()",
    "getattr_globals": "getattr(x, '__globals__')",
    "eval": "eval('1')",
    "exec": "exec('import os')",
    "compile": "compile('1', 'f', 'eval')",
    "dunder_name": "__builtins__",
    "private_name": "_secret",
    "attribute": "agencies.append",
    "method_call": "'x'.upper()",
    "format_method": "'{0.__class__}'.format(1)",
    "lambda": "lambda: 1",
    "list_comprehension": "[c for c in ()]",
    "comprehension_escape": "[c for c in ().__class__.__bases__]",
    "set_comprehension": "{c for c in ()}",
    "dict_comprehension": "{c: c for c in ()}",
    "generator": "(x for x in y)",
    "dict_unpack": "{**d}",
    "list_unpack": "[*d]",
    "star_call": "len(*d)",
    "keyword_call": "sorted(d, key=len)",
    "fstring": "f'{x}'",
    "fstring_dunder": "f'{x.__class__}'",
    "walrus": "(y := 1)",
    "power_bomb": "'a'*10**9",
    "power": "10**10**10",
    "set_literal": "{1, 2}",
    "bytes_constant": "b'x'",
    "ellipsis": "...",
    "await": "await x",
    "yield": "(yield)",
    "jinja_ssti": "{{ ''.__class__ }}",
    "bitwise": "1 << 100000000",
    "matmul": "a @ b",
    "huge_nesting": "(" * 150 + "1" + ")" * 150 + " + 1" * 400,
    "deep_brackets": "[" * 300 + "]" * 300,
    "too_many_parts": " + ".join(["1"] * 300),
    "over_long_source": "1 + " * 1200 + "1",
    "over_long_string": "'" + "a" * (expressions.MAX_SOURCE + 1) + "'",
}


@pytest.mark.parametrize("payload", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_expression_is_refused_by_check_expression(payload: str) -> None:
    with pytest.raises(ExpressionError):
        expressions.check_expression(payload)


@pytest.mark.parametrize("payload", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_expression_is_refused_by_check_script(payload: str) -> None:
    with pytest.raises(ExpressionError):
        expressions.check_script(f"value = {payload}")


@pytest.mark.parametrize("payload", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_expression_is_refused_by_evaluate(payload: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    canary = tmp_path / "CANARY"
    data = {"x": object(), "y": [1], "d": {"a": 1}, "a": 1, "b": 2, "uuid": __import__("uuid"),
            "random": __import__("random")}
    with pytest.raises(ExpressionError):
        expressions.evaluate(payload, data)
    data2: dict[str, object] = dict(data)
    with pytest.raises(ExpressionError):
        expressions.run_script(f"value = {payload}", data2)
    assert "value" not in data2
    assert not canary.exists()


# Payloads that parse as allowed grammar but must be stopped when they run (resource bombs).
RUNTIME_BOMBS = {
    "string_repeat": "'a'*100000000",
    "list_repeat": "[0]*100000000",
    "repeat_from_data": "'a' * n",
    "repeat_reversed": "100000000 * 'ab'",
    "concat_grows": "s + s",
}


@pytest.mark.parametrize("payload", RUNTIME_BOMBS.values(), ids=RUNTIME_BOMBS.keys())
def test_a_repetition_bomb_is_refused_when_evaluated(payload: str) -> None:
    with pytest.raises(ExpressionError, match="too large"):
        expressions.evaluate(payload, {"n": 10**12, "s": "a" * expressions.MAX_SEQUENCE})


SCRIPT_STATEMENTS = {
    "import": "import os",
    "from_import": "from os import system",
    "def": "def f(): pass",
    "class": "class A: pass",
    "attribute_assign": "x.y = 1",
    "subscript_assign": "x['y'] = 1",
    "tuple_assign": "a, b = 1, 2",
    "chained_assign": "a = b = 1",
    "augmented_assign": "a += 1",
    "annotated_assign": "a: int = 1",
    "del": "del x",
    "for": "for i in agencies: pass",
    "while": "while True: pass",
    "if": "if x: y = 1",
    "with": "with open('CANARY', 'w') as f: pass",
    "try": "try:\n    x = 1\nexcept Exception:\n    pass",
    "bare_expression": "__import__('os').system('touch CANARY')",
    "bare_call": "len('x')",
    "global": "global x",
    "raise": "raise SystemExit",
    "assert": "assert False",
    "exec_line": "exec('import os')",
    "second_line_import": "a = 1\nimport os",
}
TOO_MANY_LINES = "\n".join(f"v{i} = {i}" for i in range(expressions.MAX_LINES + 1))


def test_a_script_longer_than_the_line_limit_is_refused_by_check_script() -> None:
    with pytest.raises(ExpressionError, match="longer than"):
        expressions.check_script(TOO_MANY_LINES)


def test_a_script_longer_than_the_line_limit_is_refused_by_run_script() -> None:
    with pytest.raises(ExpressionError):
        expressions.run_script(TOO_MANY_LINES, {})


@pytest.mark.parametrize("source", SCRIPT_STATEMENTS.values(), ids=SCRIPT_STATEMENTS.keys())
def test_a_script_line_that_is_not_name_equals_expression_is_refused(source: str, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExpressionError):
        expressions.check_script(source)
    data: dict[str, object] = {"x": 1, "agencies": []}
    with pytest.raises(ExpressionError):
        expressions.run_script(source, data)
    assert data == {"x": 1, "agencies": []}
    assert not (tmp_path / "CANARY").exists()


def test_a_script_is_not_accepted_as_an_expression() -> None:
    with pytest.raises(ExpressionError):
        expressions.check_expression("x = 1")


def test_non_text_source_is_refused() -> None:
    with pytest.raises(ExpressionError):
        expressions.check_expression(42)  # type: ignore[arg-type]


def test_a_subscript_with_a_dunder_key_only_looks_up_data() -> None:
    with pytest.raises(ExpressionError, match="no item"):
        expressions.evaluate("d['__class__']", {"d": {}})
    with pytest.raises(ExpressionError, match="cannot index"):
        expressions.evaluate("x['__class__']", {"x": 5})


# Runtime failures must surface as ExpressionError (the runtime turns those into WorkflowFailed and
# compile_processes into timer_invalid); anything else escapes as a 500.
ERRORS_THAT_LEAK = {
    "zero_slice_step": "'abc'[::0]",
    "unhashable_dict_key": "{[]: 1}",
    "bad_format_character": "'%z' % 1",
}


@pytest.mark.parametrize("payload", ERRORS_THAT_LEAK.values(), ids=ERRORS_THAT_LEAK.keys())
def test_an_evaluation_failure_is_always_an_expression_error(payload: str) -> None:
    with pytest.raises(ExpressionError):
        expressions.evaluate(payload, {})


def test_a_deep_unary_chain_is_refused_as_an_expression_error() -> None:
    with pytest.raises(ExpressionError):
        expressions.check_expression("-" * 3000 + "1")


def test_str_of_a_list_is_refused_before_it_can_build_a_huge_text() -> None:
    with pytest.raises(ExpressionError, match="not lists"):
        expressions.evaluate("str([[0] * 1000] * 1000)", {})


def test_a_helper_result_larger_than_the_sequence_limit_is_refused() -> None:
    with pytest.raises(ExpressionError, match="too large"):
        expressions.evaluate("sorted(x + x)", {"x": list(range(60_000))})


def test_repeated_squaring_in_a_script_is_stopped() -> None:
    source = "a = 99999999999999999999\n" + "a = a * a\n" * 14
    with pytest.raises(ExpressionError):
        expressions.run_script(source, {})
