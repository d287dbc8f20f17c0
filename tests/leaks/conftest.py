"""The web tests' app, browser and services (real forms and diagrams, SQLite or PostgreSQL as the run says) for the
end-to-end leak tests."""

from tests.service.conftest import database_url  # noqa: F401
from tests.web.conftest import app, browser, services  # noqa: F401
