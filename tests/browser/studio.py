"""Helpers for the studio's browser tests: a server of their own (publishing changes what every case starts on),
signing in with the second factor, and reading what the modeler holds."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pyotp

from engine.authoring import studio
from engine.clock import FrozenClock
from tests.browser.conftest import LiveServer, sign_in


def studio_sign_in(page: Any, username: str, clock: FrozenClock) -> None:
    """Sign in and pass the second factor (enrolling on the first visit), as a process owner would."""
    sign_in(page, username)
    page.goto("/studio/")
    page.wait_for_url(re.compile(r"/verify\?next="))
    page.get_by_label("6-digit code").wait_for()  # the page is there: the key shows if this is the first time
    secret_shown = page.locator("#totp-secret")
    key = (page.url.split("/verify")[0], username)  # each test server has its own database
    if secret_shown.count():
        STORE[key] = secret_shown.inner_text().strip()
    secret = STORE[key]
    page.get_by_label("6-digit code").fill(pyotp.TOTP(secret).at(clock.now()))
    page.get_by_role("button", name="Continue to the studio").click()
    refused = page.locator("#code-error")
    assert not refused.count(), f"{username}: {refused.inner_text()} (clock {clock.now()})"
    page.wait_for_url(re.compile(r"^[^?]*/studio/$"))


STORE: dict[tuple[str, str], str] = {}


def open_modeler(page: Any, url: str) -> None:
    """Open a draft in the modeler and wait until the diagram is drawn."""
    page.goto(url)
    page.wait_for_selector("body[data-modeler=ready]")


def modeler_xml(page: Any) -> str:
    """The diagram as the modeler would save it now."""
    return str(page.evaluate("async () => (await window.studioModeler.saveXML({format: true})).xml"))


def pages_on(browser: Any, server: LiveServer) -> Iterator[Callable[[], Any]]:
    """Open pages in new browser contexts on `server`; a script or console error fails the test at the end."""
    problems: list[str] = []
    contexts: list[Any] = []

    def open_page() -> Any:
        context = browser.new_context(base_url=server.url)
        context.set_default_timeout(8_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error"
                and not m.text.startswith("Failed to load resource") else None)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not problems, problems


def clock_of(server: LiveServer) -> FrozenClock:
    """The live server's frozen clock (the second factor's codes are checked against it)."""
    clock = server.services.clock
    assert isinstance(clock, FrozenClock)
    return clock


def draft_opened_by(page: Any, server: LiveServer, owner: str, process_id: str, modeler: bool = True) -> int:
    """A new draft of a procedure's published version, opened by `owner` (signed in with the second factor)."""
    published = studio.published_version(server.services, process_id)
    assert published is not None and published.id is not None
    draft = studio.start_draft(server.services, owner, published.id)
    studio_sign_in(page, owner, clock_of(server))
    if modeler:
        open_modeler(page, f"/studio/drafts/{draft.id}")
    else:
        page.goto(f"/studio/drafts/{draft.id}")
    return draft.id or 0
