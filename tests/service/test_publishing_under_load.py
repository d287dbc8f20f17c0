"""Publishing while people work (RELIABILITY.md T-V2): a new version approved while steps are being completed on
running cases breaks none of them, and no running case changes the version it is pinned to."""

from __future__ import annotations

import threading
from pathlib import Path

from engine.authoring import studio
from engine.authoring.versions import deploy
from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.services import Services
from engine.errors import Conflict
from engine.workflow.specs import read_diagrams
from tests.drive import SCR_PATH, SUPERUSER, form_data, grant_everything, ready

ROOT = Path(__file__).resolve().parents[2]
CASES = 6


def _work(services: Services, case_ids: list[int], steps: int, failures: list[BaseException]) -> None:
    """Complete the next ready step of each case in turn, `steps` rounds (a Conflict is someone else's step)."""
    try:
        for _ in range(steps):
            for case_id in case_ids:
                tasks = [t for t in ready(services, case_id) if not t.name.startswith("raise_overrun")]
                if not tasks:
                    continue
                try:
                    complete_task(services, tasks[0].id, SUPERUSER, form_data(services, case_id, tasks[0], SCR_PATH))
                except Conflict:
                    continue
    except BaseException as exc:  # noqa: BLE001 - reported by the test, with the others
        failures.append(exc)


def test_a_version_published_while_steps_are_completed_breaks_no_case_and_moves_none(
        repository_services: Services) -> None:
    services = repository_services
    deploy(services, read_diagrams([ROOT / "bpmn"]), by="tests")
    grant_everything(services, "dorset", [])
    records = [start_case(services, "dorset", SUPERUSER) for _ in range(CASES)]
    pinned = {r.id: r.version_id for r in records}
    published = studio.published_version(services, "scr_dorset")
    assert published is not None and published.id is not None
    draft = studio.start_draft(services, "dorset.owner", published.id)
    path = next(k for k in draft.files if k.endswith("scr_dorset.bpmn"))
    studio.save_file(services, "dorset.owner", draft.id or 0, path, draft.files[path].replace('"P12W"', '"P8W"'))
    studio.submit(services, "dorset.owner", draft.id or 0, "eight-weekly monitoring")

    failures: list[BaseException] = []
    ids = [r.id or 0 for r in records]
    workers = [threading.Thread(target=_work, args=(services, ids[i::2], 4, failures)) for i in range(2)]
    for worker in workers:
        worker.start()
    version = studio.approve(services, "dorset.owner.second", draft.id or 0)
    for worker in workers:
        worker.join()

    assert failures == []
    with services.uow() as uow:
        assert {r.id: uow.cases.get(r.id or 0).version_id for r in records} == pinned
    _work(services, ids, 2, failures)
    assert failures == []
    assert start_case(services, "dorset", SUPERUSER).version_id == version.id != published.id
