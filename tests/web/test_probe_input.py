"""Hostile input the probe sent (issue 14, findings 2, 3, 4 and 8): each answered with a clear 4xx, nothing stored."""

from __future__ import annotations

import http.client
import io
import re
import threading
from typing import Any

import pytest
from flask import Flask
from werkzeug.datastructures import FileStorage
from werkzeug.serving import make_server
from werkzeug.test import encode_multipart

from engine.casework import drafts
from engine.casework.accounts import issue_token
from engine.casework.services import Services
from engine.ports import TaskRow
from tests.web.conftest import PASSWORD, Browser
from tests.web.test_work import referral, signed_in
from web import safety

REFERRER = "dorset.referrer"
HUGE_ID = "99999999999999999999999"


def bearer(services: Services, username: str = REFERRER) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(services, username)}"}


def sign_in_then(browser: Browser, target: str) -> str:
    """Where the sign-in sends the person, given ?next=target (the raw query text)."""
    answer = browser.client.post(f"/login?next={target}", data={"username": REFERRER, "password": PASSWORD,
                                                                 "csrf_token": browser.token()})
    assert answer.status_code == 302
    return str(answer.headers["Location"])


# Finding 2: only same-site paths are followed after sign-in or a claim.

HOSTILE_TARGETS = ["/%09/evil.example", "//evil.example", "/%5Cevil.example", "%5C%5Cevil.example",
                   "https://evil.example/", "/%0D%0A/evil.example", "%20//evil.example", "javascript:alert(1)",
                   "/\\/evil.example", "http:/evil.example", "/%E2%80%A8/evil.example"]


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_signing_in_never_sends_the_person_to_another_site(browser: Browser, target: str) -> None:
    assert sign_in_then(browser, target) == "/"


def test_signing_in_goes_on_to_the_page_asked_for_on_this_site(browser: Browser) -> None:
    assert sign_in_then(browser, "/cases/%3Fsort%3Dreference") == "/cases/?sort=reference"


@pytest.mark.parametrize("target", ["/\t/evil.example", "//evil.example", "/\\evil.example", "https://evil.example"])
def test_claiming_a_task_never_sends_the_person_to_another_site(app: Flask, services: Services, target: str) -> None:
    task = referral(services)
    answer = signed_in(app, REFERRER).post(f"/tasks/{task.id}/claim", {"next": target}, token_from="/")
    assert answer.status_code == 302 and answer.headers["Location"] == f"/tasks/{task.id}"


def test_claiming_a_task_goes_back_to_the_page_it_came_from(app: Flask, services: Services) -> None:
    task = referral(services)
    answer = signed_in(app, REFERRER).post(f"/tasks/{task.id}/claim", {"next": "/cases/"}, token_from="/")
    assert answer.headers["Location"] == "/cases/"


@pytest.mark.parametrize("target, followed", [
    ("/cases/1", "/cases/1"), ("/tasks/a?b=c#d", "/tasks/a?b=c#d"), (" /cases/ ", "/cases/"), ("", None),
    ("//x", None), ("/\\x", None), ("\\\\x", None), ("/a\\b", None), ("/\x7f/x", None), ("/\u2028/x", None),
    ("https://x/", None), ("https:/x", None), ("x", None), ("javascript:x", None), ("/\x00", None)])
def test_a_target_is_followed_only_when_it_is_a_path_on_this_site(target: str, followed: str | None) -> None:
    assert safety.same_site(target) == followed


# Finding 3: bodies are limited before they are read, and refusals never echo the whole submission.

def test_a_draft_larger_than_the_limit_is_refused_with_413_and_not_stored(app: Flask, services: Services) -> None:
    task = referral(services)
    answer = app.test_client().put(f"/api/tasks/{task.id}/draft", json={"data": {"concerns": "x" * 2_000_000}},
                                   headers=bearer(services))
    assert answer.status_code == 413
    assert "larger than" in answer.get_json()["message"] and len(answer.get_data()) < 1000
    assert drafts.draft_of(services, task.id, REFERRER) is None


def test_a_form_larger_than_the_limit_is_refused_with_a_page_saying_so(app: Flask, services: Services) -> None:
    task = referral(services)
    browser = signed_in(app, REFERRER)
    answer = browser.post(f"/tasks/{task.id}", {"action": "draft", "concerns": "x" * 2_000_000})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 413 and "larger than" in page and len(page) < 20_000
    assert drafts.draft_of(services, task.id, REFERRER) is None


def multipart(browser: Browser, path: str, fields: dict[str, Any]) -> Any:
    """Post fields as multipart/form-data, encoded in memory (the test client would spool it to a file)."""
    boundary, body = encode_multipart(fields)
    return browser.client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_a_form_sent_as_multipart_is_held_to_the_same_limit_for_its_text(app: Flask, services: Services) -> None:
    task = referral(services)
    browser = signed_in(app, REFERRER)
    fields = {f"concerns{i}": "x" * 300_000 for i in range(5)}
    answer = multipart(browser, f"/tasks/{task.id}", {**fields, "action": "draft",
                                                      "csrf_token": browser.token(f"/tasks/{task.id}")})
    assert answer.status_code == 413
    assert drafts.draft_of(services, task.id, REFERRER) is None


def test_an_upload_may_be_larger_than_a_form_but_not_without_limit(app: Flask, services: Services) -> None:
    browser = signed_in(app, "dorset.admin")
    path = f"/cases/{referral(services).case_id}/documents/overview_report/upload"
    token = browser.token("/")

    def upload(size: int) -> Any:
        return multipart(browser, path, {"csrf_token": token,
                                         "file": FileStorage(io.BytesIO(b"\0" * size), "report.docx")})

    assert upload(3_000_000).status_code == 422  # read and refused for what it is, not for its size
    too_big = upload(app.config["MAX_CONTENT_LENGTH"] + 1)
    assert too_big.status_code == 413 and "larger than 21 MB, the most an upload may carry" in too_big.get_data(
        as_text=True)


def test_a_long_section_of_a_document_reaches_its_page_which_says_how_long_it_may_be(
        app: Flask, services: Services) -> None:
    browser = signed_in(app, "dorset.admin")
    path = f"/cases/{referral(services).case_id}/documents/overview_report/sections/analysis"
    answer = browser.post(path, {"text": "é" * 300_000}, token_from="/")  # 1.8 MB as the browser sends it
    assert answer.status_code == 422 and "At most 200,000 characters" in answer.get_data(as_text=True)


def test_every_page_allowed_a_longer_body_exists(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(app.config["BODY_LENGTH_BY_ENDPOINT"]) <= endpoints


def test_a_refused_submission_names_at_most_fifty_problems_and_never_echoes_the_answers(
        app: Flask, services: Services) -> None:
    task = referral(services)
    data = {f"unknown{i}-{'v' * 20}": "secret answer" for i in range(5000)}
    answer = app.test_client().post(f"/api/tasks/{task.id}", json={"data": data}, headers=bearer(services))
    body = answer.get_json()
    assert answer.status_code == 422 and len(body["details"]) <= safety.MAX_ERRORS + 1
    assert "secret answer" not in answer.get_data(as_text=True) and len(answer.get_data()) < 20_000
    assert body["details"][-1]["message"].endswith("more problems not listed")


def test_a_field_name_is_cut_short_in_a_refusal(app: Flask, services: Services) -> None:
    task = referral(services)
    answer = app.test_client().post(f"/api/tasks/{task.id}", json={"data": {"k" * 100_000: 1}},
                                    headers=bearer(services))
    assert answer.status_code == 422 and len(answer.get_data()) < 2_000


# Finding 4: no 500s for deep JSON, lone surrogates or ids beyond the database's integer range.

def _api_bodies(task: TaskRow) -> list[tuple[str, str]]:
    return [("PUT", f"/api/tasks/{task.id}/draft"), ("POST", f"/api/tasks/{task.id}"), ("POST", "/api/cases"),
            ("POST", f"/api/tasks/{task.id}/reassign"), ("POST", f"/api/cases/{task.case_id}/people")]


def test_json_nested_too_deep_is_refused_with_400_on_every_api_route(app: Flask, services: Services) -> None:
    task = referral(services)
    client, headers = app.test_client(), bearer(services, "dorset.admin")
    for depth in (65, 50_000):
        body = '{"data": ' + "[" * depth + "]" * depth + "}"
        for method, path in _api_bodies(task):
            answer = client.open(path, method=method, data=body, content_type="application/json", headers=headers)
            assert answer.status_code == 400, (method, path, depth)
            assert "nested more than 64 deep" in answer.get_json()["message"]
    assert drafts.draft_of(services, task.id, "dorset.admin") is None


def test_json_nested_within_the_limit_is_read(app: Flask, services: Services) -> None:
    task = referral(services)
    body = '{"data": {"concerns": ' + "[" * 60 + "]" * 60 + "}}"
    answer = app.test_client().put(f"/api/tasks/{task.id}/draft", data=body, content_type="application/json",
                                   headers=bearer(services))
    assert answer.status_code == 200


@pytest.mark.parametrize("text", ['"\\ud800"', '"a\\udfffb"', '"\\udc00\\ud800"'])
def test_a_lone_surrogate_is_refused_and_nothing_stored(app: Flask, services: Services, text: str) -> None:
    task = referral(services)
    client, headers = app.test_client(), bearer(services)
    for body in ('{"data": {"concerns": ' + text + "}}", '{"data": {' + text + ": 1}}"):
        answer = client.put(f"/api/tasks/{task.id}/draft", data=body, content_type="application/json",
                            headers=headers)
        assert answer.status_code == 400 and "UTF-8" in answer.get_json()["message"]
        assert client.post(f"/api/tasks/{task.id}", data=body, content_type="application/json",
                           headers=headers).status_code == 400
    assert drafts.draft_of(services, task.id, REFERRER) is None


def test_a_surrogate_pair_is_an_ordinary_character(app: Flask, services: Services) -> None:
    task = referral(services)
    answer = app.test_client().put(f"/api/tasks/{task.id}/draft", data='{"data": {"concerns": "\\ud83d\\ude00"}}',
                                   content_type="application/json", headers=bearer(services))
    assert answer.status_code == 200 and answer.get_json()["data"]["concerns"] == "\U0001f600"


def test_a_lone_surrogate_typed_into_a_form_is_no_server_error(app: Flask, services: Services) -> None:
    task = referral(services)
    browser = signed_in(app, REFERRER)
    token = browser.token(f"/tasks/{task.id}")
    for action in ("draft", "submit"):
        answer = browser.client.post(f"/tasks/{task.id}", data=f"action={action}&concerns=%ED%A0%80&csrf_token={token}",
                                     content_type="application/x-www-form-urlencoded")
        assert answer.status_code in (200, 400, 422)
    saved = drafts.draft_of(services, task.id, REFERRER)
    assert saved is None or "\ud800" not in str(saved.data)


def test_every_route_with_a_number_answers_404_to_a_number_beyond_the_database(
        app: Flask, services: Services) -> None:
    case_id = referral(services).case_id
    admin = signed_in(app, "dorset.admin")
    headers = bearer(services, "dorset.admin")
    token = admin.token("/")
    answers = {}
    for rule in app.url_map.iter_rules():
        if "<int:" not in rule.rule:
            continue
        path = re.sub(r"<int:[a-z_]+>", HUGE_ID, rule.rule)
        path = re.sub(r"<any\(([a-z]+)[^>]*>", r"\1", path)
        path = re.sub(r"<(?:path:)?[a-z_]+>", "x", path)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            extra: dict[str, Any] = {"headers": headers} if path.startswith("/api/") else {}
            if method != "GET" and not path.startswith("/api/"):
                extra["data"] = {"csrf_token": token}
            answers[(method, path)] = admin.client.open(path, method=method, **extra).status_code
            for one in (str(case_id), "0", "2147483647"):  # at and inside the range: the usual 404, or a page
                inside = path.replace(HUGE_ID, one)
                assert admin.client.open(inside, method=method, **extra).status_code < 500, (method, inside)
    assert len(answers) > 30
    assert {key: status for key, status in answers.items() if status != 404} == {}


def test_ids_beyond_the_range_still_look_like_nothing_is_there_on_the_api(app: Flask, services: Services) -> None:
    answer = app.test_client().get(f"/api/cases/{HUGE_ID}", headers=bearer(services))
    assert answer.status_code == 404 and answer.get_json()["error"] == "Not found"


# Finding 8 (part): strict JSON, a clear word for malformed JSON, a server that does not say what it runs on.

@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
def test_numbers_json_does_not_allow_are_refused_in_drafts_and_submissions(
        app: Flask, services: Services, number: str) -> None:
    task = referral(services)
    client, headers = app.test_client(), bearer(services)
    body = '{"data": {"concerns": ' + number + "}}"
    for method, path in (("PUT", f"/api/tasks/{task.id}/draft"), ("POST", f"/api/tasks/{task.id}")):
        answer = client.open(path, method=method, data=body, content_type="application/json", headers=headers)
        assert answer.status_code == 400 and "not valid JSON" in answer.get_json()["message"]
    assert drafts.draft_of(services, task.id, REFERRER) is None


@pytest.mark.parametrize("body, where", [('{"data": {', "line 1 column 11"), ("{'data': {}}", "line 1 column 2"),
                                         ('{"data": {}} x', "line 1 column 14"), ("\xff", "UTF-8")])
def test_malformed_json_is_answered_400_saying_where(app: Flask, services: Services, body: str, where: str) -> None:
    task = referral(services)
    answer = app.test_client().put(f"/api/tasks/{task.id}/draft", data=body.encode("latin-1"),
                                   content_type="application/json", headers=bearer(services))
    message = answer.get_json()["message"]
    assert answer.status_code == 400 and message.startswith("The body is not valid JSON: ") and where in message


def test_a_body_that_is_not_json_at_all_is_still_told_what_is_missing(app: Flask, services: Services) -> None:
    task = referral(services)
    answer = app.test_client().put(f"/api/tasks/{task.id}/draft", headers=bearer(services))
    assert answer.status_code == 422 and answer.get_json()["details"][0]["field"] == "data"


def test_no_answer_names_the_server_or_python(app: Flask, browser: Browser) -> None:
    for answer in (browser.client.get("/login"), browser.client.get("/api/openapi.json"),
                   browser.client.get("/no/such/page")):
        assert answer.headers.get("Server") == safety.SERVER_NAME


def test_the_built_in_server_does_not_announce_its_or_pythons_version(app: Flask) -> None:
    server = make_server("127.0.0.1", 0, app, request_handler=safety.QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for path in ("/login", "/no/such/page"):
            connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
            connection.request("GET", path)
            answer = connection.getresponse()
            answer.read()
            assert answer.getheaders().count(("Server", safety.SERVER_NAME)) == 1
            assert [v for k, v in answer.getheaders() if k == "Server"] == [safety.SERVER_NAME]
            connection.close()
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        connection.putrequest("GET", "/", skip_host=True)
        connection.putheader("Content-Length", "x")  # a request even the server refuses
        connection.endheaders()
        refused = connection.getresponse()
        refused.read()
        assert not any("werkzeug" in v.lower() or "python" in v.lower() for _k, v in refused.getheaders())
        connection.close()
    finally:
        server.shutdown()
        thread.join(timeout=10)
