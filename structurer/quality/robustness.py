"""The noisy suite: how well each backend survives each kind of OCR damage, at several rates.

For every fixture case with a gold.jsonl, the gold records are rendered as a clean document
(`damage.render_document`), damaged by one damage type at one rate with a fixed seed, extracted
by each backend and scored against the gold with the eval harness's scorer. Each (damage, rate)
is repeated with several seeds; rate 0 is the clean baseline shared by all damage types.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..io import atomic_write_text, read_records
from ..models import Backend, Document, FormRecord
from ..pipeline import extract_documents
from ..read.chunker import split_forms
from .damage import DAMAGES, render_document
from .evaluate import case_info
from .plots import pyplot
from .scoring import CaseScore, score_case

RATES = (0.0, 0.1, 0.25, 0.5)
HEADLINE = ("indicator_f1", "field_accuracy")


@dataclass
class GoldCase:
    name: str
    gold: list[FormRecord]


@dataclass
class Point:
    """The scores of one backend on one damage type at one rate, over all cases and seeds."""

    backend: str
    damage: str
    rate: float
    metrics: dict[str, float | None]
    field_errors: dict[str, float] = field(default_factory=dict)  # field -> wrong per run
    examples: list[dict[str, Any]] = field(default_factory=list)


# The damage generator renders gold records in the Shanghai template; cases printed in other
# templates (a lone overall goal, list tables, the long-term columns) cannot be rendered faithfully
# in it, so only cases of this template family are rendered and damaged.
RENDERED_LAYOUTS = ("pipe", "pipe+html")


def load_gold_cases(root: str | Path = "fixtures") -> list[GoldCase]:
    """Every `root/<case>/gold.jsonl` of a case in the rendered template family, in name order
    (a case without a case.toml counts as one)."""
    return [
        GoldCase(p.parent.name, read_records(p))
        for p in sorted(Path(root).glob("*/gold.jsonl"))
        if case_info(p.parent).get("layout", "pipe") in RENDERED_LAYOUTS
    ]


def extract_text(text: str, backend: Backend, name: str = "damaged.md") -> list[FormRecord]:
    """Run a backend on a document held in memory (no file, no journal)."""
    heading, chunks = split_forms(text)
    if not chunks:
        return []
    sha = hashlib.sha256(text.encode()).hexdigest()
    doc = Document(path=name, encoding="utf-8", sha256=sha, title=heading, chunks=chunks)
    return extract_documents([doc], backend).records


def _seed(case: str, damage: str, rate: float, rep: int, base: int) -> int:
    key = f"{base}:{case}:{damage}:{rate}:{rep}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "big")


def damaged_text(case: GoldCase, damage: str, rate: float, rep: int, base_seed: int = 0) -> str:
    damages = {damage: rate} if rate else None
    return render_document(
        case.gold, damages=damages, seed=_seed(case.name, damage, rate, rep, base_seed)
    )


def _field_of(m: Any) -> str:
    """Group a scorer mismatch by kind: `indicators[3].target` -> `indicator.target`."""
    f = m.field
    if f.startswith("indicators+"):
        return "indicator.extra"
    if f.startswith("indicators"):
        return "indicator." + f.split(".", 1)[1] if "." in f else "indicator.missing"
    if f == "form":
        return "form.missing" if m.gold else "form.extra"
    if f == "finding":
        return f"finding.{m.got or m.gold}"
    return f


def score_point(
    backend: Backend,
    cases: Sequence[GoldCase],
    damage: str,
    rate: float,
    *,
    repeats: int,
    base_seed: int = 0,
    max_examples: int = 3,
) -> Point:
    total = CaseScore(name="all")
    per_seed: list[float] = []
    for rep in range(repeats if rate else 1):  # the clean rendering needs one run
        for case in cases:
            text = damaged_text(case, damage, rate, rep, base_seed)
            got = extract_text(text, backend)
            score = score_case(case.name, case.gold, got)
            per_seed.append(score.metrics().get("indicator_f1") or 0.0)
            total.add(score)
    metrics = {k: v for k, v in total.metrics().items() if isinstance(v, float | int | None)}
    metrics["indicator_f1_min"] = min(per_seed) if per_seed else None
    metrics["indicator_f1_stdev"] = statistics.pstdev(per_seed) if len(per_seed) > 1 else 0.0
    runs = repeats if rate else 1
    errors: dict[str, float] = {}
    examples: list[dict[str, Any]] = []
    for m in total.mismatches:
        key = _field_of(m)
        if key not in errors or errors[key] * runs < max_examples:
            examples.append({"kind": key, "case": m.case, "form": m.form, "field": m.field,
                             "gold": m.gold, "got": m.got})  # fmt: skip
        errors[key] = errors.get(key, 0) + 1 / runs
    errors = {k: round(v, 2) for k, v in errors.items()}
    return Point(backend.name, damage, rate, metrics, errors, examples)


def run_suite(
    backends: Iterable[Backend],
    cases: Sequence[GoldCase],
    *,
    damages: Sequence[str] = tuple(DAMAGES),
    rates: Sequence[float] = RATES,
    repeats: int = 3,
    base_seed: int = 0,
    on_point: Callable[[Point], None] | None = None,
) -> list[Point]:
    """Score every backend on every damage type at every rate and at the type's default rate;
    rate 0 (the clean rendering) is run once per backend."""
    points: list[Point] = []
    for backend in backends:
        baseline = score_point(backend, cases, "none", 0.0, repeats=1, base_seed=base_seed)
        for damage in damages:
            for rate in sorted({*rates, DAMAGES[damage].default_rate}):
                if rate == 0:
                    point = Point(backend.name, damage, 0.0, **_copy(baseline))
                else:
                    point = score_point(
                        backend, cases, damage, rate, repeats=repeats, base_seed=base_seed
                    )
                points.append(point)
                if on_point:
                    on_point(point)
    return points


def _copy(p: Point) -> dict[str, Any]:
    return {"metrics": dict(p.metrics), "field_errors": dict(p.field_errors), "examples": []}


def at_default(points: Iterable[Point]) -> dict[tuple[str, str], Point]:
    """(backend, damage) -> the point at that damage's default rate."""
    return {
        (p.backend, p.damage): p
        for p in points
        if p.damage in DAMAGES and p.rate == DAMAGES[p.damage].default_rate
    }


def shortfalls(points: Iterable[Point], min_f1: float = 0.95) -> list[Point]:
    """Damage types whose default-rate indicator F1 falls below `min_f1`."""
    return [p for p in at_default(points).values() if (p.metrics.get("indicator_f1") or 0) < min_f1]


def broken_fields(point: Point, baseline: Mapping[str, float]) -> dict[str, float]:
    """Fields wrong more often under this damage than on the clean rendering."""
    return {
        f: round(n - baseline.get(f, 0), 2)
        for f, n in sorted(point.field_errors.items(), key=lambda kv: -kv[1])
        if n > baseline.get(f, 0)
    }


# --- report -----------------------------------------------------------------------------------


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def assumption(damage: str) -> str:
    """The 'Recoverable:' sentence of a damage operation's docstring."""
    doc = " ".join((DAMAGES[damage].op.__doc__ or "").split())
    return doc.partition("Recoverable:")[2].strip() or doc


def suite_json(points: Sequence[Point], meta: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "meta": dict(meta),
        "damages": {
            d.name: {"default_rate": d.default_rate, "per": d.per, "assumption": assumption(n)}
            for n, d in DAMAGES.items()
        },
        "points": [vars(p) for p in points],
    }


def _rate_table(points: Sequence[Point], metric: str, backend: str) -> list[str]:
    rates = sorted({p.rate for p in points})
    lines = ["| damage | " + " | ".join(f"{r:g}" for r in rates) + " |"]
    lines.append("|---" * (len(rates) + 1) + "|")
    for damage in dict.fromkeys(p.damage for p in points):
        row = {
            p.rate: p.metrics.get(metric)
            for p in points
            if p.damage == damage and p.backend == backend
        }
        lines.append(f"| {damage} | " + " | ".join(_fmt(row.get(r)) for r in rates) + " |")
    return lines


def report_markdown(points: Sequence[Point], meta: Mapping[str, Any], why: str = "") -> str:
    out = ["# Robustness to OCR damage", ""]
    out += [f"- {k}: {v}" for k, v in meta.items()]
    out += ["", "Reproduce: `structurer robustness` (see `structurer robustness --help`).", ""]
    baseline = {p.backend: p.field_errors for p in points if p.rate == 0}
    for backend in dict.fromkeys(p.backend for p in points):
        out += [f"## {backend}: at the default rate of each damage", ""]
        out += [
            "| damage | rate per | default rate | indicator F1 | worst run F1 | field accuracy | goal mean | F1 >= 0.95 |"
        ]
        out += ["|---|---|---|---|---|---|---|---|"]
        for (b, damage), p in at_default(points).items():
            if b == backend:
                m, ok = p.metrics, (p.metrics.get("indicator_f1") or 0) >= 0.95
                out.append(f"| {damage} | {DAMAGES[damage].per} | {p.rate:g} | {_fmt(m.get('indicator_f1'))} | "
                           f"{_fmt(m.get('indicator_f1_min'))} | {_fmt(m.get('field_accuracy'))} | "
                           f"{_fmt(m.get('goal_mean'))} | {'yes' if ok else '**no**'} |")  # fmt: skip
        for metric in ("indicator_f1", "field_accuracy", "goal_mean"):
            out += ["", f"### {backend}: {metric} by damage rate", ""]
            out += _rate_table(points, metric, backend)
        out += [
            "",
            f"### {backend}: what each damage breaks (wrong per run, over the clean baseline)",
            "",
        ]
        for p in points:
            if p.backend != backend or p.rate == 0:
                continue
            broken = broken_fields(p, baseline.get(backend, {}))
            if broken:
                shown = ", ".join(f"{f} {n:g}" for f, n in list(broken.items())[:8])
                out.append(f"- **{p.damage} @ {p.rate:g}**: {shown}")
                for e in [e for e in p.examples if e["kind"] in broken][:2]:
                    out.append(
                        f"  - {e['case']} / {e['form']} / `{e['field']}`: gold `{_short(e['gold'])}` got `{_short(e['got'])}`"
                    )
    if why:
        out += ["", why.strip()]
    out += [
        "",
        "## The damage operations",
        "",
        "| damage | rate is per | default | recoverable because |",
        "|---|---|---|---|",
    ]
    out += [f"| {n} | {d.per} | {d.default_rate:g} | {assumption(n)} |" for n, d in DAMAGES.items()]
    return "\n".join(out) + "\n"


def _short(value: Any, limit: int = 60) -> str:
    text = str(value).replace("\n", " ").replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plot(points: Sequence[Point], path: str | Path) -> bool:
    """Indicator F1 and field accuracy against damage rate, one line per damage type; False
    (nothing drawn) without matplotlib."""
    plt = pyplot()
    if plt is None:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5), sharey=True)
    colours = plt.get_cmap("tab20").colors
    styles = ["-", "--", ":"]
    for b, backend in enumerate(dict.fromkeys(p.backend for p in points)):
        for d, damage in enumerate(dict.fromkeys(p.damage for p in points)):
            mine = sorted(
                (p for p in points if p.backend == backend and p.damage == damage),
                key=lambda p: p.rate,
            )
            for ax, metric in zip(axes, HEADLINE, strict=True):
                ys = [p.metrics.get(metric) or 0.0 for p in mine]
                ax.plot([p.rate for p in mine], ys, styles[b % 3], marker="o", ms=4,
                        color=colours[d % 20], label=f"{damage} ({backend})")  # fmt: skip
    for ax, metric in zip(axes, HEADLINE, strict=True):
        flat = [d for d in dict.fromkeys(p.damage for p in points)
                if all((p.metrics.get(metric) or 0) >= 0.9995 for p in points if p.damage == d)]  # fmt: skip
        if flat:
            ax.text(0.02, 0.03, "at 1.000 for every rate (lines overlap):\n" + "\n".join(flat),
                    transform=ax.transAxes, fontsize=7, va="bottom", color="dimgrey")  # fmt: skip
        ax.set_xticks(sorted({p.rate for p in points}))
        ax.set_title(metric.replace("_", " "))
        ax.set_xlabel("damage rate (probability per unit, see report)")
        ax.grid(alpha=0.3)
        ax.axhline(0.95, color="grey", lw=0.8, ls=":")
    axes[0].set_ylabel("score")
    axes[1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    fig.suptitle("Rule extractor under synthetic OCR damage (fixtures' gold, rendered and damaged)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_report(
    points: Sequence[Point], out_dir: str | Path, meta: Mapping[str, Any], why: str = ""
) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md", out / "f1_vs_rate.png"]
    atomic_write_text(
        paths[0],
        json.dumps(suite_json(points, meta), ensure_ascii=False, indent=1, default=str) + "\n",
    )
    atomic_write_text(paths[1], report_markdown(points, meta, why))
    return paths if plot(points, paths[2]) else paths[:2]
