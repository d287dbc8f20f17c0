"""Small Word files for tests: paragraphs of text, optionally a reviewer's comment on the first."""

from __future__ import annotations

import io

import docx


def word(*paragraphs: str, comment: str = "") -> bytes:
    """A .docx of `paragraphs`; with `comment`, a reviewer's comment reading it on the first paragraph."""
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if comment:
        document.add_comment(document.paragraphs[0].runs, text=comment, author="Reviewer", initials="R")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
