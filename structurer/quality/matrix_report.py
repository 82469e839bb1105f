"""The matrix report: report.json, report.md and two plots (matplotlib, when installed): a heat
map of accuracy per field (rows × fields) and the cost–accuracy frontier. `compare_matrix` diffs
two matrix reports row by row (rows matched by name)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..io import atomic_write_text
from .compare import Change, compare_reports, load_report
from .plots import PLOT_HINT, pyplot
from .report_md import pct

METRIC_NAMES = {"field_accuracy": "fields", "indicator_f1": "indicator F1",
                "goal_mean": "goals", "silent_error_rate": "silent rate"}  # fmt: skip


def write_matrix_report(
    data: dict[str, Any], folder: Path, changes: Sequence[Change] | None = None
) -> list[Path]:
    """report.json, report.md and the plots (when matplotlib is there) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    if changes is not None:
        data = {**data, "changes": [c.__dict__ for c in changes]}
    paths = [folder / "report.json", folder / "report.md"]
    plots = [p for p in (heat_map(data, folder / "fields.png"),
                         frontier_plot(data, folder / "frontier.png")) if p]  # fmt: skip
    atomic_write_text(paths[0], json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    atomic_write_text(paths[1], render_matrix(data, [p.name for p in plots]))
    return paths + plots


def load_matrix_report(path: Path) -> dict[str, Any]:
    return load_report(path, "rows", "eval --matrix")


def compare_matrix(previous: dict[str, Any], current: dict[str, Any]) -> list[Change]:
    """What changed in each row present in both reports, regressions first."""
    before = {r["name"]: r for r in previous.get("rows", [])}
    out = []
    for row in current["rows"]:
        if row["name"] in before:
            for c in compare_reports(before[row["name"]]["report"], row["report"]):
                out.append(Change(f"{row['name']}: {c.case}", c.metric, c.before, c.after, c.worse))
    return sorted(out, key=lambda c: not c.worse)


# --- markdown ---


def _ci(value: float | None, span: Sequence[float] | None) -> str:
    if value is None:
        return "-"
    return pct(value) + (f" [{span[0] * 100:.1f}, {span[1] * 100:.1f}]" if span else "")


def _money(value: float | None, digits: int = 4) -> str:
    return "?" if value is None else f"{value:.{digits}f}"


def _calls(h: dict[str, Any]) -> str:
    return f"{h['calls']} + {h['cached_calls']}" if h.get("cached_calls") else str(h["calls"])


def _per_1k(value: float | None) -> float | None:
    return None if value is None else value * 1000


def render_matrix(data: dict[str, Any], plots: Sequence[str] = ()) -> str:
    kinds = [c["kind"] for c in data["cases"]]
    lines = [
        f"# Eval matrix{': ' + data['matrix'] if data.get('matrix') else ''}",
        "",
        f"{data['date']} · commit {data.get('commit') or '?'} · {len(kinds)} cases "
        f"({kinds.count('real')} real, {kinds.count('synthetic')} synthetic) · "
        f"{data['forms']} forms",
    ]
    lines += _settings_table(data["rows"])
    lines += _rows_table(data["rows"])
    lines += _groups_table(data["rows"])
    lines += _pairs_table(data["pairs"])
    lines += _fields_table(data["rows"], "fields.png" in plots)
    lines += _frontier_lines(data["rows"], "frontier.png" in plots)
    if not plots:
        lines += ["", f"({PLOT_HINT})"]
    lines += _changes(data.get("changes"))
    return "\n".join(lines) + "\n"


def _settings_table(rows: list[dict[str, Any]]) -> list[str]:
    """What each row ran: backend, model, mode, prompt (version and template sha), batch."""
    head = ("row", "backend", "model", "endpoint", "mode", "prompt", "batch", "other settings")
    out = ["", "## Configurations", "", "| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    shown = {"model", "base_url", "mode", "prompt", "batch"}
    for r in rows:
        config = r["config"] if r["backend"] != "rules" else {}  # shared LLM keys mean nothing
        prompt = r.get("prompt")
        other = ", ".join(f"{k}={v}" for k, v in config.items() if k not in shown) or "-"
        cells = [r["name"], r["backend"], r["model"] or "-", config.get("base_url") or "-",
                 config.get("mode", "-"), f"{prompt['version']} ({prompt['sha']})" if prompt
                 else "-", "yes" if config.get("batch") else "-", other]  # fmt: skip
        out.append("| " + " | ".join(str(c) for c in cells) + " |")
    return out


def _rows_table(rows: list[dict[str, Any]]) -> list[str]:
    head = ("row", "backend", "model", "fields [95% CI]", "indicator F1 [95% CI]", "goals",
            "forms", "silent forms", "unflagged wrong values", "errors on gold", "calls",
            "tokens sent", "cost", "cost / 1k correct values", "s / form")  # fmt: skip
    out = ["", "## Rows", "", "| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for r in rows:
        h, ci = r["headline"], r["intervals"]
        cells = [
            r["name"], r["backend"], r["model"] or "-",
            _ci(h["field_accuracy"], ci.get("field_accuracy")),
            _ci(h["indicator_f1"], ci.get("indicator_f1")),
            _ci(h["goal_mean"], ci.get("goal_mean")),
            f"{h['forms_found']}/{h['forms_expected']} (+{h['forms_extra']})",
            str(h["silent_errors"]), str(h["unflagged_wrong_values"]), str(h["errors_on_gold"]),
            _calls(h), str(h["prompt_tokens"] + h["completion_tokens"]),
            _money(h["cost"]), _money(_per_1k(h["cost_per_correct_value"])),
            f"{h['seconds_per_form']:.3f}",
        ]  # fmt: skip
        out.append("| " + " | ".join(cells) + " |")
    out += [
        "",
        "Intervals: 95%, bootstrap resampling whole documents (a document's forms are not "
        "independent). *Silent*: a wrong form whose record carries no error finding. "
        "*Unflagged*: a wrong value no error or warning finding names. *Errors on gold*: the "
        "checker's errors on the hand-labelled record checked against its own source. "
        "*Cost*: of the configuration, replies taken from the cache counted at what they cost "
        "when asked (calls: sent now + cached). *Cost / 1k correct values*: per thousand header, "
        "funding and indicator values right.",
    ]
    return out


def _groups_table(rows: list[dict[str, Any]]) -> list[str]:
    head = ("row", "cases", "fields [95% CI]", "indicator F1 [95% CI]", "silent forms",
            "unflagged", "errors on gold")  # fmt: skip
    out = ["", "## Real and synthetic apart", ""]
    for kind in sorted({k for r in rows for k in r["groups"]}):
        out += [f"**{kind}**", "", "| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
        for r in rows:
            g = r["groups"].get(kind)
            if g:
                h, ci = g["headline"], g["intervals"]
                out.append(
                    f"| {r['name']} | {g['cases']} | "
                    f"{_ci(h['field_accuracy'], ci.get('field_accuracy'))} | "
                    f"{_ci(h['indicator_f1'], ci.get('indicator_f1'))} | {h['silent_errors']} | "
                    f"{h['unflagged_wrong_values']} | {h['errors_on_gold']} |"
                )
        out.append("")
    return out


def _pairs_table(pairs: list[dict[str, Any]]) -> list[str]:
    if not pairs:
        return []
    wanted = list(pairs[0]["forms_needed"])
    need = " / ".join(f"{float(d) * 100:g}" for d in wanted)
    head = ("a", "b", "metric", "a − b [95% CI]", "p", "a is",
            f"forms needed to see {need} points")  # fmt: skip
    out = ["## Paired comparisons (same cases, same fields)", ""]
    out += ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for p in pairs:
        diff = f"{p['difference'] * 100:+.1f} [{p['low'] * 100:+.1f}, {p['high'] * 100:+.1f}]"
        needed = " / ".join(str(p["forms_needed"][d] or "-") for d in wanted)
        metric = METRIC_NAMES.get(p["metric"], p["metric"])
        out.append(f"| {p['a']} | {p['b']} | {metric} | {diff} | {p['p_value']:.3f} | "
                   f"{p['verdict']} | {needed} |")  # fmt: skip
    out += [
        "",
        "Interval: bootstrap resampling the same documents for both rows. *p*: paired "
        "permutation test (the two rows' results swapped at random per document); *better* or "
        "*worse* when p < 0.05, else no difference at this n. Forms needed: 80% power at the 5% "
        f"level, from the paired spread seen on these {pairs[0]['forms']} forms.",
    ]
    return out


def _fields_table(rows: list[dict[str, Any]], plotted: bool) -> list[str]:
    fields = list(rows[0]["fields"]) if rows else []
    out = ["", "## Accuracy per field", ""]
    if plotted:
        out += ["![accuracy per field](fields.png)", ""]
    out += ["| field | " + " | ".join(r["name"] for r in rows) + " |"]
    out.append("|---" * (len(rows) + 1) + "|")
    for f in fields:
        out.append(f"| {f} | " + " | ".join(pct(r["fields"][f]) for r in rows) + " |")
    return out


def frontier(rows: list[dict[str, Any]]) -> list[str]:
    """The rows no other row beats on both cost and field accuracy (unknown costs left out)."""
    known = [r for r in rows if r["headline"]["cost"] is not None]
    known.sort(key=lambda r: (r["headline"]["cost"], -(r["headline"]["field_accuracy"] or 0)))
    out, best = [], -1.0
    for r in known:
        accuracy = r["headline"]["field_accuracy"] or 0.0
        if accuracy > best:
            out.append(r["name"])
            best = accuracy
    return out


def _frontier_lines(rows: list[dict[str, Any]], plotted: bool) -> list[str]:
    out = ["", "## Cost and accuracy", ""]
    if plotted:
        out += ["![cost–accuracy frontier](frontier.png)", ""]
    names = frontier(rows)
    out.append("On the frontier (no row both cheaper and more accurate): " + ", ".join(names))
    unknown = [r["name"] for r in rows if r["headline"]["cost"] is None]
    if unknown:
        out.append(f"No cost (prices not given): {', '.join(unknown)}.")
    return out


def _changes(changes: list[dict[str, Any]] | None) -> list[str]:
    if changes is None:
        return []
    out = ["", "## Changes from the previous matrix report (regressions first)", ""]
    if not changes:
        return [*out, "No change."]
    for c in changes:
        mark = "WORSE" if c["worse"] else "better"
        out.append(f"- {mark} · {c['case']} · {c['metric']}: {c['before']} -> {c['after']}")
    return out


# --- plots ---


def heat_map(data: dict[str, Any], path: Path) -> Path | None:
    """Rows × fields, coloured by accuracy."""
    plt, rows = pyplot(), data["rows"]
    if plt is None or not rows:
        return None
    fields = list(rows[0]["fields"])
    grid = [[r["fields"][f] if r["fields"][f] is not None else float("nan") for f in fields]
            for r in rows]  # fmt: skip
    fig, ax = plt.subplots(
        figsize=(max(8, 0.55 * len(fields)), 2.6 + 0.45 * len(rows)), layout="constrained"
    )
    image = ax.imshow(grid, cmap="RdYlGn", vmin=0.5, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(fields)), fields, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), [r["name"] for r in rows], fontsize=9)
    for y, line in enumerate(grid):
        for x, value in enumerate(line):
            if value == value:  # not NaN
                ax.text(x, y, f"{value * 100:.0f}", ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, label="share right")
    ax.set_title("Accuracy per field (rows × fields)")
    return _save(plt, fig, path)


def frontier_plot(data: dict[str, Any], path: Path) -> Path | None:
    """Cost against field accuracy with its 95% interval; the frontier joined."""
    plt = pyplot()
    rows = [r for r in data["rows"] if r["headline"]["cost"] is not None]
    if plt is None or not rows:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    for r in rows:
        h, span = r["headline"], r["intervals"].get("field_accuracy")
        y = h["field_accuracy"] or 0.0
        err = [[y - span[0]], [span[1] - y]] if span else None
        ax.errorbar(h["cost"], y, yerr=err, fmt="o", capsize=3)
        ax.annotate(r["name"], (h["cost"], y), textcoords="offset points", xytext=(5, 5),
                    fontsize=8)  # fmt: skip
    on = [r for r in rows if r["name"] in frontier(rows)]
    ax.plot([r["headline"]["cost"] for r in on], [r["headline"]["field_accuracy"] for r in on],
            "--", color="grey", lw=1)  # fmt: skip
    ax.set_xlabel("cost of the configuration on these cases (price currency)")
    ax.set_ylabel("field accuracy")
    ax.set_title("Cost–accuracy frontier")
    ax.grid(alpha=0.3)
    return _save(plt, fig, path)


def _save(plt: Any, fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
