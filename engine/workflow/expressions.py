"""The restricted expression language of diagrams: an AST allow-list walked by hand, never `eval`/`exec`."""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Mapping, MutableMapping
from datetime import datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from engine import clock
from engine.errors import ExpressionError
from engine.workflow import deadlines

MAX_SOURCE = 4000
MAX_NODES = 400
MAX_LINES = 60
MAX_SEQUENCE = 100_000
MAX_INTEGER = 10**18

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.Not: operator.not_, ast.USub: operator.neg, ast.UAdd: operator.pos,
}
_ALLOWED: tuple[type[ast.AST], ...] = (
    ast.Expression, ast.Module, ast.Assign, ast.Expr, ast.Constant, ast.Name, ast.Load, ast.Store,
    ast.List, ast.Tuple, ast.Dict, ast.Subscript, ast.Slice, ast.Compare, ast.BoolOp, ast.And, ast.Or,
    ast.UnaryOp, ast.BinOp, ast.IfExp, ast.Call, *_COMPARE, *_BINARY, *_UNARY,
)


def to_datetime(value: Any) -> datetime:
    """Read an ISO date or date-time (naive means UTC) as an aware UTC datetime."""
    if isinstance(value, datetime):
        return clock.utc(value)
    if not isinstance(value, str):
        raise ExpressionError(f"expected an ISO date, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ExpressionError(f"{value!r} is not an ISO date") from exc
    return clock.utc(parsed)


def iso(moment: datetime) -> str:
    """Format an instant as ISO 8601 UTC with offset (what SpiffWorkflow timers need)."""
    return clock.utc(moment).replace(microsecond=0).isoformat()


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ExpressionError(f"expected a number, got {value!r}")
    return value


def add_days(start: Any, days: Any) -> str:
    """`start` plus `days` calendar days."""
    return iso(to_datetime(start) + timedelta(days=_number(days)))


def add_weeks(start: Any, weeks: Any) -> str:
    """`start` plus `weeks` weeks."""
    return iso(to_datetime(start) + timedelta(weeks=_number(weeks)))


def add_months(start: Any, months: Any) -> str:
    """`start` plus calendar months, clamped to the month's end (31 Jan 2024 + 1 = 29 Feb 2024)."""
    count = _number(months)
    if int(count) != count:
        raise ExpressionError("add_months needs a whole number of months")
    return iso(to_datetime(start) + relativedelta(months=int(count)))


def date_of(value: Any) -> str:
    """The ISO calendar date (YYYY-MM-DD) of a date or date-time."""
    return to_datetime(value).date().isoformat()


def next_working_day(value: Any) -> str:
    """The date itself on a working day, else the next working day (England and Wales bank holidays)."""
    return iso(deadlines.next_working_day(to_datetime(value)))


def add_working_days(start: Any, days: Any) -> str:
    """`start` plus `days` working days (weekends and England and Wales bank holidays skipped); 0 days gives
    `start` on a working day, else the next working day."""
    count = _number(days)
    if (isinstance(count, float) and not count.is_integer()) or count < 0:
        raise ExpressionError(f"add_working_days needs a whole number of working days, 0 or more (got {days!r})")
    if count > deadlines.MAX_WORKING_DAYS:
        raise ExpressionError(f"add_working_days counts at most {deadlines.MAX_WORKING_DAYS} working days")
    return iso(deadlines.add_working_days(to_datetime(start), int(count)))


def _now() -> str:
    return iso(clock.current().now())


HELPERS: dict[str, Callable[..., Any]] = {
    "now": _now, "add_days": add_days, "add_weeks": add_weeks, "add_months": add_months,
    "date_of": date_of, "next_working_day": next_working_day, "add_working_days": add_working_days,
    "len": len, "min": min, "max": max, "str": str, "int": int, "bool": bool,
    "any": any, "all": all, "sorted": sorted, "abs": abs, "round": round,
}
_SPECIAL = {"defined"}


def _parse(source: str, mode: str) -> ast.AST:
    if not isinstance(source, str):
        raise ExpressionError("expression must be text")
    if len(source) > MAX_SOURCE:
        raise ExpressionError(f"expression longer than {MAX_SOURCE} characters: split it over several script lines")
    text = source.strip()
    dialect = _foreign_dialect(text, mode)
    if dialect:
        raise ExpressionError(dialect)
    try:
        tree = ast.parse(text, mode=mode)
    except SyntaxError as exc:
        raise ExpressionError(_syntax_message(text, exc)) from exc
    except (RecursionError, MemoryError, ValueError) as exc:
        raise ExpressionError("expression is nested too deeply: write it with fewer brackets") from exc
    _check_tree(tree, text)
    return tree


def _check_tree(tree: ast.AST, source: str = "") -> None:
    count = 0
    for node in ast.walk(tree):
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"expression has more than {MAX_NODES} parts: split it over several script lines")
        if isinstance(node, ast.BinOp | ast.UnaryOp) and not isinstance(node.op, _ALLOWED):
            raise ExpressionError(f"`{_quote(source, node)}`: {_not_allowed(node.op, source)}")
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(_not_allowed(node, source))
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ExpressionError(f"names starting with '_' are not allowed ({node.id}): use a name without it")
        if isinstance(node, ast.Constant) and not isinstance(node.value, str | int | float | bool | type(None)):
            raise ExpressionError(f"`{_quote(source, node)}`: only text, number, True/False and None constants are "
                                  "allowed")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or (node.func.id not in HELPERS and node.func.id not in _SPECIAL):
                raise ExpressionError(_unknown_call(node, source))
            if node.keywords:
                raise ExpressionError(f"`{_quote(source, node)}`: keyword arguments (name=value) are not allowed; "
                                      "write the arguments in order instead")
            if any(isinstance(a, ast.Starred) for a in node.args):
                raise ExpressionError(f"`{_quote(source, node)}`: starred arguments are not allowed; write the "
                                      "arguments out instead")
        if isinstance(node, ast.Assign):
            if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
                raise ExpressionError(f"`{_quote(source, node)}` is not allowed: a script line must be "
                                      "`name = expression`, one variable per line")
        if isinstance(node, ast.Dict) and any(k is None for k in node.keys):
            raise ExpressionError(f"`{_quote(source, node)}`: '**' unpacking is not allowed; write the entries out "
                                  "instead")


def check_expression(source: str) -> None:
    """Refuse `source` unless it is a single expression in the restricted language."""
    _parse(source, "eval")


def _script(source: str) -> list[ast.Assign]:
    tree = _parse(source, "exec")
    assert isinstance(tree, ast.Module)
    if len(tree.body) > MAX_LINES:
        raise ExpressionError(f"script longer than {MAX_LINES} statements: split it over several script tasks")
    statements = []
    for statement in tree.body:
        if not isinstance(statement, ast.Assign):
            raise ExpressionError(f"`{_quote(source.strip(), statement)}` is not allowed: a script line must be "
                                  "`name = expression` (write `result = ...` to keep a value)")
        statements.append(statement)
    return statements


def names_in(source: str, script: bool = False) -> set[str]:
    """The variable names an expression (or script) reads or writes (ExpressionError if not in the language)."""
    tree = _parse(source, "exec" if script else "eval")
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def check_script(source: str) -> None:
    """Refuse `source` unless every line is `name = expression` in the restricted language."""
    _script(source)


def evaluate(source: str, data: Mapping[str, Any]) -> Any:
    """Evaluate a restricted expression against workflow data."""
    tree = _parse(source, "eval")
    assert isinstance(tree, ast.Expression)
    return _Evaluator(data).visit(tree.body)


def _bounded(value: Any) -> Any:
    """Refuse results too large to be workflow data (huge numbers, text or lists)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
        raise ExpressionError("number too large")
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError("not a finite number")
    if isinstance(value, str | list | tuple | dict) and len(value) > MAX_SEQUENCE:
        raise ExpressionError("result too large")
    return value


def run_script(source: str, data: MutableMapping[str, Any]) -> None:
    """Run `name = expression` lines; all results are written into `data` only if every line succeeds."""
    scratch = dict(data)
    for statement in _script(source):
        target = statement.targets[0]
        assert isinstance(target, ast.Name)
        scratch[target.id] = _Evaluator(scratch).visit(statement.value)
    data.update({k: v for k, v in scratch.items() if k not in data or data[k] is not v})


class _Evaluator:
    """Walks an allow-listed tree; every node kind it meets was checked by `_check_tree`."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise ExpressionError(f"'{type(node).__name__}' is not allowed in diagram expressions")
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        if node.id not in self.data:
            raise ExpressionError(f"unknown variable '{node.id}'")
        return self.data[node.id]

    def visit_List(self, node: ast.List) -> Any:
        return [self.visit(e) for e in node.elts]

    def visit_Tuple(self, node: ast.Tuple) -> Any:
        return tuple(self.visit(e) for e in node.elts)

    def visit_Dict(self, node: ast.Dict) -> Any:
        try:
            return {self.visit(k): self.visit(v) for k, v in zip(node.keys, node.values, strict=True) if k is not None}
        except TypeError as exc:
            raise ExpressionError(f"not a valid dictionary key: {exc}") from exc

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        container = self.visit(node.value)
        if not isinstance(container, list | tuple | dict | str):
            raise ExpressionError(f"cannot index into {type(container).__name__}")
        key = self.visit(node.slice)
        try:
            return container[key]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ExpressionError(f"no item {key!r}") from exc

    def visit_Slice(self, node: ast.Slice) -> Any:
        parts = [self.visit(p) if p is not None else None for p in (node.lower, node.upper, node.step)]
        return slice(*parts)

    def visit_Compare(self, node: ast.Compare) -> Any:
        left = self.visit(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.visit(comparator)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError as exc:
                raise ExpressionError(str(exc)) from exc
            left = right
        return True

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        result: Any = None
        for value in node.values:
            result = self.visit(value)
            if isinstance(node.op, ast.And) and not result:
                return result
            if isinstance(node.op, ast.Or) and result:
                return result
        return result

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        try:
            return _UNARY[type(node.op)](self.visit(node.operand))
        except TypeError as exc:
            raise ExpressionError(str(exc)) from exc

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Mod) and isinstance(left, str):
            raise ExpressionError("text formatting with % is not allowed")
        if isinstance(node.op, ast.Mult):
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_SEQUENCE:
                    raise ExpressionError("result too large")
        try:
            result = _BINARY[type(node.op)](left, right)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            raise ExpressionError(str(exc)) from exc
        return _bounded(result)

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_Call(self, node: ast.Call) -> Any:
        assert isinstance(node.func, ast.Name)
        if node.func.id == "defined":
            if len(node.args) != 1 or not isinstance(node.args[0], ast.Constant):
                raise ExpressionError("defined() takes one quoted variable name")
            return node.args[0].value in self.data
        args = [self.visit(a) for a in node.args]
        if node.func.id == "str" and any(isinstance(a, list | tuple | dict) for a in args):
            raise ExpressionError("str() takes text, numbers or dates, not lists")
        try:
            return _bounded(HELPERS[node.func.id](*args))
        except ExpressionError:
            raise
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise ExpressionError(f"{node.func.id}(): {exc}") from exc


# --- Refusals in the words of the person who wrote the expression -------------------------------------------

_OPERATOR_WORDS: dict[type[ast.AST], str] = {
    ast.Pow: "`**` is not allowed; multiply instead", ast.MatMult: "`@` is not allowed",
    ast.BitAnd: "`&` is not allowed; write `and` instead", ast.BitOr: "`|` is not allowed; write `or` instead",
    ast.BitXor: "`^` is not allowed; write `!=` instead", ast.Invert: "`~` is not allowed; write `not` instead",
    ast.LShift: "`<<` is not allowed; multiply instead", ast.RShift: "`>>` is not allowed; divide with // instead",
}
_LOOPS = "use any(...), all(...), sorted(...) or len(...) instead, or a multi-instance step for one step per item"
_NODE_WORDS: dict[type[ast.AST], str] = {
    ast.Attribute: "reading an attribute or calling a method is not allowed; use the language's functions instead",
    ast.Lambda: "functions (lambda) are not allowed; write the expression itself instead",
    ast.FunctionDef: "defining functions is not allowed; write `name = expression` lines instead",
    ast.AsyncFunctionDef: "defining functions is not allowed; write `name = expression` lines instead",
    ast.ClassDef: "classes are not allowed; write `name = expression` lines instead",
    ast.For: f"loops are not allowed; {_LOOPS}", ast.AsyncFor: f"loops are not allowed; {_LOOPS}",
    ast.While: f"loops are not allowed; {_LOOPS}",
    ast.ListComp: f"comprehensions are not allowed; {_LOOPS}", ast.SetComp: f"comprehensions are not allowed; {_LOOPS}",
    ast.DictComp: f"comprehensions are not allowed; {_LOOPS}",
    ast.GeneratorExp: f"comprehensions are not allowed; {_LOOPS}",
    ast.Import: "importing is not allowed; use the language's functions instead",
    ast.ImportFrom: "importing is not allowed; use the language's functions instead",
    ast.JoinedStr: "f-strings are not allowed; join text with + and str(...) instead",
    ast.If: "`if` statements are not allowed; write `name = a if condition else b` instead",
    ast.NamedExpr: "`:=` is not allowed; write `name = expression` on a line of its own instead",
    ast.Set: "sets ({...}) are not allowed; use a list [...] instead",
    ast.Starred: "`*` unpacking is not allowed; write the items out instead",
    ast.AnnAssign: "type annotations are not allowed; write `name = expression` instead",
}


def _quote(source: str, node: ast.AST) -> str:
    """The source text of `node` on one line, shortened for a message."""
    text = " ".join((ast.get_source_segment(source, node) or ast.unparse(node)).split())
    return text if len(text) <= 70 else text[:67] + "..."


def _not_allowed(node: ast.AST, source: str) -> str:
    """Why a construct outside the language is refused, quoting it and giving the accepted form."""
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and type(node.op) in _BINARY:
        symbol = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%"}[
            type(node.op)]
        name = node.target.id
        return (f"`{_quote(source, node)}` is not allowed; write `{name} = {name} {symbol} "
                f"{_quote(source, node.value)}` instead")
    words = _OPERATOR_WORDS.get(type(node)) or _NODE_WORDS.get(type(node))
    if words is None:
        words = ("is not part of the restricted language; write `name = expression` lines with its operators and "
                 "functions instead")
    if hasattr(node, "lineno"):
        return f"`{_quote(source, node)}`: {words}"
    return words


def _unknown_call(node: ast.Call, source: str) -> str:
    """Why a call is refused: Camunda's variable access gets its plain form, anything else the known functions."""
    known = ", ".join(sorted(HELPERS))
    quoted = _quote(source, node)
    func = node.func
    first = node.args[0] if node.args else None
    variable = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
    if isinstance(func, ast.Attribute) and func.attr == "getVariable" and len(node.args) == 1 and variable:
        return f"`{quoted}` is Camunda's way to read a variable; write `{variable}` instead"
    if isinstance(func, ast.Attribute) and func.attr == "setVariable" and len(node.args) == 2 and variable:
        value = _quote(source, node.args[1])
        return f"`{quoted}` is Camunda's way to set a variable; write `{variable} = {value}` instead"
    if isinstance(func, ast.Name):
        return f"`{quoted}`: {func.id} is not a function of the language; use one of {known} instead"
    return f"`{quoted}`: calling methods is not allowed; use one of the functions {known} instead"


def _syntax_message(text: str, exc: SyntaxError) -> str:
    """A syntax error quoting what was written, with an example of the accepted form."""
    if not text:
        return "the expression is empty; write one, e.g. `decision == \"yes\"`"
    first = " ".join(text.split())
    quoted = first if len(first) <= 70 else first[:67] + "..."
    return (f"`{quoted}` is not a valid expression ({exc.msg}); write it in the restricted language instead, e.g. "
            "`decision == \"yes\"`, `not clarified` or `add_weeks(decision_date, 6)`")


_JUEL_WORDS = {"eq": "==", "ne": "!=", "gt": ">", "lt": "<", "ge": ">=", "le": "<=", "true": "True",
               "false": "False", "null": "None", "empty": "not"}
_FEEL_WORDS = {"true": "True", "false": "False", "null": "None"}


def _accepted(text: str, mode: str) -> bool:
    """True when `text` is in the restricted language (used to offer a rewritten expression)."""
    try:
        _check_tree(ast.parse(text, mode=mode), text)
    except (SyntaxError, ValueError, RecursionError, ExpressionError):
        return False
    return bool(text)


def _foreign_dialect(text: str, mode: str) -> str | None:
    """A message for a Camunda JUEL (`${...}`) or FEEL (`= ...`) expression, offering the accepted form."""
    quoted = " ".join(text.split())
    quoted = quoted if len(quoted) <= 70 else quoted[:67] + "..."
    if len(text) > 2 and text[0] in "$#" and text[1] == "{" and text.endswith("}"):
        inner = text[2:-1].replace("&&", " and ").replace("||", " or ")
        inner = re.sub(r"\bexecution\.getVariable\(\s*[\"'](\w+)[\"']\s*\)", r"\1", inner)
        inner = re.sub(r"!(?!=)", " not ", inner)
        inner = re.sub(r"\b(eq|ne|gt|lt|ge|le|true|false|null|empty)\b", lambda m: _JUEL_WORDS[m.group(1)], inner)
        kind = f"a Camunda JUEL expression ({text[0]}{{...}})"
    elif text.startswith("=") and not text.startswith("=="):
        inner = re.sub(r"(?<![<>!=])=(?!=)", "==", text[1:])
        inner = re.sub(r"\b(true|false|null)\b", lambda m: _FEEL_WORDS[m.group(1)], inner)
        inner = re.sub(r"\bcount\(", "len(", re.sub(r"\bstring\(", "str(", inner))
        inner = re.sub(r"\b(?:duration|date and time|date)\(\s*(\"[^\"]*\")\s*\)", r"\1", inner)
        kind = "a Camunda 8 FEEL expression (it starts with '=')"
    else:
        return None
    suggestion = " ".join(inner.split())
    if _accepted(suggestion, mode):
        return f"`{quoted}` is {kind}, which this engine does not read; write `{suggestion}` instead"
    return (f"`{quoted}` is {kind}, which this engine does not read; write it in the restricted language instead, "
            "e.g. `not clarified`, `approved` or `len(agencies) > 3 and agreed == True`")
