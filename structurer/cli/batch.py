"""Commands: batch submit, batch status, batch collect (a provider's batch API instead of one
request per form)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from . import app
from .core import _load_or_fail, _print_summary, _run_with_progress
from .options import REQUEST_OPTIONS, RUN_OPTIONS, DryRun, VocabFiles, llm_options, vocabulary

if TYPE_CHECKING:
    from ..llm.settings import LLMConfig

console = Console(stderr=True)
batch_app = typer.Typer(
    help="Send the forms as a batch job (OpenAI /v1/batches: half the price, no rate limits; "
    "the same JSONL as vLLM run-batch): submit, then status, then collect.",
    no_args_is_help=True,
)
app.add_typer(batch_app, name="batch")

JobFile = typer.Argument(help="The job file `batch submit` wrote.")


def say(text: str) -> None:
    """One line on stderr, never wrapped (paths and ids stay whole for copying)."""
    console.print(text, soft_wrap=True)


@batch_app.command()
@llm_options(*REQUEST_OPTIONS)
def submit(
    files: list[Path] = typer.Argument(..., help="One or more documents."),
    llm: LLMConfig = None,  # type: ignore[assignment]  # the request options (llm_options)
    vocab: VocabFiles = None,
    batch_file: Path = typer.Option(
        Path("batch.jsonl"), help="Where to write the requests, one JSONL line per form."
    ),
    job: Path | None = typer.Option(
        None, help="Where to record the job. Default: BATCH_FILE's name + .job.json."
    ),
    dry_run: DryRun = False,
) -> None:
    """Write the forms' requests to a batch file, upload it and start the batch.

    One line per form, with the same model, messages and schema as `extract` sends (forms already
    in the cache are left out); the job is recorded for `batch status` and `batch collect`. With
    --dry-run nothing is sent: the file is for `vllm run-batch` or a provider's console. Give the
    batch prices to --price-in/--price-out (half the live ones at OpenAI).
    """
    from ..backends import make_backend
    from ..io import atomic_write_text
    from ..llm.batch import build_lines, new_job
    from ..llm.batch import submit as start
    from ..llm.estimate import estimate
    from ..pipeline import plan_jobs

    words = vocabulary(vocab)
    options = llm.model_dump(include=set(REQUEST_OPTIONS), exclude_none=True)
    backend = make_backend("llm", vocab=words, need_key=not dry_run, **options)
    documents = _load_or_fail(files, words)
    jobs = plan_jobs(documents, words)
    lines, cached = build_lines(backend, jobs)
    record = new_job(backend, documents, vocab or [], batch_file)
    record.lines = len(lines)
    atomic_write_text(batch_file, "".join(line + "\n" for line in lines))
    job_path = job or batch_file.with_name(batch_file.stem + ".job.json")
    console.print(estimate(backend, jobs).table(sending=not dry_run and bool(lines)))
    say(f"wrote {batch_file}: {len(lines)} requests ({cached} forms in the cache)")
    if dry_run or not lines:
        record.save(job_path)
        if lines:
            say(f"nothing sent; job recorded in {job_path} (collect with --results FILE)")
        else:
            say(f"every form is in the cache, nothing to send; `batch collect {job_path}` "
                "writes the records")  # fmt: skip
        return
    start(backend.settings, record, job_path, lines)
    ids = ", ".join(b["id"] for b in record.batches)
    say(f"submitted {ids}; job recorded in {job_path}")
    say(f"next: structurer batch status {job_path}")


@batch_app.command()
def status(job: Path = JobFile) -> None:
    """Each batch of the job: its state and how many requests are done or failed."""
    from ..llm.batch import BatchJob, statuses
    from ..llm.settings import resolve_settings

    record = BatchJob.load(job)
    if not record.batches:
        console.print(f"{job}: written with --dry-run, nothing was sent")
        return
    table = Table(title=f"{job}: {record.lines} requests of {record.forms} forms")
    for col in ("batch", "status", "done", "failed", "total"):
        table.add_column(col, justify="left" if col in ("batch", "status") else "right")
    for batch in statuses(resolve_settings(**record.request), record):
        counts = batch.request_counts
        numbers = [
            str(getattr(counts, n)) if counts else "?" for n in ("completed", "failed", "total")
        ]
        table.add_row(batch.id, batch.status, *numbers)
    Console().print(table)


@batch_app.command()
@llm_options(*RUN_OPTIONS)
def collect(
    job: Path = JobFile,
    out: Path = typer.Option(..., "--out", "-o", help="Output JSON Lines: one record per form."),
    results: list[Path] | None = typer.Option(
        None,
        "--results",
        help="Local result files (e.g. from vllm run-batch) instead of downloading.",
    ),
    wait: bool = typer.Option(False, "--wait", help="Wait until every batch has finished."),
    live: bool = typer.Option(
        True,
        "--live/--no-live",
        help="Re-ask live the forms whose batch reply fails, and ask live those with none. "
        "--no-live keeps to the batch: a failing reply is kept with its problems as findings, "
        "a form without a reply gets llm.failed (for offline runs such as vllm run-batch).",
    ),
    poll: float = typer.Option(60.0, help="Seconds between looks with --wait."),
    llm: LLMConfig = None,  # type: ignore[assignment]  # the run options (llm_options)
) -> None:
    """Download the replies, validate and check them and write one record per form to OUT.

    Each reply goes through the same validation and checks as in `extract`; a reply that fails
    them is re-asked live (at most --max-reasks times), and forms with no usable reply are asked
    live. The replies are cached like live ones. Restarted after an interruption, it only does
    the forms not yet done.
    """
    from ..backends import make_backend
    from ..llm.batch import BatchJob, check_job, collect_replies, wait_until_done
    from ..pipeline import plan_jobs
    from ..vocab import load_vocabulary

    options = llm.model_dump(include=set(RUN_OPTIONS), exclude_none=True)
    record = BatchJob.load(job)
    words = load_vocabulary([Path(p) for p in record.vocab_files])
    settings = _job_settings(record, options)
    backend = make_backend("llm", vocab=words, **settings)
    documents = _load_or_fail([Path(f["path"]) for f in record.files], words)
    check_job(record, backend, documents)
    if wait and not results:
        wait_until_done(backend.settings, record, poll)
    replies, _ = collect_replies(backend.settings, record, results or [])
    wanted = {j.key for j in plan_jobs(documents, words)}
    backend.batch_replies = {k: v for k, v in replies.ok.items() if k in wanted}
    backend.live = live
    result = _run_with_progress(documents, out, backend)
    _print_summary(result, backend, None)
    from ..io import read_records  # the run streams its records to OUT; read them back

    say(_batch_line(read_records(out), replies))
    if result.failed:
        raise typer.Exit(1)


def _job_settings(record: Any, options: dict[str, Any]) -> dict[str, Any]:
    """The settings the job's requests were built with, plus this command's options."""
    return {**record.request, **options}


def _batch_line(records: list[Any], replies: Any) -> str:
    """Where each form's record came from: the batch (and re-asked live), the cache, or live."""
    seen: Counter[str] = Counter()
    for r in records:
        llm = r.meta.get("llm", {})
        if llm.get("cache_hit"):
            seen["cache"] += 1
        elif llm.get("batch"):
            seen["batch, re-asked live" if llm.get("calls", 0) > 1 else "batch"] += 1
        else:
            seen["asked live"] += 1
    parts = [f"{n} {what}" for what, n in seen.items()]
    trouble = f"; {len(replies.failed)} batch lines had no usable reply" if replies.failed else ""
    return "records from: " + ", ".join(parts) + trouble
