"""A case goes on after the process restarts: its specs are compiled afresh, not carried over in memory."""

from __future__ import annotations

from pathlib import Path

from engine.authoring.versions import deploy
from engine.casework.cases import start_case
from engine.casework.services import Services
from engine.workflow.specs import read_diagrams
from tests.drive import SCR_PATH, SUPERUSER, drive_until, grant_everything

ROOT = Path(__file__).resolve().parents[2]
AGENCIES = ["police", "social_care"]


def test_a_case_whose_imrs_began_before_a_restart_runs_to_its_end_afterwards(repository_services: Services) -> None:
    services = repository_services
    deploy(services, read_diagrams([ROOT / "bpmn"]), by="tests")
    grant_everything(services, "dorset", AGENCIES)
    record = start_case(services, "dorset", SUPERUSER)
    path = {**SCR_PATH, "agencies": AGENCIES}
    drive_until(services, record.id or 0,
                lambda tasks: {t.agency for t in tasks if t.role == "imr_author"} >= set(AGENCIES), path)
    services._compiled.clear()  # what a restart (or another worker process) starts with
    drive_until(services, record.id or 0, lambda tasks: not tasks, path, max_steps=600)
    with services.uow() as uow:
        assert uow.cases.get(record.id or 0).status == "completed"
