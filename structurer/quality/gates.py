"""What CI holds each case to (its case.toml `[gate]`), and the ratchet that raises it.

A case is gated per field group at its own scores, so that any regression fails `eval --gate`:
every form found (`forms = "all"`), header, funding, goals and indicators at least their minimum
(`min_header`, `min_funding`, `min_goals`, `min_f1`, `min_indicator_parts`; `min_fields` is
header and funding together), no more silent forms, unflagged wrong values or errors on the gold
record than allowed (`max_silent`, `max_unflagged`, `max_errors_on_gold`), every finding the gold
expects raised (`findings = "all"`).

`ratchet` raises the gates to the scores of a run where they are better (a minimum up, a maximum
down, "all" once all), never lowers one, adds the keys a case lacks (a new case with only
`forms = "all"`), and rewrites case.toml keeping its comments and order (tomlkit). A minimum is
written rounded *down* to 4 decimals, so losing one value of up to 10,000 in a group fails it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .scoring import INDICATOR_PARTS, SCORED_FUNDING, SCORED_HEADER, CaseScore

# gate key -> the score it holds at least
MINIMUMS = ("min_header", "min_funding", "min_fields", "min_goals", "min_f1",
            "min_indicator_parts")  # fmt: skip
# gate key -> the count it holds at most
MAXIMUMS = {"max_silent": "silent_errors", "max_unflagged": "unflagged_wrong_values",
            "max_errors_on_gold": "errors_on_gold"}  # fmt: skip
DIGITS = 4


def group_scores(case: CaseScore) -> dict[str, float | None]:
    """The scores the minimums hold, unrounded; None where the case has nothing to score."""
    m = case.metrics()
    wrong = case.field_errors()
    missing = case.forms_expected - case.forms_found
    parts = sum(case.part_correct[p] for p in INDICATOR_PARTS)

    def share_right(fields: list[str]) -> float | None:
        total = len(fields) * case.forms_expected
        bad = sum(wrong.get(f, 0) for f in fields) + missing * len(fields)
        return 1 - bad / total if total else None

    goals = case.goal_scores
    return {
        "min_header": share_right(list(SCORED_HEADER)),
        "min_funding": share_right([f"funding.{f}" for f in SCORED_FUNDING]),
        "min_fields": _exact(case.fields_correct, case.fields_total),
        "min_goals": sum(goals) / len(goals) if goals else None,
        "min_f1": m["indicator_f1"],
        "min_indicator_parts": _exact(parts, len(INDICATOR_PARTS) * case.ind_gold),
    }


def _exact(n: int, total: int) -> float | None:
    return n / total if total else None


def gate_failures(case: CaseScore, gate: dict[str, Any]) -> list[str]:
    """What a case falls short of in its case.toml `[gate]`, one line each."""
    m = case.metrics()
    out = []
    if gate.get("forms") == "all" and (m["forms_found"] != m["forms_expected"] or m["forms_extra"]):
        out.append(f"forms {m['forms_found']}/{m['forms_expected']} (+{m['forms_extra']})")
    for key, value in group_scores(case).items():
        if key in gate and value is not None and value < gate[key]:
            out.append(f"{key.removeprefix('min_')} {value:.4f} < {gate[key]}")
    for key, metric in MAXIMUMS.items():
        if key in gate and m[metric] > gate[key]:
            out.append(f"{metric.replace('_', ' ')} {m[metric]} > {gate[key]}")
    if gate.get("findings") == "all" and m["findings_missed"]:
        out.append(f"expected findings missed: {m['findings_missed']}")
    return [f"{case.name}: {reason}" for reason in out]


@dataclass
class Raise:
    case: str
    key: str
    before: Any  # None: the key was not there
    after: Any

    def __str__(self) -> str:
        was = "(none)" if self.before is None else self.before
        return f"{self.case}: {self.key} {was} -> {self.after}"


def raised_gate(case: CaseScore, gate: dict[str, Any]) -> dict[str, Any]:
    """The gate this case's scores allow: each key at the better of its value and the score."""
    m = case.metrics()
    new = dict(gate)
    if not m["forms_extra"] and m["forms_found"] == m["forms_expected"]:
        new["forms"] = "all"
    for key, value in group_scores(case).items():
        if value is not None:
            floor = math.floor(value * 10**DIGITS) / 10**DIGITS
            new[key] = max(floor, gate.get(key, 0.0))
    for key, metric in MAXIMUMS.items():
        new[key] = min(m[metric], gate.get(key, m[metric]))
    if not m["findings_missed"]:
        new["findings"] = "all"
    return new


def ratchet(folder: Path, case: CaseScore) -> list[Raise]:
    """Raise `folder/case.toml`'s [gate] to `case`'s scores where better; the changes made."""
    import tomlkit

    path = folder / "case.toml"
    doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    if "gate" not in doc:
        doc.add(tomlkit.nl())
        doc["gate"] = tomlkit.table()
    table = doc["gate"]
    old = table.unwrap()  # type: ignore[union-attr]
    changes = []
    for key, value in raised_gate(case, old).items():
        if old.get(key) != value:
            changes.append(Raise(case.name, key, old.get(key), value))
            table[key] = value  # type: ignore[index]
    if changes:
        from ..io import atomic_write_text

        atomic_write_text(path, tomlkit.dumps(doc))
    return changes
