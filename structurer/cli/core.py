"""Commands: split, extract, schema."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ..errors import StructurerError
from ..models import Document
from . import app

console = Console(stderr=True)
out_console = Console()


@app.command()
def split(
    file: Path = typer.Argument(..., help="OCR markdown document (UTF-8 or GBK/GB18030)."),
    as_json: bool = typer.Option(False, "--json", help="Print the chunks as JSON instead."),
) -> None:
    """List the forms found in a document: index, project, year and source lines."""
    from ..pipeline import load_document, plan_jobs
    from ..rules import project_name_of

    doc = load_document(file)
    jobs = plan_jobs([doc])
    if as_json:
        rows = [
            {**j.chunk.model_dump(exclude={"text"}), "project_name": project_name_of(j.grid)}
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
            project_name_of(j.grid) or "?",
            str(c.year or "?"),
            f"{c.start_line}-{c.end_line}",
        )
    out_console.print(table)


@app.command()
def schema() -> None:
    """Print the JSON Schema of one output record (one line of extract's JSONL)."""
    from ..models import record_schema

    out_console.print_json(json.dumps(record_schema(), ensure_ascii=False))


BACKENDS = ("auto", "rules", "llm", "hybrid")


@app.command()
def extract(
    files: list[Path] = typer.Argument(..., help="One or more OCR markdown documents."),
    out: Path = typer.Option(..., "--out", "-o", help="Output JSON Lines: one record per form."),
    backend: str = typer.Option(
        "auto",
        "--backend",
        "-b",
        help="rules (offline, deterministic), llm, hybrid (rules first, LLM only for forms with "
        "errors) or auto: hybrid when a model is configured, else rules.",
    ),
    base_url: str | None = typer.Option(
        None, help="OpenAI-compatible endpoint. Env: STRUCTURER_BASE_URL, then OPENAI_BASE_URL."
    ),
    model: str | None = typer.Option(None, help="Model name. Env: STRUCTURER_MODEL."),
    mode: str = typer.Option(
        "tools",
        help="How the schema is enforced: tools | json | json_schema | md_json "
        "(md_json for providers without tool calling).",
    ),
    max_reasks: int = typer.Option(2, help="Re-asks after a reply fails validation."),
    concurrency: int = typer.Option(4, help="LLM requests in flight at once."),
    cache_dir: Path | None = typer.Option(
        None, help="LLM reply cache. Env: STRUCTURER_CACHE_DIR; default ~/.cache/structurer."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the cache."),
    timeout: float = typer.Option(120.0, help="Seconds per LLM request."),
    max_tokens: int = typer.Option(4096, help="Completion token limit per LLM request."),
    price_in: float | None = typer.Option(None, help="Price per million prompt tokens."),
    price_out: float | None = typer.Option(None, help="Price per million completion tokens."),
    corrections: Path | None = typer.Option(
        None, help="Reviewer corrections to re-apply. Default: OUT's .corrections.jsonl if any."
    ),
) -> None:
    """Extract one record per form from FILES into OUT (JSONL), check them, print a summary.

    The API key comes from STRUCTURER_API_KEY or OPENAI_API_KEY. An interrupted run restarted
    with the same arguments only extracts the forms not yet done.
    """
    settings = _llm_settings(locals())
    chosen = _choose_backend(backend, settings)
    impl = _make_backend(chosen, settings)
    documents = _load_or_fail(files)
    result = _run_with_progress(documents, out, impl)
    applied = _apply_corrections(out, corrections, result)
    _print_summary(result, impl, applied)
    failed = [r for r in result.records if any(f.code.endswith(".failed") for f in r.findings)]
    if failed or len(documents) < len(files):
        raise typer.Exit(1)


def _load_or_fail(files: list[Path]) -> list[Document]:
    """Unreadable files are reported and skipped; if none is readable, that is the error."""
    from ..pipeline import load_documents

    documents, errors = load_documents(files)
    if not documents:
        if len(errors) == 1:
            raise errors[0]
        raise StructurerError("no readable document: " + "; ".join(map(str, errors)))
    for exc in errors:
        console.print(f"[red]skipped[/] {exc}")
    return documents


def _llm_settings(args: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "base_url",
        "model",
        "mode",
        "max_reasks",
        "concurrency",
        "cache_dir",
        "no_cache",
        "timeout",
        "max_tokens",
        "price_in",
        "price_out",
    )
    settings = {k: args[k] for k in keys}
    settings["base_url"] = (
        settings["base_url"]
        or os.environ.get("STRUCTURER_BASE_URL")
        or os.environ.get("OPENAI_BASE_URL")
    )
    settings["model"] = settings["model"] or os.environ.get("STRUCTURER_MODEL")
    return settings


def _choose_backend(backend: str, settings: dict[str, Any]) -> str:
    if backend not in BACKENDS:
        raise typer.BadParameter(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if backend == "auto":
        return "hybrid" if settings["model"] else "rules"
    return backend


def _make_backend(name: str, settings: dict[str, Any]):  # type: ignore[no-untyped-def]
    if name == "rules":
        from ..pipeline import RulesBackend

        return RulesBackend()
    from ..llm import make_backend  # imported lazily: openai/instructor load only here

    return make_backend(name, **settings)


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
    from ..corrections import reapply_to_file
    from ..io import read_records

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
