"""A SpiffWorkflow script engine that runs the restricted language instead of Python `eval`/`exec`."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.errors import ExpressionError
from engine.workflow import expressions


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


def restricted_script_engine() -> PythonScriptEngine:
    """A script engine whose every evaluation goes through the restricted language."""
    return PythonScriptEngine(environment=RestrictedEnvironment())
