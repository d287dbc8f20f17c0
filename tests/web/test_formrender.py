"""Server-rendered JSON Schema forms: every form renders with labels, round-trips its data and shows errors in place."""

from __future__ import annotations

import json
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader
from werkzeug.datastructures import MultiDict

from engine.errors import FieldError, InvalidSubmission
from engine.workflow.forms import validate_submission
from tests.formfill import fill, value_for
from web.formrender import ADD_ROW, Field, Section, adding_row, fields, parse, rows_shown, sections

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = sorted((ROOT / "forms").rglob("*.schema.json"))
UI_SCHEMAS = sorted((ROOT / "forms").rglob("*.uischema.json"))
OFFERED = [("alice", "Alice"), ("bob", "Bob")]


class _EveryRole(dict[str, list[tuple[str, str]]]):
    """The same people offered for whatever role a picker gives."""

    def get(self, _role: str, _default: object = None) -> list[tuple[str, str]]:  # type: ignore[override]
        return OFFERED


PEOPLE = _EveryRole()
ENV = Environment(loader=FileSystemLoader(ROOT / "web" / "templates"), autoescape=True)

SAMPLE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "title": "Title", "maxLength": 200, "description": "A short name."},
        "notes": {"type": "string", "title": "Notes", "maxLength": 20000},
        "when": {"type": "string", "format": "date", "title": "When"},
        "count": {"type": "integer", "title": "How many", "minimum": 0},
        "ratio": {"type": "number", "title": "Ratio"},
        "agreed": {"type": "boolean", "title": "Agreed"},
        "colour": {"type": "string", "title": "Colour", "enum": ["r", "g"], "enumNames": ["Red", "Green"]},
        "size": {"type": "string", "title": "Size", "oneOf": [{"const": "s", "title": "Small"},
                                                              {"const": "l", "title": "Large"}]},
        "tags": {"type": "array", "title": "Tags", "uniqueItems": True,
                 "items": {"type": "string", "enum": ["a", "b", "c"], "enumNames": ["Apple", "Banana", "Cherry"]}},
        "codes": {"type": "array", "title": "Codes", "items": {"type": "string", "minLength": 1}},
        "owner": {"type": "string", "title": "Owner", "x-assign-role": "owner", "minLength": 1},
        "helpers": {"type": "array", "title": "Helpers", "x-assign-role": "helper", "items": {"type": "string"}},
        "secret": {"type": "string", "title": "Secret name", "x-identifying": True},
        "checks": {"type": "object", "title": "Checks", "required": ["first", "second"],
                   "properties": {"first": {"type": "boolean", "title": "First"},
                                  "second": {"type": "boolean", "title": "Second"}}},
        "rows": {"type": "array", "title": "Rows",
                 "items": {"type": "object", "required": ["name"], "additionalProperties": False,
                           "properties": {"name": {"type": "string", "title": "Name", "minLength": 1},
                                          "due": {"type": "string", "format": "date", "title": "Due"},
                                          "done": {"type": "boolean", "title": "Done"}}}},
    },
    "required": ["title", "when", "checks"],
    "allOf": [{"if": {"properties": {"colour": {"const": "r"}}, "required": ["colour"]},
               "then": {"required": ["notes"]}}],
}


class _Browser(HTMLParser):
    """What a browser would post for a rendered form: successful controls in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.posted: list[tuple[str, str]] = []
        self.select: tuple[str, list[tuple[str, bool]]] | None = None
        self.textarea: list[Any] | None = None
        self.labels: set[str] = set()
        self.controls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "label" and "for" in a:
            self.labels.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden" and not (
                tag == "input" and a.get("type") == "submit"):
            self.controls.append(a.get("id", ""))
        if tag == "input" and (a.get("type") not in ("checkbox", "radio") or "checked" in a):
            self.posted.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select = (a["name"], [])
        elif tag == "option" and self.select is not None:
            self.select[1].append((a["value"], "selected" in a))
        elif tag == "textarea":
            self.textarea = [a["name"], ""]

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self.select is not None:
            name, options = self.select
            self.posted.append((name, next((v for v, chosen in options if chosen), options[0][0])))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            name, text = self.textarea
            self.posted.append((name, text.removeprefix("\n").replace("\n", "\r\n")))
            self.textarea = None


def render(tree: list[Field], errors: list[FieldError] | None = None, add_rows: bool = False,
           **more: Any) -> str:
    """The HTML of the render_form macro for a field tree."""
    macro = ENV.get_template("forms/form.html").module.render_form  # type: ignore[attr-defined]
    return str(macro(tree, errors or [], add_rows=add_rows, **more))


class _Sections(HTMLParser):
    """The page's form sections: (legend, names of the controls inside) in order, "" for controls outside any."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[str]]] = []
        self.depth = 0  # fieldsets open inside the current section (0: outside any section)
        self.in_legend = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "fieldset" and (self.depth or "form-section" in a.get("class", "").split()):
            if not self.depth:
                self.found.append(("", []))
            self.depth += 1
        elif tag == "legend" and self.depth == 1 and not self.found[-1][0]:
            self.in_legend = True
        elif tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            if self.depth == 0 and (not self.found or self.found[-1][0] != ""):
                self.found.append(("", []))
            if a["name"] not in self.found[-1][1]:
                self.found[-1][1].append(a["name"])

    def handle_data(self, data: str) -> None:
        if self.in_legend:
            self.found[-1] = (self.found[-1][0] + data.strip(), self.found[-1][1])

    def handle_endtag(self, tag: str) -> None:
        if tag == "legend":
            self.in_legend = False
        elif tag == "fieldset" and self.depth:
            self.depth -= 1


def sections_of(html: str) -> list[tuple[str, list[str]]]:
    """The sections of a rendered form as a reader meets them."""
    parser = _Sections()
    parser.feed(html)
    return parser.found


def browse(html: str) -> _Browser:
    """The page as a browser reads it."""
    browser = _Browser()
    browser.feed(html)
    return browser


def post_of(html: str) -> MultiDict[str, str]:
    """The form data a browser submits for the rendered fields, untouched by the user (plus a CSRF token)."""
    return MultiDict([*browse(html).posted, ("csrf_token", "t"), ("action", "submit")])


def round_trip(schema: Mapping[str, Any], values: Mapping[str, Any], ui: Mapping[str, Any] | None = None) -> Any:
    """Render a form with values, post it unchanged and parse it back."""
    return parse(schema, post_of(render(fields(schema, ui, values, [], PEOPLE))))


def load(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A form's schema and its UI schema (empty when there is none)."""
    ui = Path(str(path).replace(".schema.json", ".uischema.json"))
    return json.loads(path.read_text()), json.loads(ui.read_text()) if ui.exists() else {}


def with_people(schema: Mapping[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Person-picker fields given a real username instead of generated text."""
    for name, spec in schema.get("properties", {}).items():
        if spec.get("x-assign-role") and name in data:
            data[name] = ["alice"] if spec.get("type") == "array" else "alice"
    return data


def everything(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A value for every property, nested ones included."""
    data: dict[str, Any] = {}
    for name, spec in schema.get("properties", {}).items():
        if spec.get("type") == "object":
            data[name] = everything(spec)
        elif spec.get("type") == "array" and spec.get("items", {}).get("type") == "object":
            data[name] = [everything(spec["items"])]
        else:
            data[name] = value_for(spec)
    return with_people(schema, data)


def unticked(schema: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """The data with each absent boolean as False, as an unticked checkbox posts it."""
    out = dict(data)
    for name, spec in schema.get("properties", {}).items():
        if spec.get("type") == "boolean":
            out.setdefault(name, False)
        elif spec.get("type") == "object":
            out[name] = unticked(spec, out.get(name, {}))
        elif spec.get("type") == "array" and spec.get("items", {}).get("type") == "object" and name in out:
            out[name] = [unticked(spec["items"], row) for row in out[name]]
    return out


def errors_of(schema: Mapping[str, Any], data: Mapping[str, Any]) -> list[FieldError]:
    """The validation errors for data (none when valid)."""
    try:
        validate_submission(schema, data)
    except InvalidSubmission as refused:
        return refused.errors
    return []


def walk(tree: list[Field]) -> list[Field]:
    """Every field of a tree, depth first."""
    return [f for top in tree for f in (top, *walk(top.children))]


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_form_renders_and_every_control_has_a_label(path: Path) -> None:
    schema, ui = load(path)
    tree = fields(schema, ui, {}, [], PEOPLE)
    page = browse(render(tree))
    assert page.controls and "" not in page.controls
    assert set(page.controls) <= page.labels
    assert all(f.label for f in walk(tree))


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_form_round_trips_its_required_data(path: Path) -> None:
    schema, ui = load(path)
    values = with_people(schema, fill(schema))
    expected = unticked(schema, values)
    assert errors_of(schema, expected) == []
    assert round_trip(schema, values, ui) == expected


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_form_round_trips_a_submission_with_every_field_filled(path: Path) -> None:
    schema, ui = load(path)
    values = everything(schema)
    assert errors_of(schema, values) == []
    assert round_trip(schema, values, ui) == values


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_error_of_an_empty_submission_appears_beside_its_field_and_in_the_summary(path: Path) -> None:
    schema, ui = load(path)
    errors = errors_of(schema, parse(schema, post_of(render(fields(schema, ui, {}, [], PEOPLE)))))
    tree = fields(schema, ui, {}, errors, PEOPLE)
    html = render(tree, errors)
    assert sum(len(f.errors) for f in walk(tree)) == len(errors)
    assert html.count("<li><a href=") == len(errors)
    for f in walk(tree):
        if f.errors:
            assert f'id="{f.id}-error"' in html and f'href="#{f.id}"' in html


def test_a_sample_round_trips_every_kind_of_widget() -> None:
    values = {"title": "T", "notes": "line one\nline two", "when": "2024-02-01", "count": 3, "ratio": 0.5,
              "agreed": True, "colour": "g", "size": "l", "tags": ["a", "c"], "codes": ["X1", "X2"],
              "owner": "alice", "helpers": ["alice", "bob"], "secret": "S",
              "checks": {"first": True, "second": False},
              "rows": [{"name": "one", "due": "2024-03-01", "done": True}, {"name": "two", "done": False}]}
    assert errors_of(SAMPLE, values) == []
    assert round_trip(SAMPLE, values) == values


def test_widgets_follow_the_schema_and_the_ui_schema() -> None:
    ui = {"title": {"ui:placeholder": "e.g. Ash"}, "notes": {"ui:help": "Plain words."},
          "size": {"ui:widget": "radio"}, "secret": {"ui:widget": "hidden"}, "ui:order": ["when", "title"]}
    tree = {f.name: f for f in fields(SAMPLE, ui, {}, [], PEOPLE)}
    assert list(tree)[:2] == ["when", "title"]
    assert {n: f.widget for n, f in tree.items()} == {
        "when": "date", "title": "text", "notes": "textarea", "count": "integer", "ratio": "number",
        "agreed": "checkbox", "colour": "select", "size": "radio", "tags": "checkboxes", "codes": "lines",
        "owner": "person", "helpers": "person-multi", "secret": "hidden", "checks": "fieldset", "rows": "rows"}
    html = render(list(tree.values()))
    assert 'placeholder="e.g. Ash"' in html and "Plain words." in html and 'type="date"' in html
    assert tree["notes"].description == "Plain words." and tree["title"].description == "A short name."


def test_required_fields_say_so_in_their_label_and_conditional_ones_say_when() -> None:
    tree = {f.name: f for f in fields(SAMPLE, {}, {}, [], PEOPLE)}
    html = render(list(tree.values()))
    assert tree["title"].required and "Title (required)</label>" in html
    when = "required when \u201cColour\u201d is \u201cRed\u201d"
    assert not tree["notes"].required and tree["notes"].required_when == when
    assert f"({when})" in html
    assert "Agreed (required)" not in html


def test_enum_names_one_of_titles_and_ui_enum_names_label_the_options() -> None:
    tree = {f.name: f for f in fields(SAMPLE, {"size": {"ui:enumNames": ["S", "L"]}}, {}, [], PEOPLE)}
    assert tree["colour"].options == [("r", "Red"), ("g", "Green")]
    assert tree["tags"].options == [("a", "Apple"), ("b", "Banana"), ("c", "Cherry")]
    assert tree["size"].options == [("s", "S"), ("l", "L")]
    assert fields({"properties": {"k": {"oneOf": [{"const": "x", "title": "Ex"}]}}})[0].options == [("x", "Ex")]
    assert '<option value="r">Red</option>' in render(list(tree.values()))


def test_an_unticked_checkbox_parses_as_false_and_one_not_on_the_page_is_absent() -> None:
    posted = MultiDict([("__present__.agreed", "1"), ("__present__.checks.first", "1"), ("checks.first", "true")])
    assert parse(SAMPLE, posted) == {"agreed": False, "checks": {"first": True}}


def test_an_empty_optional_text_field_is_omitted_and_text_is_trimmed() -> None:
    assert parse(SAMPLE, MultiDict([("title", "  T  "), ("notes", "   "), ("when", "")])) == {"title": "T"}


def test_an_unparsable_number_stays_a_string_so_validation_reports_it() -> None:
    data = parse(SAMPLE, MultiDict([("count", "three"), ("ratio", "1.5")]))
    assert data == {"count": "three", "ratio": 1.5}
    assert "count" in {e.field for e in errors_of(SAMPLE, data)}


def test_lines_become_non_empty_lines_and_choices_come_from_every_ticked_box() -> None:
    posted = MultiDict([("codes", " A \r\n\r\nB\r\n"), ("tags", "a"), ("tags", "b"), ("helpers", "bob")])
    assert parse(SAMPLE, posted) == {"codes": ["A", "B"], "tags": ["a", "b"], "helpers": ["bob"]}


def test_rows_show_each_row_plus_an_empty_one_and_empty_rows_are_dropped() -> None:
    rows = next(f for f in fields(SAMPLE, {}, {"rows": [{"name": "one"}]}, [], PEOPLE) if f.name == "rows")
    assert [r.name for r in rows.children] == ["rows.0", "rows.1"]
    assert [c.name for c in rows.children[1].children] == ["rows.1.name", "rows.1.due", "rows.1.done"]
    posted = MultiDict([("rows.0.name", ""), ("__present__.rows.0.done", "1"), ("rows.3.name", "x"),
                        ("__present__.rows.3.done", "1"), ("__present__.rows", "1")])
    assert parse(SAMPLE, posted) == {"rows": [{"name": "x", "done": False}]}


def test_the_add_row_button_appears_only_when_the_page_asks_for_it() -> None:
    tree = fields(SAMPLE, {}, {}, [], PEOPLE)
    assert ADD_ROW not in render(tree) and f'name="{ADD_ROW}" value="rows"' in render(tree, add_rows=True)
    assert adding_row(MultiDict([(ADD_ROW, "rows")])) and not adding_row(MultiDict([("action", "submit")]))


def test_pressing_add_another_row_on_a_blank_row_shows_one_row_more_than_the_page_had() -> None:
    posted = MultiDict([("rows.0.name", ""), ("__present__.rows.0.done", "1"), ("__present__.rows", "1"),
                        (ADD_ROW, "rows")])
    shown = rows_shown(posted)
    assert shown == {"rows": 1}
    rows = next(f for f in fields(SAMPLE, {}, parse(SAMPLE, posted), [], PEOPLE, shown) if f.name == "rows")
    assert [r.name for r in rows.children] == ["rows.0", "rows.1"]
    filled = next(f for f in fields(SAMPLE, {}, {"rows": [{"name": "one"}]}, [], PEOPLE, {"rows": 1})
                  if f.name == "rows")
    assert [r.name for r in filled.children] == ["rows.0", "rows.1"]


def test_errors_appear_beside_the_field_they_name_with_dotted_paths_for_nested_fields() -> None:
    values = {"title": "T", "count": -1, "tags": ["z"], "checks": {"first": True}, "rows": [{"due": "2024-01-01"}]}
    errors = errors_of(SAMPLE, values) + [FieldError("form", "the form is stale")]
    message = {e.field: e.message for e in errors}
    assert {"when", "count", "tags.0", "checks.second", "rows.0.name"} <= set(message)
    tree = {f.name: f for f in walk(fields(SAMPLE, {}, values, errors, PEOPLE))}
    for name in ("when", "count", "checks.second", "rows.0.name"):
        assert tree[name].errors == [message[name]]
    assert tree["tags"].errors == [message["tags.0"]]  # an item's error is shown on its group
    assert not tree["rows"].errors and not tree["checks"].errors
    html = render(list(fields(SAMPLE, {}, values, errors, PEOPLE)), errors)
    assert f"There are {len(errors)} problems with this form" in html
    assert f'href="#f-rows-0-name">Rows, Row 1, Name: {message["rows.0.name"]}' in html
    assert 'id="f-checks-second" name="checks.second" value="true" aria-describedby="f-checks-second-error"' \
           ' aria-invalid="true"' in html
    assert "<li>the form is stale</li>" in html


def test_identifying_fields_render_like_any_other_but_carry_the_flag() -> None:
    plain = {"type": "string", "title": "Name", "maxLength": 500}
    schema = {"properties": {"a": plain, "b": {**plain, "x-identifying": True}}}
    a, b = fields(schema, {}, {"a": "S", "b": "S"}, [], PEOPLE)
    assert b.identifying and not a.identifying
    assert render([b]).replace('"f-b"', '"f-a"').replace('"b"', '"a"') == render([a])
    assert "S" in render([b])


def test_person_pickers_offer_the_people_and_keep_a_current_value_not_among_them() -> None:
    tree = {f.name: f for f in fields(SAMPLE, {}, {"owner": "carol", "helpers": ["bob"]}, [], PEOPLE)}
    assert tree["owner"].options == [*OFFERED, ("carol", "carol")]
    html = render(list(tree.values()))
    assert '<option value="carol" selected>carol</option>' in html
    assert 'name="helpers" value="bob" checked' in html


def test_values_are_escaped_and_unknown_posted_keys_are_ignored() -> None:
    html = render(fields(SAMPLE, {}, {"title": '"><script>x</script>'}, [], PEOPLE))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert parse(SAMPLE, MultiDict([("csrf_token", "t"), ("action", "submit"), ("nope", "1")])) == {}


SECTIONED_UI: dict[str, Any] = {
    "title": {"ui:help": "Plain words."},
    "ui:order": ["when", "title"],
    "ui:sections": [
        {"title": "The meeting", "description": "When it was and what it was called.",
         "fields": ["title", "when", "not_a_property"]},
        {"title": "Checks and rows", "fields": ["checks", "rows", "title"]},  # "title" is taken already
        {"title": "Nothing that exists", "fields": ["nope"]},
    ],
}


def test_sections_group_the_fields_in_fieldsets_and_leave_names_and_the_posted_data_alone() -> None:
    values = {"title": "T", "when": "2024-02-01", "agreed": True, "colour": "g", "owner": "alice",
              "checks": {"first": True, "second": False}, "rows": [{"name": "one", "done": True}]}
    plain, grouped = fields(SAMPLE, {"ui:order": ["when", "title"]}, values, [], PEOPLE), \
        fields(SAMPLE, SECTIONED_UI, values, [], PEOPLE)
    assert [f.name for f in grouped] == [f.name for f in plain]  # the flat list keeps its usual order
    assert [(s.title, [f.name for f in s.fields]) for s in grouped.sections] == [
        ("The meeting", ["title", "when"]), ("Checks and rows", ["checks", "rows"]),
        ("", ["notes", "count", "ratio", "agreed", "colour", "size", "tags", "codes", "owner", "helpers",
              "secret"])]
    html = render(grouped)
    assert html.count('<fieldset class="form-section">') == 2 and "When it was and what it was called." in html
    assert sections_of(html) == [
        ("The meeting", ["title", "when"]),
        ("Checks and rows", ["checks.first", "checks.second", "rows.0.name", "rows.0.due", "rows.0.done",
                             "rows.1.name", "rows.1.due", "rows.1.done"]),
        ("", ["notes", "count", "ratio", "agreed", "colour", "size", "tags", "codes", "owner", "helpers", "secret"])]
    assert 'id="f-checks-first" name="checks.first"' in html and 'id="f-rows-0-name" name="rows.0.name"' in html
    assert parse(SAMPLE, post_of(html)) == parse(SAMPLE, post_of(render(plain))) == unticked(SAMPLE, values)


def test_without_ui_sections_the_form_renders_flat_and_sections_can_be_given_to_the_macro() -> None:
    tree = fields(SAMPLE, {}, {}, [], PEOPLE)
    assert tree.sections == [] and sections(tree, {}) == [] and sections(tree, {"ui:sections": []}) == []
    assert "form-section" not in render(tree) and "form-section" not in render(list(tree))
    given = [Section("Only these", "", [f for f in tree if f.name in ("when", "title")])]
    html = render(list(tree), sections=given)
    assert sections_of(html) == [("Only these", ["title", "when"]), ("", [
        "notes", "count", "ratio", "agreed", "colour", "size", "tags", "codes", "owner", "helpers", "secret",
        "checks.first", "checks.second", "rows.0.name", "rows.0.due", "rows.0.done"])]  # none left out


def test_the_error_summary_follows_the_order_of_the_sections_on_the_page() -> None:
    errors = errors_of(SAMPLE, {"rows": [{"due": "2024-01-01"}], "checks": {}})
    tree = fields(SAMPLE, SECTIONED_UI, {}, errors, PEOPLE)
    html = render(tree, errors)
    links = [line.split('href="#')[1].split('"')[0] for line in html.splitlines() if '<li><a href="#' in line]
    assert links == ["f-title", "f-when", "f-checks-first", "f-checks-second", "f-rows-0-name"]


@pytest.mark.parametrize("path", UI_SCHEMAS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_ui_sections_name_every_property_of_their_form_once_and_nothing_else(path: Path) -> None:
    ui = json.loads(path.read_text())
    if "ui:sections" not in ui:
        return
    schema = json.loads(path.with_name(path.name.replace(".uischema.json", ".schema.json")).read_text())
    listed = [name for section in ui["ui:sections"] for name in section["fields"]]
    assert all(isinstance(s.get("title"), str) and s["title"] and s["fields"] for s in ui["ui:sections"])
    assert set(listed) <= set(schema["properties"]), "a section names a field the form does not have"
    assert len(listed) == len(set(listed)), "a field is in more than one section"
    assert set(listed) == set(schema["properties"]), "every field of a form with sections belongs to one"


def test_every_long_form_is_grouped_in_sections() -> None:
    long = [p for p in SCHEMAS if len(json.loads(p.read_text()).get("properties", {})) > 10]
    assert long
    for path in long:
        ui = Path(str(path).replace(".schema.json", ".uischema.json"))
        assert ui.exists() and json.loads(ui.read_text()).get("ui:sections"), path.name
