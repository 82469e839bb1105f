"""A review session: one records file, its source documents and its corrections log.

The records may come from one document (`--source FILE`) or a whole corpus: each form is shown
beside its own document's text (found by `sources.documents_for`) and all of them are one queue
ranked by risk (`queue.py`). No web code here: the app calls these methods, tests can too. The
records file is read once and never written; every read of a form replays the log (cached while
the log file is unchanged), so two servers or two browser tabs on the same log see each other's
saves.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..checks import check_record, chunk_for, recheck
from ..checks.reviewed import finding_key
from ..errors import StructurerError
from ..io import read_records
from ..models import Chunk, Document, Finding, FormRecord
from ..vocab import Vocabulary, resolve
from .corrections import (
    Correction,
    CorrectionLog,
    CorrectionsError,
    FormKey,
    Replay,
    apply,
    corrections_path_for,
    find_form,
    get_value,
    is_reviewed,
    normalize,
    now_utc,
    same_value,
    set_value,
)
from .pages import PageRenderer, page_renderer
from .queue import Estimate, draw_sample, estimate, ranked, tier, to_review
from .sources import documents_for

logger = logging.getLogger("structurer")

Status = Literal["errors", "warnings", "clean", "reviewed"]
REASON_CHARS = 300  # an acceptance's reason is a sentence, not a document
STATUS_ORDER: dict[str, int] = {"errors": 0, "warnings": 1, "clean": 2, "reviewed": 3}


class Conflict(StructurerError):
    """The reviewer saw an older state of the form than the one in the log (someone else saved)."""

    def __init__(self, message: str, current: Any = None) -> None:
        super().__init__(message)
        self.current = current


@dataclass
class FormState:
    number: int  # 1-based position in the session: the form's address in the app
    record: FormRecord  # base record + corrections, re-checked
    chunk: Chunk | None
    document: Document | None = None  # the document the record came from, when found
    corrections: int = 0
    fixes: int = 0  # corrections that changed the record (not the reviewed mark)
    stale: list[tuple[Correction, str]] = field(default_factory=list)

    @property
    def open(self) -> list[Finding]:
        """The findings not accepted: those that flag the form."""
        return [f for f in self.record.findings if f.accepted is None]

    @property
    def status(self) -> Status:
        if is_reviewed(self.record):
            return "reviewed"
        severities = {f.severity for f in self.open}
        return (
            "errors"
            if "error" in severities
            else "warnings"
            if "warning" in severities
            else "clean"
        )

    @property
    def counts(self) -> Counter[str]:
        """Open findings by severity, and the accepted ones apart (`accepted`)."""
        return Counter("accepted" if f.accepted else f.severity for f in self.record.findings)

    @property
    def flagged(self) -> bool:
        return self.status in ("errors", "warnings")


class ReviewSession:
    def __init__(
        self,
        records_path: str | Path,
        source_path: str | Path | None = None,
        *,
        source_root: str | Path | None = None,
        corrections_path: str | Path | None = None,
        reviewer: str = "",
        vocab: Vocabulary | None = None,
        pdf: str | Path | None = None,
        sample: int = 0,
        seed: int = 0,
    ) -> None:
        self.records_path = Path(records_path)
        self.vocab = resolve(vocab)
        self.base, self.documents = documents_for(
            read_records(records_path),
            source=source_path,
            source_root=source_root,
            records_path=records_path,
            vocab=self.vocab,
        )
        if pdf is not None and len(self.documents) != 1:
            raise StructurerError("--pdf goes with one document: name it with --source")
        # the page images of each document that has pages (a PDF, or OCR JSON with --pdf)
        self.renderers: dict[str, PageRenderer | None] = {
            key: page_renderer(doc.path, doc, pdf) for key, doc in self.documents.items()
        }
        if not self.base:
            raise StructurerError(f"{records_path}: no records to review")
        self.docs = [self._document_of(r) for r in self.base]
        self.chunks = [
            chunk_for(r, d) if d else None for r, d in zip(self.base, self.docs, strict=True)
        ]
        for r, d, chunk in zip(self.base, self.docs, self.chunks, strict=True):
            recheck(r, d if chunk else None, vocab=self.vocab)
        self.log = CorrectionLog(corrections_path or corrections_path_for(records_path))
        for line in self.log.problems():  # reported, never fatal: a save sets a cut-off line aside
            logger.warning("%s: %s (kept in the file, ignored)", self.log.path, line)
        self.reviewer = reviewer
        self._cache: tuple[Any, list[FormState]] | None = None
        self._lock = threading.Lock()
        loaded = self._replay([])
        self.clean = sum(1 for s in loaded if s.status == "clean")
        self.sample = draw_sample(loaded, sample, seed)

    def _document_of(self, record: FormRecord) -> Document | None:
        name = record.source.document if record.source else None
        if name is None and len(self.documents) == 1:
            return next(iter(self.documents.values()))
        return self.documents.get(name or "")

    @property
    def pages(self) -> PageRenderer | None:
        """The page images of a single-document session."""
        return self.renderers.get(self.document.key) if len(self.documents) == 1 else None

    def renderer(self, number: int) -> PageRenderer | None:
        """The page images of form `number`'s document, if it has pages."""
        document = self.docs[number - 1]
        return self.renderers.get(document.key) if document else None

    @property
    def document(self) -> Document:
        """The one document of a single-document session (`fixture add`)."""
        if len(self.documents) != 1:
            raise StructurerError(
                f"the records come from {len(self.documents)} documents: name one with --source"
            )
        return next(iter(self.documents.values()))

    # --- the queue ---

    def queue(self) -> list[FormState]:
        """Every form, ranked by risk (see queue.py)."""
        return ranked(self.states(), self.sample)

    def estimate(self) -> Estimate | None:
        return estimate(self.states(), self.sample, self.clean)

    def tier(self, state: FormState) -> str:
        return tier(state, state.number in self.sample)

    # --- reading ---

    def states(self) -> list[FormState]:
        """Every form as it stands now; recomputed only when the log file changed."""
        stamp = self._stamp()
        with self._lock:
            if self._cache and self._cache[0] == stamp:
                return self._cache[1]
        states = self._replay(self.log.read())
        with self._lock:
            self._cache = (stamp, states)
        return states

    def state(self, number: int) -> FormState:
        states = self.states()
        if not 1 <= number <= len(states):
            raise KeyError(number)
        return states[number - 1]

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = self.log.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_size, st.st_mtime_ns)

    def _replay(self, corrections: list[Correction]) -> list[FormState]:
        records = [r.model_copy(deep=True) for r in self.base]
        parts = zip(records, self.chunks, self.docs, strict=True)
        states = [FormState(n, r, c, d) for n, (r, c, d) in enumerate(parts, 1)]
        done = Replay()
        for c in corrections:
            i = find_form(self.base, c.form)
            if i is None:
                continue  # a form of another document in a shared log
            why = apply(records[i], c, strict=False, log=self.log.path.name)
            if why is None:
                done.applied.append(c)
                done.forms.append(i)
                done.touched.add(i)
            else:
                states[i].stale.append((c, why))
        for i in done.touched:
            recheck(records[i], states[i].document if states[i].chunk else None, vocab=self.vocab)
        done.settle(records)
        for c, i in zip(done.applied, done.forms, strict=True):
            states[i].corrections += 1
            states[i].fixes += c.op not in ("review", "accept")
        for c, why in done.stale:  # acceptances whose finding the form no longer raises
            at = find_form(self.base, c.form)
            assert at is not None  # it was applied to that form
            states[at].stale.append((c, why))
        return states

    def neighbours(self, number: int) -> tuple[int | None, int | None]:
        """The previous and next forms to review (flagged or sampled), wrapping: in queue order
        from a form in the queue, else the nearest ones by position."""
        queue = to_review(self.states(), self.sample)
        if number in queue:
            at = queue.index(number)
            others = queue[at + 1 :] + queue[:at]
            return (others[-1] if others else None), (others[0] if others else None)
        before = sorted(n for n in queue if n < number)
        after = sorted(n for n in queue if n > number)
        prev = before[-1] if before else (after[-1] if after else None)
        nxt = after[0] if after else (before[0] if before else None)
        return prev, nxt

    def preview(self, number: int, path: str, new: Any) -> list[Finding]:
        """The errors and warnings of the arithmetic, hierarchy and header checks on `path` if
        it held `new`: what the page shows as the reviewer types (nothing is saved). Grounding
        is left out: a saved value is the reviewer's reading of the source."""
        value = normalize(path, new)
        record = self.state(number).record.model_copy(deep=True)
        set_value(record, path, value)
        row = path.rsplit(".", 1)[0] + "." if path.startswith("indicators[") else None
        return [
            f
            for f in check_record(record, vocab=self.vocab)
            if f.severity != "info"
            and any(p == path or (row and p.startswith(row)) for p in f.paths)
        ]

    # --- changing ---

    def edit(
        self, number: int, path: str, new: Any, *, old: Any = None, reviewer: str = ""
    ) -> bool:
        """Set a field. `old` is what the reviewer saw: a different current value is a Conflict.
        Returns False when the value is unchanged (nothing written)."""
        value = normalize(path, new)
        with self.log.locked() as log:
            state = self._replay(log.read())[self._index(number)]
            current = get_value(state.record, path)
            if old is not None and not _same_seen(path, current, old):
                raise Conflict(f"{path} was changed meanwhile to {current!r}", current)
            if current == value:
                return False
            log.append(self._correction(number, "set", path, current, value, reviewer=reviewer))
        return True

    def indicators(
        self, number: int, op: str, index: int | None, *, to: int | None = None,
        seen: int | None = None, reviewer: str = "",
    ) -> None:  # fmt: skip
        """Add (at `index`, default the end), remove or move (to `to`) an indicator. `seen` is the
        indicator count the reviewer saw: another count is a Conflict (positions moved)."""
        with self.log.locked() as log:
            record = self._replay(log.read())[self._index(number)].record
            inds = record.indicators
            if seen is not None and seen != len(inds):
                raise Conflict("the indicators were changed meanwhile; reload the form")
            old: Any = None
            new: Any = None
            if op == "add":
                index = len(inds) if index is None else index
                above = inds[index - 1] if 0 < index <= len(inds) else None
                new = {"level1": above.level1, "level2": above.level2} if above else {}
            elif op in ("remove", "move"):
                if index is None or not 0 <= index < len(inds):
                    raise CorrectionsError(f"no indicator {index}: the form has {len(inds)}")
                old = inds[index].model_dump()
                if op == "move":
                    if to is None or not 0 <= to < len(inds):
                        raise CorrectionsError(f"cannot move an indicator to {to}")
                    new = to
            else:
                raise CorrectionsError(f"unknown indicator operation {op!r}")
            c = self._correction(number, op, "indicators", old, new, reviewer=reviewer)
            log.append(c.model_copy(update={"index": index}))

    def accept(
        self, number: int, index: int, code: str, reason: str | None, *, reviewer: str = ""
    ) -> bool:
        """Accept finding `index` of form `number` (`code`: the one the reviewer saw there) with
        `reason`: it stays on the record and no longer flags the form. None withdraws it.
        Returns False when nothing changed."""
        if reason is not None:
            reason = " ".join(reason.split())[:REASON_CHARS]
            if not reason:
                raise CorrectionsError("say why the finding stands (a reason is required)")
        with self.log.locked() as log:
            record = self._replay(log.read())[self._index(number)].record
            if not 0 <= index < len(record.findings) or record.findings[index].code != code:
                raise Conflict("the findings changed meanwhile; reload the form")
            found = record.findings[index]
            if found.severity == "info":
                raise CorrectionsError("an info finding flags nothing: there is nothing to accept")
            if reason is None and found.accepted is None:
                return False
            path = found.paths[0] if found.paths else ""
            key = finding_key(found)
            log.append(self._correction(number, "accept", path, key, reason, reviewer=reviewer))
        return True

    def mark_reviewed(self, number: int, reviewed: bool = True, *, reviewer: str = "") -> None:
        self._index(number)
        self.log.append(self._correction(number, "review", "", None, reviewed, reviewer=reviewer))

    def _index(self, number: int) -> int:
        if not 1 <= number <= len(self.base):
            raise KeyError(number)
        return number - 1

    def _correction(
        self, number: int, op: str, path: str, old: Any, new: Any, *, reviewer: str
    ) -> Correction:
        return Correction(
            form=FormKey.of(self.base[number - 1]),
            op=op,  # type: ignore[arg-type]
            path=path,
            old=old,
            new=new,
            reviewer=reviewer or self.reviewer,
            time=now_utc(),
        )


def _same_seen(path: str, current: Any, seen: Any) -> bool:
    if str(current if current is not None else "") == str(seen):
        return True
    try:
        return same_value(path, current, normalize(path, seen))
    except CorrectionsError:
        return False
