"""gunicorn settings for the SCR web app: `gunicorn -c deploy/gunicorn.conf.py` (docs/deploy.md).

Read from the environment (the same file the app reads, deploy/env.example):
  SCR_WEB_BIND      address and port to listen on (default 127.0.0.1:8000: only the reverse proxy reaches it)
  SCR_WEB_WORKERS   web processes (default 2; about one per CPU core the machine gives the app)
  SCR_WEB_TIMEOUT   seconds a request may run before its process is replaced (default 60)
  SCR_PROXIES       how many reverse proxies stand in front, each adding to X-Forwarded-For (default 0; 1 for one
                    proxy): the sign-in limits count per client address, which only the proxies' headers give
  SCR_WEB_LOGLEVEL  gunicorn's log level (default info)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from gunicorn.http import wsgi as _http

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `web.wsgi` imports from any working directory

from web.safety import SERVER_NAME  # noqa: E402  (after the path is set)

wsgi_app = "web.wsgi:app"
chdir = str(ROOT)
bind = [os.environ.get("SCR_WEB_BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("SCR_WEB_WORKERS", "2"))
worker_class = "sync"  # one request at a time per process: the reverse proxy buffers slow clients
proc_name = "scr-web"

# Load the app (connect, migrate, compile the process versions in use) once in the master, before forking: every
# worker starts with the compiled versions in memory shared copy-on-write, and a worker never accepts a request
# before they are ready. Code changes therefore need a restart (systemctl restart), not a HUP.
preload_app = True

timeout = int(os.environ.get("SCR_WEB_TIMEOUT", "60"))  # a stuck request frees its process after this
graceful_timeout = 30  # on stop or restart, requests in flight get this long to finish
keepalive = 5  # seconds an idle connection from the reverse proxy stays open

# Refuse oversized request heads before the app sees them (bodies are limited by the app itself).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# Errors and start-up lines go to standard error (journald under systemd). No access log: the reverse proxy keeps
# one, and a log line here would hold query strings and client addresses a second time.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("SCR_WEB_LOGLEVEL", "info")
control_socket_disable = True  # no management socket (gunicorn 25+): systemctl starts, stops and restarts
if Path("/dev/shm").is_dir():
    worker_tmp_dir = "/dev/shm"  # the workers' heartbeat files never wait on a slow disk

# Headers from the proxy: the client's address comes from X-Forwarded-For through werkzeug's ProxyFix (post_worker_init,
# trusting exactly SCR_PROXIES hops; gunicorn itself never reads that header). gunicorn is told to believe no
# scheme or path header at all (it would from 127.0.0.1 and any Unix socket peer): a request marked https switches
# on flask-wtf's strict Referer check, and as the app sends `Referrer-Policy: no-referrer` browsers send no Referer,
# so every form would be refused (400 "The referrer header is missing."). The app needs no scheme: cookies are
# Secure by SCR_SESSION_COOKIE_SECURE and links in mail come from SCR_BASE_URL.
PROXIES = int(os.environ.get("SCR_PROXIES", "0"))
secure_scheme_headers: dict[str, str] = {}
forwarder_headers = ""


def post_fork(server: Any, worker: Any) -> None:
    """Give each worker its own database connections: none opened by the master before forking is shared."""
    module = sys.modules.get("web.wsgi")
    engine = getattr(module, "_engine", None)
    if engine is not None:
        engine.dispose(close=False)  # forget the master's pooled connections without closing them under it


def post_worker_init(worker: Any) -> None:
    """Behind SCR_PROXIES reverse proxies, take the client's address from the X-Forwarded-For they write."""
    if PROXIES > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        worker.wsgi = ProxyFix(worker.wsgi, x_for=PROXIES, x_proto=0, x_host=0, x_port=0, x_prefix=0)


# gunicorn answers `Server: gunicorn` and drops the one the app sets (it treats Server as its own header). Name the
# app instead, as `run.py serve` does: no software, no version (issue 14, finding 8).
_http.SERVER = SERVER_NAME
_http.SERVER_SOFTWARE = SERVER_NAME  # what the app would read as the environ's SERVER_SOFTWARE
