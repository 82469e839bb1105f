"""Command: eval — score a backend against the hand-labelled fixtures."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from ..quality.report_md import pct
from . import app
from .options import VocabFiles, llm_options

if TYPE_CHECKING:
    from ..llm.settings import LLMConfig

console = Console(stderr=True)
out_console = Console()
if not out_console.is_terminal:  # logs and CI: do not squeeze the score table into 80 columns
    out_console = Console(width=160)

# Where a run writes by default: a folder of the current directory, ignored in the checkout
# (.gitignore), so a run leaves `git status` clean; the tracked eval/reports/ and
# eval/history.jsonl change only when a run is pointed at them.
DEFAULT_OUT = Path("structurer-eval")
DEFAULT_HISTORY = DEFAULT_OUT / "history.jsonl"


@app.command("eval")
@llm_options()
def evaluate(
    cases: list[Path] = typer.Argument(
        None, help="Case folders (source.* + gold.jsonl). Default: every case under --cases."
    ),
    cases_dir: Path | None = typer.Option(
        None,
        "--cases",
        help="A folder of cases (each sub-folder with a gold.jsonl). Default: ./fixtures, else "
        "the fixtures/ of the structurer checkout.",
        show_default=False,
    ),
    backend: str = typer.Option("rules", "--backend", "-b", help="rules | llm | hybrid."),
    matrix: Path | None = typer.Option(
        None,
        "--matrix",
        help="A TOML file of [[row]] configurations (name, backend, model, base_url, mode, "
        "prompt, batch, prices...): run every row on the same cases and write one report with "
        "intervals, paired verdicts, a heat map per field and the cost-accuracy frontier. The "
        "rows replace --backend and the LLM options.",
        show_default=False,
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Send nothing: estimate the calls and cost of the run (of every "
        "row with --matrix) and exit.",
    ),
    poll: float = typer.Option(30.0, help="Seconds between looks at a batch row's batch."),
    vocab: VocabFiles = None,
    report: Path | None = typer.Option(
        None,
        "--report",
        help=f"Folder for report.json/.md. Default: {DEFAULT_OUT}/latest in the current folder.",
        show_default=False,
    ),
    compare: Path | None = typer.Option(
        None, "--compare", help="A previous report.json: list what got better and worse."
    ),
    min_f1: float | None = typer.Option(
        None, "--min-f1", help="Exit 1 when overall indicator F1 is below this (0-1)."
    ),
    min_fields: float | None = typer.Option(
        None, "--min-fields", help="Exit 1 when overall field accuracy is below this (0-1)."
    ),
    gate: bool = typer.Option(
        False,
        "--gate",
        help="Exit 1 when a case falls short of its own case.toml [gate] (for CI): forms found, "
        "header, funding, goals, indicators, silent forms, unflagged wrong values, errors on "
        "the gold record, expected findings.",
    ),
    ratchet: bool = typer.Option(
        False,
        "--ratchet",
        help="Raise each case's case.toml [gate] to this run's scores where they are better "
        "(a minimum up, a maximum down; never lowered; missing keys added) and print the "
        "changes. Rules backend only: CI gates the rules.",
    ),
    history: Path = typer.Option(
        DEFAULT_HISTORY,
        "--history",
        help="Score history (JSONL) this run is appended to. The tracked eval/history.jsonl "
        "only when named here: a deliberate record, not every local run.",
    ),
    no_history: bool = typer.Option(
        False, "--no-history", help="Do not append this run to the history."
    ),
    llm: LLMConfig = None,  # type: ignore[assignment]  # the LLM options (llm_options)
) -> None:
    """Extract each case's source, score it against its gold and write report.json/report.md.

    Exit code 1 when a score is below --min-f1 / --min-fields (for CI), 2 on bad input.
    """
    from ..quality.compare import compare_reports, load_report
    from ..quality.evaluate import (
        EvalReport,
        append_history,
        find_cases,
        load_case,
        run_case,
        write_reports,
    )
    from ..quality.gates import gate_failures
    from .options import backend_from_options, vocabulary

    if backend == "auto":
        raise typer.BadParameter("eval needs an explicit backend: rules, llm or hybrid")
    words = vocabulary(vocab)
    loaded = [load_case(f) for f in find_cases(cases, cases_dir)]
    if matrix or dry_run:
        from .matrix import matrix_command

        if gate or ratchet or min_f1 is not None or min_fields is not None:
            raise typer.BadParameter("--gate, --ratchet, --min-f1 and --min-fields apply to one "
                                     "configuration, not with --matrix or --dry-run")  # fmt: skip
        rows = matrix or _one_row(backend, llm)
        matrix_command(rows, loaded, words, report=report or DEFAULT_OUT / "matrix",
                       compare=compare, dry_run=dry_run, poll=poll,
                       history=None if no_history else history)  # fmt: skip
        return
    if ratchet and backend != "rules":
        raise typer.BadParameter("--ratchet raises the gates CI holds the rules to: -b rules")
    impl = backend_from_options(backend, llm, words)
    previous = load_report(compare) if compare else None
    scores = []
    for case in loaded:
        console.print(f"[dim]eval {case.name} ({len(case.gold)} forms, {impl.name})…[/]")
        scores.append(run_case(case, impl))
    result = EvalReport(impl.name, llm.model if impl.name != "rules" else None, scores)
    data = result.to_dict()
    changes = compare_reports(previous, data) if previous is not None else None
    json_path, md_path = write_reports(result, report or DEFAULT_OUT / "latest", changes)
    if not no_history:
        append_history(result, history)
    _print_table(data)
    if changes is not None:
        _print_changes(changes)
    console.print(f"reports: {json_path}, {md_path}")
    failures = [
        f for case, s in zip(loaded, scores, strict=True) for f in gate_failures(s, case.gate)
    ]
    if ratchet:
        _ratchet(loaded, scores)
    if gate and failures:
        for line in failures:
            console.print(f"[red]gate:[/] {line}")
        raise typer.Exit(1)
    _enforce(data["overall"], min_f1=min_f1, min_fields=min_fields)


def _ratchet(cases: list[Any], scores: list[Any]) -> None:
    """Raise each case's gate to its scores; print what changed."""
    from ..quality.gates import ratchet

    changes = [c for case, s in zip(cases, scores, strict=True)
               for c in ratchet(case.source_path.parent, s)]  # fmt: skip
    for change in changes:
        console.print(f"[green]ratchet[/] {change}", soft_wrap=True, highlight=False)
    cases_changed = len({c.case for c in changes})
    console.print(f"ratchet: {len(changes)} gate values raised in {cases_changed} case.toml files")


def _one_row(backend: str, llm: LLMConfig) -> Any:
    """`eval --dry-run` without a matrix: the command's configuration as a one-row matrix."""
    from ..quality.matrix import MatrixRow

    return [MatrixRow(name=backend, backend=backend, **llm.model_dump(exclude_none=True))]


def _print_table(data: dict[str, Any]) -> None:
    table = Table(
        title=f"eval: {data['backend']}" + (f" ({data['model']})" if data["model"] else "")
    )
    columns = ("case", "forms", "extra", "fields", "goals mean/worst", "ind P/R/F1",
               "L1/L2/target", "findings", "unexp. err", "wrong/silent", "s")  # fmt: skip
    for col in columns:
        table.add_column(col, justify="left" if col == "case" else "right")
    llm = "calls" in data["overall"]
    if llm:
        table.add_column("calls/tokens/cache", justify="right")
    rows = [(c["name"], c["metrics"]) for c in data["cases"]]
    groups = list(data.get("groups", {}).items())
    ends = {len(rows) - 1, len(rows)}
    for n, (name, m) in enumerate([*rows, ("overall", data["overall"]), *groups]):
        table.add_row(*_row(name, m, llm), end_section=n in ends)
    out_console.print(table)
    for name, o in [("overall", data["overall"]), *groups]:
        if name.startswith("layout:"):
            continue
        out_console.print(
            f"{name}: forms {o['forms_found']}/{o['forms_expected']} · fields "
            f"{pct(o['field_accuracy'])} · goals {pct(o['goal_mean'])} · indicator F1 "
            f"{pct(o['indicator_f1'])} · findings {o['findings_raised']}/{o['findings_expected']}"
            f" · silent errors {o['silent_errors']} ({pct(o['silent_error_rate'])})"
        )


def _row(name: str, m: dict[str, Any], llm: bool) -> list[str]:
    row = [
        name,
        f"{m['forms_found']}/{m['forms_expected']}",
        str(m["forms_extra"]),
        pct(m["field_accuracy"]),
        f"{pct(m['goal_mean'])} / {pct(m['goal_worst'])}",
        "/".join(pct(m[f"indicator_{k}"]) for k in ("precision", "recall", "f1")),
        "/".join(pct(m[f"{k}_accuracy"]) for k in ("level1", "level2", "target")),
        f"{m['findings_raised']}/{m['findings_expected']}",
        str(m["unexpected_errors"]),
        f"{m['forms_wrong']}/{m['silent_errors']}",
        f"{m['seconds']:.1f}",
    ]
    if llm:
        tokens = m.get("prompt_tokens", 0) + m.get("completion_tokens", 0)
        row.append(f"{m.get('calls', 0)}/{tokens}/{m.get('cache_hits', 0)}")
    return row


def _print_changes(changes: list[Any]) -> None:
    if not changes:
        console.print("compare: no change from the previous report")
        return
    worse = sum(c.worse for c in changes)
    console.print(f"compare: {worse} worse, {len(changes) - worse} better")
    for c in changes:
        style = "red" if c.worse else "green"
        label = "WORSE " if c.worse else "better"
        console.print(f"[{style}]{label}[/] {c.case} · {c.metric}: {c.before} -> {c.after}")


def _enforce(overall: dict[str, Any], *, min_f1: float | None, min_fields: float | None) -> None:
    failed = []
    f1, fields = overall["indicator_f1"] or 0.0, overall["field_accuracy"] or 0.0
    if min_f1 is not None and f1 < min_f1:
        failed.append(f"indicator F1 {f1:.4f} < {min_f1}")
    if min_fields is not None and fields < min_fields:
        failed.append(f"field accuracy {fields:.4f} < {min_fields}")
    if failed:
        console.print("[red]below threshold:[/] " + "; ".join(failed))
        raise typer.Exit(1)
