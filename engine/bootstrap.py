"""The composition root: a database URL, the forms directory and a clock become a ready Services."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from engine.casework.services import Services
from engine.clock import Clock, SystemClock
from engine.store.db import init_db, make_engine
from engine.store.uow import uow_factory
from engine.workflow.catalogue import load_catalogue
from engine.workflow.specs import read_forms


def build_services(database_url: str, forms_dir: Path, clock: Clock | None = None,
                   migrate: bool = True) -> tuple[Services, Engine]:
    """Connect, migrate to the latest schema (unless told not to) and wire the use cases."""
    engine = make_engine(database_url)
    if migrate:
        init_db(engine)
    services = Services(uow=uow_factory(engine), catalogue=load_catalogue(forms_dir),
                        forms=lambda: read_forms(forms_dir), clock=clock or SystemClock(),
                        documents_dir=forms_dir / "documents", unavailable=(OperationalError,))
    return services, engine
