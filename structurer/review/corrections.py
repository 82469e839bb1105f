"""Reviewer corrections: what each one changes, and replaying a log onto records.

A records file is never rewritten by review; its current state is the records plus the corrections
replayed in file order (the log file itself is `log.py`). Ops: `set` (a field), `add` / `remove` /
`move` (an indicator at `index`; `path` is `indicators`), `review` (mark the form reviewed, `new`
true/false), `accept` (a finding, named in `old` by its code, paths and values, stands: `new` is
the reviewer's reason, null withdraws it). A correction leaves its trace in the record's meta
(checks/reviewed.py), so every later check treats the corrected value as attested and keeps the
accepted finding marked. Field paths and values: `fields.py`.

`reapply_to_file` and `CorrectionPlan` replay a log onto a fresh extraction and report every
correction that no longer applies, and every line of the log that is not a correction, instead of
dropping or crashing on it: a hand-edited value of the wrong type is a correction that does not
apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..checks import recheck
from ..checks import reviewed as traces
from ..io import read_records, write_records
from ..models import Document, FormRecord
from .fields import (  # re-exported: field paths are part of this module's interface
    INDICATOR_FIELDS,
    as_indicator,
    get_value,
    normalize,
    same_indicator,
    same_value,
    set_value,
)
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
    "INDICATOR_FIELDS",
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
    "unmatched_acceptances",
]

# --- applying one correction ---


def apply(record: FormRecord, c: Correction, *, strict: bool, log: str = "") -> str | None:
    """Apply `c` (from the log named `log`) to `record`. Returns why it no longer applies (then
    nothing changed), else None.

    Strict (a fresh extraction): the old value must still be there. Not strict (the review app
    replaying its own log): a set always wins, so the last save of a field counts.
    """
    try:
        return _APPLY[c.op](record, c, strict, {"time": c.time, "log": log, "by": c.reviewer})
    except CorrectionsError as exc:
        return str(exc)
    except (ValueError, TypeError) as exc:  # a hand-edited line the checks above did not foresee
        return f"not a valid correction: {exc}"


def _apply_set(record: FormRecord, c: Correction, strict: bool, about: About) -> str | None:
    current = get_value(record, c.path)
    new = _stored(c.path, c.new)
    if strict and not same_value(c.path, current, c.old) and not same_value(c.path, current, new):
        return f"value changed in the source (was {c.old!r} when corrected, now {current!r})"
    set_value(record, c.path, new)
    traces.mark_corrected(record, c.path, current, get_value(record, c.path), **about)
    return None


def _stored(path: str, value: Any) -> Any:
    """A logged value as the record stores it. The app logs it so already; a hand edit may give
    an object, a list or a non-number for an amount: that correction does not apply."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, str | int | float)):
        raise CorrectionsError(f"{path}: not a value: {value!r}")
    return normalize(path, value)


def _apply_add(record: FormRecord, c: Correction, strict: bool, about: About) -> str | None:
    n = len(record.indicators)
    index = n if c.index is None else c.index
    if not 0 <= index <= n:
        return f"cannot add an indicator at {index}: the form has {n}"
    added = as_indicator(c.new)
    record.indicators.insert(index, added)
    traces.move_indicators(record, lambda i: i + 1 if i >= index else i)
    for name in INDICATOR_FIELDS:  # the reviewer's row: what it holds is their reading
        if getattr(added, name) is not None:
            path = f"indicators[{index}].{name}"
            traces.mark_corrected(record, path, None, getattr(added, name), **about)
    return None


def _moved_one(record: FormRecord, c: Correction) -> str | None:
    n = len(record.indicators)
    if c.index is None or not 0 <= c.index < n:
        return f"no indicator {c.index}: the form has {n}"
    if c.old is not None and not same_indicator(record.indicators[c.index], c.old):
        return f"indicator {c.index} changed in the source"
    return None


def _apply_remove(record: FormRecord, c: Correction, strict: bool, about: About) -> str | None:
    if why := _moved_one(record, c):
        return why
    gone = c.index or 0
    del record.indicators[gone]
    traces.move_indicators(record, lambda i: None if i == gone else i - (i > gone))
    return None


def _apply_move(record: FormRecord, c: Correction, strict: bool, about: About) -> str | None:
    if why := _moved_one(record, c):
        return why
    to = c.new
    if isinstance(to, bool) or not isinstance(to, int) or not 0 <= to < len(record.indicators):
        return f"cannot move an indicator to {to!r}"
    order = list(range(len(record.indicators)))
    order.insert(to, order.pop(c.index or 0))
    record.indicators.insert(to, record.indicators.pop(c.index or 0))
    traces.move_indicators(record, order.index)
    return None


def _apply_review(record: FormRecord, c: Correction, strict: bool, about: About) -> str | None:
    if c.new:
        record.meta["reviewed"] = {"by": c.reviewer, "time": c.time}
    else:
        record.meta.pop("reviewed", None)
    return None


def _apply_accept(record: FormRecord, c: Correction, strict: bool, about: About) -> str | None:
    """Whether the finding is still raised is known only once the record is re-checked: the
    replay reports an acceptance that matched nothing (see `unmatched_acceptances`)."""
    key = c.old if isinstance(c.old, dict) else None
    if key is None or not isinstance(key.get("code"), str):
        return f"not a finding: {c.old!r}"
    if c.new is not None and not isinstance(c.new, str):
        return f"not a reason: {c.new!r}"
    traces.accept(record, key, c.new, c.time)
    return None


About = dict[str, str]  # when, in which log and by whom a correction was made
_APPLY: dict[str, Callable[[FormRecord, Correction, bool, About], str | None]] = {
    "set": _apply_set,
    "add": _apply_add,
    "remove": _apply_remove,
    "move": _apply_move,
    "review": _apply_review,
    "accept": _apply_accept,
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
    forms: list[int] = field(default_factory=list)  # the record index of each applied correction

    def settle(self, records: list[FormRecord]) -> None:
        """After the touched records were re-checked: an acceptance whose finding is no longer
        raised (the source or the record changed) leaves the record and is reported."""
        gone = {i: found for i in self.touched if (found := unmatched_acceptances(records[i]))}
        applied, forms = [], []
        for c, i in zip(self.applied, self.forms, strict=True):
            if c.op == "accept" and any(traces.same_key(c.old, e) for e in gone.get(i, ())):
                self.stale.append((c, NOT_RAISED))
            else:
                applied.append(c)
                forms.append(i)
        self.applied, self.forms = applied, forms

    def __str__(self) -> str:
        head = f"corrections: {len(self.applied)} applied"
        lines = [head]
        if self.stale:
            lines = [f"{head}, {len(self.stale)} no longer apply (kept in the corrections file):"]
        for c, why in self.stale:
            name = c.form.project_name or f"form #{c.form.form_index}"
            lines.append(f"  - {name}: {_what(c)}: {why}")
        if self.set_aside:
            lines.append(f"{len(self.set_aside)} lines of the log are not corrections (kept):")
            lines += [f"  - {line}" for line in self.set_aside]
        return "\n".join(lines)


NOT_RAISED = "the accepted finding is no longer raised (the source or the record changed)"


def _what(c: Correction) -> str:
    if c.op == "set":
        return c.path
    if c.op == "accept":
        code = c.old.get("code") if isinstance(c.old, dict) else c.old
        return f"accepted {code} on {c.path or 'the form'}"
    return f"{c.op} {c.path}[{c.index}]"


def unmatched_acceptances(record: FormRecord) -> list[dict[str, Any]]:
    """The record's accepted findings it no longer raises, taken off the record."""
    gone = traces.unmatched(record)
    for entry in gone:
        traces.accept(record, entry, None, "")
    return gone


def replay(
    records: list[FormRecord], corrections: list[Correction], *, strict: bool, log: str = ""
) -> Replay:
    """Apply `corrections` (from the log named `log`) in order to `records` (changed in place).
    Re-check the touched records, then `settle` the result."""
    result = Replay()
    for c in corrections:
        i = find_form(records, c.form)
        why = "form gone" if i is None else apply(records[i], c, strict=strict, log=log)
        if why is None and i is not None:
            result.applied.append(c)
            result.forms.append(i)
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
    result = replay(records, corrections, strict=True, log=Path(corrections_path).name)
    result.set_aside = set_aside
    docs = {d.key: d for d in sources or []}
    for i in sorted(result.touched):
        source = records[i].source
        recheck(records[i], docs.get(source.document or "") if source else None)
    result.settle(records)
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
        log: str = "",
    ) -> None:
        self.corrections = corrections
        self.vocab = vocab
        self.log = log
        self.result = Replay(set_aside=list(set_aside or []))
        self._met: set[int] = set()  # corrections whose document was in the run

    @classmethod
    def from_file(cls, path: str | Path, *, vocab: Any = None) -> CorrectionPlan:
        """The log's corrections; its lines that are not corrections are reported, not fatal."""
        corrections, set_aside = read_log(path)
        return cls(corrections, vocab=vocab, set_aside=set_aside, log=Path(path).name)

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
        done = replay(records, mine, strict=True, log=self.log)
        for i in sorted(done.touched):
            recheck(records[i], document, vocab=self.vocab)
        done.settle(records)
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
