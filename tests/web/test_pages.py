"""Pages and API as people and API clients meet them: sign-in, sessions, inbox, cases, tasks, refusals."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from engine.casework import queries
from engine.casework.accounts import issue_token
from engine.casework.cases import start_case
from engine.casework.services import Services
from tests.drive import SCR_PATH, SUPERUSER, drive_until, form_data, grant_everything
from tests.web.conftest import Browser, another_browser
from web import create_app


def test_a_wrong_password_is_refused_with_a_message(browser: Browser) -> None:
    page = browser.sign_in("dorset.referrer", "not the password")
    assert page.status_code == 401
    assert "do not match an account" in page.get_data(as_text=True)


def test_five_failed_sign_ins_lock_the_name_for_fifteen_minutes(browser: Browser, services: Services) -> None:
    for _ in range(5):
        browser.sign_in("dorset.chair", "guess")
    assert browser.sign_in("dorset.chair").status_code == 429
    services.clock.advance(timedelta(minutes=16))  # type: ignore[attr-defined]
    assert browser.sign_in("dorset.chair").status_code == 302


def test_failed_sign_ins_count_across_web_processes(services: Services) -> None:
    settings = {"TESTING": True, "FAST_PASSWORD_HASHING": True, "SECRET_KEY": "test"}
    first, second = (Browser(create_app(services, settings).test_client()) for _ in range(2))
    for _ in range(5):
        first.sign_in("dorset.chair", "guess")
    assert second.sign_in("dorset.chair").status_code == 429


def test_pages_need_a_signed_in_person(browser: Browser) -> None:
    page = browser.client.get("/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_a_form_posted_without_its_csrf_token_is_refused(browser: Browser) -> None:
    page = browser.client.post("/login", data={"username": "dorset.chair", "password": "x"})
    assert page.status_code == 400


def test_session_cookies_are_http_only_and_same_site(browser: Browser) -> None:
    page = browser.sign_in("dorset.chair")
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_cookie_copied_before_signing_out_signs_no_one_in_afterwards(app: Flask, browser: Browser) -> None:
    browser.sign_in("dorset.chair")
    copied = browser.client.get_cookie("session")
    assert copied is not None and browser.client.get("/").status_code == 200
    browser.post("/logout", {}, token_from="/")
    thief = app.test_client()
    thief.set_cookie("session", copied.value)
    answer = thief.get("/")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_each_sign_in_gets_a_new_session(app: Flask) -> None:
    first, second = Browser(app.test_client()), Browser(app.test_client())
    first.sign_in("dorset.chair")
    second.sign_in("dorset.chair")
    assert first.client.get_cookie("session").value != second.client.get_cookie("session").value  # type: ignore[union-attr]
    first.post("/logout", {}, token_from="/")
    assert second.client.get("/").status_code == 200, "signing out ends that session only"


def test_a_session_ends_after_thirty_idle_minutes(browser: Browser, services: Services) -> None:
    browser.sign_in("dorset.chair")
    assert browser.client.get("/").status_code == 200
    services.clock.advance(timedelta(minutes=31))  # type: ignore[attr-defined]
    page = browser.client.get("/", follow_redirects=True)
    assert "Your session ended after a period without activity." in page.get_data(as_text=True)


def test_starting_a_case_leads_to_the_referral_form(browser: Browser) -> None:
    browser.sign_in("dorset.referrer")
    page = browser.post("/cases/new", {"board": "dorset"}, token_from="/cases/new")
    assert page.status_code == 302 and "/tasks/" in page.headers["Location"]
    form = browser.client.get(page.headers["Location"]).get_data(as_text=True)
    assert "DSCB-" in form and "<form" in form


def test_an_administrators_inbox_shows_case_references_of_their_board_only(
        app: Flask, services: Services) -> None:
    references = {}
    for board in ("dorset", "bournemouth-poole"):
        grant_everything(services, board, list(services.catalogue.agencies))
        record = start_case(services, board, SUPERUSER)
        drive_until(services, record.id or 0, lambda tasks: any(t.role == "lscb_administrator" for t in tasks),
                    SCR_PATH)
        references[board] = record
    admin = another_browser(app)
    admin.sign_in("dorset.admin")
    page = admin.client.get("/").get_data(as_text=True)
    assert references["dorset"].reference in page
    assert references["bournemouth-poole"].reference not in page
    assert admin.client.get(f"/cases/{references['bournemouth-poole'].id}").status_code == 404


def test_a_task_of_someone_else_looks_like_nothing_is_there(app: Flask, services: Services) -> None:
    record = start_case(services, "dorset", "dorset.referrer")
    [first] = [i.task for i in queries.inbox(services, "dorset.referrer") if i.task.case_id == record.id]
    other = another_browser(app)
    other.sign_in("dorset.police.imr")
    assert other.client.get(f"/tasks/{first.id}").status_code == 404
    assert other.client.get(f"/cases/{record.id}").status_code == 404


def test_the_api_needs_a_bearer_token_and_serves_the_inbox(app: Flask, services: Services) -> None:
    client = app.test_client()
    assert client.get("/api/inbox").status_code == 401
    record = start_case(services, "dorset", "dorset.referrer")
    token = issue_token(services, "dorset.referrer")
    inbox = client.get("/api/inbox", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [item["reference"] for item in inbox] == [record.reference]


def test_the_api_refuses_an_invalid_submission_with_messages_and_a_second_one_with_409(
        app: Flask, services: Services) -> None:
    client = app.test_client()
    grant_everything(services, "dorset", list(services.catalogue.agencies))  # the person picked must exist
    record = start_case(services, "dorset", "dorset.referrer")
    token = {"Authorization": f"Bearer {issue_token(services, 'dorset.referrer')}"}
    [item] = client.get("/api/inbox", headers=token).get_json()
    task_id = item["task"]["id"]
    refused = client.post(f"/api/tasks/{task_id}", json={"data": {}}, headers=token)
    assert refused.status_code == 422 and refused.get_json()["details"]
    [row] = [i.task for i in queries.inbox(services, "dorset.referrer") if i.task.case_id == record.id]
    data = form_data(services, record.id or 0, row, SCR_PATH)
    assert client.post(f"/api/tasks/{task_id}", json={"data": data}, headers=token).status_code == 200
    again = client.post(f"/api/tasks/{task_id}", json={"data": data}, headers=token)
    assert again.status_code in (404, 409)


def test_the_openapi_document_describes_every_api_route(app: Flask) -> None:
    document = app.test_client().get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    api_rules = {r.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
                 for r in app.url_map.iter_rules() if r.rule.startswith("/api/")}
    assert api_rules == set(document["paths"])


def test_a_case_page_shows_the_deadlines_the_procedure_keeps_with_days_left(
        app: Flask, services: Services) -> None:
    grant_everything(services, "dorset", list(services.catalogue.agencies))
    record = start_case(services, "dorset", SUPERUSER)
    drive_until(services, record.id or 0, lambda _tasks: _has_timer(services, record.id or 0), SCR_PATH)
    admin = another_browser(app)
    admin.sign_in("dorset.admin")
    page = admin.client.get(f"/cases/{record.id}").get_data(as_text=True)
    assert 'id="deadlines"' in page and "Days left" in page


def _has_timer(services: Services, case_id: int) -> bool:
    with services.uow() as uow:
        return bool(uow.timers.for_case(case_id))


def test_every_page_forbids_framing_caching_and_referrers(browser: Browser) -> None:
    browser.sign_in("dorset.referrer")
    for path in ("/", "/cases/", "/login", "/api/openapi.json"):
        headers = browser.client.get(path).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert (headers["Cache-Control"], headers["Referrer-Policy"]) == ("no-store", "no-referrer")
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_browser_tab_gets_an_icon_before_anyone_signs_in(browser: Browser) -> None:
    icon = browser.client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert b"<svg" in icon.data
    assert 'rel="icon"' in browser.client.get("/login").get_data(as_text=True)


def test_pages_name_agencies_and_count_in_plain_words(app: Flask, services: Services) -> None:
    from web.words import counted

    agency_name = services.catalogue.agency_name
    assert agency_name("social_care") == "Children's Services - Social Care"
    assert agency_name("unheard_of") == "unheard_of"
    assert (counted(1, "task"), counted(2, "task"), counted(0, "person", "people")) == ("1 task", "2 tasks", "0 people")
    with app.test_request_context():
        rendered = app.jinja_env.from_string("{{ 'police' | agency }}; {{ 3 | counted('case') }}").render()
    assert rendered == "Police; 3 cases"
