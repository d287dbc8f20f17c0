"""A pack assembled with one action (issue 13): the LSCB administrator starts it, every document of it is built from
the case and anonymised, then each is scanned, with progress written as it goes; the pack is released as one zip
or refused with every finding (where, never what). Which documents a pack holds is forms/documents/packs.json's to
say. A start queues the release; `run_in_background` runs it on a thread so the request returns at once.

Gap decisions: only the keeper of the case's key (the LSCB administrator, 7.4) assembles and downloads packs; a
released zip is downloaded only while the key is the one it was scanned against (a name added to the key since
could be in it), otherwise the pack is built again.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo

from engine.casework.services import Services
from engine.documents.build import Planned, built, gather, plan
from engine.documents.chronology import LOCAL
from engine.documents.keys import kept_case, scanner_for
from engine.documents.library import library
from engine.documents.packs import Pack, pack_of, read_packs
from engine.documents.release import Outgoing, Progress, run_release
from engine.errors import Conflict, NotFound
from engine.ports import CaseRecord, EventRow, ReleaseRecord, UnitOfWork

log = logging.getLogger(__name__)
UNSAFE_IN_NAMES = re.compile(r"[^A-Za-z0-9._-]+")
RUNNING = ("queued", "running")


@dataclass(frozen=True)
class PlannedPack:
    """A pack as it would be built for a case now: the documents, one per agency where written per agency."""

    pack: Pack
    documents: tuple[Planned, ...]


@dataclass(frozen=True)
class PacksView:
    """The packs page of a case: what each pack would hold, past releases (newest first), why nothing can leave
    yet (when the key is incomplete)."""

    case: CaseRecord
    packs: tuple[PlannedPack, ...]
    releases: tuple[ReleaseRecord, ...]
    missing: tuple[str, ...]


def pack_documents(services: Services, uow: UnitOfWork, case: CaseRecord, pack: Pack) -> list[Planned]:
    """The documents of a pack for this case (one per agency where written per agency)."""
    return plan(services, uow, case, [(d.outline, d.audience, d.optional) for d in pack.documents])


def packs_view(services: Services, username: str, case_id: int) -> PacksView:
    """The case's packs and releases, for the keeper of its key."""
    packs = read_packs(library(services), services.catalogue).packs
    with services.uow() as uow:
        case = kept_case(services, uow, case_id, username)
        planned = tuple(PlannedPack(p, tuple(pack_documents(services, uow, case, p))) for p in packs.values())
        releases = tuple(sorted(uow.documents.releases(case_id), key=lambda r: r.id or 0, reverse=True))
        _scanner, missing = scanner_for(services, uow, case)
    return PacksView(case, planned, releases, tuple(missing))


def start_pack(services: Services, username: str, case_id: int, pack_id: str) -> int:
    """Queue one pack of the case (its keeper only); the id of its release. A key still incomplete is refused when
    it runs, so the refusal is kept with the release."""
    chosen = pack_of(read_packs(library(services), services.catalogue), pack_id)
    with services.uow() as uow:
        case = kept_case(services, uow, case_id, username)
        count = len(pack_documents(services, uow, case, chosen))
        now = services.clock.now()
        record = uow.documents.add_release(ReleaseRecord(None, case_id, chosen.id, "queued", username, now,
                                                         total=2 * count))
        uow.events.append(EventRow(case_id, now, "pack_started", username, {"pack": chosen.id, "documents": count,
                                                                            "release": record.id}))
        uow.commit()
    assert record.id is not None
    return record.id


def _builder(services: Services, release: ReleaseRecord, chosen: Pack, zone: tzinfo
             ) -> Callable[[Progress], list[Outgoing]]:
    """What builds the pack's files, reporting progress as each document is made."""
    books = library(services)
    filling = read_packs(books, services.catalogue).filling

    def build(progress: Progress) -> list[Outgoing]:
        with services.uow() as uow:
            case = uow.cases.get(release.case_id)
            if case is None:
                raise NotFound("no such case")
            material, gathered = gather(services, uow, case, books, filling,
                                        pack_documents(services, uow, case, chosen), zone)
        kept = [g for g in gathered if not g.planned.optional or g.holds_anything]
        progress(0, 2 * len(kept))
        files = []
        for n, item in enumerate(kept, start=1):
            files.append(built(item, material, books.glossary).outgoing)
            progress(n, 2 * len(kept))
        return files

    return build


def run_pack(services: Services, release_id: int, zone: tzinfo = LOCAL) -> ReleaseRecord:
    """Build, scan and release (or refuse) a queued pack; a release already run is returned as it is."""
    with services.uow() as uow:
        release = uow.documents.release(release_id)
    if release is None:
        raise NotFound("no such release")
    if release.status != "queued":
        return release
    chosen = pack_of(read_packs(library(services), services.catalogue), release.kind)
    return run_release(services, release, release.requested_by, _builder(services, release, chosen, zone),
                       public=chosen.public)


def _run_logged(services: Services, release_id: int, zone: tzinfo) -> None:
    """Run a pack on a thread: a failure is logged (the release is already marked failed)."""
    try:
        run_pack(services, release_id, zone)
    except Exception:  # a thread has nobody to raise to
        log.exception("pack release %s failed", release_id)


def run_in_background(services: Services, release_id: int, zone: tzinfo = LOCAL) -> threading.Thread:
    """Run a queued pack on a daemon thread, so the request that started it returns at once; the page polls."""
    thread = threading.Thread(target=_run_logged, args=(services, release_id, zone), name=f"pack-{release_id}",
                              daemon=True)
    thread.start()
    return thread


def title_of(services: Services, pack_id: str) -> str:
    """A pack's title (its id when packs.json no longer lists it)."""
    found = read_packs(library(services), services.catalogue).packs.get(pack_id)
    return found.title if found else pack_id


def release_of(services: Services, username: str, case_id: int, release_id: int) -> ReleaseRecord:
    """One release of the case (without its zip), for the keeper of its key."""
    with services.uow() as uow:
        kept_case(services, uow, case_id, username)
        found = next((r for r in uow.documents.releases(case_id) if r.id == release_id), None)
    if found is None:
        raise NotFound("no such release")
    return found


def download(services: Services, username: str, case_id: int, release_id: int) -> tuple[str, bytes]:
    """A released pack's zip and its file name, for the keeper; Conflict unless it was released against the key as
    it is now. Each download leaves an audit event with the zip's sha256."""
    with services.uow() as uow:
        case = kept_case(services, uow, case_id, username)
        found = uow.documents.release(release_id)
        if found is None or found.case_id != case_id:
            raise NotFound("no such release")
        if found.status != "released" or found.data is None:
            raise Conflict("This pack was not released, so there is nothing to download: build it again once "
                           "what stopped it is put right.")
        key = uow.documents.key(case_id)
        if (key.lock_version if key else None) != found.findings.get("key_version"):
            raise Conflict("The anonymisation key has changed since this pack was released, so it may not be what "
                           "the key allows now: build and release it again.")
        uow.events.append(EventRow(case_id, services.clock.now(), "pack_downloaded", username, {
            "pack": found.kind, "release": release_id, "sha256": found.sha256}))
        uow.commit()
    name = "-".join(UNSAFE_IN_NAMES.sub("-", p).strip("-") for p in (case.reference, found.kind)) + ".zip"
    return name, found.data


__all__ = ["PacksView", "PlannedPack", "download", "pack_documents", "packs_view", "release_of", "run_in_background",
           "run_pack", "start_pack", "title_of"]
