"""Run the stages: documents -> jobs (chunk + grid) -> records (by a backend) -> checked records.

A backend turns jobs (one per form) into records and reports each as it finishes, so the caller
can show progress and journal it: `extract_to_file` appends every finished record to
`OUT.jsonl.partial` and, when restarted on the same inputs, skips the forms already there.
The final file is written atomically in document order; the journal is then removed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .checks import check_document, refresh_findings
from .errors import RunStopped
from .io import atomic_write_text, records_jsonl
from .models import Backend, Document, Finding, FormRecord, Job, OnRecord, SourceRef
from .read.layouts import chunk_grid
from .vocab import Vocabulary, resolve

__all__ = ["RunResult", "extract_documents", "extract_to_file", "plan_jobs", "safe_run"]

log = logging.getLogger("structurer")


def plan_jobs(documents: Iterable[Document], vocab: Vocabulary | None = None) -> list[Job]:
    """One job per form: its chunk read into a cell grid by the layout it is printed in."""
    vocab = resolve(vocab)
    return [Job(doc, chunk, chunk_grid(chunk, vocab)) for doc in documents for chunk in doc.chunks]


def vocab_of(backend: Backend) -> Vocabulary:
    """The vocabulary a backend reads with; the bundled one for a backend that names none."""
    return resolve(getattr(backend, "vocab", None))


def finish_record(job: Job, record: FormRecord, backend: Backend) -> FormRecord:
    """Stamp where a record came from and run the checks on it."""
    record.form_index = job.chunk.index
    if record.year is None:
        record.year = job.chunk.year
    record.backend = record.backend or backend.name
    source = record.source or SourceRef(
        start_line=job.chunk.start_line, end_line=job.chunk.end_line
    )
    source.document = Path(job.document.path).name
    _place_cells(source, job.document)
    record.source = source
    record.meta["job"] = job.key
    record.meta["layout"] = job.grid.layout
    vocab = vocab_of(backend)
    record.meta["vocabulary"] = vocab.label
    refresh_findings(
        record, source_text=job.chunk.text, title=job.document.title, vocab=vocab, grid=job.grid
    )
    return record


def _place_cells(source: SourceRef, document: Document) -> None:
    """Give each source cell its page and box when the input has pages (PDF, OCR JSON)."""
    if not (document.cell_places or document.line_places):
        return
    for ref in source.cells.values():
        place = document.place_of(ref.line, ref.col)
        if place is not None:
            ref.page, ref.bbox = place.page, place.bbox


def safe_run(backend: Backend, jobs: Sequence[Job], on_record: OnRecord) -> None:
    """Run a backend so that one form's crash never loses the others."""
    done: set[str] = set()

    def collect(job: Job, record: FormRecord) -> None:
        done.add(job.key)
        on_record(job, finish_record(job, record, backend))

    try:
        backend.run(jobs, collect)
    except RunStopped:
        raise  # the whole run stops (bad key, cost cap): the forms not done stay pending, not failed
    except Exception as exc:  # a backend bug: keep what finished, mark the rest failed
        log.exception("backend %s failed", backend.name)
        for job in jobs:
            if job.key not in done:
                collect(job, failed_record(job, f"{type(exc).__name__}: {exc}"))


def failed_record(job: Job, reason: str) -> FormRecord:
    finding = Finding(
        severity="error", code="extract.failed", message=f"extraction failed: {reason}"
    )
    return FormRecord(form_index=job.chunk.index, year=job.chunk.year, findings=[finding])


@dataclass
class RunResult:
    documents: list[Document]
    records: list[FormRecord]
    resumed: int = 0
    document_findings: dict[str, list[Finding]] = field(default_factory=dict)


def extract_documents(
    documents: Sequence[Document],
    backend: Backend,
    *,
    on_record: OnRecord | None = None,
    journal: Path | None = None,
) -> RunResult:
    """Extract every form of `documents`; records come back in document order."""
    jobs = plan_jobs(documents, vocab_of(backend))
    by_key: dict[str, FormRecord] = _read_journal(journal, backend.name) if journal else {}
    todo = [j for j in jobs if j.key not in by_key]
    resumed = len(jobs) - len(todo)
    sink = journal.open("a", encoding="utf-8") if journal else None

    def collect(job: Job, record: FormRecord) -> None:
        by_key[job.key] = record
        if sink:
            sink.write(
                json.dumps(
                    {"backend": backend.name, "record": record.model_dump()}, ensure_ascii=False
                )
                + "\n"
            )
            sink.flush()
        if on_record:
            on_record(job, record)

    try:
        safe_run(backend, todo, collect)
    finally:
        if sink:
            sink.close()
    records = [by_key[j.key] for j in jobs]
    result = RunResult(list(documents), records, resumed)
    for doc in documents:
        mine = [r for j, r in zip(jobs, records, strict=True) if j.document is doc]
        result.document_findings[doc.path] = check_document(mine, doc)
    return result


def _read_journal(path: Path, backend: str) -> dict[str, FormRecord]:
    """Records a previous, interrupted run of the same backend finished (keyed by job)."""
    if not path.exists():
        return {}
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            record = FormRecord.model_validate(entry["record"])
        except (ValueError, KeyError, TypeError):
            continue  # a line cut off by the interruption
        if entry.get("backend") == backend and "job" in record.meta:
            found[record.meta["job"]] = record
    return found


def extract_to_file(
    documents: Sequence[Document],
    out: str | Path,
    backend: Backend,
    *,
    on_record: OnRecord | None = None,
) -> RunResult:
    """Extract `documents` into the JSONL file `out`, resumable and written atomically."""
    out = Path(out)
    journal = out.with_name(out.name + ".partial")
    out.parent.mkdir(parents=True, exist_ok=True)
    result = extract_documents(documents, backend, on_record=on_record, journal=journal)
    atomic_write_text(out, records_jsonl(result.records))
    journal.unlink(missing_ok=True)
    return result
