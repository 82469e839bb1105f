"""Deterministic checks on records: funding identities, indicators, header, grounding, document.

Every finding has a stable code (the area is its prefix), a severity, a plain message, the field
paths involved and, in `values`, the numbers or texts involved as strings. Checks never change a
record's values: a value an identity implies is suggested (funding.implied_value), never filled.
One module per area: funding, indicators, header, grounding (values against the source), document.
"""

from __future__ import annotations

from ..models import Finding, FormRecord
from ..vocab import Vocabulary, resolve
from .document import check_document
from .funding import check_funding
from .grounding import ground_record
from .header import check_header
from .indicators import check_indicators

__all__ = ["BACKEND_PREFIXES", "check_document", "check_record", "refresh_findings"]

# Findings with these code prefixes come from the backends, not from the checker: re-checking a
# record keeps them and recomputes the rest.
BACKEND_PREFIXES = ("extract.", "llm.", "hybrid.")


def check_record(
    record: FormRecord,
    *,
    source_text: str | None = None,
    title: str | None = None,
    vocab: Vocabulary | None = None,
) -> list[Finding]:
    """All checker findings for one record; grounding only when the source text is given."""
    vocab = resolve(vocab)
    findings = check_header(record, title=title)
    findings += check_funding(record, vocab)
    findings += check_indicators(record, vocab)
    if source_text is not None:
        findings += ground_record(record, source_text, vocab)
    return findings


def refresh_findings(
    record: FormRecord,
    *,
    source_text: str | None = None,
    title: str | None = None,
    vocab: Vocabulary | None = None,
) -> FormRecord:
    kept = [f for f in record.findings if f.code.startswith(BACKEND_PREFIXES)]
    record.findings = kept + check_record(record, source_text=source_text, title=title, vocab=vocab)
    return record
