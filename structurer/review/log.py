"""The corrections log file: one JSON line per correction, appended under a lock, never rewritten.

Each line says which form (by the key it had in the records file), which field path, the old and
new value, who and when:

    {"form": {"document": "a.md", "project_name": "项目管理费", "form_index": 2},
     "op": "set", "path": "funding.annual_total", "old": "2596000.00", "new": "2569000.00",
     "reviewer": "li", "time": "2024-05-01T08:00:00+00:00"}

Appends and reads hold one lock (portalocker, as every lock of the tool, on `LOG.lock` beside the
log: flock on POSIX, LockFileEx on Windows) and appends fsync, so two reviewers (or two servers) saving at once both
land and a reader never sees half a line. A line that is not a correction
never stops a reader: a last line cut off by a crash or a full disk is moved to `LOG.torn` by the
next save (kept, and reported), any other bad line is skipped and reported with its number.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, ValidationError

from ..errors import StructurerError
from ..io import describe
from ..models import FormRecord

logger = logging.getLogger("structurer")

Op = Literal["set", "add", "remove", "move", "review", "accept"]


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


@dataclass(frozen=True)
class SetAside:
    """A line of the log that is not a correction: kept, reported, never fatal."""

    line: int
    text: str
    why: str

    def __str__(self) -> str:
        shown = self.text if len(self.text) <= 60 else self.text[:60] + "…"
        return f"line {self.line}: {self.why}: {shown!r}"


def corrections_path_for(records: str | Path) -> Path:
    """`out.jsonl` -> `out.corrections.jsonl`, in the same folder."""
    p = Path(records)
    return p.with_name(p.stem + ".corrections.jsonl")


def torn_path_for(log_path: str | Path) -> Path:
    """Where cut-off last lines are kept: `out.corrections.jsonl.torn`."""
    p = Path(log_path)
    return p.with_name(p.name + ".torn")


def lock_path_for(log_path: str | Path) -> Path:
    """The lock file of a log: `out.corrections.jsonl.lock` (a file of its own, so a reader that
    only opens the log for reading can still take the lock)."""
    p = Path(log_path)
    return p.with_name(p.name + ".lock")


@contextmanager
def log_lock(log_path: str | Path) -> Iterator[bool]:
    """Hold the log's lock; yields False (unlocked) where the lock file cannot be made (a log
    read from a read-only folder): a reader then leaves a half-written last line alone."""
    import portalocker  # here: its import reads package metadata (start-up time)

    try:
        fh = lock_path_for(log_path).open("a")  # made if missing, never truncated
    except OSError:
        yield False
        return
    with fh:
        portalocker.lock(fh, portalocker.LOCK_EX)
        try:
            yield True
        finally:
            portalocker.unlock(fh)


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def parse_log(text: str, *, complete: bool) -> tuple[list[Correction], list[SetAside]]:
    """The corrections in a log's text and the lines that are not. With `complete` (read under
    the lock) text after the last newline is a cut-off line; without, it may be a line another
    process is still writing, and is left alone."""
    lines = text.split("\n")
    found: list[Correction] = []
    aside: list[SetAside] = []
    for n, line in enumerate(lines[:-1], 1):
        if not line.strip():
            continue
        try:
            found.append(Correction.model_validate_json(line))
        except ValidationError as exc:
            aside.append(SetAside(n, line, f"not a correction ({describe(exc)})"))
    if complete and lines[-1].strip():
        aside.append(SetAside(len(lines), lines[-1], "cut off (a crash or a full disk mid-save)"))
    return found, aside


def read_log(path: str | Path) -> tuple[list[Correction], list[SetAside]]:
    """Every correction of a log and the lines set aside, read under the log's lock."""
    p = Path(path)
    try:
        fh = p.open("rb")
    except FileNotFoundError:
        return [], []
    with fh, log_lock(p) as locked:  # no append is half done while we read
        text = fh.read().decode("utf-8", "replace")
    return parse_log(text, complete=locked)


def read_corrections(path: str | Path) -> list[Correction]:
    """All corrections of a log; lines that are not corrections are skipped (see read_log)."""
    return read_log(path)[0]


class CorrectionLog:
    """An append-only corrections file; `locked()` gives a consistent read-check-append."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read(self) -> list[Correction]:
        return read_corrections(self.path)

    def problems(self) -> list[SetAside]:
        """The lines of the log that are not corrections (reported, never fatal)."""
        return read_log(self.path)[1]

    @contextmanager
    def locked(self) -> Iterator[LockedLog]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with log_lock(self.path), self.path.open("a+b") as fh:
            yield LockedLog(fh, self.path)

    def append(self, *corrections: Correction) -> list[SetAside]:
        """Append under the lock; returns a cut-off last line it moved aside first, if any."""
        with self.locked() as locked:
            locked.append(*corrections)
            return locked.moved


@dataclass
class LockedLog:
    fh: IO[bytes]
    path: Path
    moved: list[SetAside] = field(default_factory=list)

    def read(self) -> list[Correction]:
        self.fh.seek(0)
        return parse_log(self.fh.read().decode("utf-8", "replace"), complete=False)[0]

    def append(self, *corrections: Correction) -> None:
        self._set_aside_cut_off_line()
        text = "".join(c.model_dump_json() + "\n" for c in corrections)
        self.fh.write(text.encode("utf-8"))
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def _set_aside_cut_off_line(self) -> None:
        """A last line without its newline was cut off by a crash (we hold the lock, so nobody is
        writing it). Appending after it would glue it to our line, and a line that is not a
        correction in the middle of the log would stay there: move it to LOG.torn instead."""
        self.fh.seek(0)
        data = self.fh.read()
        if not data or data.endswith(b"\n"):
            return
        cut = data.rfind(b"\n") + 1
        torn = torn_path_for(self.path)
        with torn.open("ab") as keep:
            keep.write(data[cut:] + b"\n")
            keep.flush()
            os.fsync(keep.fileno())
        self.fh.truncate(cut)
        line = data.count(b"\n") + 1
        moved = SetAside(line, data[cut:].decode("utf-8", "replace"), f"cut off; moved to {torn}")
        self.moved.append(moved)
        logger.warning("%s: %s", self.path, moved)
