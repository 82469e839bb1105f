"""Deterministic checks on records: funding identities, indicators, header, grounding, document.

Every finding has a stable code (the area is its prefix), a severity, a plain message, the field
paths involved and, in `values`, the numbers or texts involved as strings. Checks never change a
record's values: a value an identity implies is suggested (funding.implied_value), never filled.
One module per area: funding, indicators, header, grounding (values against the source), document.
What review left on a record (corrected values, accepted findings) is applied where the findings
are assembled (reviewed.py).
"""

from __future__ import annotations

from ..models import (
    AMOUNT_FIELDS,
    CODE_FIELDS,
    GOAL_FIELDS,
    Chunk,
    Document,
    Finding,
    FormRecord,
    Grid,
)
from ..vocab import Vocabulary, resolve
from .document import check_document, unread_pages
from .finding import finding
from .funding import check_funding
from .grounding import ground_record
from .header import check_header
from .indicators import check_indicators
from .reviewed import apply_review

__all__ = [
    "BACKEND_PREFIXES",
    "check_document",
    "check_record",
    "chunk_for",
    "form_vocabulary",
    "recheck",
    "refresh_findings",
]

# Findings with these code prefixes come from the backends, not from the checker: re-checking a
# record keeps them and recomputes the rest.
BACKEND_PREFIXES = ("extract.", "llm.", "hybrid.")
# Findings only the source document can produce: kept as they were when a record is re-checked
# without it.
NEEDS_SOURCE = ("grounding.", "funding.amount_repaired", "header.unit_differs_from_title")


def check_record(
    record: FormRecord,
    *,
    source_text: str | None = None,
    title: str | None = None,
    vocab: Vocabulary | None = None,
    grid: Grid | None = None,
) -> list[Finding]:
    """All checker findings for one record; grounding only when the source text is given
    (`grid`: the source's cell grid, when the caller has already read it)."""
    vocab = form_vocabulary(record, source_text, vocab)
    findings = check_header(record, title=title)
    findings += check_funding(record, vocab)
    findings += empty_fields(record, findings)
    findings += check_indicators(record, vocab)
    if source_text is not None:
        findings += ground_record(record, source_text, vocab, grid)
        findings += unread_pages(source_text)
    return apply_review(record, findings)


def form_vocabulary(
    record: FormRecord, source_text: str | None = None, vocab: Vocabulary | None = None
) -> Vocabulary:
    """`vocab` with the hierarchy of `record`'s template family, chosen as the rules choose it
    (Vocabulary.for_form): by the source text, else by the level names the record holds."""
    if source_text is None:
        source_text = "\n".join(n for i in record.indicators for n in (i.level1, i.level2) if n)
    return resolve(vocab).for_form(source_text)


def empty_fields(record: FormRecord, found: list[Finding]) -> list[Finding]:
    """One note naming every field left empty that no finding names yet: the year, the budget
    codes, the unit, each amount, each goal. Many forms print no such cell (a one-year form has no whole-project
    column), so it is information, not a fault; but a value missing by a reading error must be
    named on its own path, and this is where."""
    named = {p for f in found for p in f.paths}
    empty = [p for p in _SCALARS if _value_at(record, p) is None and p not in named]
    if not empty:
        return []
    return [
        finding(
            "info",
            "record.empty_fields",
            f"empty: {', '.join(empty)} (the form may not print them)",
            empty,
        )
    ]


_SCALARS = (
    "year",
    *CODE_FIELDS,
    "funding.unit",
    *(f"funding.{f}" for f in AMOUNT_FIELDS),
    *GOAL_FIELDS,
)


def _value_at(record: FormRecord, path: str) -> object:
    value = record.value(path)
    return value if value not in ("", []) else None


def refresh_findings(
    record: FormRecord,
    *,
    source_text: str | None = None,
    title: str | None = None,
    vocab: Vocabulary | None = None,
    grid: Grid | None = None,
) -> FormRecord:
    kept = [f for f in record.findings if f.code.startswith(BACKEND_PREFIXES)]
    found = check_record(record, source_text=source_text, title=title, vocab=vocab, grid=grid)
    record.findings = apply_review(record, kept + found)
    return record


def chunk_for(record: FormRecord, document: Document) -> Chunk | None:
    """The chunk `record` was read from: by its source lines, else by its form index; None when
    the record names another document."""
    src = record.source
    if src and src.document and src.document != document.key:
        return None
    if src and src.sha256 and document.sha256 and src.sha256 != document.sha256:
        return None  # same name, other content: another version of the document
    if src:
        for chunk in document.chunks:
            if chunk.is_source_of(src):
                return chunk
    return next((c for c in document.chunks if c.index == record.form_index), None)


def recheck(
    record: FormRecord, document: Document | None, *, vocab: Vocabulary | None = None
) -> FormRecord:
    """Refresh a record's findings: against its chunk when `document` holds it; without the
    source, the findings only the source can produce are kept as they were."""
    chunk = chunk_for(record, document) if document else None
    if chunk is not None and document is not None:
        return refresh_findings(record, source_text=chunk.text, title=document.title, vocab=vocab)
    kept = [f for f in record.findings if f.code.startswith(NEEDS_SOURCE)]
    refresh_findings(record, vocab=vocab)
    seen = {(f.code, tuple(f.paths)) for f in record.findings}
    record.findings += [f for f in kept if (f.code, tuple(f.paths)) not in seen]
    record.findings = apply_review(record, record.findings)
    return record
