"""Commands: split, extract, schema."""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import StructurerError
from . import app
from .conventions import RepeatCap, short_message, stdout_bytes
from .options import (
    BackendName,
    DryRun,
    VocabFiles,
    backend_from_options,
    llm_options,
    print_estimate,
    vocabulary,
)

if TYPE_CHECKING:  # the models load pydantic: only the commands that run import them
    from ..llm.settings import LLMConfig
    from ..models import Document

console = Console(stderr=True)
out_console = Console()


@app.command()
def split(
    file: Path = typer.Argument(
        ..., help="A document: OCR markdown/text, PDF, .xlsx/.xls, MinerU or Docling JSON."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the chunks as JSON instead."),
    vocab: VocabFiles = None,
) -> None:
    """List the forms found in a document: index, project, year and source lines."""
    from ..pipeline import plan_jobs
    from ..read import load_document
    from ..rules import project_name_of

    words = vocabulary(vocab)
    doc = load_document(file, words)
    jobs = plan_jobs([doc], words)
    if as_json:
        rows = [
            {
                **j.chunk.model_dump(exclude={"text"}),
                "project_name": project_name_of(j.grid, words),
                "layout": j.grid.layout,
            }
            for j in jobs
        ]
        out_console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(
        title=f"{file.name}: {len(jobs)} forms" + (f" — {doc.title}" if doc.title else "")
    )
    for col in ("#", "project", "year", "lines"):
        table.add_column(col)
    for j in jobs:
        c = j.chunk
        table.add_row(
            str(c.index),
            project_name_of(j.grid, words) or "?",
            str(c.year or "?"),
            f"{c.start_line}-{c.end_line}",
        )
    out_console.print(table)


@app.command()
def schema() -> None:
    """Print the JSON Schema of one output record (one line of extract's JSONL)."""
    from ..models import record_schema

    out_console.print_json(json.dumps(record_schema(), ensure_ascii=False))


class FailOn(StrEnum):
    """extract's --fail-on: the least severe finding that makes the run exit 1."""

    error = "error"
    warning = "warning"
    never = "never"


# Below this much input the pool's start-up costs more than it saves: one process.
POOL_MIN_BYTES = 256 * 1024
SUMMARY_ROWS = 30  # documents listed one by one in the summary; more are summed up
NOTES_SHOWN = 10  # files passed over named in the error when no input holds a form


@app.command()
@llm_options()
def extract(
    inputs: list[Path] = typer.Argument(
        ...,
        help="Documents (OCR markdown/text in UTF-8 or GBK, PDF with a text layer, .xlsx/.xls, "
        "MinerU or Docling JSON), folders (read recursively; see --glob) or - for stdin.",
        show_default=False,
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="Output JSON Lines, one record per form; - writes them to standard output as forms "
        "finish (the progress and summary go to standard error).",
    ),
    glob: str = typer.Option(
        "*",
        help="In folders, the files to read: a file-name pattern such as '*.md', or a "
        "relative-path pattern when it holds a '/'. Hidden files are skipped; files that are not "
        "documents are passed over with a note.",
    ),
    jobs: int | None = typer.Option(
        None,
        "--jobs",
        "-j",
        min=1,
        help="Worker processes for the rules and checks. Default: the cores (inputs under "
        "256 KiB run in one process). LLM backends use --concurrency instead.",
        show_default=False,
    ),
    backend: BackendName = "auto",
    vocab: VocabFiles = None,
    llm: LLMConfig = None,  # type: ignore[assignment]  # the LLM options (llm_options)
    dry_run: DryRun = False,
    corrections: Path | None = typer.Option(
        None, help="Reviewer corrections to re-apply. Default: OUT's .corrections.jsonl if any."
    ),
    fail_on: FailOn = typer.Option(
        FailOn.never,
        help="Exit 1 also when a record or document has a finding of this severity or worse "
        "(error: as `check` does). Whatever this says, a form that failed or a document "
        "passed over with an error exits 1.",
    ),
) -> None:
    """Extract one record per form from INPUTS into OUT (JSONL), check them, print a summary.

    Each record names its document by its path relative to the common root of the inputs
    (source.document) and the sha256 of its text (source.sha256). The API key comes from
    STRUCTURER_API_KEY or OPENAI_API_KEY. An interrupted run restarted with the same arguments
    only extracts the forms not yet done; so does a run stopped by --max-cost (exit 3) or by the
    endpoint refusing the key or model (exit 2).
    """
    from ..io import check_output
    from ..read.corpus import find_inputs

    words = vocabulary(vocab)
    impl = backend_from_options(
        backend, llm, words, need_key=not dry_run
    )  # a dry run sends nothing
    corpus = find_inputs(inputs, glob=glob)
    to_stdout = str(out) == "-"
    if not to_stdout:  # before any work: never over an input (under any name), nor a folder
        fixes = [corrections] if corrections else []
        check_output(out, [*(i.path for i in corpus.inputs if i.path), *fixes])
    fix = _corrections_plan(out, corrections, to_stdout, words)
    loader = _Loader(corpus, words)
    documents = loader.documents()
    if dry_run:
        print_estimate(impl, loader.all(documents), console)
        return
    workers = _workers(jobs, corpus.size)
    try:
        result = _run_with_progress(
            documents, out, impl, workers, fix, len(corpus.inputs), loader.skip_loader
        )
    except KeyboardInterrupt:
        journal = _journal_left(out, to_stdout)
        if journal is None:
            raise  # nothing kept (-o -, or stopped before the journal): "interrupted", exit 130
        console.print(f"interrupted: run the same command again to extract only the forms not yet "
                      f"done (kept in {escape(str(journal))})", soft_wrap=True, highlight=False)  # fmt: skip
        raise typer.Exit(130) from None
    _print_summary(result, impl, fix.report() if fix else None)
    if result.failed or loader.errors or _flagged(result, fail_on):
        raise typer.Exit(1)


def _journal_left(out: Path, to_stdout: bool) -> Path | None:
    """The journal an interrupted run leaves, if it got as far as starting one (and not so far
    as putting the output in its place)."""
    from ..pipeline.journal import journal_path

    journal = None if to_stdout else journal_path(out)
    return journal if journal is not None and journal.exists() else None


def _flagged(result: Any, fail_on: FailOn) -> bool:
    """Any finding (a record's or a document's) of `fail_on`'s severity or worse."""
    severities = {FailOn.error: ("error",), FailOn.warning: ("error", "warning")}
    wanted = severities.get(fail_on, ())
    for d in result.documents:
        found = d.severities + Counter(f.severity for f in d.findings)
        if any(found[s] for s in wanted):
            return True
    return False


def _workers(jobs: int | None, size: int) -> int:
    if jobs is not None:
        return jobs
    if size < POOL_MIN_BYTES:
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _only(corpus: Any, item: Any) -> Any:
    from ..read.corpus import Corpus

    return Corpus(inputs=[item])


class _Loader:
    """Loads the corpus one document at a time, reporting what it passes over. The first document
    is loaded before anything is written: when none is readable, that is the error (exit 2)."""

    def __init__(self, corpus: Any, vocab: Any) -> None:
        self.corpus = corpus
        self.vocab = vocab
        self.errors: list[StructurerError] = list(corpus.errors)
        self.notes: list[str] = []  # why each file passed over is not a document
        self._held: list[str] | None = [f"[red]skipped[/] {escape(str(e))}" for e in corpus.errors]

    def documents(self) -> Iterator[Any]:
        """The first readable document, then a loader for each later input (read when the run
        reaches it; in a worker process when there are workers)."""
        from ..read.corpus import Loader, iter_documents

        rest = iter(self.corpus.inputs)
        first: Document | None = None
        for item in rest:
            first = next(
                iter_documents(_only(self.corpus, item), self.vocab, on_skip=self._skip), None
            )
            if first is not None:
                break
        if first is None:  # the error says it all: no "skipped" lines before it
            raise self._nothing_readable()
        for line in self._held or []:
            console.print(line, highlight=False, soft_wrap=True)
        self._held = None
        return itertools.chain([first], (Loader(item, self.vocab) for item in rest))

    def all(self, documents: Iterator[Any]) -> list[Document]:
        """Every readable document at once (`--dry-run` estimates the whole run)."""
        from ..models import Document as Loaded

        out = []
        for item in documents:
            try:
                out.append(item if isinstance(item, Loaded) else item())
            except StructurerError as exc:
                self.skip_loader(item, exc)
        return out

    def skip_loader(self, loader: Any, exc: StructurerError) -> None:
        self._skip(loader.item, exc)

    def _skip(self, item: Any, exc: StructurerError) -> None:
        from ..read.corpus import is_note

        # name the file as the corpus does (its path under the inputs' root), not absolutely
        text = str(exc).replace(str(item.path), item.name) if item.path else str(exc)
        if is_note(item, exc):
            self.notes.append(text)
            line = f"[dim]note: passed over {escape(text)}[/]"
        else:
            self.errors.append(exc)
            line = f"[red]skipped[/] {escape(text)}"
        if self._held is not None:
            self._held.append(line)
        else:
            console.print(line, highlight=False, soft_wrap=True)

    def _nothing_readable(self) -> StructurerError:
        if len(self.errors) == 1 and not self.notes:
            return self.errors[0]
        if not self.errors:  # each file's reason, so a folder of near-misses says what each was
            shown = "; ".join(self.notes[:NOTES_SHOWN])
            more = (
                f"; and {len(self.notes) - NOTES_SHOWN} more"
                if len(self.notes) > NOTES_SHOWN
                else ""
            )
            return StructurerError(f"no document found among the inputs: {shown}{more}")
        return StructurerError("no readable document: " + "; ".join(map(str, self.errors)))


def _corrections_plan(out: Path, path: Path | None, to_stdout: bool, vocab: Any) -> Any:
    """Reviewer corrections to re-apply as each document finishes: --corrections, else OUT's
    corrections log when there is one."""
    default = None if to_stdout else out.with_name(out.stem + ".corrections.jsonl")
    target = path or (default if default and default.exists() else None)
    if target is None:
        return None
    if not target.exists():
        raise StructurerError(f"{target}: corrections file not found")
    from ..review.corrections import CorrectionPlan

    return CorrectionPlan.from_file(target, vocab=vocab)


def _load_or_fail(files: list[Path], vocab: Any) -> list[Document]:
    """Documents named one by one (`batch`): unreadable ones are reported and skipped; if none is
    readable, that is the error."""
    from ..read import load_documents

    documents, errors = load_documents(files, vocab)
    if not documents:
        if len(errors) == 1:
            raise errors[0]
        raise StructurerError("no readable document: " + "; ".join(map(str, errors)))
    for exc in errors:
        console.print(f"[red]skipped[/] {escape(str(exc))}", soft_wrap=True)
    return documents


def _run_with_progress(
    documents, out: Path, impl, workers: int = 1, fix=None, total: int | None = None, on_skip=None
):  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from ..pipeline import extract_to_file, extract_to_stream

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        "documents",
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    ) as progress:
        label = f"extracting ({impl.name}{f', {workers} processes' if workers > 1 else ''})"
        task = progress.add_task(label, total=total if total is not None else len(documents))
        forms = itertools.count(1)

        def on_form(result: Any) -> None:
            progress.update(task, description=f"{label}: {next(forms)} forms")

        def on_document(stats: Any) -> None:
            progress.advance(task)

        def skipped(item: Any, exc: StructurerError) -> None:
            if on_skip is None:
                raise exc
            on_skip(item, exc)
            progress.advance(task)

        hooks = {"jobs": workers, "fix": fix, "on_form": on_form, "on_document": on_document,
                 "on_skip": skipped}  # fmt: skip
        if str(out) == "-":
            return extract_to_stream(documents, stdout_bytes(), impl, **hooks)
        return extract_to_file(documents, out, impl, **hooks)


def _print_summary(result, impl, applied) -> None:  # type: ignore[no-untyped-def]
    docs = result.documents
    table = Table(title="extract summary")
    kinds = ["error", "warning", "info"]
    if any(d.severities["accepted"] for d in docs):  # accepted by a reviewer: counted apart
        kinds.append("accepted")
    for col in ("document", "forms", "indicators", "errors", "warnings", "info", *kinds[3:]):
        table.add_column(col, justify="right" if col != "document" else "left")

    def row(name: str, forms: int, indicators: int, sev: Counter[str]) -> None:
        table.add_row(name, str(forms), str(indicators), *(str(sev[k]) for k in kinds))

    def severities(d: Any) -> Counter[str]:
        return d.severities + Counter(f.severity for f in d.findings)

    shown = docs if len(docs) <= SUMMARY_ROWS else _riskiest(docs, SUMMARY_ROWS - 10)
    for d in shown:
        row(d.name, d.forms, d.indicators, severities(d))
    if len(docs) > len(shown):
        table.add_row(f"… {len(docs) - len(shown)} more documents", *[""] * (2 + len(kinds)))
    if len(docs) > 1:
        total = sum((severities(d) for d in docs), Counter())
        row(f"all {len(docs)} documents", result.forms, sum(d.indicators for d in docs), total)
    console.print(table)
    _print_document_findings(docs)
    if result.resumed:
        console.print(f"resumed: {result.resumed} forms taken from the interrupted run")
    for why, n in result.ignored.items():
        lines = "line" if n == 1 else "lines"
        console.print(f"not reused from the interrupted run: {n} {lines} ({why})", soft_wrap=True)
    summary = getattr(impl, "summary", None)
    if summary:
        console.print(summary())
    if applied is not None:
        console.print(str(applied))


def _print_document_findings(docs: list[Any]) -> None:
    """Each document's findings, a few per code (a duplicate project in every document of a
    corpus would fill the screen); `structurer check OUT` lists them all."""
    cap = RepeatCap()
    for d in docs:
        for f in d.findings:
            if cap.show(f.code):
                message = escape(short_message(f.message))
                console.print(f"[yellow]{escape(d.name)}[/]: {f.severity} {f.code}: {message}",
                              soft_wrap=True)  # fmt: skip
    for line in cap.hidden():
        console.print(f"{line} (structurer check lists them all)", soft_wrap=True)


def _riskiest(docs: list[Any], n: int) -> list[Any]:
    """The documents with the most errors, then warnings, in document order."""
    ranked = sorted(docs, key=lambda d: (-d.severities["error"], -d.severities["warning"]))[:n]
    keep = {id(d) for d in ranked}
    return [d for d in docs if id(d) in keep]
