"""Batch mode end to end against the local stand-in's files and batches endpoints: the lines
carry the live requests, submit -> status -> collect gives the live records, failing replies are
re-asked live, and the ways a job can go wrong end in one clear line."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import SEED_CASE, read_jsonl
from fake_openai_server import FakeOpenAI, Reply, completion, gold_reply, gold_responder
from fake_openai_server import prompt_text as text_of
from test_llm import CONTENT, content
from typer.testing import CliRunner

from structurer.backends import make_backend
from structurer.cli import app
from structurer.pipeline import extract_to_file, plan_jobs
from structurer.read import load_document

runner = CliRunner()


@pytest.fixture(scope="module")
def gold() -> list[dict[str, Any]]:
    return read_jsonl(SEED_CASE / "gold.jsonl")


def invoke(*args: str | Path) -> Any:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def submit(url: str, source: Path, folder: Path, *extra: str) -> Any:
    return invoke("batch", "submit", source, "--model", "m", "--base-url", url, "--no-cache",
                  "--batch-file", folder / "b.jsonl", *extra)  # fmt: skip


def collect(folder: Path, *extra: str | Path) -> Any:
    return invoke("batch", "collect", folder / "b.job.json", "-o", folder / "out.jsonl",
                  "--no-cache", *extra)  # fmt: skip


def without_meta(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "meta"}


@pytest.mark.parametrize("mode", ["tools", "json", "json_schema"])
def test_batch_lines_carry_exactly_the_live_requests(tmp_path, gold, mode) -> None:
    source = SEED_CASE / "source.md"
    with FakeOpenAI(gold_responder(gold)) as server:
        backend = make_backend("llm", base_url=server.url, model="m", mode=mode, no_cache=True)
        extract_to_file([load_document(source)], tmp_path / "live.jsonl", backend)
        result = submit(server.url, source, tmp_path, "--mode", mode, "--dry-run")
    assert result.exit_code == 0, result.output
    assert server.batches == {}  # dry run: nothing uploaded
    lines = read_jsonl(tmp_path / "b.jsonl")
    keys = [j.key for j in plan_jobs([load_document(source)])]
    assert [x["custom_id"] for x in lines] == keys
    assert {(x["method"], x["url"]) for x in lines} == {("POST", "/v1/chat/completions")}
    live = {text_of(body): body for body in server.requests}
    assert [x["body"] for x in lines] == [live[text_of(x["body"])] for x in lines]
    job = json.loads((tmp_path / "b.job.json").read_text())
    assert job["lines"] == job["forms"] == len(gold) and job["batches"] == []


def test_submit_status_collect_round_trip_gives_the_live_records(tmp_path, gold) -> None:
    source = SEED_CASE / "source.md"
    with FakeOpenAI(gold_responder(gold)) as server:
        live = make_backend("llm", base_url=server.url, model="m", no_cache=True)
        extract_to_file([load_document(source)], tmp_path / "live.jsonl", live)
        sent_live = len(server.requests)
        assert submit(server.url, source, tmp_path).exit_code == 0
        status = invoke("batch", "status", tmp_path / "b.job.json")
        done = collect(tmp_path, "--wait", "--poll", "0.05")
    assert status.exit_code == 0 and "batch-" in status.output, status.output
    assert done.exit_code == 0, done.output
    assert len(server.requests) == sent_live  # collect asked nothing live
    assert len(server.batch_bodies) == len(gold)
    batch = read_jsonl(tmp_path / "out.jsonl")
    assert [without_meta(r) for r in batch] == [
        without_meta(r) for r in read_jsonl(tmp_path / "live.jsonl")
    ]
    assert all(r["meta"]["llm"]["batch"] and r["meta"]["llm"]["calls"] == 1 for r in batch)
    assert f"records from: {len(gold)} batch" in done.output


@pytest.mark.slow
def test_a_1000_form_batch_round_trip_gives_the_same_records_as_the_live_path(
    tmp_path, gold
) -> None:
    text = (SEED_CASE / "source.md").read_text(encoding="utf-8")
    source = tmp_path / "big.md"
    source.write_text("\n".join([text] * 77), encoding="utf-8")  # 1,001 forms
    with FakeOpenAI(gold_responder(gold)) as server:
        live = make_backend("llm", base_url=server.url, model="m", no_cache=True, concurrency=16)
        extract_to_file([load_document(source)], tmp_path / "live.jsonl", live)
        assert len(server.requests) == 1001
        assert submit(server.url, source, tmp_path).exit_code == 0
        assert invoke("batch", "status", tmp_path / "b.job.json").exit_code == 0
        done = collect(tmp_path, "--wait", "--poll", "0.1", "--concurrency", "16")
    assert done.exit_code == 0, done.output
    assert len(server.requests) == 1001 and len(server.batch_bodies) == 1001
    batch, expected = read_jsonl(tmp_path / "out.jsonl"), read_jsonl(tmp_path / "live.jsonl")
    assert len(batch) == 1001
    assert [without_meta(r) for r in batch] == [without_meta(r) for r in expected]


def test_failing_batch_replies_are_reasked_live_and_missing_ones_asked_live(tmp_path, gold) -> None:
    good = gold_responder(gold)
    wrong = gold_reply(gold[0])
    wrong["indicators"][3]["level1"] = "产出指标"  # 社会效益指标 under the wrong level 1
    seen: Counter[str] = Counter()

    def respond(body: dict[str, Any]) -> Reply:
        text = text_of(body)
        first_ask = len(body["messages"]) == 2
        if gold[0]["project_name"] in text and first_ask:
            return Reply(wrong)
        if gold[1]["project_name"] in text:
            seen["second form"] += 1
            if seen["second form"] == 1:
                return Reply(status=500)  # its batch line fails
        return good(body)

    source = SEED_CASE / "source.md"
    with FakeOpenAI(respond) as server:
        assert submit(server.url, source, tmp_path).exit_code == 0
        done = collect(tmp_path, "--wait", "--poll", "0.05")
    assert done.exit_code == 0, done.output
    records = read_jsonl(tmp_path / "out.jsonl")
    assert [{k: r[k] for k in CONTENT} for r in records] == [content(g) for g in gold]
    assert len(server.requests) == 2  # the re-ask of form 1 and form 2 from scratch
    reask = text_of(server.requests[0]) + text_of(server.requests[1])
    assert "indicators[3]" in reask and "its level1 is '效益指标'" in reask
    first, second = records[0]["meta"]["llm"], records[1]["meta"]["llm"]
    assert first["batch"] and first["calls"] == 2 and "batch" not in second
    assert "1 batch lines had no usable reply" in done.output
    assert "batch, re-asked live" in done.output and "1 asked live" in done.output


def test_collect_before_the_batch_finished_says_so_and_wait_waits(tmp_path, gold) -> None:
    source = SEED_CASE / "source.md"
    with FakeOpenAI(gold_responder(gold), batch_delay=0.5) as server:
        assert submit(server.url, source, tmp_path).exit_code == 0
        early = collect(tmp_path)
        status = invoke("batch", "status", tmp_path / "b.job.json")
        late = collect(tmp_path, "--wait", "--poll", "0.2")
    assert early.exit_code == 2 and "not finished yet" in early.output
    assert "in_progress" in status.output
    assert late.exit_code == 0, late.output
    assert len(read_jsonl(tmp_path / "out.jsonl")) == len(gold)


def test_dry_run_file_collected_from_a_local_result_file(tmp_path, gold) -> None:
    """The vLLM way: submit --dry-run, run the file elsewhere, collect --results."""
    source = SEED_CASE / "source.md"
    with FakeOpenAI(gold_responder(gold)) as server:
        assert submit(server.url, source, tmp_path, "--dry-run").exit_code == 0
        answer = gold_responder(gold)
        results = [
            {"id": f"r{i}", "custom_id": line["custom_id"], "error": None,
             "response": {"status_code": 200, "request_id": f"q{i}",
                          "body": completion(line["body"], answer(line["body"]))}}
            for i, line in enumerate(read_jsonl(tmp_path / "b.jsonl"))
        ]  # fmt: skip
        (tmp_path / "results.jsonl").write_text(
            "\n".join(json.dumps(r, ensure_ascii=False) for r in results), encoding="utf-8"
        )
        without = collect(tmp_path)
        done = collect(tmp_path, "--results", tmp_path / "results.jsonl")
    assert without.exit_code == 2 and "--results" in without.output
    assert done.exit_code == 0, done.output
    assert server.requests == [] and server.batches == {}
    records = read_jsonl(tmp_path / "out.jsonl")
    assert [{k: r[k] for k in CONTENT} for r in records] == [content(g) for g in gold]


def test_no_live_keeps_to_the_batch_replies(tmp_path, gold) -> None:
    source = SEED_CASE / "source.md"
    wrong = gold_reply(gold[0])
    wrong["indicators"][3]["level1"] = "产出指标"
    with FakeOpenAI(gold_responder(gold)) as server:
        assert submit(server.url, source, tmp_path, "--dry-run").exit_code == 0
        answer = gold_responder(gold)
        lines = read_jsonl(tmp_path / "b.jsonl")
        results = [
            {"id": f"r{i}", "custom_id": line["custom_id"], "error": None,
             "response": {"status_code": 200, "request_id": f"q{i}",
                          "body": completion(line["body"], Reply(wrong) if i == 0
                                             else answer(line["body"]))}}
            for i, line in enumerate(lines) if i != 1  # form 2 got no reply
        ]  # fmt: skip
        (tmp_path / "r.jsonl").write_text(
            "\n".join(json.dumps(r, ensure_ascii=False) for r in results), encoding="utf-8"
        )
        done = collect(tmp_path, "--results", tmp_path / "r.jsonl", "--no-live")
    assert done.exit_code == 1, done.output  # form 2 failed
    assert server.requests == []  # nothing asked live
    records = read_jsonl(tmp_path / "out.jsonl")
    first, second = records[0], records[1]
    assert first["indicators"][3]["level1"] == "产出指标"  # kept as the batch read it ...
    assert "llm.unresolved" in [f["code"] for f in first["findings"]]  # ... and flagged
    assert [f["code"] for f in second["findings"]][:1] == ["llm.failed"]
    assert [{k: r[k] for k in CONTENT} for r in records[2:]] == [content(g) for g in gold[2:]]


def test_forms_in_the_cache_are_left_out_of_the_batch(tmp_path, gold) -> None:
    source = SEED_CASE / "source.md"
    cache = ["--cache-dir", str(tmp_path / "cache")]
    with FakeOpenAI(gold_responder(gold)) as server:
        warm = invoke("extract", source, "-o", tmp_path / "o.jsonl", "-b", "llm", "--base-url",
                      server.url, "--model", "m", *cache)  # fmt: skip
        assert warm.exit_code == 0, warm.output
        result = invoke("batch", "submit", source, "--model", "m", "--base-url", server.url,
                        "--batch-file", tmp_path / "b.jsonl", *cache)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "0 requests (13 forms in the cache)" in result.output and server.batches == {}


def test_an_endpoint_without_a_batch_api_is_one_clear_line(tmp_path, gold) -> None:
    with FakeOpenAI(gold_responder(gold), batch_api=False) as server:
        result = submit(server.url, SEED_CASE / "source.md", tmp_path)
    assert result.exit_code == 2
    assert "has no OpenAI batch API" in result.output and "--dry-run" in result.output


def test_collect_refuses_a_job_whose_input_changed(tmp_path, gold) -> None:
    source = tmp_path / "source.md"
    shutil.copy(SEED_CASE / "source.md", source)
    with FakeOpenAI(gold_responder(gold)) as server:
        assert submit(server.url, source, tmp_path, "--dry-run").exit_code == 0
        source.write_text(source.read_text(encoding="utf-8") + "\n附注\n", encoding="utf-8")
        result = collect(tmp_path, "--results", tmp_path / "b.jsonl")
    assert result.exit_code == 2 and "input files changed" in result.output


def test_missing_job_file_is_one_clear_line(tmp_path) -> None:
    result = invoke("batch", "status", tmp_path / "nothing.job.json")
    assert result.exit_code == 2 and "batch submit" in result.output
