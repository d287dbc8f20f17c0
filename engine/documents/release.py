"""The gate every outgoing byte passes: the case's key must be complete, nothing internal goes public (17.3), and
the leak scan must find nothing. A refusal delivers nothing, says where each finding is (never what), and leaves
one audit event; a release leaves one too, with the sha256 of what left.

Gap decisions: documents kept inside the LSCB (the proforma, IMRs as written, the key) are "internal" and never
released as public (7.4, 17.3); the anonymised IMRs Dorset asks for at week 22 and the overview report go to
Ofsted/DfE as "external"; the executive summary and synopsis are "public" (16.1, 18.1, 19.3).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.casework.services import Services
from engine.documents.keys import kept_case, scanner_for
from engine.documents.leakscan import Finding, ScanError, Scanner
from engine.errors import AnonymisationFailed, EngineError, NotPermitted
from engine.ports import CaseRecord, EventRow, ReleaseRecord, UnitOfWork

AUDIENCES = ("internal", "external", "public")
Progress = Callable[[int, int], None]
# Who may take a file out of a case: the case if so, NotFound or NotPermitted if not (the key's keeper by default).
Gate = Callable[[Services, UnitOfWork, int, str], CaseRecord]


@dataclass(frozen=True)
class Outgoing:
    """One file on its way out, and who it is for."""

    name: str
    data: bytes
    audience: str = "external"


def findings_of(scanner: Scanner, files: Sequence[Outgoing], progress: Progress | None = None) -> list[str]:
    """Every finding over the files, as lines that never repeat what was found; an unreadable file is a finding."""
    lines: list[str] = []
    for n, item in enumerate(files, start=1):
        try:
            found: list[Finding] = scanner.scan_bytes(item.name, item.data)
            lines += [f.line() for f in found]
        except ScanError as exc:
            lines.append(f"cannot be scanned, so cannot leave: {exc}")
        if progress:
            progress(n, len(files))
    return lines


def record_refusal(services: Services, case: CaseRecord, username: str, route: str, files: Sequence[Outgoing],
                   refusal: AnonymisationFailed) -> None:
    """Keep one audit event of a refusal, in its own transaction (call it after the checking one has ended):
    nothing was delivered, but someone tried."""
    with services.uow() as uow:
        uow.events.append(EventRow(case.id, services.clock.now(), "release_refused", username, {
            "route": route, "files": len(files), "findings": len(refusal.findings),
            "where": sorted({line.split(": ")[1] if ": " in line else "key" for line in refusal.findings})[:20]}))
        uow.commit()


def judge(scanner: Scanner, missing: list[str], files: Sequence[Outgoing], public: bool = False,
          progress: Progress | None = None) -> tuple[str, AnonymisationFailed | None]:
    """Whether these files may leave: the sha256 over them and None, or the refusal (NotPermitted is raised for
    anything internal on its way to the public)."""
    if public and any(f.audience == "internal" for f in files):
        raise NotPermitted("Documents kept inside the LSCB, such as IMRs as written, are never published (17.3).")
    if missing:
        return "", AnonymisationFailed("Nothing can leave until the anonymisation key is complete: the LSCB "
                                       "administrator must give everyone in it a pseudonym.", missing)
    findings = findings_of(scanner, files, progress)
    if findings:
        return "", AnonymisationFailed(
            f"Not released: the leak scan found {len(findings)} thing{'s' if len(findings) != 1 else ''} the "
            "anonymisation key says would identify someone. Each is listed with where it is; change the document "
            "and try again.", findings)
    digest = hashlib.sha256()
    for item in files:
        digest.update(item.name.encode() + b"\0" + hashlib.sha256(item.data).digest())
    return digest.hexdigest(), None


def release_file(services: Services, username: str, case_id: int, item: Outgoing, route: str,
                 public: bool = False, gate: Gate = kept_case, made_from: Sequence[Outgoing] = ()) -> bytes:
    """One document through the gate, for whom `gate` lets take it (the key's keeper unless the caller checks
    otherwise): its bytes, or AnonymisationFailed with nothing delivered. `made_from` (the Word file a PDF was
    made from) is scanned with it: a PDF is refused when its source carries a name the PDF happens not to show,
    such as one in a comment, so every format of a document is refused alike (T-L3)."""
    with services.uow() as uow:
        case = gate(services, uow, case_id, username)
        _digest, refusal = judge(*scanner_for(services, uow, case), [*made_from, item], public)
        if refusal is None:
            uow.events.append(EventRow(case.id, services.clock.now(), "document_released", username, {
                "route": route, "audience": item.audience, "sha256": hashlib.sha256(item.data).hexdigest()}))
            uow.commit()
    if refusal is not None:
        record_refusal(services, case, username, route, [*made_from, item], refusal)
        raise refusal
    return item.data


def zipped(files: Sequence[Outgoing]) -> bytes:
    """The files in one zip, in order."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in files:
            archive.writestr(item.name, item.data)
    return out.getvalue()


def _stopped(services: Services, release_id: int, status: str, message: str) -> None:
    """Mark a release that could not be built, with why."""
    with services.uow() as uow:
        uow.documents.update_release(release_id, status=status, finished_at=services.clock.now(),
                                     findings={"message": message, "findings": []})
        uow.commit()


def run_release(services: Services, release: ReleaseRecord, username: str,
                build: Callable[[Progress], Sequence[Outgoing]], public: bool = False) -> ReleaseRecord:
    """Build a pack's files, scan each, and keep the zip (released) or the findings (refused), with progress written
    as it goes so the page can show it. `public` says whether the pack is published (packs.json's audience). A
    build the engine refuses (a broken outline, say) leaves the release refused with why; anything else leaves it
    failed and is raised."""
    release_id = release.id or 0

    def progress(done: int, total: int) -> None:
        with services.uow() as uow:
            uow.documents.update_release(release_id, done=done, total=total)
            uow.commit()

    with services.uow() as uow:
        uow.documents.update_release(release_id, status="running")
        uow.commit()
    try:
        files = build(progress)
    except EngineError as refused:
        _stopped(services, release_id, "refused", str(refused))
        return _reread(services, release_id)
    except Exception as failed:
        _stopped(services, release_id, "failed", f"The pack could not be built ({type(failed).__name__}); nothing "
                                                 "was released. The system administrator can see why in the log.")
        raise
    with services.uow() as uow:
        case = uow.cases.get(release.case_id)
        assert case is not None
        scanner, missing = scanner_for(services, uow, case)
        key = uow.documents.key(release.case_id)
    refusal: AnonymisationFailed | NotPermitted | None
    try:  # scanned outside any transaction: progress is written as it goes
        digest, refusal = judge(scanner, missing, files, public=public,
                                progress=lambda n, total: progress(len(files) + n, 2 * len(files)))
    except NotPermitted as internal:
        digest, refusal = "", internal
    with services.uow() as uow:
        if refusal is None:
            uow.documents.update_release(release_id, status="released", data=zipped(files), sha256=digest,
                                         done=2 * len(files), total=2 * len(files), finished_at=services.clock.now(),
                                         findings={"files": [f.name for f in files],
                                                   "key_version": key.lock_version if key else None})
            uow.events.append(EventRow(case.id, services.clock.now(), "pack_released", username, {
                "kind": release.kind, "files": len(files), "sha256": digest}))
        else:
            findings = refusal.findings if isinstance(refusal, AnonymisationFailed) else []
            uow.documents.update_release(release_id, status="refused", finished_at=services.clock.now(),
                                         findings={"message": str(refusal), "findings": findings})
        uow.commit()
    if isinstance(refusal, AnonymisationFailed):
        record_refusal(services, case, username, f"pack:{release.kind}", files, refusal)
    return _reread(services, release_id)


def _reread(services: Services, release_id: int) -> ReleaseRecord:
    """A release as stored now."""
    with services.uow() as uow:
        found = uow.documents.release(release_id)
    assert found is not None
    return found
