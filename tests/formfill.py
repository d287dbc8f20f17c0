"""Valid form data generated from a JSON Schema, with chosen values for named fields (for drives and benches)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator

DATE = "2024-02-01"


def fill(schema: Mapping[str, Any], choices: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every required field (and every field named in `choices`) with a value the schema accepts."""
    choices = choices or {}
    properties = schema.get("properties", {})
    usable = {name: value for name, value in choices.items()
              if name in properties and Draft202012Validator(properties[name]).is_valid(value)}
    wanted = set(schema.get("required", [])) | set(usable)
    data = {name: usable[name] if name in usable else value_for(properties[name]) for name in sorted(wanted)}
    for rule in schema.get("allOf", []):  # conditional requirements: `if` the data matches, `then` applies
        if "if" in rule and Draft202012Validator(rule["if"]).is_valid(data):
            for name in rule.get("then", {}).get("required", []):
                if name not in data and name in properties:
                    data[name] = value_for(properties[name])
    return data


def value_for(spec: Mapping[str, Any]) -> Any:
    """A plausible valid value for one property schema."""
    if "const" in spec:
        return spec["const"]
    if "enum" in spec:
        return spec["enum"][0]
    if "oneOf" in spec and spec["oneOf"] and "const" in spec["oneOf"][0]:
        return spec["oneOf"][0]["const"]
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return max(spec.get("minimum", 1), 1)
    if kind == "array":
        items = spec.get("items", {})
        count = max(spec.get("minItems", 1), 1)
        if "enum" in items:
            return list(items["enum"][:count])
        return [value_for(items) for _ in range(count)]
    if kind == "object":
        return fill(spec)
    fmt = spec.get("format")
    if fmt == "date":
        return DATE
    if fmt == "date-time":
        return DATE + "T09:00:00+00:00"
    if fmt == "email":
        return "someone@example.org"
    return "x" * max(spec.get("minLength", 1), 12)
