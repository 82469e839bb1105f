"""The rules as a shadow reader of every LLM form: a recall check and the cells labels point at.

The rules read a form cell by cell from its labels in a few milliseconds, so every LLM form is
also read by them. Where the two readings differ the LLM record gets a `hybrid.disagreement`
finding. Severity, and why:
- **error** when the LLM record lacks or changes a value the rules read *and* the source holds
  (no grounding error on the rules' value): an amount or the money unit that differs or is
  missing, an indicator row left out, a target that differs on a matched indicator, a header
  value or goal left out, a goal cut short. These are the silent failures of an LLM (dropped
  rows, truncated text, a rewritten number, an obeyed instruction in a cell) and nothing else
  would report them; a reviewer must look. When the rules misread instead, the reviewer settles
  it in one look at the named cell, and once grounding binds values to labels the rules'
  misreading carries its own grounding error and the disagreement falls to a warning.
- **warning** otherwise: text that differs (cleaning and wrapping differ between readers; a swap
  of two labelled texts is grounding's to judge), level names (the hierarchy checks and grounding
  judge them), and everything the LLM read but the rules did not (the rules may not know the
  layout; grounding judges whether the LLM's value is in the source).
Errors go back to the model in the re-ask, each with the cell the rules read it from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ..checks.funding import check_funding
from ..checks.grounding import ground_record, normalize
from ..checks.indicators import check_indicators
from ..models import (
    AMOUNT_FIELDS,
    GOAL_FIELDS,
    HEADER_FIELDS,
    Finding,
    FormRecord,
    Grid,
    Indicator,
    Job,
)
from ..read.values import parse_target, same_amount
from ..rules.indicators import looks_like_target
from ..vocab import Vocabulary
from .prompt import point_at, row_holding

log = logging.getLogger("structurer")
CODE = "hybrid.disagreement"
TEXT_FIELDS = (*HEADER_FIELDS, *GOAL_FIELDS)


@dataclass(frozen=True)
class Shadow:
    """The rules' reading of one form and which of its values the source holds."""

    record: FormRecord
    ungrounded: frozenset[str]  # paths of the rules record with a grounding error
    grid: Grid
    faults: tuple[Finding, ...] = ()  # the printed amounts' own funding errors (sums)

    def grounded(self, path: str) -> bool:
        return path not in self.ungrounded

    def confirms(self, path: str, value: str | None) -> bool:
        """Whether `value` at `path` (funding.<amount>) is what the rules read and ground."""
        ours = self.record.value(path)
        return ours is not None and self.grounded(path) and same_amount(ours, value)

    def cell(self, path: str) -> str | None:
        """`R<row> <col>:<text>` of the cell the rules read `path` from (its label's cell)."""
        ref = self.record.source.cells.get(path) if self.record.source else None
        return point_at(self.grid, ref.line, ref.col, self.record.value(path)) if ref else None


def rules_record(job: Job, vocab: Vocabulary) -> FormRecord | None:
    """The rules' record of a job, None if the rules crash on it (logged: a rules bug)."""
    from ..rules import extract_form

    try:
        return extract_form(job.chunk, job.grid, vocab)
    except Exception:  # one form's rules bug must not cost the LLM its go at it
        log.exception("rules failed on form %d", job.chunk.index)
        return None


def read_shadow(job: Job, vocab: Vocabulary) -> Shadow | None:
    record = rules_record(job, vocab)
    if record is None:
        return None
    vocab = vocab.for_form(job.chunk.text)  # as the rules read it: the form's family
    found = ground_record(record, job.chunk.text, vocab, job.grid)
    ungrounded = {p for f in found if f.severity == "error" for p in f.paths}
    # an indicator the rules read but doubt (no target, no name: a row cut by wrapping) is no
    # reading to hold a model to
    doubted = {
        p.split(".")[0] + "." + "name"
        for f in check_indicators(record, vocab)
        if f.severity in ("error", "warning")
        for p in f.paths
        if p.startswith("indicators[")
    }
    # nor a target that does not look like one (a wrapped name's tail read as its target)
    doubted |= {
        f"indicators[{j}].target"
        for j, ind in enumerate(record.indicators)
        if ind.target and not looks_like_target(ind.target, vocab)
    }
    faults = tuple(f for f in check_funding(record, vocab) if f.severity == "error")
    return Shadow(record, frozenset(ungrounded | doubted), job.grid, faults)


def recall_findings(llm: FormRecord, shadow: Shadow) -> list[Finding]:
    """`hybrid.disagreement` findings of an LLM record against the rules' reading."""
    return (
        _amount_findings(llm, shadow)
        + _text_findings(llm, shadow)
        + _indicator_findings(llm, shadow)
    )


def _amount_findings(llm: FormRecord, shadow: Shadow) -> list[Finding]:
    out = []
    for name in ("unit", *AMOUNT_FIELDS):  # a unit read wrong scales every amount by 10,000
        path = f"funding.{name}"
        ours, theirs = shadow.record.value(path), llm.value(path)
        if same_amount(ours, theirs):
            continue
        if ours is not None and shadow.grounded(path):
            where = shadow.cell(path)
            at = f" (the cell its label points at: {where})" if where else ""
            message = f"{path}: the record has {theirs}, the form prints {ours}{at}"
            out.append(_finding("error", message + _fault_note(path, shadow), path, theirs, ours))
        else:
            message = f"{path}: the record has {theirs}, the rules read {ours}"
            out.append(_finding("warning", message, path, theirs, ours))
    return out


def _fault_note(path: str, shadow: Shadow) -> str:
    """Why a sum that holds in the record can still be wrong: the printed amounts do not add up."""
    fault = next((f for f in shadow.faults if path in f.paths), None)
    if fault is None:
        return ""
    return f"; the form's own amounts do not add up ({fault.message}): keep them as printed"


def _text_findings(llm: FormRecord, shadow: Shadow) -> list[Finding]:
    out = []
    for path in TEXT_FIELDS:
        ours, theirs = getattr(shadow.record, path), getattr(llm, path)
        if _norm(ours) == _norm(theirs):
            continue
        if ours is None:
            message = f"{path}: the rules read nothing, the record has {_short(theirs)!r}"
            out.append(_finding("warning", message, path, theirs, ours))
            continue
        cut = theirs is not None and path in GOAL_FIELDS and _norm(theirs) in _norm(ours)
        if (theirs is None or cut) and shadow.grounded(path):
            what = "is cut short" if cut else "is missing"
            where = shadow.cell(path)
            at = f" (cell {_short(where)})" if where else ""
            message = f"{path} {what}: the form has {_short(ours)!r}{at}"
            out.append(_finding("error", message, path, theirs, ours))
        else:
            message = f"{path} is {_short(theirs or '')!r}, the rules read {_short(ours)!r}"
            out.append(_finding("warning", message, path, theirs, ours))
    return out


def _indicator_findings(llm: FormRecord, shadow: Shadow) -> list[Finding]:
    pairs, lost, extra = _match_indicators(shadow.record.indicators, llm.indicators)
    out = []
    for j in lost:
        ind = shadow.record.indicators[j]
        grounded = shadow.grounded(f"indicators[{j}].name")
        row = row_holding(shadow.grid, ind.name or "") if grounded else None
        at = f" on row {row}" if row else ""
        message = f"indicators: the form has indicator {ind.name!r}{at}; the record lacks it"
        severity = "error" if grounded else "warning"
        out.append(_finding(severity, message, "indicators", None, ind.name))
    for i in extra:
        name = llm.indicators[i].name
        message = f"indicators[{i}] {name!r}: the rules did not read this indicator"
        out.append(_finding("warning", message, f"indicators[{i}]", name, None))
    for j, i in pairs:
        out += _pair_findings(j, shadow, i, llm.indicators[i])
    return out


def _pair_findings(j: int, shadow: Shadow, i: int, theirs: Indicator) -> list[Finding]:
    ours = shadow.record.indicators[j]
    out = []
    if not _same_target(ours, theirs):
        path = f"indicators[{i}].target"
        grounded = ours.target is not None and shadow.grounded(f"indicators[{j}].target")
        row = row_holding(shadow.grid, ours.name or "") if grounded else None
        at = f" (its row: {row})" if row else ""
        message = (
            f"{path} of {theirs.name!r} is {theirs.target!r}, the form has {ours.target!r}{at}"
        )
        out.append(
            _finding("error" if grounded else "warning", message, path, theirs.target, ours.target)
        )
    for level in ("level1", "level2"):
        a, b = getattr(ours, level), getattr(theirs, level)
        if a != b:
            path = f"indicators[{i}].{level}"
            message = f"{path} of {theirs.name!r} is {b!r}, the rules read {a!r}"
            out.append(_finding("warning", message, path, b, a))
    return out


def _match_indicators(
    ours: list[Indicator], theirs: list[Indicator]
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """(rules index, llm index) pairs matched by name, then the unmatched of each side. A name
    one side wraps or cuts differently matches when one contains the other."""
    free = {i: _norm(ind.name) for i, ind in enumerate(theirs)}
    pairs, lost = [], []
    for j, ind in enumerate(ours):
        name = _norm(ind.name)
        i = next((i for i, n in free.items() if n == name), None)
        if i is None:
            i = next((i for i, n in free.items() if n and name and (n in name or name in n)), None)
        if i is None:
            lost.append(j)
        else:
            pairs.append((j, i))
            del free[i]
    return pairs, lost, sorted(free)


def _same_target(a: Indicator, b: Indicator) -> bool:
    if _norm(a.target) == _norm(b.target):
        return True
    x, y = parse_target(a.target), parse_target(b.target)
    return x.value is not None and (x.op, x.value, x.unit) == (y.op, y.value, y.unit)


def _norm(text: str | None) -> str:
    return normalize(text) if text else ""


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


def _finding(severity: str, message: str, path: str, llm: Any, rules: Any) -> Finding:
    return Finding(
        severity=severity,  # type: ignore[arg-type]
        code=CODE,
        message=message,
        paths=[path],
        values={"llm": llm, "rules": rules},
    )
