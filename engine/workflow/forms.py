"""Server-side validation of a submitted form against its JSON Schema, with one message per field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from engine.errors import FieldError, InvalidSubmission

_FORMATS = FormatChecker()
TYPE_WORDS = {"boolean": "answer yes or no", "string": "enter text", "array": "choose from the list",
              "object": "fill in each part of this answer", "null": "leave this empty"}
OTHER_WORDS = {"maxItems": "choose fewer", "uniqueItems": "choose each option only once",
               "pattern": "this is not in the form asked for", "format": "this is not in the form asked for",
               "additionalProperties": "this answer has a part the form does not ask for",
               "const": "this answer is not the one the form needs", "not": "this answer is not allowed here"}


def _field_name(path: list[Any], fallback: str) -> str:
    return ".".join(str(p) for p in path) or fallback


def validate_submission(schema: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the submitted fields if they satisfy the form's schema; raise InvalidSubmission otherwise."""
    if not isinstance(data, Mapping):
        raise InvalidSubmission([FieldError("", "the submission must be an object of form fields")])
    known = set(schema.get("properties", {}))
    errors = [FieldError(k, "this field is not part of the form") for k in data if k not in known]
    validator = Draft202012Validator(schema, format_checker=_FORMATS)
    for error in sorted(validator.iter_errors(dict(data)), key=lambda e: list(e.absolute_path)):
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            errors.append(FieldError(_field_name([*error.absolute_path, missing], missing), "this field is required"))
        else:
            errors.append(FieldError(_field_name(list(error.absolute_path), "form"), _plain(error)))
    if errors:
        raise InvalidSubmission(errors)
    return dict(data)


def _plain(error: Any) -> str:
    """jsonschema's message in words a person filling the form can act on."""
    kind, expected = error.validator, error.validator_value
    if kind == "const" and expected is True:
        return "this must be ticked to continue"
    if kind in ("enum", "oneOf"):
        return "choose one of the options offered"
    if kind == "format" and expected == "date":
        return "enter a date as YYYY-MM-DD"
    if kind == "format" and expected == "email":
        return "enter an email address"
    if kind == "minLength" and expected == 1:
        return "this field is required"
    if kind == "minLength":
        return f"enter at least {expected} characters"
    if kind == "maxLength":
        return f"enter at most {expected} characters"
    if kind == "minItems":
        return "choose at least one" if expected == 1 else f"choose at least {expected}"
    if kind == "type" and expected in ("integer", "number"):
        return "enter a number"
    if kind in ("minimum", "maximum"):
        return f"enter a number {'at least' if kind == 'minimum' else 'at most'} {expected}"
    if kind == "type":
        return TYPE_WORDS.get(next(iter(expected), "") if isinstance(expected, list) else expected,
                              "this answer is not of the kind the form asks for")
    # Never jsonschema's own message: it quotes what was typed, and a field may hold a child's name (T-L5).
    return OTHER_WORDS.get(kind, "this answer is not one the form accepts")


def role_assignments(schema: Mapping[str, Any], data: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(field, role, username) for each person named in a field marked `x-assign-role` in the schema."""
    found: list[tuple[str, str, str]] = []
    for name, spec in schema.get("properties", {}).items():
        role = spec.get("x-assign-role") if isinstance(spec, Mapping) else None
        value = data.get(name)
        if role and isinstance(value, str) and value:
            found.append((name, role, value))
        elif role and isinstance(value, list):
            found.extend((name, role, v) for v in value if isinstance(v, str) and v)
    return found


def private_fields(schema: Mapping[str, Any]) -> set[str]:
    """The form's fields marked `x-private`: kept in the case file, never put into workflow data."""
    properties = schema.get("properties", {})
    return {k for k, v in properties.items() if isinstance(v, Mapping) and v.get("x-private") is True}
