"""report.md of an eval run: the headline table, what changed, the wrong fields per case."""

from __future__ import annotations

from typing import Any

_MD_COLUMNS = (
    ("forms", lambda m: f"{m['forms_found']}/{m['forms_expected']} (+{m['forms_extra']})"),
    ("fields", lambda m: pct(m["field_accuracy"])),
    ("goals mean/worst", lambda m: f"{pct(m['goal_mean'])} / {pct(m['goal_worst'])}"),
    (
        "ind P/R/F1",
        lambda m: "/".join(pct(m[f"indicator_{k}"]) for k in ("precision", "recall", "f1")),
    ),
    (
        "L1/L2/target",
        lambda m: "/".join(pct(m[f"{k}_accuracy"]) for k in ("level1", "level2", "target")),
    ),
    ("findings", lambda m: f"{m['findings_raised']}/{m['findings_expected']}"),
    ("unexpected errors", lambda m: str(m["unexpected_errors"])),
    ("wrong / silent", lambda m: f"{m.get('forms_wrong', 0)} / {m.get('silent_errors', 0)}"),
    (
        "wrong values / unflagged",
        lambda m: f"{m.get('values_wrong', 0)} / {m.get('unflagged_wrong_values', 0)}",
    ),
    ("errors on gold", lambda m: str(m.get("errors_on_gold", 0))),
)
MAX_MD_FIELD_ERRORS = 25
MAX_MD_MISMATCHES = 60  # per case: report.json keeps them all


def pct(value: float | None) -> str:
    """A share as shown in every report and table: `95.5%`, `-` when there is none."""
    return "-" if value is None else f"{value * 100:.1f}%"


def render_markdown(data: dict[str, Any]) -> str:
    """report.md: the headline table, what changed, then the wrong fields per case."""
    lines = [
        f"# Eval report: {data['backend']}" + (f" ({data['model']})" if data.get("model") else ""),
        "",
        f"{data['date']} · commit {data.get('commit') or '?'}",
        "",
        "| case | " + " | ".join(c for c, _ in _MD_COLUMNS) + " |",
        "|---" * (len(_MD_COLUMNS) + 1) + "|",
    ]
    rows = [(c["name"], c["metrics"]) for c in data["cases"]] + [("**overall**", data["overall"])]
    rows += [(f"**{k}**", m) for k, m in data.get("groups", {}).items()]
    for name, metrics in rows:
        lines.append(f"| {name} | " + " | ".join(f(metrics) for _, f in _MD_COLUMNS) + " |")
    lines += [
        "",
        "A form is *wrong* when any field, goal or indicator is (a missing or extra form too); "
        "*silent* when its record carries no error finding, so nobody would look at it. "
        "A wrong value is *unflagged* when no error or warning finding names its path. "
        "*Errors on gold*: the checker's errors on the hand-labelled (correct) record checked "
        "against its own source, each a correct value accused.",
    ]
    lines += _md_layouts(data.get("layouts") or {})
    lines += _md_first_contact(data)
    lines += _md_field_errors(data.get("field_errors") or {})
    if "calls" in data["overall"]:
        o = data["overall"]
        lines += [
            "",
            f"LLM: {o['calls']} calls, {o['prompt_tokens']} prompt + "
            f"{o['completion_tokens']} completion tokens, {o['cache_hits']} cache hits, "
            f"{o.get('llm_seconds_per_form', '-')} s per form.",
        ]
    lines += _md_changes(data.get("changes"))
    for case in data["cases"]:
        lines += _md_mismatches(case)
    return "\n".join(lines) + "\n"


_LAYOUT_KINDS = ("real", "synthetic")


def _md_layouts(layouts: dict[str, dict[str, Any]]) -> list[str]:
    """Per layout, the real documents' numbers beside the synthetic ones: forms found, field
    accuracy, indicator F1, silent errors."""
    if not layouts:
        return []
    head = " | ".join(f"{k} forms | {k} fields | {k} F1 | {k} silent" for k in _LAYOUT_KINDS)
    out = ["", "## By layout: real documents beside synthetic ones", "", f"| layout | {head} |"]
    out.append("|---" * (1 + 4 * len(_LAYOUT_KINDS)) + "|")
    for layout, kinds in layouts.items():
        cells = []
        for kind in _LAYOUT_KINDS:
            m = kinds.get(kind)
            cells += (
                [
                    f"{m['forms_found']}/{m['forms_expected']}",
                    pct(m["field_accuracy"]),
                    pct(m["indicator_f1"]),
                    str(m.get("silent_errors", 0)),
                ]
                if m
                else ["-"] * 4
            )
        out.append(f"| {layout} | " + " | ".join(cells) + " |")
    return out


_THEN_NOW = (
    ("forms", lambda m: f"{m['forms_found']}/{m['forms_expected']}"),
    ("fields", lambda m: pct(m["field_accuracy"])),
    ("indicator F1", lambda m: pct(m["indicator_f1"])),
    ("silent forms", lambda m: str(m.get("silent_errors", 0))),
    (
        "unflagged",
        lambda m: f"{m.get('unflagged_wrong_values', 0)} of {m.get('values_wrong', 0)}",
    ),
)


def _md_first_contact(data: dict[str, Any]) -> list[str]:
    """Each case with a first-contact record: what the rules read when it was first seen
    (labelled before any rule changed for it) beside what they read now."""
    cases = [c for c in data["cases"] if c.get("first_contact")]
    if not cases:
        return []
    head = " | ".join(f"{name} then → now" for name, _ in _THEN_NOW)
    out = [
        "",
        "## First contact beside now",
        "",
        "*Then*: the records the rules wrote when the case was first seen, before any rule was "
        "changed for it (`first-contact.jsonl`), scored against today's gold. *Now*: this run.",
        "",
        f"| case | {head} |",
        "|---" * (1 + len(_THEN_NOW)) + "|",
    ]
    rows = [(c["name"], c["first_contact"], c["metrics"]) for c in cases]
    total = data.get("first_contact") or {}
    if total:
        rows.append((f"**{total['cases']} cases**", total["then"], total["now"]))
    for name, then, now in rows:
        cells = [f"{f(then)} → {f(now)}" for _, f in _THEN_NOW]
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return out


def _md_field_errors(errors: dict[str, int]) -> list[str]:
    if not errors:
        return []
    out = ["", "## Wrong fields by path (all cases)", "", "| field | wrong |", "|---|---|"]
    out += [f"| {path} | {n} |" for path, n in list(errors.items())[:MAX_MD_FIELD_ERRORS]]
    return out


def _md_changes(changes: list[dict[str, Any]] | None) -> list[str]:
    if changes is None:
        return []
    if not changes:
        return ["", "## Changes", "", "No change from the previous report."]
    out = ["", "## Changes (regressions first)", ""]
    for c in changes:
        mark = "WORSE" if c["worse"] else "better"
        out.append(
            f"- {mark} · {c['case']} · {c['metric']}: {_md(c['before'])} -> {_md(c['after'])}"
        )
    return out


def _md_mismatches(case: dict[str, Any]) -> list[str]:
    items = case["mismatches"]
    if not items:
        return []
    out = [
        "",
        f"## {case['name']}: {len(items)} wrong fields",
        "",
        "| form | field | gold | got | note |",
        "|---|---|---|---|---|",
    ]
    for m in items[:MAX_MD_MISMATCHES]:
        out.append(
            f"| {_md(m['form'])} | {m['field']} | {_md(m['gold'])} | {_md(m['got'])} | {_md(m['note'])} |"
        )
    if len(items) > MAX_MD_MISMATCHES:
        out.append(f"\n... {len(items) - MAX_MD_MISMATCHES} more in report.json")
    return out


def _md(value: Any, limit: int = 80) -> str:
    text = "null" if value is None else str(value)
    text = text.replace("|", "\\|").replace("\n", " ⏎ ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
