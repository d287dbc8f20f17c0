"""What `forms/` declares besides forms: roles (lane -> role), agencies, boards and demo users."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import InvalidDiagram, Problem


@dataclass(frozen=True)
class Role:
    """A role of the catalogue and the lane that names it in diagrams."""

    role: str
    lane: str | None
    level: str
    agency_scoped: bool
    title: str
    agency_variable: str | None = None
    initiator: bool = False
    administers: bool = False  # assigns case roles, reassigns and releases tasks on its board's cases
    reads_case_file: bool = False  # reads every agency's submitted answers on the cases it holds
    owns_procedures: bool = False  # edits its board's procedures in the studio; publishing takes two of them
    monitors: bool = False  # sees the monitor: every case of its board, the dashboards, the exports
    all_boards: bool = False  # ... of every board (a system administrator)
    keeps_key: bool = False  # keeps the cases' anonymisation keys and releases their documents (7.4)
    named: bool = False  # never anonymised in documents (7.4, 16.1, 19.2): the key's permitted officials


@dataclass(frozen=True)
class Board:
    """A Local Safeguarding Children Board and the process its cases run."""

    code: str
    name: str
    process: str
    reference_prefix: str


@dataclass(frozen=True)
class Catalogue:
    """The role catalogue, agencies and boards, read from files a process owner edits."""

    roles: tuple[Role, ...]
    scope_variable: str
    agencies: Mapping[str, Mapping[str, Any]]
    boards: tuple[Board, ...]
    users: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    demo_password: str | None = None

    def role_for_lane(self, lane: str | None) -> Role | None:
        """The role a lane name stands for, or None."""
        if lane is None:
            return None
        for role in self.roles:
            if role.lane == lane:
                return role
        return None

    def role(self, name: str) -> Role | None:
        """The role called `name`, or None."""
        return next((r for r in self.roles if r.role == name), None)

    def agency_variable(self, role: Role) -> str:
        """The workflow variable naming the agency of an agency-scoped task."""
        return role.agency_variable or self.scope_variable

    def agency_name(self, code: str | None) -> str:
        """The agency's name from agencies.json (the code itself when it is not listed; '' for none)."""
        if not code:
            return ""
        entry = self.agencies.get(code)
        return str(entry.get("name", code)) if isinstance(entry, Mapping) else code

    def board(self, code: str) -> Board | None:
        """The board with this code, or None."""
        return next((b for b in self.boards if b.code == code), None)

    def board_for_process(self, process_id: str) -> Board | None:
        """The board whose cases run `process_id`, or None."""
        return next((b for b in self.boards if b.process == process_id), None)

    def scoped_roles(self) -> set[str]:
        """The roles whose tasks belong to one agency (held per agency)."""
        return {r.role for r in self.roles if r.agency_scoped}

    def scope(self, role: str | None, agency: str | None) -> str | None:
        """The agency a task of `role` about `agency` is limited to: that agency for scoped roles, else none."""
        definition = self.role(role or "")
        return agency if definition is not None and definition.agency_scoped else None

    def procedure_owner_roles(self) -> set[str]:
        """The roles whose holders edit and approve their board's procedures."""
        return {r.role for r in self.roles if r.owns_procedures}

    def initiator_role(self) -> Role | None:
        """The role given to whoever starts a case."""
        return next((r for r in self.roles if r.initiator), None)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidDiagram([Problem("catalogue_missing", f"{path.name} is missing", file=str(path))]) from exc
    except json.JSONDecodeError as exc:
        raise InvalidDiagram([Problem("catalogue_invalid", f"not valid JSON: {exc}", file=str(path))]) from exc


def load_catalogue(forms_dir: Path) -> Catalogue:
    """Read roles.json, agencies.json, boards.json (and users.json when present) from `forms_dir`."""
    roles_doc = _read_json(forms_dir / "roles.json")
    roles = tuple(
        Role(
            role=r["role"], lane=r.get("lane"), level=r.get("level", "case"),
            agency_scoped=bool(r.get("agency_scoped", False)), title=r.get("title", r["role"]),
            agency_variable=r.get("agency_variable"), initiator=bool(r.get("initiator", False)),
            administers=bool(r.get("administers", False)), reads_case_file=bool(r.get("reads_case_file", False)),
            owns_procedures=bool(r.get("owns_procedures", False)), monitors=bool(r.get("monitors", False)),
            all_boards=bool(r.get("all_boards", False)), keeps_key=bool(r.get("keeps_key", False)),
            named=bool(r.get("named", False)),
        )
        for r in roles_doc["roles"]
    )
    agencies = {a["code"]: a for a in _read_json(forms_dir / "agencies.json")["agencies"]}
    boards = tuple(
        Board(code=b["code"], name=b["name"], process=b["process"], reference_prefix=b.get("reference_prefix", "SCR"))
        for b in _read_json(forms_dir / "boards.json")["boards"]
    )
    users_path = forms_dir / "users.json"
    users_doc = _read_json(users_path) if users_path.exists() else {"users": []}
    users = tuple(users_doc["users"])
    return Catalogue(
        roles=roles, scope_variable=roles_doc.get("scope_variable", "agency"), agencies=agencies,
        boards=boards, users=users, demo_password=users_doc.get("demo_password"),
    )
