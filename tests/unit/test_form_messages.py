"""A refused answer is explained in words a person can act on, and the explanation never repeats what was typed:
a field may hold a child's name, and error responses leave the system (T-L5)."""

from __future__ import annotations

import pytest

from engine.errors import InvalidSubmission
from engine.workflow.forms import validate_submission

SCHEMA = {"type": "object", "properties": {
    "ticked": {"type": "boolean"}, "count": {"type": "integer"}, "notes": {"type": "string", "pattern": "^[0-9]+$"},
    "people": {"type": "array", "items": {"type": "string"}, "maxItems": 1, "uniqueItems": True},
    "nested": {"type": "object", "additionalProperties": False, "properties": {"a": {"type": "string"}}}}}
NAME = "Tayla Quist of 7 Larkspur Crescent"


def test_every_refusal_says_what_to_do_without_repeating_the_answer() -> None:
    with pytest.raises(InvalidSubmission) as refused:
        validate_submission(SCHEMA, {"ticked": NAME, "count": NAME, "notes": NAME, "people": [NAME, NAME],
                                     "nested": {"b": NAME}})
    said = {e.field: e.message for e in refused.value.errors}
    assert said["ticked"] == "answer yes or no" and said["count"] == "enter a number"
    assert said["notes"] == "this is not in the form asked for"
    assert "Tayla" not in str(refused.value) and "Larkspur" not in str(refused.value)
