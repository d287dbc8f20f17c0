"""The process owners' studio: drafts of procedures, checked on every save, published only with a second owner.

A draft is a full working copy of a version's files (its diagrams under `bpmn/` and its forms under `forms/`), so a
draft is checked, diffed and published on its own; forms are versioned with the diagrams that use them. Publishing
is four-eyes: the owner who wrote or submitted a draft cannot approve it, and approval stores a new immutable
version (or, for a roll-back, publishes an earlier one again) that new cases of the procedure start on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from engine.casework.access import owns_procedures
from engine.casework.cases import board_of_process, board_processes
from engine.casework.services import Services
from engine.errors import Conflict, FieldError, InvalidDiagram, InvalidSubmission, NotFound, NotPermitted, Problem
from engine.ports import EventRow, ProcedureDraftRecord, PublicationRecord, UnitOfWork, VersionRecord
from engine.workflow.checks import element_properties, outline
from engine.workflow.fields import unread_fields
from engine.workflow.specs import CompiledProcess, compile_processes
from engine.workflow.xmlsafe import parse_xml_safely

MAX_FILE_BYTES = 2 * 1024 * 1024
OPEN = ("draft", "submitted")


@dataclass
class VersionRow:
    """A stored version as the studio lists it: whether it is the published one and how it got there."""

    version: VersionRecord
    published: bool
    published_at: list[str] = field(default_factory=list)


@dataclass
class Procedure:
    """One procedure of a board: its versions (newest first), the published one, and its open drafts."""

    board: str
    board_name: str
    process_id: str
    title: str
    versions: list[VersionRow]
    drafts: list[ProcedureDraftRecord]

    @property
    def published(self) -> VersionRecord | None:
        """The version new cases start on."""
        return next((row.version for row in self.versions if row.published), None)


def owned_boards(services: Services, username: str) -> list[str]:
    """The boards whose procedures this person owns (holds a procedure-owning role on), in catalogue order."""
    with services.uow() as uow:
        held = uow.people.assignments_of(username)
    return [b.code for b in services.catalogue.boards if owns_procedures(held, b.code, services.catalogue)]


def _require_owner(services: Services, uow: UnitOfWork, username: str, board: str) -> None:
    """Refuse anyone who does not own this board's procedures (as absence: they learn nothing)."""
    if not owns_procedures(uow.people.assignments_of(username), board, services.catalogue):
        raise NotFound("no such procedure")


def procedure_title(version: VersionRecord | None, process_id: str) -> str:
    """What people call a procedure: the title it was published with, else its diagram's process name."""
    if version is None:
        return process_id
    if version.title:
        return version.title
    main = main_diagram(version.files, process_id)
    return (_processes(version.files[main]).get(process_id) if main else None) or process_id


def _processes(text: str) -> dict[str, str | None]:
    """Process id -> name of what a diagram file defines (nothing when it does not parse)."""
    try:
        return {p.process_id: p.name for p in outline(parse_xml_safely(text.encode(), "diagram")).processes}
    except InvalidDiagram:
        return {}


def main_diagram(files: Mapping[str, str], process_id: str) -> str:
    """The diagram file that defines the process (the first diagram otherwise; '' when there is none)."""
    diagrams = sorted(k for k in files if k.startswith("bpmn/"))
    return next((k for k in diagrams if process_id in _processes(files[k])), diagrams[0] if diagrams else "")


def overview(services: Services, username: str) -> list[Procedure]:
    """Every procedure of the boards this person owns, with versions, publications and open drafts."""
    boards = owned_boards(services, username)
    found: list[Procedure] = []
    with services.uow() as uow:
        for board in boards:
            drafts = [d for d in uow.studio.list(board) if d.status in OPEN]
            processes = board_processes(services, uow, board)
            processes += [d.process_id for d in drafts if d.process_id not in processes]
            for process_id in processes:
                publications = uow.versions.publications(process_id)
                current = publications[-1].version_id if publications else None
                rows = [VersionRow(v, v.id == current,
                                   [f"{p.published_at:%d %b %Y %H:%M}" for p in publications if p.version_id == v.id])
                        for v in reversed(uow.versions.of_process(process_id))]
                published = next((r.version for r in rows if r.published), None)
                name = services.catalogue.board(board)
                found.append(Procedure(board, name.name if name else board, process_id,
                                       procedure_title(published, process_id), rows,
                                       [d for d in drafts if d.process_id == process_id]))
    return found


def disk_and_draft_forms(services: Services, files: Mapping[str, str]) -> dict[str, bytes]:
    """The forms a draft may use: those of forms/ on disk, overlaid by the draft's own."""
    forms = dict(services.forms())
    forms.update({k[6:]: v.encode() for k, v in files.items() if k.startswith("forms/")})
    return forms


def check_files(services: Services, process_id: str, files: Mapping[str, str], board: str | None = None,
                uow: UnitOfWork | None = None) -> tuple[CompiledProcess | None, list[Problem]]:
    """Run every check `run.py check-diagram` runs on a draft's files; the compiled process when it passes.

    Inside a unit of work, pass it: a second one would wait on the first's write lock (SQLite)."""
    diagrams = {k[5:]: v.encode() for k, v in files.items() if k.startswith("bpmn/")}
    forms = disk_and_draft_forms(services, files)
    problems: list[Problem] = []
    if not diagrams:
        return None, [Problem("no_diagram", "the draft has no diagram: upload a .bpmn file")]
    try:
        compiled = compile_processes(diagrams, forms, services.catalogue, [process_id])[process_id]
    except InvalidDiagram as exc:
        return None, _unique(exc.problems)
    except Exception as exc:  # noqa: BLE001 - a foreign diagram SpiffWorkflow trips over is a problem, not a 500
        return None, [Problem("invalid_bpmn", f"the engine cannot read this diagram ({type(exc).__name__}: {exc}): "
                              "check it in `run.py check-diagram`, or redraw the part it names")]
    if board is not None:
        if uow is None:
            with services.uow() as fresh:
                owner = board_of_process(services, fresh, process_id)
        else:
            owner = board_of_process(services, uow, process_id)
        if owner is not None and owner != board:
            problems.append(Problem("process_of_another_board", f"process id {process_id!r} is another board's "
                                    "procedure: give the process a new id in the diagram's properties"))
    problems.extend(unread_fields(diagrams, forms))  # issue 11 item 5: asked before it is read, before publishing
    return (compiled if not problems else None), _unique(problems)


def _unique(problems: Sequence[Problem]) -> list[Problem]:
    seen: list[Problem] = []
    for problem in problems:
        if problem not in seen:
            seen.append(problem)
    return seen


def _problem_dicts(problems: Sequence[Problem]) -> list[dict[str, str | None]]:
    return [{"code": p.code, "message": p.message, "element": p.element, "file": p.file} for p in problems]


def _audit(uow: UnitOfWork, services: Services, kind: str, actor: str, detail: dict[str, object]) -> None:
    uow.events.append(EventRow(None, services.clock.now(), kind, actor, detail))


def get_draft(services: Services, username: str, draft_id: int) -> ProcedureDraftRecord:
    """A draft of a board this person owns (NotFound otherwise)."""
    with services.uow() as uow:
        draft = uow.studio.get(draft_id)
        _require_owner(services, uow, username, draft.board)
        return draft


def start_draft(services: Services, username: str, version_id: int, note: str = "") -> ProcedureDraftRecord:
    """A new draft holding a copy of a stored version's files, to change."""
    with services.uow() as uow:
        version, board = _owned_version(services, uow, username, version_id)
        now = services.clock.now()
        draft = uow.studio.add(ProcedureDraftRecord(
            None, board, version.process_id, procedure_title(version, version.process_id), dict(version.files),
            version.id, username, now, now, note=note))
        assert draft.id is not None
        _audit(uow, services, "procedure_draft_started", username,
               {"draft": draft.id, "process": version.process_id, "from_version": version.id})
        uow.commit()
    return _recheck(services, username, draft.id)


def upload_draft(services: Services, username: str, board: str, filename: str, data: bytes,
                 note: str = "") -> ProcedureDraftRecord:
    """A new draft from an uploaded .bpmn file: a new version of the procedure it defines, or a new procedure."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    if not name.endswith(".bpmn") or name.startswith("."):
        raise InvalidSubmission([FieldError("file", "choose a .bpmn file (BPMN 2.0 XML from any modeler)")])
    if len(data) > MAX_FILE_BYTES:
        raise InvalidSubmission([FieldError("file", f"the file is larger than {MAX_FILE_BYTES // 1024} KB")])
    found = outline(parse_xml_safely(data, name))
    processes = [p for p in found.processes if p.executable]
    if not processes:
        raise InvalidDiagram([Problem("no_process", "the file defines no executable process: tick 'executable' on "
                                      "the process (isExecutable=\"true\")", file=name)])
    callers = {c.called for c in found.calls}
    main = next((p for p in processes if p.process_id not in callers), processes[0])
    process_id = main.process_id
    with services.uow() as uow:
        _require_owner(services, uow, username, board)
        owner = board_of_process(services, uow, process_id)
        if owner is not None and owner != board:
            raise InvalidDiagram([Problem("process_of_another_board", f"process id {process_id!r} belongs to "
                                          "another board: give the process a new id in the modeler", process_id,
                                          name)])
        published = uow.versions.latest(process_id)
        files = dict(published.files) if published is not None else {}
        defining = [k for k, v in files.items() if k.startswith("bpmn/") and process_id in _processes(v)]
        for replaced in defining + [k for k in files if PurePosixPath(k).name == name]:
            files.pop(replaced, None)
        path = PurePosixPath(defining[0]).parent / name if defining else PurePosixPath("bpmn", board, name)
        try:
            files[path.as_posix()] = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidDiagram([Problem("not_utf8", "save the diagram as UTF-8 (the modeler's default)",
                                          file=name)]) from exc
        now = services.clock.now()
        draft = uow.studio.add(ProcedureDraftRecord(
            None, board, process_id, main.name or process_id, files,
            published.id if published else None, username, now, now, note=note))
        assert draft.id is not None
        _audit(uow, services, "procedure_uploaded", username,
               {"draft": draft.id, "process": process_id, "file": name})
        uow.commit()
    return _recheck(services, username, draft.id)


def _recheck(services: Services, username: str, draft_id: int) -> ProcedureDraftRecord:
    """Run the checks on a draft's files and store what they found."""
    with services.uow() as uow:
        draft = uow.studio.get(draft_id, for_update=True)
        _, problems = check_files(services, draft.process_id, draft.files, draft.board, uow)
        draft = uow.studio.save(replace(draft, problems=_problem_dicts(problems)))
        uow.commit()
    return draft


def save_file(services: Services, username: str, draft_id: int, path: str, text: str,
              lock_version: int | None = None) -> ProcedureDraftRecord:
    """Save one diagram or form of a draft (it may be invalid) and store the checks' findings."""
    path = path.strip()
    if not (path.startswith("bpmn/") and path.endswith(".bpmn")) and not (
            path.startswith("forms/") and path.endswith(".json")):
        raise InvalidSubmission([FieldError("path", "a draft holds diagrams (bpmn/….bpmn) and forms "
                                            "(forms/….json) only")])
    if ".." in path.split("/") or "//" in path:
        raise InvalidSubmission([FieldError("path", "a file name may not climb out of its folder")])
    data = text.encode("utf-8")
    if len(data) > MAX_FILE_BYTES:
        raise InvalidSubmission([FieldError("file", f"the file is larger than {MAX_FILE_BYTES // 1024} KB")])
    if path.startswith("bpmn/"):
        parse_xml_safely(data, PurePosixPath(path).name)  # hostile XML is refused before it is stored
    with services.uow() as uow:
        draft = uow.studio.get(draft_id, for_update=True)
        _require_owner(services, uow, username, draft.board)
        if draft.status != "draft":
            raise Conflict(f"this draft is {draft.status}: withdraw it to change it")
        if lock_version is not None and lock_version != draft.lock_version:
            raise Conflict("someone saved this draft after you opened it: reload to see their change")
        files = {**draft.files, path: text}
        files.update(_forms_from_disk(services, files))
        _, problems = check_files(services, draft.process_id, files, draft.board, uow)
        draft = uow.studio.save(replace(draft, files=files, problems=_problem_dicts(problems),
                                        updated_at=services.clock.now()))
        uow.commit()
    return draft


def _forms_from_disk(services: Services, files: Mapping[str, str]) -> dict[str, str]:
    """Forms of forms/ a draft's diagrams name but the draft does not hold yet (copied in, so they are versioned)."""
    disk = services.forms()
    wanted: dict[str, str] = {}
    for name, text in files.items():
        if not name.startswith("bpmn/"):
            continue
        try:
            root = parse_xml_safely(text.encode(), PurePosixPath(name).name)
        except InvalidDiagram:
            continue
        for node in root.iter():
            props = element_properties(node) if isinstance(node.tag, str) else {}
            for form in (props.get("formJsonSchemaFilename"), props.get("formUiSchemaFilename")):
                if form and "forms/" + form not in files and form in disk:
                    wanted["forms/" + form] = disk[form].decode("utf-8")
    return wanted


def submit(services: Services, username: str, draft_id: int, note: str) -> ProcedureDraftRecord:
    """Ask a second owner to approve a valid draft; `note` says why the procedure changes."""
    if not note.strip():
        raise InvalidSubmission([FieldError("note", "say why the procedure changes: the approver and the version "
                                            "history read it")])
    with services.uow() as uow:
        draft = uow.studio.get(draft_id, for_update=True)
        _require_owner(services, uow, username, draft.board)
        if draft.status != "draft":
            raise Conflict(f"this draft is already {draft.status}")
        _, problems = check_files(services, draft.process_id, draft.files, draft.board, uow)
        if problems:
            uow.studio.save(replace(draft, problems=_problem_dicts(problems)))
            uow.commit()
            raise InvalidDiagram(problems)
        now = services.clock.now()
        draft = uow.studio.save(replace(draft, status="submitted", note=note.strip(), submitted_at=now,
                                        problems=[], updated_at=now))
        _audit(uow, services, "procedure_submitted", username, {"draft": draft_id, "process": draft.process_id})
        uow.commit()
    return draft


def withdraw(services: Services, username: str, draft_id: int) -> ProcedureDraftRecord:
    """Take a submitted draft back to change it (the undo of submitting), or drop an open draft."""
    with services.uow() as uow:
        draft = uow.studio.get(draft_id, for_update=True)
        _require_owner(services, uow, username, draft.board)
        if draft.status not in OPEN:
            raise Conflict(f"this draft is {draft.status}")
        status = "draft" if draft.status == "submitted" else "withdrawn"
        draft = uow.studio.save(replace(draft, status=status, updated_at=services.clock.now()))
        _audit(uow, services, "procedure_withdrawn", username, {"draft": draft_id, "status": status})
        uow.commit()
    return draft


def _decide_guard(services: Services, uow: UnitOfWork, username: str, draft: ProcedureDraftRecord) -> None:
    _require_owner(services, uow, username, draft.board)
    if draft.status != "submitted":
        raise Conflict(f"this draft is {draft.status}, not waiting for approval")
    if username == draft.author:
        raise NotPermitted("you wrote or submitted this change: a second process owner of the board must approve "
                           "it (four eyes)")


def reject(services: Services, username: str, draft_id: int, note: str) -> ProcedureDraftRecord:
    """A second owner sends a submitted draft back, saying why."""
    if not note.strip():
        raise InvalidSubmission([FieldError("note", "say what should change before you approve it")])
    with services.uow() as uow:
        draft = uow.studio.get(draft_id, for_update=True)
        _decide_guard(services, uow, username, draft)
        now = services.clock.now()
        draft = uow.studio.save(replace(draft, status="draft", decided_by=username, decided_at=now,
                                        decision_note=note.strip(), updated_at=now))
        _audit(uow, services, "procedure_sent_back", username, {"draft": draft_id, "note": note.strip()})
        uow.commit()
    return draft


def approve(services: Services, approver: str, draft_id: int, note: str = "") -> VersionRecord:
    """A second owner approves: the draft becomes an immutable version new cases start on (four eyes)."""
    with services.uow() as uow:
        draft = uow.studio.get(draft_id, for_update=True)
        _decide_guard(services, uow, approver, draft)
        compiled, problems = check_files(services, draft.process_id, draft.files, draft.board, uow)
        if compiled is None:
            raise InvalidDiagram(problems)
        now = services.clock.now()
        version = uow.versions.by_hash(compiled.content_hash)
        if version is None:
            version = uow.versions.add(VersionRecord(None, compiled.process_id, compiled.content_hash,
                                                     compiled.files, now, draft.author, board=draft.board,
                                                     title=draft.title, note=draft.note, approved_by=approver))
        assert version.id is not None
        uow.versions.publish(PublicationRecord(None, compiled.process_id, version.id, now, draft.board,
                                               draft.author, approver, draft.note))
        uow.studio.save(replace(draft, status="published", decided_by=approver, decided_at=now,
                                decision_note=note.strip() or None, published_version_id=version.id,
                                updated_at=now))
        _audit(uow, services, "procedure_published", approver,
               {"draft": draft_id, "process": compiled.process_id, "version": version.id,
                "hash": compiled.content_hash, "submitted_by": draft.author, "approved_by": approver})
        uow.commit()
    return version


def request_rollback(services: Services, username: str, version_id: int, note: str) -> ProcedureDraftRecord:
    """Ask to publish an earlier version again: a submitted draft of its files, for a second owner to approve."""
    if not note.strip():
        raise InvalidSubmission([FieldError("note", "say why the procedure goes back to this version")])
    draft = start_draft(services, username, version_id, note.strip())
    assert draft.id is not None
    return submit(services, username, draft.id, f"Roll back to version {version_id}: {note.strip()}")


def version_for_owner(services: Services, username: str, version_id: int) -> VersionRecord:
    """A stored version, for an owner of its board (NotFound otherwise)."""
    with services.uow() as uow:
        return _owned_version(services, uow, username, version_id)[0]


def _owned_version(services: Services, uow: UnitOfWork, username: str, version_id: int) -> tuple[VersionRecord, str]:
    """A stored version and its board, for an owner of that board (NotFound otherwise)."""
    version = uow.versions.get(version_id)
    board = board_of_process(services, uow, version.process_id)
    if board is None:
        raise NotFound("no such version")
    _require_owner(services, uow, username, board)
    return version, board


def board_of(services: Services, process_id: str) -> str | None:
    """The board a procedure belongs to (None for an unknown one)."""
    with services.uow() as uow:
        return board_of_process(services, uow, process_id)


def published_version(services: Services, process_id: str) -> VersionRecord | None:
    """The version new cases of a process start on (None before its first publication)."""
    with services.uow() as uow:
        return uow.versions.latest(process_id)


def form_names(services: Services, files: Mapping[str, str]) -> list[str]:
    """The form files a task may name: the draft's own and those of forms/ (JSON Schemas only)."""
    return sorted(n for n in disk_and_draft_forms(services, files) if n.endswith(".schema.json"))
