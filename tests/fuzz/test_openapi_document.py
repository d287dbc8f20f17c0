"""The OpenAPI document against the app that serves it: RELIABILITY T-F2 (every API route and method is an
operation, nothing more), and the answers the first schemathesis runs found off the document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from engine.authoring.versions import deploy
from engine.bootstrap import build_services
from engine.casework.accounts import issue_token, seed_users
from engine.casework.cases import start_case
from engine.workflow.specs import read_diagrams
from web import create_app

ROOT = Path(__file__).resolve().parents[2]
IMPLICIT = {"HEAD", "OPTIONS"}  # answered by Flask for every route


@pytest.fixture(scope="module")
def app(database_url: str) -> Iterator[Flask]:
    """The app with the demo users, on the database this run targets (PostgreSQL refused NUL with a 500)."""
    services, engine = build_services(database_url, ROOT / "forms")
    deploy(services, read_diagrams([ROOT / "bpmn"]), by="tests")
    seed_users(services, services.catalogue.users)
    built = create_app(services, {"TESTING": True, "SECRET_KEY": "test"})
    built.config["token"] = issue_token(services, "dorset.admin")
    built.config["case"] = start_case(services, "dorset", "dorset.referrer").id
    try:
        yield built
    finally:
        engine.dispose()


def document(app: Flask) -> dict[str, Any]:
    answer: dict[str, Any] = app.test_client().get("/api/openapi.json").get_json()
    return answer


def test_every_api_route_and_method_is_an_operation_of_the_openapi_document(app: Flask) -> None:
    served = {(method, rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}"))
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
              for method in (rule.methods or set()) - IMPLICIT}
    described = {(method.upper(), path) for path, item in document(app)["paths"].items()
                 for method in item if method != "parameters"}

    assert served - described == set(), "routes the document leaves out"
    assert described - served == set(), "operations the app does not serve"
    assert len(served) == 17


def test_a_body_that_is_not_json_is_answered_400_as_every_operation_with_a_body_declares(app: Flask) -> None:
    with_body = [(path, method, operation) for path, item in document(app)["paths"].items()
                 for method, operation in item.items() if method != "parameters" and "requestBody" in operation]
    assert len(with_body) == 6
    assert all({"400", "413", "415"} <= operation["responses"].keys() for _, _, operation in with_body)

    answer = app.test_client().post("/api/cases", data="\x00", content_type="application/json",
                                    headers={"Authorization": f"Bearer {app.config['token']}"})

    assert answer.status_code == 400
    assert answer.is_json and answer.get_json()["message"].startswith("The body is not valid JSON")


def test_a_body_naming_someone_with_a_nul_character_is_answered_400_not_a_server_error(app: Flask) -> None:
    answer = app.test_client().post(f"/api/cases/{app.config['case']}/people", content_type="application/json",
                                    data='{"username": "a\\u0000", "role": "x"}',
                                    headers={"Authorization": f"Bearer {app.config['token']}"})

    assert answer.status_code == 400
    assert "NUL" in answer.get_json()["message"]


def test_a_task_id_with_a_nul_character_names_no_task_rather_than_failing_the_database(app: Flask) -> None:
    answer = app.test_client().get("/api/tasks/a%00b", headers={"Authorization": f"Bearer {app.config['token']}"})

    assert answer.status_code == 404
    assert answer.is_json


def test_a_method_an_api_route_does_not_take_is_answered_405_naming_the_methods_it_does(app: Flask) -> None:
    answer = app.test_client().open("/api/inbox", method="TRACE",
                                    headers={"Authorization": f"Bearer {app.config['token']}"})

    assert answer.status_code == 405
    assert set(answer.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_completing_a_task_and_taking_a_role_away_declare_the_json_they_answer(app: Flask) -> None:
    paths = document(app)["paths"]

    completed = paths["/api/tasks/{task_id}"]["post"]["responses"]["200"]["content"]["application/json"]
    removed = paths["/api/cases/{case_id}/people"]["delete"]["responses"]["200"]["content"]["application/json"]

    assert completed["schema"] == {"$ref": "#/components/schemas/Completed"}
    assert removed["schema"] == {"$ref": "#/components/schemas/Removed"}
