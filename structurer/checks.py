"""Deterministic checks on records. PLACEHOLDER: the checker (issue 3) replaces this module."""

from __future__ import annotations

from .models import Document, Finding, FormRecord

# Findings with these code prefixes come from the backends, not from the checker: re-checking a
# record keeps them and recomputes the rest.
BACKEND_PREFIXES = ("extract.", "llm.", "hybrid.")


def check_record(
    record: FormRecord, *, source_text: str | None = None, title: str | None = None
) -> list[Finding]:
    return []


def refresh_findings(
    record: FormRecord, *, source_text: str | None = None, title: str | None = None
) -> FormRecord:
    kept = [f for f in record.findings if f.code.startswith(BACKEND_PREFIXES)]
    record.findings = kept + check_record(record, source_text=source_text, title=title)
    return record


def check_document(records: list[FormRecord], document: Document | None = None) -> list[Finding]:
    return []
