"""What review leaves on a record, and what the checker makes of it.

A reviewer's correction is their reading of the source: the checker treats the corrected value as
attested. Its findings that ask "does the source say this?" (grounding, an OCR repair, a
rules-vs-LLM disagreement) are dropped for that field, and an info finding `review.corrected`
says what the value replaced, when and in which log. Arithmetic and hierarchy checks still run
on it. An accepted finding stays in the record, marked `accepted: {reason, at}`: it no longer
flags the form.

The corrections (review/corrections.py) leave two traces in `record.meta`, so that every later
check of the record (`check`, a re-extract, the review app) sees them without the log:

    "corrected": {"funding.annual_total": {"old": "5800000.00", "new": "5900000.00",
                  "time": "2024-05-01T08:00:00+00:00", "log": "out.corrections.jsonl", "by": "li"}}
    "accepted": [{"code": "funding.annual_identity", "paths": [...], "values": {...},
                  "reason": "the form prints this sum", "at": "2024-05-01T08:00:00+00:00"}]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..models import Acceptance, Finding, FormRecord
from ..read.values import amount_value
from .finding import finding

CORRECTED = "review.corrected"
# findings about whether the source holds a value: a correction attests its value
ATTESTED = ("grounding.", "funding.amount_repaired", "hybrid.disagreement")
_INDICATOR = re.compile(r"^indicators\[(\d+)\](.*)$")


# --- the traces (written by the corrections, read by the checker) ---


def corrected(record: FormRecord) -> dict[str, dict[str, Any]]:
    """The corrected fields of a record: path -> {old, new, time, log, by}."""
    found = record.meta.get("corrected")
    if not isinstance(found, dict):
        return {}
    return {p: e for p, e in found.items() if isinstance(p, str) and isinstance(e, dict)}


def accepted(record: FormRecord) -> list[dict[str, Any]]:
    """The accepted findings of a record: {code, paths, values, reason, at}."""
    found = record.meta.get("accepted")
    return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []


def mark_corrected(record: FormRecord, path: str, old: Any, new: Any, **about: str) -> None:
    """Note that `path` now holds the reviewer's `new`; `old` is the value it replaced (the
    first one, when a field is corrected twice). Set back to that value, it is no longer a
    correction."""
    marks = corrected(record)
    first = marks.get(path, {}).get("old", old)
    if _same(path, first, new):
        marks.pop(path, None)
    else:
        marks[path] = {"old": first, "new": new, **about}
    _store(record, "corrected", marks)


def accept(record: FormRecord, key: dict[str, Any], reason: str | None, at: str) -> None:
    """Accept the finding `key` names ({code, paths, values}) with `reason`; None withdraws it."""
    kept = [e for e in accepted(record) if not same_key(e, key)]
    if reason is not None:
        kept.append({**finding_key(key), "reason": reason, "at": at})
    _store(record, "accepted", kept)


def finding_key(f: Finding | dict[str, Any]) -> dict[str, Any]:
    """What names a finding across runs: its code, paths and values."""
    if isinstance(f, Finding):
        return {"code": f.code, "paths": list(f.paths), "values": dict(f.values)}
    return {"code": f.get("code"), "paths": list(f.get("paths") or []),
            "values": dict(f.get("values") or {})}  # fmt: skip


def same_key(a: Finding | dict[str, Any], b: Finding | dict[str, Any]) -> bool:
    return finding_key(a) == finding_key(b)


def move_indicators(record: FormRecord, where: Callable[[int], int | None]) -> None:
    """Keep the traces on their indicators when indicators are added, removed or moved: `where`
    maps an old position to the new one (None: removed)."""
    marks = {}
    for path, entry in corrected(record).items():
        moved = _moved(path, where)
        if moved is not None:
            marks[moved] = entry
    _store(record, "corrected", marks)
    kept = []
    for entry in accepted(record):
        paths = [_moved(p, where) for p in entry.get("paths") or []]
        if None not in paths:
            kept.append({**entry, "paths": paths})
    _store(record, "accepted", kept)


def _moved(path: str, where: Callable[[int], int | None]) -> str | None:
    m = _INDICATOR.match(path)
    if not m:
        return path
    to = where(int(m[1]))
    return None if to is None else f"indicators[{to}]{m[2]}"


def _store(record: FormRecord, key: str, value: Any) -> None:
    if value:
        record.meta[key] = value
    else:
        record.meta.pop(key, None)


def _same(path: str, a: Any, b: Any) -> bool:
    """Equal as the field means it: '' is None, amounts compare as numbers."""
    a, b = (None if v == "" else v for v in (a, b))
    if a is not None and b is not None and path.startswith("funding.") and path != "funding.unit":
        number = amount_value(str(a))
        return number is not None and number == amount_value(str(b))
    return bool(a == b)


# --- the checker's side ---


def apply_review(record: FormRecord, findings: list[Finding]) -> list[Finding]:
    """`findings` as review left the record: nothing questions a corrected value's source, each
    correction says so (review.corrected), accepted findings are marked. Idempotent."""
    marks = corrected(record)
    out = [
        f
        for f in findings
        if f.code != CORRECTED and not (f.code.startswith(ATTESTED) and _on(f, marks))
    ]
    out += [_corrected_finding(path, entry) for path, entry in marks.items()]
    taken = accepted(record)
    for f in out:
        entry = next((e for e in taken if same_key(e, f)), None)
        f.accepted = (
            Acceptance(reason=str(entry["reason"]), at=str(entry.get("at", "")))
            if (entry)
            else None
        )
    return out


def _on(f: Finding, marks: dict[str, dict[str, Any]]) -> bool:
    """Whether the value a finding is about (its first path) was corrected."""
    return bool(f.paths) and f.paths[0] in marks


def _corrected_finding(path: str, entry: dict[str, Any]) -> Finding:
    old, new = entry.get("old"), entry.get("new")
    when, log = str(entry.get("time") or "?"), str(entry.get("log") or "?")
    return finding(
        "info",
        CORRECTED,
        f"{path} corrected in review: {old!r} replaced by {new!r} ({when}, {log})",
        [path],
        old="" if old is None else old,
        new="" if new is None else new,
        time=when,
        log=log,
        by=str(entry.get("by") or ""),
    )


def unmatched(record: FormRecord) -> list[dict[str, Any]]:
    """The accepted findings the record no longer raises (the source or the record changed)."""
    return [e for e in accepted(record) if not any(same_key(e, f) for f in record.findings)]
