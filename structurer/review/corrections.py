"""Reviewer corrections: what each one changes, and replaying a log onto records.

A records file is never rewritten by review; its current state is the records plus the corrections
replayed in file order (the log file itself is `log.py`). Ops: `set` (a field), `add` / `remove` /
`move` (an indicator at `index`; `path` is `indicators`), `review` (mark the form reviewed, `new`
true/false). `reapply_to_file` replays a log onto a fresh extraction and reports every correction
that no longer applies, and every line of the log that is not a correction, instead of dropping
or crashing on it: a hand-edited value of the wrong type is a correction that does not apply.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..checks import recheck
from ..io import read_records, write_records
from ..models import (
    AMOUNT_FIELDS,
    GOAL_FIELDS,
    HEADER_FIELDS,
    Document,
    FormRecord,
    Indicator,
)
from ..read.values import amount_value, parse_amount, parse_date, parse_target
from .log import (  # re-exported: the log's line format is part of this module's interface
    Correction,
    CorrectionLog,
    CorrectionsError,
    FormKey,
    SetAside,
    corrections_path_for,
    now_utc,
    read_corrections,
    read_log,
)

__all__ = [
    "Correction",
    "CorrectionLog",
    "CorrectionPlan",
    "CorrectionsError",
    "FormKey",
    "Replay",
    "SetAside",
    "apply",
    "corrections_path_for",
    "find_form",
    "get_value",
    "is_reviewed",
    "normalize",
    "now_utc",
    "read_corrections",
    "reapply_to_file",
    "replay",
    "same_document",
    "same_value",
    "set_value",
]

INDICATOR_FIELDS = ("level1", "level2", "name", "target")
_TOP = "|".join((*HEADER_FIELDS, *GOAL_FIELDS, "year"))
_FUND = "|".join(("unit", *AMOUNT_FIELDS))
_PATH = re.compile(
    rf"^(?:(?P<top>{_TOP})|funding\.(?P<fund>{_FUND})"
    rf"|indicators\[(?P<i>\d{{1,4}})\]\.(?P<ind>{'|'.join(INDICATOR_FIELDS)}))$"
)


# --- field paths and values ---


def check_path(path: str) -> re.Match[str]:
    m = _PATH.match(path)
    if not m:
        raise CorrectionsError(f"not an editable field: {path!r}")
    return m


def get_value(record: FormRecord, path: str) -> Any:
    m = check_path(path)
    if m["top"]:
        return getattr(record, m["top"])
    if m["fund"]:
        return getattr(record.funding, m["fund"])
    i = int(m["i"])
    if i >= len(record.indicators):
        raise CorrectionsError(f"{path}: the form has {len(record.indicators)} indicators")
    return getattr(record.indicators[i], m["ind"])


def set_value(record: FormRecord, path: str, value: Any) -> None:
    """Set a field; a target also sets its op/value/unit (parsed, never typed by hand)."""
    m = check_path(path)
    if m["top"]:
        setattr(record, m["top"], value)
    elif m["fund"]:
        setattr(record.funding, m["fund"], value)
    else:
        get_value(record, path)  # range check
        ind = record.indicators[int(m["i"])]
        if m["ind"] == "target":
            t = parse_target(value)
            ind.target, ind.op, ind.value, ind.unit = t.target, t.op, t.value, t.unit
        else:
            setattr(ind, m["ind"], value)


def normalize(path: str, raw: Any) -> Any:
    """A value as typed -> as stored: amounts as decimal strings, ISO dates, '' -> None."""
    m = check_path(path)
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    if m["top"] == "year":
        if not text.isdigit() or len(text) != 4:
            raise CorrectionsError(f"{path}: not a year: {text!r}")
        return int(text)
    if m["fund"] and m["fund"] != "unit":
        try:
            return parse_amount(text)[0]
        except ValueError:
            raise CorrectionsError(f"{path}: not an amount: {text!r}") from None
    if m["top"] in ("start_date", "end_date"):
        return parse_date(text)
    if m["ind"] == "target":
        return parse_target(text).target
    return text


def same_value(path: str, a: Any, b: Any) -> bool:
    """Equal as the field means it: '' is None, amounts compare as numbers."""
    a = None if a == "" else a
    b = None if b == "" else b
    if a is None or b is None:
        return a is b
    if path.startswith("funding.") and path != "funding.unit":
        va, vb = amount_value(str(a)), amount_value(str(b))
        if va is not None and vb is not None:
            return va == vb
    return str(a) == str(b)


def _indicator(data: Any) -> Indicator:
    try:
        ind = Indicator.model_validate(data or {})
    except ValidationError as exc:
        raise CorrectionsError(f"not an indicator: {exc.errors()[0]['msg']}") from None
    t = parse_target(ind.target)
    ind.target, ind.op, ind.value, ind.unit = t.target, t.op, t.value, t.unit
    return ind


def _same_indicator(a: Indicator, data: Any) -> bool:
    b = _indicator(data)
    return all(getattr(a, f) == getattr(b, f) for f in INDICATOR_FIELDS)


# --- applying one correction ---


def apply(record: FormRecord, c: Correction, *, strict: bool) -> str | None:
    """Apply `c` to `record`. Returns why it no longer applies (then nothing changed), else None.

    Strict (a fresh extraction): the old value must still be there. Not strict (the review app
    replaying its own log): a set always wins, so the last save of a field counts.
    """
    try:
        return _APPLY[c.op](record, c, strict)
    except CorrectionsError as exc:
        return str(exc)
    except (ValueError, TypeError) as exc:  # a hand-edited line the checks above did not foresee
        return f"not a valid correction: {exc}"


def _apply_set(record: FormRecord, c: Correction, strict: bool) -> str | None:
    current = get_value(record, c.path)
    new = _stored(c.path, c.new)
    if strict and not same_value(c.path, current, c.old) and not same_value(c.path, current, new):
        return f"value changed in the source (was {c.old!r} when corrected, now {current!r})"
    set_value(record, c.path, new)
    return None


def _stored(path: str, value: Any) -> Any:
    """A logged value as the record stores it. The app logs it so already; a hand edit may give
    an object, a list or a non-number for an amount: that correction does not apply."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, str | int | float)):
        raise CorrectionsError(f"{path}: not a value: {value!r}")
    return normalize(path, value)


def _apply_add(record: FormRecord, c: Correction, strict: bool) -> str | None:
    n = len(record.indicators)
    index = n if c.index is None else c.index
    if not 0 <= index <= n:
        return f"cannot add an indicator at {index}: the form has {n}"
    record.indicators.insert(index, _indicator(c.new))
    return None


def _moved_one(record: FormRecord, c: Correction) -> str | None:
    n = len(record.indicators)
    if c.index is None or not 0 <= c.index < n:
        return f"no indicator {c.index}: the form has {n}"
    if c.old is not None and not _same_indicator(record.indicators[c.index], c.old):
        return f"indicator {c.index} changed in the source"
    return None


def _apply_remove(record: FormRecord, c: Correction, strict: bool) -> str | None:
    if why := _moved_one(record, c):
        return why
    del record.indicators[c.index or 0]
    return None


def _apply_move(record: FormRecord, c: Correction, strict: bool) -> str | None:
    if why := _moved_one(record, c):
        return why
    to = c.new
    if isinstance(to, bool) or not isinstance(to, int) or not 0 <= to < len(record.indicators):
        return f"cannot move an indicator to {to!r}"
    record.indicators.insert(to, record.indicators.pop(c.index or 0))
    return None


def _apply_review(record: FormRecord, c: Correction, strict: bool) -> str | None:
    if c.new:
        record.meta["reviewed"] = {"by": c.reviewer, "time": c.time}
    else:
        record.meta.pop("reviewed", None)
    return None


_APPLY: dict[str, Callable[[FormRecord, Correction, bool], str | None]] = {
    "set": _apply_set,
    "add": _apply_add,
    "remove": _apply_remove,
    "move": _apply_move,
    "review": _apply_review,
}


def is_reviewed(record: FormRecord) -> bool:
    return bool(record.meta.get("reviewed"))


# --- matching forms and replaying ---


def find_form(records: list[FormRecord], key: FormKey) -> int | None:
    """Index in `records` of the form `key` names: same document and project (several forms of
    one name: the same or nearest position), or by position when the key has no project name."""
    docs = [i for i, r in enumerate(records) if same_document(key, r)]
    if key.project_name is None:
        return next((i for i in docs if records[i].form_index == key.form_index), None)
    named = [i for i in docs if records[i].project_name == key.project_name]
    if not named:
        return None
    return min(named, key=lambda i: abs(records[i].form_index - key.form_index))


def same_document(key: FormKey, record: FormRecord) -> bool:
    """Whether `record` comes from the document `key` names: the same name and, where both
    know it, the same content. Either side without a name matches (records without a source)."""
    src = record.source
    if key.document is None or src is None or src.document is None:
        return True
    if src.document != key.document:
        return False
    return not (key.sha256 and src.sha256 and key.sha256 != src.sha256)


@dataclass
class Replay:
    """What replaying a log did: applied corrections, those that no longer apply (why), and the
    lines of the log that are not corrections at all."""

    applied: list[Correction] = field(default_factory=list)
    stale: list[tuple[Correction, str]] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)
    set_aside: list[SetAside] = field(default_factory=list)

    def __str__(self) -> str:
        head = f"corrections: {len(self.applied)} applied"
        lines = [head]
        if self.stale:
            lines = [f"{head}, {len(self.stale)} no longer apply (kept in the corrections file):"]
        for c, why in self.stale:
            name = c.form.project_name or f"form #{c.form.form_index}"
            where = c.path if c.op == "set" else f"{c.op} {c.path}[{c.index}]"
            lines.append(f"  - {name}: {where}: {why}")
        if self.set_aside:
            lines.append(f"{len(self.set_aside)} lines of the log are not corrections (kept):")
            lines += [f"  - {line}" for line in self.set_aside]
        return "\n".join(lines)


def replay(records: list[FormRecord], corrections: list[Correction], *, strict: bool) -> Replay:
    """Apply `corrections` in order to `records` (changed in place)."""
    result = Replay()
    for c in corrections:
        i = find_form(records, c.form)
        why = "form gone" if i is None else apply(records[i], c, strict=strict)
        if why is None and i is not None:
            result.applied.append(c)
            result.touched.add(i)
        else:
            result.stale.append((c, why or "form gone"))
    return result


def reapply_to_file(
    records_path: str | Path,
    corrections_path: str | Path,
    *,
    sources: list[Document] | None = None,
) -> Replay:
    """Re-apply a corrections log to a freshly extracted records file, rewriting it atomically.

    Each corrected form is re-checked, against its source chunk when its document is among
    `sources`; otherwise without source text, keeping the grounding findings that need it.
    The log itself is never changed."""
    records = read_records(records_path)
    corrections, set_aside = read_log(corrections_path)
    result = replay(records, corrections, strict=True)
    result.set_aside = set_aside
    docs = {d.key: d for d in sources or []}
    for i in sorted(result.touched):
        source = records[i].source
        recheck(records[i], docs.get(source.document or "") if source else None)
    write_records(records_path, records)
    return result


class CorrectionPlan:
    """A corrections log re-applied to a fresh extraction one document at a time, as the
    pipeline finishes each (its `DocumentFix`): a correction goes only to the document it names
    (the same relative path; when it recorded the content's sha256, the same content), so a fix
    made on 2024/预算.md never reaches 2025/预算.md. What no longer applies is reported."""

    def __init__(
        self,
        corrections: list[Correction],
        *,
        vocab: Any = None,
        set_aside: list[SetAside] | None = None,
    ) -> None:
        self.corrections = corrections
        self.vocab = vocab
        self.result = Replay(set_aside=list(set_aside or []))
        self._met: set[int] = set()  # corrections whose document was in the run

    @classmethod
    def from_file(cls, path: str | Path, *, vocab: Any = None) -> CorrectionPlan:
        """The log's corrections; its lines that are not corrections are reported, not fatal."""
        corrections, set_aside = read_log(path)
        return cls(corrections, vocab=vocab, set_aside=set_aside)

    def _names(self, c: Correction, document: Document) -> bool:
        return c.form.document is None or c.form.document == document.key

    def wants(self, document: Document) -> bool:
        return any(self._names(c, document) for c in self.corrections)

    def apply(self, document: Document, records: list[FormRecord]) -> set[int]:
        mine: list[Correction] = []
        for n, c in enumerate(self.corrections):
            if n in self._met or not self._names(c, document):
                continue
            self._met.add(n)
            if c.form.sha256 and document.sha256 and c.form.sha256 != document.sha256:
                why = "the document's content changed since the correction"
                self.result.stale.append((c, why))
            else:
                mine.append(c)
        done = replay(records, mine, strict=True)
        for i in sorted(done.touched):
            recheck(records[i], document, vocab=self.vocab)
        self.result.applied += done.applied
        self.result.stale += done.stale
        return done.touched

    def report(self) -> Replay:
        """What was applied and what not (with why), including corrections of documents this run
        did not read."""
        gone = [
            (c, "its document was not in this run")
            for n, c in enumerate(self.corrections)
            if n not in self._met
        ]
        return Replay(
            self.result.applied, self.result.stale + gone, set_aside=self.result.set_aside
        )
