"""Saving a workflow without its spec (stored once per process version) and restoring it onto cached specs."""

from __future__ import annotations

import json
import threading
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.errors import WorkflowFailed

SERIALIZER_VERSION = str(getattr(BpmnWorkflowSerializer, "VERSION", "1.5"))


class _SpeclessConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Writes a workflow without its spec (stored once per version) and restores it onto cached specs."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def restore_onto(self, dct: dict[str, Any], spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
        workflow = BpmnWorkflow(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class _PerThreadEncoderMode(DefaultRegistry):  # type: ignore[misc]
    """SpiffWorkflow's registry with its encoder-mode flag kept per thread.

    `dump` turns the flag on while it converts; as one shared attribute, a request thread restoring a case while
    the timer worker dumps another would convert in the wrong mode. Per thread, each call sees only its own.
    """

    def __init__(self) -> None:
        self._mode = threading.local()
        super().__init__()

    @property
    def _encoder_mode(self) -> bool:
        return bool(getattr(self._mode, "on", False))

    @_encoder_mode.setter
    def _encoder_mode(self, on: bool) -> None:
        self._mode.on = on


# One registry, serializer and converter for the process: they hold no per-call state but the flag above.
_REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG, _PerThreadEncoderMode())
_SERIALIZER = BpmnWorkflowSerializer(_REGISTRY)
_CONVERTER = _SpeclessConverter(BpmnWorkflow, _REGISTRY)


def dump(workflow: BpmnWorkflow) -> str:
    """The workflow's state as compact JSON, without `spec` and `subprocess_specs`."""
    _REGISTRY._encoder_mode = True
    try:
        dct = _CONVERTER.to_dict(workflow)
        dct["serializer_version"] = SERIALIZER_VERSION
        return json.dumps(dct, cls=_SERIALIZER._encoder_cls, separators=(",", ":"))
    finally:
        _REGISTRY._encoder_mode = False


def restore(state: str | bytes, spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
    """Rebuild a workflow from `dump` output onto already-built specs (WorkflowFailed on a foreign version)."""
    dct = json.loads(state)
    version = dct.pop("serializer_version", None)
    if version not in (None, SERIALIZER_VERSION):
        raise WorkflowFailed(f"stored state has serializer version {version}; run the migration job")
    return _CONVERTER.restore_onto(dct, spec, subprocess_specs)
