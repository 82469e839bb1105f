"""A disk cache of extractions, so a rerun of the same inputs makes no LLM call.

Keyed by sha256 of everything that shapes the reply: the endpoint, model, mode, prompt version +
template hash + vocabulary, schema hash, re-ask limit and form text (a reply from one endpoint is
never served for another). The value is JSON text holding the reply and the problems left after
the re-asks; forms that got no valid reply (`llm.failed`) are not stored, so a rerun sends them
again. Replies with problems left are served like the others (at temperature 0 the same request
mostly gets the same reply, and they carry their `llm.unresolved` findings); `--retry-failed`
sends them again instead. Neither key nor value contains the API key.

Only text is ever read back: a row that says it holds a pickle is a miss, never unpickled
(`_TextOnly`). A cache.db that is not a readable cache stops the run with one line naming its
folder; `--no-cache` goes on without it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path, PurePath
from typing import Any

import diskcache
from diskcache.core import MODE_RAW, MODE_TEXT, UNKNOWN

from ..errors import RunStopped


def cache_key(
    *,
    endpoint: str,
    model: str,
    mode: str,
    prompt: str,
    schema: str,
    max_reasks: int,
    chunk_text: str,
    project_line: int | None = None,
) -> str:
    """The reply's key: everything that shapes the request. Forms of one department list table
    share its text and differ by the project they are (`project_line`), so it is part of the key;
    a form that is not one of several keeps the key it always had."""
    parts: list[object] = [
        endpoint.rstrip("/"),
        model,
        mode,
        prompt,
        schema,
        max_reasks,
        chunk_text,
    ]
    if project_line is not None:
        parts.append(project_line)
    return "extract:" + hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


class CacheUnreadable(RunStopped):
    """The cache folder holds no cache we can read (a corrupt or foreign cache.db): the run stops
    at once, naming the folder; `--no-cache` runs without it."""

    def __init__(self, directory: Path, exc: BaseException) -> None:
        super().__init__(
            f"LLM cache {directory}: not a readable cache ({exc}); move the folder away, or run "
            "with --no-cache to go on without a cache"
        )


class _TextOnly(diskcache.Disk):
    """diskcache's storage, for text only. diskcache reads a row by the mode the row itself
    states, and unpickles a row that says `pickle`: a row written into a shared cache.db would
    run code in every user of it. Here a row is text (in the database, or in a file inside the
    cache folder) or nothing: anything else reads as a miss and is never unpickled."""

    def store(self, value: Any, read: bool, key: Any = UNKNOWN) -> Any:
        if not isinstance(value, str):
            raise TypeError("the reply cache stores JSON text only")
        return super().store(value, read, key=key)

    def fetch(self, mode: int, filename: Any, value: Any, read: bool) -> Any:
        if mode == MODE_RAW and isinstance(value, str):
            return value
        if mode == MODE_TEXT and _inside(filename):
            return super().fetch(mode, filename, value, read)
        return None  # a pickle, bytes, or a file outside the folder: a miss


def _inside(filename: Any) -> bool:
    """A file name diskcache made (`ab/cd/<hex>.val`), not a path out of the cache folder."""
    if not isinstance(filename, str):
        return False
    path = PurePath(filename)
    return not path.is_absolute() and ".." not in path.parts


class ReplyCache:
    """diskcache (SQLite, safe across processes) holding JSON text; `None` dir disables it.
    `create=False` (a dry run) reads an existing cache and creates nothing."""

    def __init__(self, directory: Path | None, *, create: bool = True) -> None:
        self.directory = Path(directory) if directory else None
        self._cache: diskcache.Cache | None = None
        if self.directory is None or not (create or (self.directory / "cache.db").is_file()):
            return
        try:
            self._cache = diskcache.Cache(str(self.directory), disk=_TextOnly)
        except sqlite3.DatabaseError as exc:
            raise CacheUnreadable(self.directory, exc) from None

    def get(self, key: str) -> dict[str, Any] | None:
        if self._cache is None:
            return None
        try:
            text = self._cache.get(key)
        except sqlite3.DatabaseError as exc:
            raise CacheUnreadable(self.directory or Path(), exc) from None
        if not isinstance(text, str):
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None  # a damaged entry is a miss, not a crash
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        if self._cache is None:
            return
        try:
            self._cache.set(key, json.dumps(value, ensure_ascii=False))
        except sqlite3.DatabaseError as exc:
            raise CacheUnreadable(self.directory or Path(), exc) from None

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
