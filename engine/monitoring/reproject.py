"""Writing the monitor's projection of cases that started before it existed (revision 0007): each case restored
once, in its own transaction, its state unchanged."""

from __future__ import annotations

from engine.casework.services import Services
from engine.casework.steps import projected
from engine.workflow.runtime import Case


def reproject_cases(services: Services, batch: int = 100) -> int:
    """Project every case that has no projection yet; returns how many were written."""
    written = 0
    while True:
        with services.uow() as uow:
            ids = uow.monitor.unprojected(batch)
        if not ids:
            return written
        for case_id in ids:
            with services.uow() as uow:
                record = uow.cases.get(case_id, for_update=True)
                case = Case.restore(services.process_of(uow, record), services.catalogue, record.state)
                uow.cases.save(projected(record, case, record.updated_at))
                uow.commit()
                written += 1
