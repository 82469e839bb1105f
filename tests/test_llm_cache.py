"""The LLM cache reads only JSON text, never a pickle whatever a row says, and a corrupt
cache.db is one line naming its folder, the run stopping unless --no-cache (issue 21, items 13
and 14)."""

from __future__ import annotations

import pickle
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import SEED_CASE, read_jsonl
from fake_openai_server import FakeOpenAI, gold_responder
from typer.testing import CliRunner

from structurer.cli import app
from structurer.llm.cache import CacheUnreadable, ReplyCache

runner = CliRunner()
SEED = str(SEED_CASE / "source.md")


@pytest.fixture(scope="module")
def gold() -> list[dict[str, Any]]:
    return read_jsonl(SEED_CASE / "gold.jsonl")


class Planted:
    """What a tampered row would run when unpickled: it leaves a file behind."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.write_text, (self.marker, "ran"))


def test_a_row_that_says_pickle_is_never_unpickled(tmp_path: Path) -> None:
    folder, marker = tmp_path / "cache", tmp_path / "ran.txt"
    cache = ReplyCache(folder)
    cache.put("k", {"reply": 1})
    assert cache.get("k") == {"reply": 1}
    cache.close()
    with sqlite3.connect(folder / "cache.db") as db:  # mode 4 is diskcache's MODE_PICKLE
        db.execute(
            "UPDATE Cache SET mode = 4, value = ? WHERE key = ?",
            (sqlite3.Binary(pickle.dumps(Planted(marker))), "k"),
        )
    cache = ReplyCache(folder)
    try:
        assert cache.get("k") is None  # a miss: the form is asked again
    finally:
        cache.close()
    assert not marker.exists()


def test_only_json_text_is_stored(tmp_path: Path) -> None:
    cache = ReplyCache(tmp_path)
    try:
        with pytest.raises(TypeError):
            cache._cache.set("k", {"not": "text"})  # type: ignore[union-attr]
    finally:
        cache.close()


def test_a_corrupt_cache_is_one_line_naming_its_folder(tmp_path: Path, gold) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / "cache.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheUnreadable, match=str(folder)):
        ReplyCache(folder)
    out = tmp_path / "out.jsonl"
    with FakeOpenAI(gold_responder(gold)) as server:
        args = ["extract", SEED, "-o", str(out), "-b", "llm", "--model", "m"]
        args += ["--base-url", server.url, "--cache-dir", str(folder)]
        stopped = runner.invoke(app, args)
        assert stopped.exit_code == 2
        [line] = stopped.stderr.strip().splitlines()[-1:]
        assert line.startswith(f"structurer: error: LLM cache {folder}: not a readable cache")
        assert "--no-cache" in line and "Traceback" not in stopped.output
        assert server.requests == [] and not out.exists()
        uncached = runner.invoke(app, [*args, "--no-cache"])  # the user's choice: go on
    assert uncached.exit_code == 0, uncached.output
    assert len(read_jsonl(out)) == len(gold)
