"""The studio over HTTP: a second factor before anything changes (T-A6), downloads as attachments, a strict CSP."""

from __future__ import annotations

import io
import re

import pyotp
from flask import Flask

from engine.casework.services import Services
from tests.web.conftest import Browser

DIAGRAM = (b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">'
           b'<bpmn:process id="sketch" isExecutable="true"><bpmn:startEvent id="s"/></bpmn:process>'
           b'</bpmn:definitions>')


def _upload(browser: Browser) -> int:
    token = browser.token("/")
    return browser.client.post("/studio/upload", data={"board": "dorset", "csrf_token": token,
                                                       "file": (io.BytesIO(DIAGRAM), "sketch.bpmn")},
                               content_type="multipart/form-data").status_code


def test_an_owner_uploads_nothing_until_the_second_factor_is_done_and_a_wrong_code_changes_nothing(
        browser: Browser, services: Services) -> None:
    browser.sign_in("dorset.owner")
    assert _upload(browser) == 403
    page = browser.client.get("/studio/verify").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert secret is not None
    wrong = browser.post("/studio/verify", {"code": "000000"})
    assert wrong.status_code == 422 and "does not match" in wrong.get_data(as_text=True)
    with services.uow() as uow:
        assert uow.people.totp_secret("dorset.owner") == "pending:" + secret.group(1)  # grants nothing yet
    right = browser.post("/studio/verify", {"code": pyotp.TOTP(secret.group(1)).at(services.clock.now())})
    assert right.status_code == 302
    assert _upload(browser) == 302
    with services.uow() as uow:
        assert [d.process_id for d in uow.studio.list("dorset")] == ["sketch"]
        assert [e.actor for e in uow.events.for_case(None) if e.kind == "procedure_uploaded"] == ["dorset.owner"]


def test_studio_pages_allow_no_inline_script_and_downloads_are_attachments(
        browser: Browser, services: Services, app: Flask) -> None:
    browser.sign_in("dorset.owner")
    page = browser.client.get("/studio/verify")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.get_data(as_text=True))
    assert secret is not None
    browser.post("/studio/verify", {"code": pyotp.TOTP(secret.group(1)).at(services.clock.now())})
    with services.uow() as uow:
        version = uow.versions.latest("scr_dorset")
    assert version is not None
    download = browser.client.get(f"/studio/versions/{version.id}/download")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.get_data().startswith(b"<?xml")
