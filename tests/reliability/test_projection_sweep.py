"""T-Z3, workflow-data projection: the health IMR author has answered with a canary; the police IMR author on the same
case then asks for every GET route of the app with every id the case has (each task, done or waiting, each document,
each outline, each agency as a filter), follows every link those pages give, and sends malformed requests to every
API route. No body or header holds the health canary. The same sweep as the health author, and as the board's
administrator, finds it: the sweep can see a leak."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

from engine.casework.services import Services
from tests.reliability.world import CANARIES, HEALTH, POLICE, Person, Route, World, fill, routes, signed_in, text_of

OUTLINES = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "forms" / "documents").glob("*.json")
                  if p.stem not in ("glossary", "packs", "outline-schema"))
AGENCY = ["", "?agency=health_commissioning", "?agency=police"]
LISTS = ["", "?case={case}&role=imr_author", "?taken=nobody&sort=case", "?process=scr_dorset&board=dorset",
         "?agency=health_commissioning&q=Oxmundra"]


def filters(route: Route) -> list[str]:
    """The query strings worth trying on a route: agencies on documents, health-only chronologies, list filters."""
    if "<outline_id>" in route.rule:
        return AGENCY
    if "chronology" in route.rule:
        return ["", "?health=1"]
    if "/monitor/cases/<int:case_id>" == route.rule:
        return ["", "?step=prep_gather"]
    return LISTS if not route.objects else [""]


def paths_of_the_case(app: Flask, services: Services, world: World) -> list[str]:
    """Every GET route filled with every id case A has, with and without each filter."""
    case = world.cases["A"]
    with services.uow() as uow:
        tasks = [t.id for t in uow.tasks.for_case(case)]
        docs = [s.id or 0 for s in uow.submissions.for_case(case)]
    found: list[str] = []
    for route in routes(app):
        if route.method != "GET":
            continue
        objects = route.objects
        for task in tasks if "<task_id>" in objects else [None]:
            for doc in docs if "<int:document_id>" in objects else [None]:
                for outline in OUTLINES if "<outline_id>" in route.rule else [None]:
                    path = fill(route.rule.replace("<outline_id>", outline or ""), case, task, doc)
                    found += [path + f.format(case=case) for f in filters(route)]
    return list(dict.fromkeys(found))


def crawl(person: Person, starts: list[str], until: str | None = None, limit: int = 2000) -> dict[str, str]:
    """Each path asked for, then every same-site link found, once (stopping once `until` is seen): path ->
    everything received."""
    seen: dict[str, str] = {}
    queue = list(starts)
    while queue and len(seen) < limit and not (until and any(until in t for t in seen.values())):
        path = queue.pop(0)
        if path in seen:
            continue
        seen[path] = text = text_of(person.browser.client.get(path, headers=person.bearer))
        for link in re.findall(r'href="(/[^"#]*)"', text):
            link = link.replace("&amp;", "&")
            if not link.startswith(("/static/", "/logout", "//")) and link not in seen:
                queue.append(link)
    return seen


def malformed(person: Person, app: Flask, world: World) -> dict[str, str]:
    """Every API route that takes a body, sent broken JSON, the wrong shape and too deep a nesting, with case A's ids
    (the health author's task among them): path -> what came back."""
    answers: dict[str, str] = {}
    bodies = {"broken": b"{not json", "shape": b'{"data": [1, 2]}', "deep": b"[" * 100 + b"]" * 100}
    for route in routes(app):
        if not route.rule.startswith("/api/") or route.method == "GET":
            continue
        for key in ("A/health", "A/police"):
            path = fill(route.rule, world.cases["A"], world.tasks[key], world.docs[key])
            for name, data in bodies.items():
                answer = person.browser.client.open(path, method=route.method, data=data, headers={
                    **person.bearer, "Content-Type": "application/json"})
                answers[f"{route.method} {path} ({name})"] = text_of(answer)
    return answers


def leaks(app: Flask, services: Services, world: World, username: str, *, first: bool = False) -> tuple[int, list[str]]:
    """How many answers were read as `username`, and those holding the health author's canary (with `first`, the
    sweep stops at the first)."""
    person = signed_in(app, services, username)
    until = CANARIES["A/health"] if first else None
    pages = crawl(person, ["/", "/cases/", *paths_of_the_case(app, services, world)], until)
    if not first:
        pages |= malformed(person, app, world)
    return len(pages), [path for path, text in pages.items() if CANARIES["A/health"] in text]


def test_no_answer_to_the_police_imr_author_holds_the_health_imr_authors_canary(
        app: Flask, services: Services, world: World) -> None:
    read, found = leaks(app, services, world, POLICE)

    assert read >= 500, f"only {read} answers read: the sweep lost its routes"
    assert found == []


def test_the_same_sweep_finds_the_canary_for_the_health_author_and_the_administrator(
        app: Flask, services: Services, world: World) -> None:
    for reader in (HEALTH, "dorset.admin"):
        _, found = leaks(app, services, world, reader, first=True)
        assert found, f"the sweep as {reader} never saw the health answers: it could not see a leak"


def test_the_sweep_asks_for_every_get_route_that_takes_the_case_or_its_tasks(app: Flask) -> None:
    taking = {r.rule for r in routes(app) if r.method == "GET" and r.objects}
    assert {"/tasks/<task_id>", "/api/tasks/<task_id>", "/cases/<int:case_id>/documents/<outline_id>",
            "/monitor/cases/<int:case_id>", "/cases/<int:case_id>/chronology.csv"} <= taking
    assert isinstance(next(iter(routes(app))), Route)
