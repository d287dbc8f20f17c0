"""The documentation's links to screenshots and other files point at files that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_screenshot_and_file_linked_from_docs_exists() -> None:
    missing = []
    for doc in (ROOT / "docs").glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+)\)", doc.read_text(encoding="utf-8")):
            if not (doc.parent / target).exists():
                missing.append(f"{doc.name}: {target}")
    assert not missing, missing


def test_the_roles_page_shows_a_screenshot_for_every_role_with_a_task() -> None:
    page = (ROOT / "docs" / "roles.md").read_text(encoding="utf-8")
    for role in ("referrer", "safeguarding-lead", "lscb-administrator", "lscb-chair", "imr-author", "chief-executive"):
        assert f"screenshots/{role}-task.png" in page
