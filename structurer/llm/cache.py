"""A disk cache of extractions, so a rerun of the same inputs makes no LLM call.

Keyed by sha256 of everything that shapes the reply: the endpoint, model, mode, prompt version +
template hash + vocabulary, schema hash, re-ask limit and form text (a reply from one endpoint is
never served for another). The value is JSON text (never a pickle) holding the reply and the
problems left after the re-asks; forms that got no valid reply (`llm.failed`) are not stored, so
a rerun sends them again. Replies with problems left are served like the others (at temperature 0
the same request mostly gets the same reply, and they carry their `llm.unresolved` findings);
`--retry-failed` sends them again instead. Neither key nor value contains the API key.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import diskcache


def cache_key(
    *,
    endpoint: str,
    model: str,
    mode: str,
    prompt: str,
    schema: str,
    max_reasks: int,
    chunk_text: str,
) -> str:
    parts = [endpoint.rstrip("/"), model, mode, prompt, schema, max_reasks, chunk_text]
    return "extract:" + hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


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
