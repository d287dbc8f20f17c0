"""The engine's error hierarchy; the web layer maps each to one HTTP status in one place."""

from __future__ import annotations

from dataclasses import dataclass


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class NotFound(EngineError):
    """The thing asked for does not exist (or the caller may not know that it does)."""


class NotPermitted(EngineError):
    """The caller holds no role that allows this action."""


class Conflict(EngineError):
    """Someone else changed the case first (stale version) or the task is no longer ready."""


class TaskCompleted(Conflict):
    """The task was completed already (by someone else, or by this very request retried after a lost answer)."""

    code = "task_already_completed"


class Claimed(Conflict):
    """Someone else has claimed the ready task."""


class StaleCase(Conflict):
    """Another step saved the case after this one read it: the step may be run again on the fresh state."""


class MigrationNotSafe(Conflict):
    """A running case cannot move to another version safely; `why` says so in a process owner's words."""

    code = "migration_not_safe"

    def __init__(self, why: str) -> None:
        self.why = why
        super().__init__(f"{why} [migration_not_safe]")


@dataclass(frozen=True)
class FieldError:
    """One invalid form field: where and why."""

    field: str
    message: str


class InvalidSubmission(EngineError):
    """Form data failed validation; `errors` lists each field's problem."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors) or "invalid submission")


@dataclass(frozen=True)
class Problem:
    """One reason a diagram is refused, naming the file and element."""

    code: str
    message: str
    element: str | None = None
    file: str | None = None

    def __str__(self) -> str:
        where = ":".join(p for p in (self.file, self.element) if p)
        return f"{where}: {self.message} [{self.code}]" if where else f"{self.message} [{self.code}]"


class InvalidDiagram(EngineError):
    """A diagram (or its forms) was refused; `problems` names each element at fault."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ExpressionError(EngineError):
    """An expression or script is outside the restricted language, or failed to evaluate."""


class WorkflowFailed(EngineError):
    """The workflow engine could not proceed (an error inside the running diagram); `element` names where."""

    def __init__(self, message: str, element: str | None = None) -> None:
        self.element = element
        super().__init__(message)


class AnonymisationFailed(EngineError):
    """An export was refused: the leak scan found what the case's key says is identifying, or the key is incomplete.
    `findings` says where (file, part, offset), never what."""

    code = "anonymisation_failed"

    def __init__(self, message: str, findings: list[str]) -> None:
        self.findings = findings
        super().__init__(message)


class InvalidOutline(EngineError):
    """A document outline or the glossary (forms/documents) was refused: the message names the file and the place."""


class ConversionFailed(EngineError):
    """LibreOffice or poppler is missing, timed out, or produced no PDF; the message says which and what to do."""
