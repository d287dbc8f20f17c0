"""The production entry point: `gunicorn 'web.wsgi:app'` with DATABASE_URL and SCR_SECRET_KEY set."""

from __future__ import annotations

from engine.bootstrap import build_services
from web import config, create_app, freeze_startup_heap

config.refuse_unsafe_production()
_services, _engine = build_services(config.database_url(), config.forms_dir())
_services.warm_up()  # compile the process versions before accepting requests (with preload_app, before forking)
app = create_app(_services)
_engine.dispose()  # no pooled connection crosses a fork: each process opens its own on its first request
freeze_startup_heap()
