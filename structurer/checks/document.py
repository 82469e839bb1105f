"""Document checks: duplicate projects, fewer records than form titles, pages not read."""

from __future__ import annotations

from collections import defaultdict

from ..models import Document, Finding, FormRecord
from ..read.clean import squash
from ..read.formats.tables import UNREAD_LINE
from .finding import finding


def check_document(records: list[FormRecord], document: Document | None = None) -> list[Finding]:
    out = []
    by_name: dict[str, list[int]] = defaultdict(list)
    for r in records:
        if r.project_name:
            by_name[squash(r.project_name)].append(r.form_index)
    for name, forms in by_name.items():
        if len(forms) > 1:
            out.append(
                finding(
                    "warning",
                    "document.duplicate_project",
                    f"forms {', '.join(map(str, forms))} have the same project name {name}",
                    ["project_name"],
                    project_name=name,
                    forms=[str(f) for f in forms],
                )
            )
    if document is not None and document.set_aside:
        out.append(
            finding(
                "info",
                "document.set_aside",
                f"not read, not a project's form: {'; '.join(document.set_aside)}",
                [],
                tables=list(document.set_aside),
            )
        )
    if document is not None and document.unread:
        out.append(
            finding(
                "warning",
                "document.page_unread",
                f"pages not read, over a reading limit: {'; '.join(document.unread)}",
                [],
                pages=list(document.unread),
            )
        )
    if document is not None and len(records) < len(document.chunks):
        out.append(
            finding(
                "error",
                "document.missing_forms",
                f"{len(records)} records for {len(document.chunks)} form titles in {document.path}",
                [],
                records=len(records),
                forms=len(document.chunks),
            )
        )
    return out


def unread_pages(source_text: str) -> list[Finding]:
    """A form whose text runs into a page left out (over a reading limit) may go on there: what
    it printed on that page is missing from the record, and the reader cannot say what."""
    if "not read: " not in source_text:  # one test for nearly every form
        return []
    return [
        finding(
            "warning",
            "document.page_unread",
            f"page {m.group(1)} not read ({m.group(2)}): this form may go on there, its "
            "indicators and goals may be cut",
            ["indicators"],
            pages=[f"page {m.group(1)}: {m.group(2)}"],
        )
        for m in UNREAD_LINE.finditer(source_text)
    ]
