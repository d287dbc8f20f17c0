"""A case's anonymisation key (7.4): each person's real name, aliases, date of birth and pseudonym, the addresses,
and the officials who may be named (7.4, 16.1, 19.2). It reads and writes the JSON shape of issue 13.

Gap decisions (docs/PROCESS.md A.4.1 and gaps list): the key never leaves the LSCB [interpretation of 7.4], so it
is only ever exported to the LSCB administrator who keeps it; professionals are keyed like family members (7.4
"family and professional details"); a person may carry optional NHS numbers beside the issue's fields, which the
leak scan looks for too (RELIABILITY.md T-L1 lists NHS numbers).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.errors import FieldError, InvalidSubmission

KINDS = ("child", "family", "professional")


@dataclass(frozen=True)
class Person:
    """Someone the review names: who they really are and what documents call them instead."""

    real: str
    pseudonym: str = ""
    aliases: tuple[str, ...] = ()
    dob: date | None = None
    role: str = ""
    kind: str = "family"
    nhs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Official:
    """An official whom the procedure lets documents name: the LSCB Chair, SCR Panel Chair, overview author."""

    name: str
    role: str = ""


@dataclass(frozen=True)
class AnonymisationKey:
    """The whole key of one case."""

    case: str = ""
    people: tuple[Person, ...] = ()
    addresses: tuple[str, ...] = ()
    permitted: tuple[Official, ...] = field(default_factory=tuple)

    def incomplete(self) -> list[str]:
        """Why an export must wait: each person without a pseudonym, by position (never by name)."""
        return [f"person {n} ({p.kind}{', ' + p.role if p.role else ''}) has no pseudonym"
                for n, p in enumerate(self.people, start=1) if not p.pseudonym.strip()]

    def to_json(self) -> dict[str, Any]:
        """The key in the JSON shape of issue 13 (NHS numbers only where a person has them)."""
        people = []
        for p in self.people:
            entry: dict[str, Any] = {"real": p.real, "aliases": list(p.aliases),
                                     "dob": p.dob.isoformat() if p.dob else None, "role": p.role, "kind": p.kind,
                                     "pseudonym": p.pseudonym}
            if p.nhs:
                entry["nhs"] = list(p.nhs)
            people.append(entry)
        return {"case": self.case, "people": people, "addresses": list(self.addresses),
                "permitted": [{"name": o.name, "role": o.role} for o in self.permitted]}


def _text(value: Any, where: str, errors: list[FieldError], required: bool = False) -> str:
    """A string field, trimmed; a wrong type or a missing required value is an error at `where`."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.append(FieldError(where, "Must be text."))
        return ""
    value = " ".join(value.split())
    if required and not value:
        errors.append(FieldError(where, "Required."))
    return value


def _texts(value: Any, where: str, errors: list[FieldError]) -> tuple[str, ...]:
    """A list of strings (blank ones dropped)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        errors.append(FieldError(where, "Must be a list of text."))
        return ()
    found = [_text(v, f"{where}.{n}", errors) for n, v in enumerate(value)]
    return tuple(v for v in found if v)


def _plain(name: str) -> list[str]:
    """A name's words in lower case without accents (to compare a pseudonym with the real name)."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    return [w for w in "".join(c for c in folded if not unicodedata.combining(c)).replace("-", " ").split()
            if len(w) > 1]


def _person(raw: Any, n: int, errors: list[FieldError]) -> Person | None:
    """One person of the key, or None (with errors) when it cannot be read."""
    where = f"people.{n}"
    if not isinstance(raw, dict):
        errors.append(FieldError(where, "Must be an object with real, aliases, dob, role, kind and pseudonym."))
        return None
    dob: date | None = None
    if raw.get("dob"):
        try:
            dob = date.fromisoformat(str(raw["dob"]))
        except ValueError:
            errors.append(FieldError(f"{where}.dob", "Give the date of birth as YYYY-MM-DD."))
    kind = _text(raw.get("kind") or "family", f"{where}.kind", errors)
    if kind not in KINDS:
        errors.append(FieldError(f"{where}.kind", f"Must be one of {', '.join(KINDS)}."))
    real = _text(raw.get("real"), f"{where}.real", errors, required=True)
    pseudonym = _text(raw.get("pseudonym"), f"{where}.pseudonym", errors)
    if real and pseudonym and set(_plain(real)) & set(_plain(pseudonym)):
        errors.append(FieldError(f"{where}.pseudonym", "A pseudonym must not contain any part of the real name."))
    return Person(real=real, pseudonym=pseudonym,
                  aliases=_texts(raw.get("aliases"), f"{where}.aliases", errors), dob=dob,
                  role=_text(raw.get("role"), f"{where}.role", errors), kind=kind,
                  nhs=_texts(raw.get("nhs"), f"{where}.nhs", errors))


def key_from_json(raw: Any) -> AnonymisationKey:
    """Read a key from its JSON shape; every problem is reported at once (InvalidSubmission), by field path."""
    errors: list[FieldError] = []
    if not isinstance(raw, dict):
        raise InvalidSubmission([FieldError("key", "The key must be a JSON object with case, people, addresses "
                                                   "and permitted.")])
    people_raw = raw.get("people") or []
    if not isinstance(people_raw, list):
        errors.append(FieldError("people", "Must be a list."))
        people_raw = []
    people = tuple(p for n, r in enumerate(people_raw) if (p := _person(r, n, errors)) is not None)
    permitted: list[Official] = []
    permitted_raw = raw.get("permitted") or []
    if not isinstance(permitted_raw, list):
        errors.append(FieldError("permitted", "Must be a list."))
        permitted_raw = []
    for n, item in enumerate(permitted_raw):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            errors.append(FieldError(f"permitted.{n}", "Must be an object with name and role."))
            continue
        permitted.append(Official(_text(item.get("name"), f"permitted.{n}.name", errors, required=True),
                                  _text(item.get("role"), f"permitted.{n}.role", errors)))
    key = AnonymisationKey(case=_text(raw.get("case"), "case", errors), people=people,
                           addresses=_texts(raw.get("addresses"), "addresses", errors), permitted=tuple(permitted))
    if errors:
        raise InvalidSubmission(errors)
    return key


def load_key(text: str | bytes) -> AnonymisationKey:
    """Parse a key file's JSON text."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidSubmission([FieldError("key", "The key is not valid JSON.")]) from None
    return key_from_json(raw)
