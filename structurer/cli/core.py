"""Commands: split, extract, schema."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from ..errors import StructurerError
from . import app
from .options import (
    BackendName,
    BaseUrl,
    CacheDir,
    Concurrency,
    DryRun,
    FallbackModel,
    FallbackPriceIn,
    FallbackPriceOut,
    MaxCost,
    MaxFailuresInARow,
    MaxReasks,
    MaxTokens,
    Mode,
    Model,
    NoCache,
    PriceIn,
    PriceOut,
    RetryFailed,
    Rpm,
    Timeout,
    Tpm,
    VocabFiles,
    backend_from_options,
    llm_settings,
    print_estimate,
    vocabulary,
)

if TYPE_CHECKING:  # the models load pydantic: only the commands that run import them
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


@app.command()
def extract(
    files: list[Path] = typer.Argument(
        ...,
        help="One or more documents: OCR markdown/text (UTF-8, GBK), PDF with a text layer, "
        ".xlsx/.xls, MinerU content_list.json/middle.json, Docling JSON.",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output JSON Lines: one record per form."),
    backend: BackendName = "auto",
    vocab: VocabFiles = None,
    base_url: BaseUrl = None,
    model: Model = None,
    mode: Mode = "tools",
    max_reasks: MaxReasks = 2,
    concurrency: Concurrency = 4,
    cache_dir: CacheDir = None,
    no_cache: NoCache = False,
    timeout: Timeout = 120.0,
    max_tokens: MaxTokens = 4096,
    price_in: PriceIn = None,
    price_out: PriceOut = None,
    fallback_model: FallbackModel = None,
    fallback_price_in: FallbackPriceIn = None,
    fallback_price_out: FallbackPriceOut = None,
    max_cost: MaxCost = None,
    rpm: Rpm = None,
    tpm: Tpm = None,
    retry_failed: RetryFailed = False,
    max_failures_in_a_row: MaxFailuresInARow = 5,
    dry_run: DryRun = False,
    corrections: Path | None = typer.Option(
        None, help="Reviewer corrections to re-apply. Default: OUT's .corrections.jsonl if any."
    ),
) -> None:
    """Extract one record per form from FILES into OUT (JSONL), check them, print a summary.

    The API key comes from STRUCTURER_API_KEY or OPENAI_API_KEY. An interrupted run restarted
    with the same arguments only extracts the forms not yet done; so does a run stopped by
    --max-cost (exit 3) or by the endpoint refusing the key or model (exit 2).
    """
    words = vocabulary(vocab)
    impl = backend_from_options(backend, llm_settings(locals()), words)
    documents = _load_or_fail(files, words)
    if dry_run:
        print_estimate(impl, documents, console)
        return
    result = _run_with_progress(documents, out, impl)
    applied = _apply_corrections(out, corrections, result)
    _print_summary(result, impl, applied)
    failed = [r for r in result.records if any(f.code.endswith(".failed") for f in r.findings)]
    if failed or len(documents) < len(files):
        raise typer.Exit(1)


def _load_or_fail(files: list[Path], vocab: Any) -> list[Document]:
    """Unreadable files are reported and skipped; if none is readable, that is the error."""
    from ..read import load_documents

    documents, errors = load_documents(files, vocab)
    if not documents:
        if len(errors) == 1:
            raise errors[0]
        raise StructurerError("no readable document: " + "; ".join(map(str, errors)))
    for exc in errors:
        console.print(f"[red]skipped[/] {exc}")
    return documents


def _run_with_progress(documents: list[Document], out: Path, impl):  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from ..pipeline import extract_to_file

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    ) as progress:
        total = sum(len(d.chunks) for d in documents)
        task = progress.add_task(f"extracting ({impl.name})", total=total)
        return extract_to_file(
            documents, out, impl, on_record=lambda job, rec: progress.advance(task)
        )


def _apply_corrections(out: Path, path: Path | None, result: Any) -> Any:
    """Re-apply reviewer corrections when a corrections file exists; the summary then counts the
    corrected records."""
    default = out.with_name(out.stem + ".corrections.jsonl")
    target = path or (default if default.exists() else None)
    if target is None:
        return None
    if not target.exists():
        raise StructurerError(f"{target}: corrections file not found")
    from ..io import read_records
    from ..review.corrections import reapply_to_file

    replay = reapply_to_file(out, target, sources=result.documents)
    result.records = read_records(out)
    return replay


def _print_summary(result, impl, applied) -> None:  # type: ignore[no-untyped-def]
    table = Table(title="extract summary")
    for col in ("document", "forms", "indicators", "errors", "warnings", "info"):
        table.add_column(col, justify="right" if col != "document" else "left")
    for doc in result.documents:
        recs = [r for r in result.records if r.source and r.source.document == Path(doc.path).name]
        sev = Counter(f.severity for r in recs for f in r.findings)
        sev.update(f.severity for f in result.document_findings.get(doc.path, []))
        table.add_row(
            Path(doc.path).name,
            str(len(recs)),
            str(sum(len(r.indicators) for r in recs)),
            str(sev["error"]),
            str(sev["warning"]),
            str(sev["info"]),
        )
    console.print(table)
    for doc_path, findings in result.document_findings.items():
        for f in findings:
            console.print(f"[yellow]{Path(doc_path).name}[/]: {f.severity} {f.code}: {f.message}")
    if result.resumed:
        console.print(f"resumed: {result.resumed} forms taken from the interrupted run")
    summary = getattr(impl, "summary", None)
    if summary:
        console.print(summary())
    if applied is not None:
        console.print(str(applied))
