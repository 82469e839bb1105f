"""Run the stages: documents -> jobs (chunk + grid) -> records (by a backend) -> checked records.

Records stream: each form's record goes to the output as soon as it and the forms before it in
its document are done, so memory stays flat however large the corpus (documents are loaded one at
a time by the caller's iterator). A file output is written through its journal
(`OUT.jsonl.partial`, see `journal.py`): an interrupted run re-run the same way extracts only
the forms not yet done, and the output appears whole at the end. `jobs > 1` runs the rules and
checks in worker processes (`pool.py`); every form is isolated (`forms.py`).

    extract_to_file(documents, "out.jsonl", backend, jobs=2)   # resumable, atomic
    extract_to_stream(documents, sys.stdout.buffer, backend)   # JSON Lines as they finish
    extract_documents(documents, backend).records              # in memory (eval, tests)
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from ..checks import check_document
from ..errors import StructurerError
from ..models import Backend, Chunk, Document, Finding, FormRecord, Job
from ..read.layouts import chunk_grid
from ..vocab import Vocabulary, resolve
from .forms import FormResult, finish_record, run_forms, run_identity, summarize, vocab_of
from .journal import Journal, journal_path
from .pool import Pool, can_run_in_processes

__all__ = [
    "Backend",
    "DocumentFix",
    "DocumentStats",
    "FormResult",
    "RunResult",
    "extract_documents",
    "extract_to_file",
    "extract_to_stream",
    "finish_record",
    "plan_jobs",
    "run_identity",
    "vocab_of",
]

log = logging.getLogger("structurer")

# Forms per batch: a worker's unit of work, and how many forms an in-process backend (the LLM
# with its own concurrency) is given at once.
POOL_BATCH = 16
INLINE_BATCH = 256
LOAD_AHEAD = 2  # documents read ahead per worker

# What a run reads: documents, or loaders (read.corpus.Loader) that read one when called: with
# worker processes, those are read and split in the workers, ahead of the run.
DocumentLike = Document | Callable[[], Document]
OnSkip = Callable[[Any, StructurerError], None]

OnForm = Callable[[FormResult], None]


def plan_jobs(documents: Iterable[Document], vocab: Vocabulary | None = None) -> list[Job]:
    """One job per form: its chunk read into a cell grid by the layout it is printed in."""
    vocab = resolve(vocab)
    return [Job(doc, chunk, chunk_grid(chunk, vocab)) for doc in documents for chunk in doc.chunks]


class DocumentFix(Protocol):
    """Changes a document's records once all are extracted (reviewer corrections re-applied)."""

    def wants(self, document: Document) -> bool: ...

    def apply(self, document: Document, records: list[FormRecord]) -> set[int]:
        """Change `records` in place (re-checked); return the positions changed."""
        ...


@dataclass
class DocumentStats:
    """One document's share of a run, for the summary (no records are kept)."""

    name: str
    path: str
    forms: int = 0
    indicators: int = 0
    severities: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    findings: list[Finding] = field(default_factory=list)  # document checks

    def add(self, result: FormResult) -> None:
        self.forms += 1
        self.indicators += result.indicators
        self.severities.update(result.severities)
        self.failed += result.failed


@dataclass
class RunResult:
    documents: list[DocumentStats] = field(default_factory=list)
    resumed: int = 0
    ignored: Counter[str] = field(default_factory=Counter)  # journal lines not reused, by why
    records: list[FormRecord] = field(default_factory=list)  # extract_documents only

    @property
    def forms(self) -> int:
        return sum(d.forms for d in self.documents)

    @property
    def failed(self) -> int:
        return sum(d.failed for d in self.documents)

    @property
    def document_findings(self) -> dict[str, list[Finding]]:
        return {d.path: d.findings for d in self.documents}


@dataclass
class _Document:
    """A document on its way: its results arrive in order; fixed ones wait for the last."""

    document: Document
    stats: DocumentStats
    slots: int = 0  # batches not yet drained
    submitted: bool = False  # every chunk is in a batch
    names: list[tuple[int, str | None]] = field(default_factory=list)
    waiting: list[FormResult] | None = None  # held back for the fix until the document is done


@dataclass
class _Slot:
    state: _Document
    results: list[FormResult] | Future[list[FormResult]]
    chunks: list[Chunk] = field(default_factory=list)  # of a batch sent to a worker


class _Sink(Protocol):
    def finished(self, result: FormResult) -> None: ...  # as soon as a form is done, any order

    def ordered(self, result: FormResult, line: str | None) -> None: ...  # in document order


class _Runner:
    def __init__(
        self,
        backend: Backend,
        sink: _Sink,
        *,
        jobs: int = 1,
        journal: Journal | None = None,
        fix: DocumentFix | None = None,
        on_form: OnForm | None = None,
        on_document: Callable[[DocumentStats], None] | None = None,
        on_skip: OnSkip | None = None,
    ) -> None:
        self.backend = backend
        self.on_skip = on_skip
        self.sink = sink
        self.journal = journal
        self.fix = fix
        self.on_form = on_form
        self.on_document = on_document
        self.pool = Pool(backend, jobs) if jobs > 1 and can_run_in_processes(backend) else None
        self.window: deque[_Slot] = deque()
        self.result = RunResult()

    def run(self, documents: Iterable[DocumentLike]) -> RunResult:
        try:
            for document in self._loaded(documents):
                self._document(document)
            self._drain(0)
        except BaseException:
            if self.pool:
                self.pool.close(cancel=True)
            raise
        if self.pool:
            self.pool.close()
        if self.journal:
            self.result.ignored = self.journal.ignored
        return self.result

    # --- reading (ahead, in the workers, when there are workers) ---

    def _loaded(self, items: Iterable[DocumentLike]) -> Iterator[Document]:
        ahead: deque[tuple[DocumentLike, Future[Document | None] | None]] = deque()
        for item in items:
            ahead.append((item, self._start_load(item)))
            while len(ahead) > (LOAD_AHEAD * self.pool.workers if self.pool else 0):
                if (document := self._finish_load(*ahead.popleft())) is not None:
                    yield document
        while ahead:
            if (document := self._finish_load(*ahead.popleft())) is not None:
                yield document

    def _start_load(self, item: DocumentLike) -> Future[Document | None] | None:
        if self.pool and not isinstance(item, Document) and not getattr(item, "local", False):
            return self.pool.load(item)
        return None

    def _finish_load(
        self, item: DocumentLike, future: Future[Document | None] | None
    ) -> Document | None:
        if isinstance(item, Document):
            return item
        try:
            if future is not None:
                try:
                    if (document := future.result()) is not None:
                        return document
                except BrokenProcessPool:
                    pass  # read it here; the batches notice the broken pool themselves
            return item()  # here: also how a worker's failure gets reported, as it is
        except StructurerError as exc:
            if self.on_skip is None:
                raise
            self.on_skip(item, exc)
            return None

    # --- scheduling ---

    def _document(self, document: Document) -> None:
        stats = DocumentStats(document.key, document.path)
        state = _Document(document, stats)
        if self.fix is not None and self.fix.wants(document):
            state.waiting = []
        self.result.documents.append(stats)
        batch: list[Chunk] = []
        for chunk in document.chunks:
            reused = self._reusable(document, chunk)
            if reused is not None:
                self._submit(state, batch)
                batch = []
                self._push(_Slot(state, [reused]))
                continue
            batch.append(chunk)
            if len(batch) >= (POOL_BATCH if self.pool else INLINE_BATCH):
                self._submit(state, batch)
                batch = []
        self._submit(state, batch)
        state.submitted = True
        if state.slots == 0:  # all drained already (or a document without forms)
            self._document_done(state)

    def _in_flight(self) -> int:
        """Batches kept in flight: enough to keep every worker busy, few enough to stay flat."""
        return 2 * self.pool.workers + 2 if self.pool else 0

    def _reusable(self, document: Document, chunk: Chunk) -> FormResult | None:
        if self.journal is None:
            return None
        result = self.journal.reusable(Job(document, chunk, _NO_GRID).key)
        if result is not None:
            self.result.resumed += 1
        return result

    def _submit(self, state: _Document, chunks: list[Chunk]) -> None:
        if not chunks:
            return
        if self.pool:
            light = state.document.model_copy(update={"chunks": []})
            self._push(_Slot(state, self.pool.submit(light, chunks), chunks))
        else:
            done = run_forms(self.backend, state.document, chunks, self._finished_inline)
            self._push(_Slot(state, done))

    def _push(self, slot: _Slot) -> None:
        slot.state.slots += 1
        self.window.append(slot)
        self._drain(self._in_flight())

    # --- collecting, in document order ---

    def _finished_inline(self, job: Job, result: FormResult) -> None:
        self._finished(result)

    def _finished(self, result: FormResult) -> None:
        self.sink.finished(result)
        if self.on_form:
            self.on_form(result)

    def _drain(self, keep: int) -> None:
        while len(self.window) > keep:
            slot = self.window.popleft()
            for result in self._results(slot):
                self._ordered(slot.state, result)
            slot.state.slots -= 1
            if slot.state.submitted and slot.state.slots == 0:
                self._document_done(slot.state)

    def _results(self, slot: _Slot) -> list[FormResult]:
        if isinstance(slot.results, list):
            return slot.results
        try:
            results = slot.results.result()
        except BrokenProcessPool:  # a worker died (killed, out of memory): go on in this process
            log.warning("a worker process died; its forms and the rest run in this process")
            if self.pool:
                self.pool.close(cancel=True)
                self.pool = None
            return run_forms(self.backend, slot.state.document, slot.chunks, self._finished_inline)
        for result in results:
            self._finished(result)
        return results

    def _ordered(self, state: _Document, result: FormResult) -> None:
        state.names.append((result.form_index, result.project_name))
        if state.waiting is not None:
            state.waiting.append(result)
            return
        state.stats.add(result)
        self.sink.ordered(result, None)

    def _document_done(self, state: _Document) -> None:
        doc = state.document
        if state.waiting is not None:
            self._apply_fix(state)
        light = [FormRecord(form_index=i, project_name=n) for i, n in state.names]
        state.stats.findings = check_document(light, doc)
        if self.on_document:
            self.on_document(state.stats)

    def _apply_fix(self, state: _Document) -> None:
        assert self.fix is not None and state.waiting is not None
        waiting, state.waiting = state.waiting, None
        records = [FormRecord.model_validate_json(self._line(r)) for r in waiting]
        touched = self.fix.apply(state.document, records)
        for n, result in enumerate(waiting):
            line = None
            if n in touched:
                line = records[n].model_dump_json()
                result = summarize(result.key, records[n], "")
            state.stats.add(result)
            self.sink.ordered(result, line)

    def _line(self, result: FormResult) -> str:
        if result.line:
            return result.line
        assert self.journal is not None
        return self.journal.line(result.key)


_NO_GRID: Any = None  # a job built only for its key


class _FileSink:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.order: list[tuple[str, str | None]] = []

    def finished(self, result: FormResult) -> None:
        self.journal.append(result)

    def ordered(self, result: FormResult, line: str | None) -> None:
        self.order.append((result.key, line))


class _StreamSink:
    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def finished(self, result: FormResult) -> None:
        pass

    def ordered(self, result: FormResult, line: str | None) -> None:
        self.stream.write((line or result.line).encode("utf-8") + b"\n")


class _ListSink:
    def __init__(self) -> None:
        self.records: list[FormRecord] = []

    def finished(self, result: FormResult) -> None:
        pass

    def ordered(self, result: FormResult, line: str | None) -> None:
        self.records.append(FormRecord.model_validate_json(line or result.line))


def extract_to_file(
    documents: Iterable[DocumentLike],
    out: str | Path,
    backend: Backend,
    *,
    jobs: int = 1,
    fix: DocumentFix | None = None,
    on_form: OnForm | None = None,
    on_document: Callable[[DocumentStats], None] | None = None,
    on_skip: OnSkip | None = None,
) -> RunResult:
    """Extract `documents` into the JSONL file `out`: resumable, written atomically. A loader
    whose document cannot be read is passed to `on_skip` (without one, its error is raised)."""
    journal = Journal(journal_path(out), run_identity(backend))
    sink = _FileSink(journal)
    runner = _Runner(backend, sink, jobs=jobs, journal=journal, fix=fix, on_form=on_form,
                     on_document=on_document, on_skip=on_skip)  # fmt: skip
    try:
        result = runner.run(documents)
        journal.finish(out, sink.order)
    finally:
        journal.close()
    return result


def extract_to_stream(
    documents: Iterable[DocumentLike],
    stream: BinaryIO,
    backend: Backend,
    *,
    jobs: int = 1,
    fix: DocumentFix | None = None,
    on_form: OnForm | None = None,
    on_document: Callable[[DocumentStats], None] | None = None,
    on_skip: OnSkip | None = None,
) -> RunResult:
    """Write each record to `stream` as one JSON line, in document order, as forms finish."""
    sink = _StreamSink(stream)
    runner = _Runner(backend, sink, jobs=jobs, fix=fix, on_form=on_form, on_document=on_document,
                     on_skip=on_skip)  # fmt: skip
    result = runner.run(documents)
    stream.flush()
    return result


def extract_documents(
    documents: Sequence[Document], backend: Backend, *, on_form: OnForm | None = None
) -> RunResult:
    """Extract every form of `documents` in memory; `records` come back in document order."""
    sink = _ListSink()
    result = _Runner(backend, sink, on_form=on_form).run(documents)
    result.records = sink.records
    return result
