"""Reviewer corrections: an append-only JSON Lines log beside a records file.

A records file is never rewritten by review; its current state is the records plus the corrections
replayed in file order. Each line says which form (by the key it had in the records file), which
field path, the old and new value, who and when:

    {"form": {"document": "a.md", "project_name": "项目管理费", "form_index": 2},
     "op": "set", "path": "funding.annual_total", "old": "2596000.00", "new": "2569000.00",
     "reviewer": "li", "time": "2024-05-01T08:00:00+00:00"}

Ops: `set` (a field), `add` / `remove` / `move` (an indicator at `index`; `path` is `indicators`),
`review` (mark the form reviewed, `new` true/false). Appends take an exclusive file lock and fsync,
so two reviewers saving at once both land. `reapply_to_file` replays a log onto a fresh extraction
and reports every correction that no longer applies instead of dropping it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from ..checks import recheck
from ..errors import StructurerError
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

try:  # POSIX advisory locks; elsewhere appends rely on O_APPEND alone
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

Op = Literal["set", "add", "remove", "move", "review"]
INDICATOR_FIELDS = ("level1", "level2", "name", "target")
_TOP = "|".join((*HEADER_FIELDS, *GOAL_FIELDS, "year"))
_FUND = "|".join(("unit", *AMOUNT_FIELDS))
_PATH = re.compile(
    rf"^(?:(?P<top>{_TOP})|funding\.(?P<fund>{_FUND})"
    rf"|indicators\[(?P<i>\d{{1,4}})\]\.(?P<ind>{'|'.join(INDICATOR_FIELDS)}))$"
)


class CorrectionsError(StructurerError):
    """A correction that cannot be made (bad path or value) or a corrections file that is broken."""


class FormKey(BaseModel):
    """How a correction names its form: as it was in the records file when corrected. The
    document is named by its identity: its path relative to the run's root and its sha256."""

    document: str | None = None
    sha256: str | None = None
    project_name: str | None = None
    form_index: int

    @classmethod
    def of(cls, record: FormRecord) -> FormKey:
        src = record.source
        return cls(
            document=src.document if src else None,
            sha256=src.sha256 if src else None,
            project_name=record.project_name,
            form_index=record.form_index,
        )


class Correction(BaseModel):
    form: FormKey
    op: Op
    path: str
    old: Any = None
    new: Any = None
    index: int | None = None  # the indicator position for add/remove/move
    reviewer: str = ""
    time: str = ""


def corrections_path_for(records: str | Path) -> Path:
    """`out.jsonl` -> `out.corrections.jsonl`, in the same folder."""
    p = Path(records)
    return p.with_name(p.stem + ".corrections.jsonl")


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


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


def _apply_set(record: FormRecord, c: Correction, strict: bool) -> str | None:
    current = get_value(record, c.path)
    if strict and not same_value(c.path, current, c.old) and not same_value(c.path, current, c.new):
        return f"value changed in the source (was {c.old!r} when corrected, now {current!r})"
    set_value(record, c.path, c.new)
    return None


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
    to = int(c.new)
    if not 0 <= to < len(record.indicators):
        return f"cannot move an indicator to {to}"
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


# --- the log file ---


def read_corrections(path: str | Path) -> list[Correction]:
    """All complete lines of a log (a line still being written by another process is skipped)."""
    p = Path(path)
    if not p.exists():
        return []
    return _parse(p.read_text(encoding="utf-8"), p)


def _parse(text: str, p: Path) -> list[Correction]:
    lines = text.split("\n")[:-1]  # the part after the last newline is not a complete line
    found = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            found.append(Correction.model_validate_json(line))
        except ValidationError as exc:
            raise CorrectionsError(f"{p}:{n}: not a correction: {exc.errors()[0]['msg']}") from None
    return found


class CorrectionLog:
    """An append-only corrections file; `locked()` gives a consistent read-check-append."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read(self) -> list[Correction]:
        return read_corrections(self.path)

    @contextmanager
    def locked(self) -> Iterator[_LockedLog]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+", encoding="utf-8", newline="\n") as fh:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield _LockedLog(fh, self.path)
            finally:
                if fcntl is not None:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def append(self, *corrections: Correction) -> None:
        with self.locked() as log:
            log.append(*corrections)


@dataclass
class _LockedLog:
    fh: Any
    path: Path

    def read(self) -> list[Correction]:
        self.fh.seek(0)
        return _parse(self.fh.read(), self.path)

    def append(self, *corrections: Correction) -> None:
        self.fh.seek(0, os.SEEK_END)
        lead = ""
        if self.fh.tell() > 0:  # a line cut off by a crash must not swallow ours
            self.fh.seek(self.fh.tell() - 1)
            lead = "" if self.fh.read(1) == "\n" else "\n"
        text = "".join(c.model_dump_json() + "\n" for c in corrections)
        self.fh.write(lead + text)
        self.fh.flush()
        os.fsync(self.fh.fileno())


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
    """What replaying a log did: applied corrections, and those that no longer apply (why)."""

    applied: list[Correction] = field(default_factory=list)
    stale: list[tuple[Correction, str]] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)

    def __str__(self) -> str:
        head = f"corrections: {len(self.applied)} applied"
        if not self.stale:
            return head
        lines = [f"{head}, {len(self.stale)} no longer apply (kept in the corrections file):"]
        for c, why in self.stale:
            name = c.form.project_name or f"form #{c.form.form_index}"
            where = c.path if c.op == "set" else f"{c.op} {c.path}[{c.index}]"
            lines.append(f"  - {name}: {where}: {why}")
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
    result = replay(records, read_corrections(corrections_path), strict=True)
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

    def __init__(self, corrections: list[Correction], *, vocab: Any = None) -> None:
        self.corrections = corrections
        self.vocab = vocab
        self.result = Replay()
        self._met: set[int] = set()  # corrections whose document was in the run

    @classmethod
    def from_file(cls, path: str | Path, *, vocab: Any = None) -> CorrectionPlan:
        return cls(read_corrections(path), vocab=vocab)

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
        return Replay(self.result.applied, self.result.stale + gone)
