"""A SpiffWorkflow script engine that runs the restricted language instead of Python `eval`/`exec`."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.errors import ExpressionError
from engine.workflow import expressions
from engine.workflow.specs import shared_data


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    """Evaluates conditions, timers and `name = expression` scripts with engine.expressions."""

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        """Evaluate one expression against the task data (plus any external context)."""
        data = {**(external_context or {}), **context}
        return expressions.evaluate(expression, data)

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        """Run a data-setting script, writing its assignments into the task data."""
        expressions.run_script(script, context)
        return True

    def call_service(self, context: Any, **kwargs: Any) -> Any:
        """Service tasks are refused at deploy time; reaching here is a bug."""
        raise ExpressionError("service tasks are not supported")


class SharedDataScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """Conditions and timers also see the data objects of the process and of the processes that called it (under the
    task's own data), as due dates do: a revised timetable written in one branch moves another branch's timers."""

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        """Evaluate against the task data over the shared data objects."""
        return super().evaluate(task, expression, {**shared_data(task.workflow), **(external_context or {})})


def restricted_script_engine() -> PythonScriptEngine:
    """A script engine whose every evaluation goes through the restricted language."""
    return SharedDataScriptEngine(environment=RestrictedEnvironment())
