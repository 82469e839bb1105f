"""A dry run says what it does and needs no key; batch submit says when it sends (issue 23,
item 3). Token counts: tiktoken's where its encoding is installed, else the estimate, saying
which (item 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import SEED_CASE, read_jsonl
from fake_openai_server import FakeOpenAI, gold_responder
from typer.testing import CliRunner

from structurer.cli import app
from structurer.llm import estimate as estimate_module

runner = CliRunner()
SEED = str(SEED_CASE / "source.md")


@pytest.fixture(scope="module")
def gold() -> list[dict[str, Any]]:
    return read_jsonl(SEED_CASE / "gold.jsonl")


# --- dry run ---


def test_a_dry_run_needs_no_key_sends_and_writes_nothing(tmp_path: Path) -> None:
    out, cache = tmp_path / "out.jsonl", tmp_path / "cache"
    args = ["extract", SEED, "-o", str(out), "-b", "llm", "--model", "gpt-4o-mini"]
    result = runner.invoke(app, [*args, "--cache-dir", str(cache), "--dry-run"])  # no key set
    assert result.exit_code == 0, result.output
    assert "dry run: nothing sent" in result.stderr
    assert not out.exists() and not cache.exists()  # no output, no cache created
    real = runner.invoke(app, args)  # the real run still wants the key, in one line
    assert real.exit_code == 2 and "no API key" in real.stderr


def test_the_dry_run_help_says_what_it_does() -> None:
    text = " ".join(runner.invoke(app, ["extract", "--help"]).stdout.split())
    for words in ("nothing is sent", "no output or cache is written", "no API key is needed"):
        assert words in text


def test_batch_submit_that_sends_does_not_call_itself_a_dry_run(tmp_path: Path, gold) -> None:
    with FakeOpenAI(gold_responder(gold)) as server:
        args = ["batch", "submit", SEED, "--model", "m", "--base-url", server.url, "--no-cache"]
        sent = runner.invoke(app, [*args, "--batch-file", str(tmp_path / "b.jsonl")])
        dry = runner.invoke(app, [*args, "--batch-file", str(tmp_path / "d.jsonl"), "--dry-run"])
    assert sent.exit_code == 0, sent.output
    assert "dry run" not in sent.output and "to send" in sent.output
    assert "submitted" in sent.output
    assert "dry run: nothing sent" in dry.output and "submitted" not in dry.output


# --- token counts ---


def test_without_the_encoding_file_the_estimate_is_used_and_said(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))  # empty: nothing installed
    counter = estimate_module.token_counter("gpt-4o-mini")
    assert counter is estimate_module.ESTIMATE
    assert counter.method.startswith("estimated")


def test_with_an_installed_encoding_tiktoken_counts(tmp_path, monkeypatch) -> None:
    tiktoken = pytest.importorskip("tiktoken")
    # a real tiktoken encoding (one token per byte), standing in for o200k_base's file, which
    # is not shipped: what is tested is that the estimate uses tiktoken's count when it can
    encoding = tiktoken.Encoding(
        "o200k_base",
        pat_str=r".",
        mergeable_ranks={bytes([b]): b for b in range(256)},
        special_tokens={},
    )
    monkeypatch.setattr(estimate_module, "encoding_installed", lambda name: True)
    monkeypatch.setattr(tiktoken, "get_encoding", lambda name: encoding)
    counter = estimate_module.token_counter("gpt-4o-mini")
    assert counter.method == "counted by tiktoken o200k_base"
    assert counter.count("预算abc") == len("预算abc".encode())  # bytes here, not 1 per CJK
    other = estimate_module.token_counter("qwen-plus")  # a model tiktoken does not know
    assert other.method == "counted by tiktoken o200k_base, not qwen-plus's own tokenizer"
    result = runner.invoke(
        app, ["extract", SEED, "-o", str(tmp_path / "o.jsonl"), "-b", "llm", "--model",
              "gpt-4o-mini", "--no-cache", "--dry-run"],
    )  # fmt: skip
    assert "tokens counted by tiktoken o200k_base" in " ".join(result.stderr.split())


def test_the_encoding_is_looked_up_where_tiktoken_caches_it(tmp_path, monkeypatch) -> None:
    import hashlib

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert not estimate_module.encoding_installed("o200k_base")
    blob = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    (tmp_path / hashlib.sha1(blob.encode()).hexdigest()).write_bytes(b"")
    assert estimate_module.encoding_installed("o200k_base")


def test_batch_submit_dry_run_needs_no_key_either(tmp_path: Path) -> None:
    batch = tmp_path / "b.jsonl"
    result = runner.invoke(
        app, ["batch", "submit", SEED, "--model", "gpt-4o-mini", "--no-cache", "--batch-file",
              str(batch), "--dry-run"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(batch.read_text(encoding="utf-8").splitlines()) == 13
    assert "nothing sent" in result.output and "no API key" not in result.output
