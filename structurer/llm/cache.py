"""A disk cache of extractions, so a rerun of the same inputs makes no LLM call.

Keyed by sha256 of (model, mode, prompt version + template hash, schema hash, chunk text); the
value is JSON text (never a pickle) holding the reply and the problems left after the re-asks.
Neither key nor value contains the API key or the endpoint's credentials.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import diskcache


def cache_key(*, model: str, mode: str, prompt: str, schema: str, chunk_text: str) -> str:
    parts = json.dumps([model, mode, prompt, schema, chunk_text], ensure_ascii=False)
    return "extract:" + hashlib.sha256(parts.encode()).hexdigest()


class ReplyCache:
    """diskcache (SQLite, safe across processes) holding JSON text; `None` dir disables it."""

    def __init__(self, directory: Path | None) -> None:
        self._cache = diskcache.Cache(str(directory)) if directory else None

    def get(self, key: str) -> dict[str, Any] | None:
        if self._cache is None:
            return None
        text = self._cache.get(key)
        if not isinstance(text, str):
            return None
        try:
            return json.loads(text)
        except ValueError:
            return None  # a damaged entry is a miss, not a crash

    def put(self, key: str, value: dict[str, Any]) -> None:
        if self._cache is not None:
            self._cache.set(key, json.dumps(value, ensure_ascii=False))

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
