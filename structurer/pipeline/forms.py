"""One form end to end, isolated: grid -> backend -> checks -> one JSON line.

Whatever raises on one form (its layout reader, the backend, a check, turning the record into
JSON) makes that form a record with an `extract.failed` error finding; the other forms never
notice. What leaves this module is a `FormResult`: the record as a JSON line plus the counts the
run's summary needs, small enough to send back from a worker process.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..checks import refresh_findings
from ..errors import RunStopped
from ..models import Backend, Chunk, Document, Finding, FormRecord, Grid, Job, SourceRef
from ..read.layouts import chunk_grid
from ..vocab import Vocabulary, resolve
from .interrupt import interrupt_kept

log = logging.getLogger("structurer")

# Longest reason kept in an extract.failed message: an exception may quote a million-digit value.
_MAX_REASON = 300


@dataclass
class FormResult:
    """A finished form as the run sees it: the record's JSON line and what the summary counts."""

    key: str  # Job.key: the form's input across runs
    document: str  # Document.key
    form_index: int
    project_name: str | None
    indicators: int
    severities: dict[str, int] = field(default_factory=dict)
    failed: bool = False  # any *.failed finding: never reused on resume
    line: str = ""  # the record as one JSON line; "" when it stays in the journal
    reused: bool = False  # taken from an interrupted run's journal


def is_failed(findings: Sequence[Finding] | Sequence[dict[str, Any]]) -> bool:
    codes = (f.code if isinstance(f, Finding) else str(f.get("code", "")) for f in findings)
    return any(code.endswith(".failed") for code in codes)


def summarize(key: str, record: FormRecord, line: str) -> FormResult:
    return FormResult(
        key=key,
        document=record.source.document or "" if record.source else "",
        form_index=record.form_index,
        project_name=record.project_name,
        indicators=len(record.indicators),
        severities=dict(Counter("accepted" if f.accepted else f.severity for f in record.findings)),
        failed=is_failed(record.findings),
        line=line,
    )


def summarize_line(key: str, data: dict[str, Any]) -> FormResult:
    """The same counts from a record already written as JSON (a journal line)."""
    findings = data.get("findings") or []
    return FormResult(
        key=key,
        document=(data.get("source") or {}).get("document") or "",
        form_index=int(data.get("form_index") or 0),
        project_name=data.get("project_name"),
        indicators=len(data.get("indicators") or []),
        severities=dict(Counter(_severity(f) for f in findings)),
        failed=is_failed(findings),
    )


def _severity(finding: dict[str, Any]) -> str:
    """A finding as the summary counts it: a reviewer-accepted one apart from its severity."""
    return "accepted" if finding.get("accepted") else str(finding.get("severity"))


def vocab_of(backend: Backend) -> Vocabulary:
    """The vocabulary a backend reads with; the bundled one for a backend that names none."""
    return resolve(getattr(backend, "vocab", None))


def run_identity(backend: Backend) -> dict[str, Any]:
    """What makes two runs' records interchangeable: the backend, its model and prompt version
    (LLM backends say so in `identity`) and the vocabulary. Stamped on every record as
    `meta.run`; a journal line of another identity is never reused."""
    ident: dict[str, Any] = {"backend": backend.name, "model": None, "prompt_version": None}
    ident.update(getattr(backend, "identity", None) or {})
    ident["vocabulary"] = vocab_of(backend).label
    return ident


def stamp(job: Job, record: FormRecord, backend: Backend) -> FormRecord:
    """Say where a record came from: its form, its document's identity, the run."""
    record.form_index = job.chunk.index
    if record.year is None:
        record.year = job.chunk.year
    record.backend = record.backend or backend.name
    source = record.source or job.chunk.source_ref()
    doc = job.document
    source.document = doc.key
    source.sha256 = doc.sha256 or None
    source.path = None if doc.path == "-" else str(Path(doc.path).absolute())
    _place_cells(source, doc)
    record.source = source
    record.meta["job"] = job.key
    record.meta["layout"] = job.grid.layout
    record.meta["run"] = run_identity(backend)
    record.meta["vocabulary"] = record.meta["run"]["vocabulary"]
    return record


def _place_cells(source: SourceRef, document: Document) -> None:
    """Give each source cell its page and box when the input has pages (PDF, OCR JSON)."""
    if not (document.cell_places or document.line_places):
        return
    for ref in source.cells.values():
        place = document.place_of(ref.line, ref.col)
        if place is not None:
            ref.page, ref.bbox = place.page, place.bbox


def finish_record(job: Job, record: FormRecord, backend: Backend) -> FormRecord:
    """Stamp where a record came from and run the checks on it."""
    stamp(job, record, backend)
    refresh_findings(
        record,
        source_text=job.chunk.text,
        title=job.document.title,
        vocab=vocab_of(backend),
        grid=job.grid,
    )
    return record


def failed_record(job: Job, reason: str) -> FormRecord:
    reason = reason.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates
    if len(reason) > _MAX_REASON:
        reason = reason[:_MAX_REASON] + "…"
    finding = Finding(
        severity="error", code="extract.failed", message=f"extraction failed: {reason}"
    )
    return FormRecord(form_index=job.chunk.index, year=job.chunk.year, findings=[finding])


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def complete(job: Job, record: FormRecord, backend: Backend) -> FormResult:
    """Check and serialize a backend's record; a form whose checks or JSON raise becomes a
    failed record."""
    try:
        with interrupt_kept():  # a Ctrl-C in pydantic's serializer is no failure of the form
            done = finish_record(job, record, backend)
            line = done.model_dump_json()
        return summarize(job.key, done, line)
    except Exception as exc:  # one form's bad data must not stop the run
        log.exception("form %d of %s failed after extraction", job.chunk.index, job.document.key)
        return fail(job, exc, backend)


def fail(job: Job, exc: BaseException, backend: Backend) -> FormResult:
    """The failed record of a form (stamped, unchecked: there is nothing to check), so it is
    still found in the output, counted, and retried on resume."""
    failed = stamp(job, failed_record(job, _reason(exc)), backend)
    return summarize(job.key, failed, failed.model_dump_json())


class _SinkError(Exception):
    """The caller's callback raised (a full disk, say): that stops the run, it is no form's
    fault, so it must not be taken for a backend crash."""


def run_isolated(
    backend: Backend, jobs: Sequence[Job], on_done: Callable[[Job, FormResult], None]
) -> None:
    """Run `backend` on `jobs`, calling `on_done` once per job as each finishes. If the backend
    crashes, the forms it had not finished are run again one by one, so only the form that
    crashes it fails."""
    done: set[str] = set()

    def collect(job: Job, record: FormRecord) -> None:
        if job.key in done:
            return  # a backend that reports a form twice: the first report counts
        done.add(job.key)
        result = complete(job, record, backend)
        try:
            on_done(job, result)
        except Exception as exc:
            raise _SinkError() from exc

    try:
        backend.run(jobs, collect)
    except _SinkError as exc:
        raise exc.__cause__ from None  # type: ignore[misc]
    except RunStopped:
        raise  # the whole run stops (a refused key, a cost cap): the rest stay pending, not failed
    except Exception as exc:  # a backend bug: keep what finished, isolate the rest
        rest = [j for j in jobs if j.key not in done]
        if len(jobs) == 1:
            log.exception("backend %s failed on form %d", backend.name, jobs[0].chunk.index)
            for job in rest:
                done.add(job.key)
                on_done(job, fail(job, exc, backend))
            return
        log.warning("backend %s crashed; running its %d other forms one by one", backend.name,
                    len(rest))  # fmt: skip
        for job in rest:
            run_isolated(backend, [job], on_done)


def run_forms(
    backend: Backend,
    document: Document,
    chunks: Sequence[Chunk],
    on_done: Callable[[Job, FormResult], None] | None = None,
) -> list[FormResult]:
    """Read each chunk's grid and run the backend on the forms; results in chunk order.

    A backend that reads one form at a time (the rules: `parallel`) is run on each form as soon
    as its grid is read, so the grid and what the stages derive from it die with their form: a
    batch's grids held together outlived the collector's young generations, and its full
    collections took ~8% of a run. Other backends get the whole batch (their concurrency)."""
    vocab = vocab_of(backend)
    one_at_a_time = bool(getattr(backend, "parallel", False))
    results: dict[str, FormResult] = {}
    jobs: list[Job] = []
    order: list[str] = []

    def keep(job: Job, result: FormResult) -> None:
        results[job.key] = result
        if on_done is not None:
            on_done(job, result)

    for chunk in chunks:
        try:
            grid = chunk_grid(chunk, vocab)
        except Exception as exc:  # the layout reader failed on this form
            log.exception("reading form %d of %s failed", chunk.index, document.key)
            job = Job(document, chunk, Grid(layout="none"))
            order.append(job.key)
            keep(job, fail(job, exc, backend))
            continue
        jobs.append(Job(document, chunk, grid))
        order.append(jobs[-1].key)
        if one_at_a_time:
            run_isolated(backend, jobs, keep)
            jobs = []
    if jobs:
        run_isolated(backend, jobs, keep)
    return [results[k] for k in order]


def parse_line(line: str) -> dict[str, Any] | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
