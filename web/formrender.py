"""JSON Schema forms rendered on the server (a field tree for Jinja) and posted data parsed back to JSON."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import FieldError

PRESENT = "__present__."  # hidden marker: this checkbox / list / row group was on the page
ADD_ROW = "__add_row__"  # submit button asking for the form back with one more empty row
YES_NO = [("true", "Yes"), ("false", "No")]

Spec = Mapping[str, Any]


@dataclass
class Field:
    """One thing to render: an input, a group of choices, or a fieldset of nested fields."""

    name: str
    id: str
    label: str
    widget: str
    required: bool = False
    required_when: str = ""
    description: str = ""
    placeholder: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    value: Any = None
    errors: list[str] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)
    identifying: bool = False

    @property
    def values(self) -> list[str]:
        """The current value(s) as option strings (for selects, radios and checkboxes)."""
        items = self.value if isinstance(self.value, list) else [] if self.value is None else [self.value]
        return [_text(v) for v in items]

    @property
    def display(self) -> str:
        """The current value as a reader should see it: option labels for choices, one per line for lists."""
        labels = dict(self.options)
        return "\n".join(labels.get(v, v) for v in self.values) if self.options else self.text

    @property
    def text(self) -> str:
        """The current value as the text of an input or textarea."""
        if isinstance(self.value, list):
            return "\n".join(_text(v) for v in self.value)
        return "" if self.value is None else _text(self.value)


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _kind(spec: Spec) -> str:
    kind = spec.get("type", "string")
    return next((k for k in kind if k != "null"), "string") if isinstance(kind, list) else str(kind)


def _options(spec: Spec, ui: Spec) -> list[tuple[str, str]]:
    choices = [o for o in spec.get("oneOf", []) if isinstance(o, Mapping) and "const" in o]
    titles = {_text(o["const"]): o.get("title") for o in choices}
    values = [_text(v) for v in spec["enum"]] if "enum" in spec else list(titles)
    names = spec.get("enumNames") or ui.get("ui:enumNames") or []
    return [(v, str(names[i] if i < len(names) else titles.get(v) or v)) for i, v in enumerate(values)]


def _widget(spec: Spec, ui: Spec) -> str:
    kind, asked = _kind(spec), ui.get("ui:widget")
    if asked == "hidden":
        return "hidden"
    if spec.get("x-assign-role"):
        return "person-multi" if kind == "array" else "person"
    if kind == "object":
        return "fieldset"
    if kind == "array":
        items = spec.get("items", {})
        return "checkboxes" if _options(items, ui) else "rows" if _kind(items) == "object" else "lines"
    if kind == "boolean":
        return "radio" if asked == "radio" else "checkbox"
    if _options(spec, ui):
        return "radio" if asked == "radio" else "select"
    if kind in ("integer", "number"):
        return kind
    if spec.get("format") == "date":
        return "date"
    return "textarea" if asked == "textarea" or spec.get("maxLength", 0) > 500 else "text"


def _condition(subject: Field, const: Any) -> str:
    if subject.widget == "checkbox":
        return f"“{subject.label}” is {'ticked' if const else 'not ticked'}"
    return f"“{subject.label}” is “{dict(subject.options).get(_text(const), _text(const))}”"


def _conditions(schema: Spec, built: Mapping[str, Field]) -> dict[str, list[str]]:
    """Field name -> readable conditions under which an `allOf` if/then rule requires it."""
    found: dict[str, list[str]] = {}
    for rule in schema.get("allOf", []):
        tests = rule.get("if", {}).get("properties", {})
        said = [_condition(built[name], test["const"]) for name, test in tests.items()
                if name in built and isinstance(test, Mapping) and "const" in test]
        for name in rule.get("then", {}).get("required", []) if said else []:
            found.setdefault(name, []).append(" and ".join(said))
    return found


People = Mapping[str, Sequence[tuple[str, str]]]  # role -> (username, label) of those a picker offers


def _build(schema: Spec, ui_schema: Spec, values: Mapping[str, Any], people: People,
           prefix: str, grow: Mapping[str, int] | None = None) -> list[Field]:
    props: Mapping[str, Spec] = schema.get("properties", {})
    asked = [n for n in ui_schema.get("ui:order", []) if n in props]
    required = set(schema.get("required", []))
    built: dict[str, Field] = {}
    for name in [*asked, *(n for n in props if n not in asked)]:
        spec, path, value = props[name], f"{prefix}{name}", values.get(name)
        own = ui_schema.get(name)
        ui: Spec = own if isinstance(own, Mapping) else {}
        widget = _widget(spec, ui)
        label = str(spec.get("title") or name.replace("_", " "))
        item = Field(name=path, id="f-" + path.replace(".", "-"), label=label, widget=widget,
                     value=value, identifying=bool(spec.get("x-identifying")),
                     required=name in required and (widget != "checkbox" or spec.get("const") is True),
                     description=" ".join(str(t) for t in (spec.get("description"), ui.get("ui:help")) if t),
                     placeholder=str(ui.get("ui:placeholder", "")))
        if widget.startswith("person"):
            offered = list(people.get(str(spec["x-assign-role"]), []))
            known = {u for u, _ in offered}
            item.options = [*offered, *((v, v) for v in item.values if v not in known)]
        elif _kind(spec) == "boolean":
            item.options = YES_NO
        else:
            item.options = _options(spec.get("items", {}) if _kind(spec) == "array" else spec, ui)
        if widget == "fieldset":
            item.children = _build(spec, ui, value if isinstance(value, Mapping) else {}, people, path + ".", grow)
        elif widget == "rows":
            rows = [r if isinstance(r, Mapping) else {} for r in value] if isinstance(value, list) else []
            blanks = max(1, (grow or {}).get(path, 0) + 1 - len(rows))  # one empty row, or more after "add"
            item.children = [Field(name=f"{path}.{i}", id=f"{item.id}-{i}", label=f"Row {i + 1}", widget="fieldset",
                                   children=_build(spec["items"], ui.get("items", {}), row, people, f"{path}.{i}.",
                                                   grow))
                             for i, row in enumerate([*rows, *[{}] * blanks])]
        built[name] = item
    for name, said in _conditions(schema, built).items():
        if name in built and not built[name].required:
            built[name].required_when = "required when " + " or ".join(said)
    return list(built.values())


@dataclass
class Section:
    """A titled group of a form's top-level fields (a `ui:sections` entry); an untitled one holds the fields
    no section lists."""

    title: str
    description: str = ""
    fields: list[Field] = field(default_factory=list)


class Fields(list[Field]):
    """A form's field tree: the top-level fields in their usual order, as a plain list, and the sections its
    UI schema groups them into (`sections`, empty without `ui:sections`) for the page to render them by."""

    sections: list[Section]

    def __init__(self, tree: Sequence[Field] = (), sections: Sequence[Section] = ()) -> None:
        super().__init__(tree)
        self.sections = list(sections)


def sections(tree: Sequence[Field], ui_schema: Spec | None) -> list[Section]:
    """The top-level fields grouped as the UI schema's `ui:sections` lists them, in the sections' order and each
    section's own order, then an untitled group of the fields no section names, in their usual order.

    `ui:sections` is a list of `{"title": ..., "description": ... (optional), "fields": [property names]}`.
    Without it there are no sections. A name that is not a property, or that an earlier section took, is skipped.
    Grouping changes no field's name or id, so what the page posts parses the same.
    """
    listed = (ui_schema or {}).get("ui:sections")
    if not isinstance(listed, Sequence) or isinstance(listed, str) or not listed:
        return []
    by_name = {f.name: f for f in tree}
    taken: set[str] = set()
    found: list[Section] = []
    for entry in listed:
        if not isinstance(entry, Mapping):
            continue
        names = [n for n in entry.get("fields", []) if isinstance(n, str)]
        chosen = [by_name[n] for n in dict.fromkeys(names) if n in by_name and n not in taken]
        taken.update(f.name for f in chosen)
        if chosen:
            found.append(Section(str(entry.get("title") or ""), str(entry.get("description") or ""), chosen))
    rest = [f for f in tree if f.name not in taken]
    return [*found, Section("", "", rest)] if rest else found


def _index(tree: Sequence[Field]) -> dict[str, Field]:
    found: dict[str, Field] = {}
    for f in tree:
        found[f.name] = f
        found.update(_index(f.children))
    return found


def fields(schema: Spec, ui_schema: Spec | None = None, values: Mapping[str, Any] | None = None,
           errors: Sequence[FieldError] = (), people: People | None = None,
           grow: Mapping[str, int] | None = None) -> Fields:
    """The field tree of a form, with current values and each error beside the nearest field it concerns.

    `grow` maps a list of rows to how many rows the page showed when "Add another row" was pressed: the form
    comes back with one row more than that, keeping any blank ones. The tree is the flat list of top-level
    fields; it also carries the form's `sections` (see `sections`), which the page's `render_form` uses.
    """
    tree = _build(schema, ui_schema or {}, values or {}, {} if people is None else people, "", grow)
    index = _index(tree)
    for error in errors:
        path = error.field
        while path and path not in index:
            path = path.rpartition(".")[0]
        if path:
            index[path].errors.append(error.message)
    return Fields(tree, sections(tree, ui_schema))


def adding_row(form: Any) -> bool:
    """Whether the post asked for the form back with one more empty row rather than to be submitted."""
    return ADD_ROW in form


def rows_shown(form: Any) -> dict[str, int]:
    """For the list whose "Add another row" was pressed, how many rows the page showed."""
    path = form.get(ADD_ROW, "")
    return {path: max(_row_numbers(form, path), default=-1) + 1} if path else {}


def _scalar(raw: str, kind: str) -> Any:
    if kind == "boolean":
        return raw.lower() in ("on", "true", "1", "yes")
    if kind not in ("integer", "number"):
        return raw
    try:
        number = int(raw) if re.fullmatch(r"[+-]?\d+", raw) else float(raw)
    except ValueError:
        return raw  # validation will say it is not a number
    return number if math.isfinite(number) else raw


def _empty(value: Any) -> bool:
    return value in ("", None, False, [], {})


def _row_numbers(form: Any, path: str) -> set[int]:
    pattern = re.compile(re.escape(f"{path}.") + r"(\d+)\.")
    return {int(m.group(1)) for key in form.keys() if (m := pattern.match(key.removeprefix(PRESENT)))}


def _rows(spec: Spec, form: Any, path: str) -> list[dict[str, Any]]:
    rows = [parse(spec.get("items", {}), form, f"{path}.{i}.") for i in sorted(_row_numbers(form, path))]
    return [row for row in rows if not all(_empty(v) for v in row.values())]


def parse(schema: Spec, form: Any, prefix: str = "") -> dict[str, Any]:
    """Posted form fields (a werkzeug MultiDict) back into JSON data shaped by the schema; other keys are ignored."""
    data: dict[str, Any] = {}
    required = set(schema.get("required", []))
    for name, spec in schema.get("properties", {}).items():
        path, kind = f"{prefix}{name}", _kind(spec)
        value: Any = None
        if kind == "object":
            value = parse(spec, form, path + ".")
        elif kind == "array":
            items = spec.get("items", {})
            if _kind(items) == "object":
                value = _rows(spec, form, path)
            elif spec.get("x-assign-role") or _options(items, {}):
                value = [_scalar(v, _kind(items)) for v in form.getlist(path) if v.strip()]
            else:
                lines = "\n".join(form.getlist(path)).splitlines()
                value = [_scalar(line.strip(), _kind(items)) for line in lines if line.strip()]
            if not value and name in required and not spec.get("minItems"):
                data[name] = value  # an empty list the schema accepts
        elif path in form and form.get(path).strip():
            value = _scalar(form.get(path).replace("\r\n", "\n").strip(), kind)
        elif kind == "boolean" and PRESENT + path in form:
            value = False  # an unticked checkbox that was on the page
        if value is not None and value != "" and value != [] and value != {}:
            data[name] = value
    return data
