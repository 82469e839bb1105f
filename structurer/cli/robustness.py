"""Command: `structurer robustness`, the noisy suite (scores under synthetic OCR damage)."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import typer

from . import app
from .options import (
    BaseUrl,
    CacheDir,
    Concurrency,
    MaxReasks,
    MaxTokens,
    Mode,
    Model,
    NoCache,
    PriceIn,
    PriceOut,
    Timeout,
)


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


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


def _backends(names: list[str], llm_args: dict[str, Any]) -> list[Any]:
    from ..backends import BACKENDS
    from .options import backend_from_options, llm_settings

    settings = llm_settings(llm_args)
    backends = []
    for name in names:
        if name not in BACKENDS:
            raise typer.BadParameter(f"unknown backend {name!r}; choose {', '.join(BACKENDS)}")
        if name != "rules" and not settings["model"]:
            raise typer.BadParameter(f"backend {name} needs a model: --model or STRUCTURER_MODEL")
        backends.append(backend_from_options(name, settings))
    return backends


@app.command()
def robustness(
    fixtures: Path = typer.Option(
        Path("fixtures"), help="Folder of cases; every CASE/gold.jsonl is rendered and damaged."
    ),
    out: Path = typer.Option(
        Path("eval/robustness"), "--out", "-o", help="Where report.md/.json and the plot go."
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
    cases = load_gold_cases(fixtures)
    if not cases:
        raise typer.BadParameter(f"no CASE/gold.jsonl under {fixtures}")
    impls = _backends(backend, locals())
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
        "commit": _commit(),
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
