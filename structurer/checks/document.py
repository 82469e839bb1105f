"""Document checks: duplicate projects, fewer records than form titles."""

from __future__ import annotations

from collections import defaultdict

from ..models import Document, Finding, FormRecord
from ..read.clean import squash
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
