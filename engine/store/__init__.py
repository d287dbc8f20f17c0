"""Persistence: SQLAlchemy models, repositories and unit of work behind engine.ports."""

from engine.store.db import init_db, make_engine, make_session_factory
from engine.store.uow import SqlUnitOfWork, uow_factory

__all__ = ["SqlUnitOfWork", "init_db", "make_engine", "make_session_factory", "uow_factory"]
