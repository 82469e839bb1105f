"""Command: `structurer robustness`, the noisy suite (scores under synthetic OCR damage)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from . import app
from .evaluate import DEFAULT_OUT
from .options import llm_options

if TYPE_CHECKING:
    from ..llm.settings import LLMConfig


def _rates(text: str) -> list[float]:
    try:
        rates = sorted({float(r) for r in text.split(",") if r.strip()} | {0.0})
    except ValueError:
        raise typer.BadParameter(
            f"rates must be numbers separated by commas, not {text!r}"
        ) from None
    if any(not 0 <= r <= 1 for r in rates):
        raise typer.BadParameter("rates are probabilities between 0 and 1")
    return rates


def _backends(names: list[str], llm: LLMConfig) -> list[Any]:
    from ..backends import BACKENDS
    from .options import backend_from_options

    backends = []
    for name in names:
        if name not in BACKENDS:
            raise typer.BadParameter(f"unknown backend {name!r}; choose {', '.join(BACKENDS)}")
        if name != "rules" and not llm.model:
            raise typer.BadParameter(f"backend {name} needs a model: --model or STRUCTURER_MODEL")
        backends.append(backend_from_options(name, llm))
    return backends


@app.command()
@llm_options()
def robustness(
    fixtures: Path | None = typer.Option(
        None,
        "--cases",
        "--fixtures",
        help="Folder of cases; every CASE/gold.jsonl is rendered and damaged. Default: "
        "./fixtures, else the fixtures/ of the structurer checkout.",
        show_default=False,
    ),
    out: Path = typer.Option(
        DEFAULT_OUT / "robustness",
        "--out",
        "-o",
        help="Where report.md/.json and the plot go (the tracked eval/robustness/ only when "
        "named here).",
    ),
    backend: list[str] = typer.Option(
        ["rules"], "--backend", "-b", help="rules, llm or hybrid; repeat for several."
    ),
    damage: list[str] = typer.Option(
        [], "--damage", "-d", help="Damage types to run (repeatable). Default: all."
    ),
    rates: str = typer.Option("0.1,0.25,0.5", help="Damage rates to run; 0 is always included."),
    repeats: int = typer.Option(3, min=1, help="Seeds per damage type and rate."),
    seed: int = typer.Option(0, help="Base seed: the same seed gives the same damaged documents."),
    why: Path | None = typer.Option(
        None, help="Markdown appended to the report (default: OUT/why.md if present)."
    ),
    min_f1: float | None = typer.Option(
        None, help="Exit 1 if a damage type's indicator F1 at its default rate is below this."
    ),
    llm: LLMConfig = None,  # type: ignore[assignment]  # the LLM options (llm_options)
) -> None:
    """Render every fixture's gold as clean forms, damage them the way OCR does (each damage
    type at several rates, seeded), extract them and score against the gold.

    Writes OUT/report.md, OUT/report.json and OUT/f1_vs_rate.png (indicator F1 and field accuracy
    against damage rate, one line per damage type).
    """
    from rich.console import Console

    from ..quality.damage import DAMAGES
    from ..quality.robustness import load_gold_cases, run_suite, shortfalls, write_report

    unknown = [d for d in damage if d not in DAMAGES]
    if unknown:
        raise typer.BadParameter(f"unknown damage {unknown}; choose from {', '.join(DAMAGES)}")
    from ..quality.evaluate import default_cases_root, git_commit

    root = fixtures or default_cases_root()
    cases = load_gold_cases(root) if root else []
    if not cases:
        raise typer.BadParameter(f"no CASE/gold.jsonl under {root or './fixtures'}")
    impls = _backends(backend, llm)
    console = Console(stderr=True)

    def show(p: Any) -> None:
        m = p.metrics
        console.print(
            f"{p.backend:7} {p.damage:19} rate {p.rate:<5g} indicator F1 "
            f"{m.get('indicator_f1') or 0:.3f}  fields {m.get('field_accuracy') or 0:.3f}"
        )

    points = run_suite(
        impls,
        cases,
        damages=damage or tuple(DAMAGES),
        rates=_rates(rates),
        repeats=repeats,
        base_seed=seed,
        on_point=show,
    )
    forms = sum(len(c.gold) for c in cases)
    meta = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "backends": ", ".join(backend),
        "cases": ", ".join(c.name for c in cases),
        "forms": forms,
        "indicators": sum(len(r.indicators) for c in cases for r in c.gold),
        "repeats (seeds per damage and rate)": repeats,
        "base seed": seed,
        "layout": "seed (6-column Shanghai table)",
    }
    why_path = why or out / "why.md"
    note = why_path.read_text(encoding="utf-8") if why_path.exists() else ""
    for path in write_report(points, out, meta, note):
        console.print(f"wrote {path}")
    low = shortfalls(points, min_f1 or 0.95)
    for p in low:
        console.print(f"[red]below {min_f1 or 0.95}: {p.backend} {p.damage} at {p.rate:g}[/red]")
    if min_f1 is not None and low:
        raise typer.Exit(1)
