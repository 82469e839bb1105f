"""`structurer eval --matrix FILE`: several configurations on the same cases, one report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..quality.report_md import pct

console = Console(stderr=True)


def matrix_command(
    matrix: Path | list[Any],
    cases: list[Any],
    vocab: Any,
    *,
    report: Path,
    compare: Path | None,
    dry_run: bool,
    history: Path | None,
    poll: float,
) -> None:
    """Run (or with dry_run estimate) every row of the matrix file (or the rows given) on `cases`
    and write the report; print one line per row and the paired verdicts."""
    from ..quality.matrix import load_matrix

    rows = load_matrix(matrix) if isinstance(matrix, Path) else matrix
    if dry_run:
        print_matrix_estimate(rows, cases, vocab)
        return
    from ..quality.evaluate import append_jsonl
    from ..quality.matrix import matrix_dict, matrix_history_line, run_matrix
    from ..quality.matrix_report import compare_matrix, load_matrix_report, write_matrix_report

    previous = load_matrix_report(compare) if compare else None

    def progress(row: Any, case: Any) -> None:
        console.print(f"[dim]{row.name}: {case.name} ({len(case.gold)} forms)…[/]")

    results = run_matrix(rows, cases, vocab, work=report / "batches", poll=poll, on_case=progress)
    data = matrix_dict(results, matrix.name if isinstance(matrix, Path) else "")
    changes = compare_matrix(previous, data) if previous is not None else None
    written = write_matrix_report(data, report, changes)
    if history is not None:
        append_jsonl(matrix_history_line(data), history)
    print_matrix(data)
    console.print("report: " + ", ".join(str(p) for p in written))


def print_matrix_estimate(rows: list[Any], cases: list[Any], vocab: Any) -> None:
    from ..quality.matrix import estimate_matrix

    table = Table(title="eval --matrix --dry-run: nothing sent")
    for col in ("row", "backend", "forms", "to LLM", "calls (expected / at most)", "cost"):
        table.add_column(col, justify="left" if col in ("row", "backend") else "right")
    total = [0.0, 0.0]
    unknown = False
    for line in estimate_matrix(rows, cases, vocab):
        cost = line["cost"]
        unknown |= None in cost
        total = [t + (c or 0.0) for t, c in zip(total, cost, strict=True)]
        shown = " / ".join("?" if c is None else f"{c:.4f}" for c in cost)
        calls = " / ".join(map(str, line["calls"]))
        table.add_row(line["name"], line["backend"], str(line["forms"]), str(line["to_llm"]),
                      calls, shown)  # fmt: skip
    table.add_row("all rows", "", "", "", "", f"{total[0]:.4f} / {total[1]:.4f}"
                  + (" + rows without prices" if unknown else ""), end_section=True)  # fmt: skip
    Console().print(table)


def print_matrix(data: dict[str, Any]) -> None:
    from ..quality.matrix_report import METRIC_NAMES

    table = Table(title=f"eval matrix: {len(data['rows'])} rows, {data['forms']} forms")
    for col in ("row", "fields [95% CI]", "indicator F1", "silent", "unflagged", "errors on gold",
                "calls", "cost", "s/form"):  # fmt: skip
        table.add_column(col, justify="left" if col == "row" else "right")
    for r in data["rows"]:
        h, ci = r["headline"], r["intervals"].get("field_accuracy")
        span = f" [{ci[0] * 100:.1f}, {ci[1] * 100:.1f}]" if ci else ""
        table.add_row(
            r["name"], f"{pct(h['field_accuracy'])}{span}", pct(h["indicator_f1"]),
            str(h["silent_errors"]), str(h["unflagged_wrong_values"]), str(h["errors_on_gold"]),
            str(h["calls"]), "?" if h["cost"] is None else f"{h['cost']:.4f}",
            f"{h['seconds_per_form']:.3f}",
        )  # fmt: skip
    Console(width=160).print(table)
    for p in data["pairs"]:
        if p["metric"] in ("field_accuracy", "indicator_f1"):
            console.print(
                f"{p['a']} vs {p['b']} · {METRIC_NAMES[p['metric']]}: "
                f"{p['difference'] * 100:+.1f} points [{p['low'] * 100:+.1f}, "
                f"{p['high'] * 100:+.1f}] · {p['verdict']}"
            )
