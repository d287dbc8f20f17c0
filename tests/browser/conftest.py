"""Browser tests: the real app served on localhost, driven by Playwright in Debian's Chromium.

Chromium comes from apt (/usr/bin/chromium, installed by scripts/setup), never from `playwright install`.
Without it the browser tests are skipped locally and fail under CI=true. A failing test leaves a
screenshot of each of its pages in test-results/screenshots/.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from engine.authoring.versions import deploy
from engine.bootstrap import build_services
from engine.casework.accounts import seed_users, set_password_hash
from engine.casework.cases import start_case
from engine.casework.completion import complete_task
from engine.casework.queries import my_tasks
from engine.casework.roles import assign_role
from engine.casework.services import Services
from engine.clock import FrozenClock
from engine.ports import Assignment
from engine.workflow.specs import read_diagrams
from tests.drive import ready
from tests.factor import SERVED, code_now, needs_factor
from tests.formfill import fill

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-results" / "screenshots"
PASSWORD = "correct horse battery staple"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 5_000
PAGES = pytest.StashKey[list[Any]]()

try:
    import playwright  # noqa: F401
except ImportError:  # a machine set up without the dev extras: skip quietly here, fail loudly in CI
    if os.environ.get("CI", "").lower() != "true":
        collect_ignore_glob = ["test_*.py"]


def _unavailable(reason: str) -> None:
    """Skip on a developer machine; fail in CI, where the browser must be there."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


class LiveServer:
    """The app on 127.0.0.1 in a background thread, with the Services it runs on (for arranging cases)."""

    def __init__(self, url: str, services: Services) -> None:
        self.url = url
        self.services = services

    def advance(self, board: str, referrer: str, lead: str) -> str:
        """Start a case as `referrer`, complete the referral and have `lead` counter-sign it.

        The lead is named in the referral where its form asks for one, and is otherwise given the
        counter-signing task's role on the case. Returns the case reference; the next task is the
        LSCB administrator's.
        """
        record = start_case(self.services, board, referrer)
        case_id = record.id or 0
        [referral] = ready(self.services, case_id)
        with self.services.uow() as uow:
            lead_user = uow.people.get_user(lead)
        agency = {"referrer_agency": lead_user.agency} if lead_user is not None and lead_user.agency else {}
        complete_task(self.services, referral.id, referrer,
                      fill(self._schema(case_id, referral), {"safeguarding_lead": lead, **agency}))
        [countersign] = ready(self.services, case_id)
        if countersign.id not in {t.id for t in my_tasks(self.services, lead)}:
            assign_role(self.services, Assignment(lead, countersign.role or "", board, case_id,
                                                     countersign.agency), by="tests")
        complete_task(self.services, countersign.id, lead, fill(self._schema(case_id, countersign)))
        assert any(t.role == "lscb_administrator" for t in ready(self.services, case_id))
        return record.reference

    def _schema(self, case_id: int, task: Any) -> dict[str, Any]:
        with self.services.uow() as uow:
            process = self.services.process_of(uow, uow.cases.get(case_id))
        return process.form(task.form) if task.form else {"properties": {}}


def serve(folder: Path, clock: FrozenClock) -> Iterator[LiveServer]:
    """The whole app on a fresh SQLite file in `folder`, on `clock`: bpmn/ deployed, demo users signing in with
    PASSWORD."""
    from werkzeug.serving import make_server

    from web import create_app
    from web.accounts import Passwords

    services, engine = build_services(f"sqlite:///{folder / 'scr.sqlite3'}", ROOT / "forms", clock)
    deploy(services, read_diagrams([ROOT / "bpmn"]), by="tests")
    seed_users(services, services.catalogue.users)
    hashed = Passwords(fast=True).hash(PASSWORD)
    for user in services.catalogue.users:
        set_password_hash(services, user["username"], hashed)
    app = create_app(services, {"TESTING": True, "FAST_PASSWORD_HASHING": True, "SECRET_KEY": "browser-tests"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    SERVED[url] = services
    try:
        yield LiveServer(url, services)
    finally:
        SERVED.pop(url, None)
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        engine.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The whole app on a fresh SQLite file, its clock frozen at the tests' T0."""
    from tests.service.conftest import T0

    yield from serve(tmp_path_factory.mktemp("browser"), FrozenClock(T0))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium for the session."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (scripts/setup installs Debian's chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -c constraints.txt -e '.[dev]')")
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
    finally:
        playwright.stop()


@pytest.fixture
def new_page(browser: Any, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[Callable[[], Any]]:
    """Open a page in a fresh browser context (its own cookies: another person at another desk)."""
    contexts: list[Any] = []
    pages = request.node.stash.setdefault(PAGES, [])

    problems: list[str] = []

    def open_page() -> Any:
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        page.on("console", lambda message: _console_problem(message, problems))
        pages.append(page)
        return page

    yield open_page
    for context in contexts:
        context.close()
    if problems:
        pytest.fail("the browser reported problems:\n" + "\n".join(problems), pytrace=False)


def _console_problem(message: Any, problems: list[str]) -> None:
    """Console errors fail the test (a blocked script or style, say); 4xx pages are expected here."""
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        problems.append(f"console error: {message.text}")


@pytest.fixture
def page(new_page: Callable[[], Any]) -> Any:
    """A page in a fresh context, signed out."""
    return new_page()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep a screenshot of every page of a failed browser test (before its context closes)."""
    outcome = yield
    report = outcome.get_result()
    pages = item.stash.get(PAGES, [])
    if report.when != "call" or not report.failed or not pages:
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name)
    for number, shown in enumerate(pages, start=1):
        path = SCREENSHOTS / (f"{name}.png" if number == 1 else f"{name}-{number}.png")
        try:
            shown.screenshot(path=str(path), full_page=True)
        except Exception as exc:  # noqa: BLE001 - a closed page must not hide the test's own failure
            report.sections.append(("screenshot", f"could not save {path}: {exc}"))
        else:
            report.sections.append(("screenshot", str(path)))


DOC_SCREENSHOTS = ROOT / "docs" / "screenshots"
SHOT_HEIGHT = 2000  # px: the top of a long page is what a reader of the docs needs


def keep_screenshot(page: Any, name: str) -> None:
    """Save what the page shows now (its top 2000 px) as test-results/screenshots/roles/<name>.png, and as
    docs/screenshots/<name>.png (docs/roles.md) when that is missing or SCR_REFRESH_SCREENSHOTS=1 asks for it, so
    a test run does not rewrite the pictures the repository keeps."""
    taken = SCREENSHOTS / "roles" / f"{name}.png"
    taken.parent.mkdir(parents=True, exist_ok=True)
    height = min(int(page.evaluate("document.documentElement.scrollHeight")), SHOT_HEIGHT)
    page.screenshot(path=str(taken), full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": height})
    kept = DOC_SCREENSHOTS / f"{name}.png"
    if not kept.exists() or os.environ.get("SCR_REFRESH_SCREENSHOTS") == "1":
        DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        kept.write_bytes(taken.read_bytes())


def sign_in(page: Any, username: str, password: str = PASSWORD, second_factor: bool = True) -> None:
    """Sign in through the sign-in page, as a person would; an administrator then types the code their
    authenticator app shows (web/factor.py) and comes back to the page signing in led to."""
    page.goto("/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    parts = urlsplit(page.url)
    services = SERVED.get(f"{parts.scheme}://{parts.netloc}")
    if not second_factor or password != PASSWORD or services is None or not needs_factor(services, username):
        return
    page.wait_for_url(lambda url: urlsplit(url).path != "/login")
    landed = urlsplit(page.url)
    page.goto("/verify?" + urlencode({"next": landed.path + (f"?{landed.query}" if landed.query else "")}))
    page.get_by_label("6-digit code").fill(code_now(services, username))
    page.get_by_role("button", name=re.compile("^Continue to")).click()
    page.wait_for_url(lambda url: urlsplit(url).path != "/verify")
    refused = page.locator("#code-error")
    assert not refused.count(), f"{username}: {refused.inner_text()}"
