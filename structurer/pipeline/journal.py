"""The journal `OUT.jsonl.partial`: every finished record, appended as it finishes.

It is the output in the making: each line is a record exactly as the output will hold it. When
the run ends, the journal becomes the output by a rename when its lines are already in document
order (the usual case), else the output is assembled from it in order, line by line by offset,
and renamed into place; either way the output appears whole or not at all, and memory stays flat.

Re-running the same command after an interruption (Ctrl-C, a crash, a full disk) reuses the
journal's records of the same inputs and the same run (backend, model, prompt version and
vocabulary: `meta.run`) and extracts only the rest. Records with a `*.failed` finding are never
reused: those forms are tried again. A line cut off by the interruption is dropped.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any, BinaryIO

import portalocker

from ..errors import OutputError
from ..io import is_stream, publish, why
from .forms import FormResult, parse_line, summarize_line


def journal_path(out: str | Path) -> Path:
    """`OUT.partial` beside the output; for a device or pipe (`-o /dev/null`), where nothing may
    be created beside it, a file in the temp directory named after the output's path."""
    out = Path(out)
    if is_stream(out):
        key = hashlib.sha256(str(out.absolute()).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"structurer-{key}.jsonl.partial"
    return out.with_name(out.name + ".partial")


def lock_path(journal: Path) -> Path:
    return journal.with_name(journal.name.removesuffix(".partial") + ".lock")


class RunLock:
    """An exclusive lock on a lock file that names its holder (pid, host, start time, command).

    Taken without waiting: a file someone else holds is an OutputError naming them. Removed when
    released; a run that was killed leaves the file unlocked (the system drops the lock), and the
    next run takes it over."""

    TRIES = 5  # a lock file removed by its holder between our open and lock: open again

    def __init__(self, path: Path, output: str | Path) -> None:
        self.path = path
        self.output = output
        self._fh: IO[str] | None = None

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(self.TRIES):
            fh = self.path.open("a+", encoding="utf-8")
            try:
                portalocker.lock(fh, portalocker.LOCK_EX | portalocker.LOCK_NB)
            except portalocker.LockException:
                holder = _holder(fh)
                fh.close()
                raise OutputError(
                    str(self.output),
                    f"another run is writing it ({holder}); wait for it to end or choose "
                    "another output",
                ) from None
            if _same_file(fh, self.path):  # else its holder removed it as we opened it
                self._fh = fh
                _write_holder(fh)
                return self
            fh.close()
        raise OutputError(str(self.output), f"cannot take the lock {self.path}")

    def release(self) -> None:
        if self._fh is None:
            return
        # while still held: a run that opened it meanwhile sees it gone and opens anew;
        # Windows removes no open file: there the next run takes it over as it is
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)
        portalocker.unlock(self._fh)
        self._fh.close()
        self._fh = None


def _same_file(fh: IO[str], path: Path) -> bool:
    try:
        mine, now = os.fstat(fh.fileno()), os.stat(path)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (now.st_dev, now.st_ino)


def _write_holder(fh: IO[str]) -> None:
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:200]
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()} on {socket.gethostname()} since {started}: {command}")
    fh.flush()


def _holder(fh: IO[str]) -> str:
    """What the holder wrote; on Windows its lock keeps the bytes from us: just 'another run'."""
    try:
        fh.seek(0)
        text = " ".join(fh.read(400).split())
    except OSError:
        text = ""
    return text or "its lock is held"


class Journal:
    """Append finished records; look up reusable ones; turn into the output at the end."""

    def __init__(self, path: str | Path, identity: dict[str, Any]) -> None:
        self.path = Path(path)
        output = self.path.with_name(self.path.name.removesuffix(".partial"))
        self.lock = RunLock(lock_path(self.path), output).acquire()
        self.identity = identity
        self.spans: dict[str, tuple[int, int]] = {}  # key -> (offset, bytes) of its good line
        self.reused: dict[str, FormResult] = {}  # what an earlier run finished, by key
        self.sequence: list[str] = []  # keys of the lines in file order (unusable ones as "")
        self.ignored: Counter[str] = Counter()  # why lines of an earlier run are not reused
        try:
            self._fh: BinaryIO = self.path.open("a+b")
            self._load()
        except BaseException:
            self.lock.release()
            raise

    # --- reading what an interrupted run left ---

    def _load(self) -> None:
        self._fh.seek(0)
        offset = 0
        for raw in self._fh:  # line by line: a journal may be larger than memory
            if not raw.endswith(b"\n"):  # cut off mid-write: drop it, or ours would glue on
                self._fh.truncate(offset)
                self.ignored["cut off"] += 1
                break
            self._index(raw[:-1], offset)
            offset += len(raw)
        self._fh.seek(0, os.SEEK_END)

    def _index(self, raw: bytes, offset: int) -> None:
        data = parse_line(raw.decode("utf-8", "replace"))
        meta = (data or {}).get("meta") or {}
        key = meta.get("job") if isinstance(meta, dict) else None
        why = self._unusable(data, meta, key)
        if why:
            self.ignored[why] += 1
            self.sequence.append("")
            return
        result = summarize_line(key, data or {})
        result.reused = True
        self.reused[key] = result
        self.spans[key] = (offset, len(raw))
        self.sequence.append(key)

    def _unusable(self, data: dict[str, Any] | None, meta: Any, key: Any) -> str | None:
        if data is None or not isinstance(key, str):
            return "unreadable"
        if meta.get("run") != self.identity:
            return "another backend, model or vocabulary"
        if any(str(f.get("code", "")).endswith(".failed") for f in data.get("findings") or []):
            return "failed"
        return None

    def reusable(self, key: str) -> FormResult | None:
        return self.reused.get(key)

    def line(self, key: str) -> str:
        offset, length = self.spans[key]
        self._fh.flush()
        with self.path.open("rb") as fh:
            fh.seek(offset)
            return fh.read(length).decode("utf-8")

    # --- writing ---

    def append(self, result: FormResult) -> None:
        data = result.line.encode("utf-8") + b"\n"
        offset = self._fh.tell()
        try:
            self._fh.write(data)
            self._fh.flush()  # a crash loses at most the form being written
        except OSError as exc:  # a full disk: the run stops, the journal keeps what it holds
            raise OutputError(str(self.path), why(exc)) from None
        self.spans[result.key] = (offset, len(data) - 1)
        self.sequence.append(result.key)

    def close(self) -> None:
        try:
            self._fh.close()  # flushes what a failed write left in the buffer: may fail again
        except OSError as exc:
            raise OutputError(str(self.path), why(exc)) from None
        finally:
            self.lock.release()

    def finish(self, out: str | Path, order: Iterable[tuple[str, str | None]]) -> None:
        """Write the output: the journal's records in `order` (key, or a replacement line for a
        corrected record), atomically; then the journal is gone."""
        out = Path(out)
        order = list(order)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        keys = [k for k, _ in order]
        if keys == self.sequence and all(line is None for _, line in order) and self._untouched():
            self._fh.close()
            publish(self.path, out)  # already the output, line for line
            return
        tmp = self.path.with_name(f".{out.name}.assembling")  # beside the journal: one disk
        try:
            with tmp.open("wb") as dest, self.path.open("rb") as src:
                for key, line in order:
                    dest.write(self._bytes(src, key, line))
                dest.flush()
                os.fsync(dest.fileno())
            publish(tmp, out)
        except OSError as exc:
            raise OutputError(str(out), why(exc)) from None
        finally:
            tmp.unlink(missing_ok=True)
        self._fh.close()
        self.path.unlink(missing_ok=True)

    def _untouched(self) -> bool:
        """Nothing but this run wrote to the journal (its end is where our last line ended):
        only then may it become the output as it is; else the output takes only our lines."""
        return os.fstat(self._fh.fileno()).st_size == self._fh.tell()

    def _bytes(self, src: BinaryIO, key: str, line: str | None) -> bytes:
        if line is not None:
            return line.encode("utf-8") + b"\n"
        offset, length = self.spans[key]
        src.seek(offset)
        return src.read(length) + b"\n"
