"""LLM backend against a local OpenAI-compatible server: modes, faults, re-asks, cache, concurrency.

Every test talks to `FakeOpenAI` over a real socket through the real openai + instructor stack.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

import pytest
from conftest import ROOT, SEED_CASE, read_jsonl
from fake_openai_server import FakeOpenAI, Reply, gold_reply, gold_responder, prompt_text

from structurer.llm.backend import LLMBackend
from structurer.llm.prompt import load_prompt
from structurer.llm.settings import LLMSettings
from structurer.models import GOAL_FIELDS, HEADER_FIELDS, FormRecord, Job
from structurer.pipeline import extract_documents, plan_jobs
from structurer.read import load_document
from structurer.vocab import resolve

CONTENT = ("form_index", "year", *HEADER_FIELDS, "funding", *GOAL_FIELDS, "indicators")


@pytest.fixture(scope="module")
def gold() -> list[dict[str, Any]]:
    return read_jsonl(SEED_CASE / "gold.jsonl")


@pytest.fixture(scope="module")
def jobs() -> list[Job]:
    return plan_jobs([load_document(SEED_CASE / "source.md")])


def make(url: str, **overrides: Any) -> LLMBackend:
    options: dict[str, Any] = {
        "model": "test-model",
        "base_url": url,
        "no_cache": True,
        "timeout": 5.0,
        "http_retries": 2,
        "api_key": "sk-local",
    }
    return LLMBackend(LLMSettings(**{**options, **overrides}))


def run(backend: LLMBackend, jobs: list[Job]) -> list[FormRecord]:
    done: dict[str, FormRecord] = {}
    backend.run(jobs, lambda job, record: done.__setitem__(job.key, record))
    assert len(done) == len(jobs)  # on_record once per job
    return [done[j.key] for j in jobs]


def content(record: FormRecord | dict[str, Any]) -> dict[str, Any]:
    data = record.model_dump() if isinstance(record, FormRecord) else record
    return {k: data[k] for k in CONTENT}


def codes(record: FormRecord) -> list[str]:
    return [f.code for f in record.findings]


@pytest.mark.parametrize("mode", ["tools", "json", "json_schema", "md_json"])
def test_each_mode_reads_the_seed_into_the_gold(mode, gold, jobs) -> None:
    with FakeOpenAI(gold_responder(gold)) as server:
        records = run(make(server.url, mode=mode, concurrency=4), jobs)
    assert [content(r) for r in records] == [content(g) for g in gold]
    assert len(server.requests) == len(jobs)
    first = server.requests[0]
    if mode == "tools":
        assert first["tools"] and first["tool_choice"]
    elif mode in ("json", "json_schema"):
        assert first["response_format"]["type"] == (
            "json_object" if mode == "json" else "json_schema"
        )
    else:
        assert "response_format" not in first and "tools" not in first
    meta = records[0].meta["llm"]
    assert meta["calls"] == 1 and meta["prompt_tokens"] > 0 and meta["completion_tokens"] > 0
    assert meta["model"] == "test-model" and meta["prompt_version"] == load_prompt().version


def test_prompt_shows_a_compact_grid_not_the_raw_markdown(gold, jobs) -> None:
    with FakeOpenAI(gold_responder(gold)) as server:
        run(make(server.url), jobs[:1])
    text = prompt_text(server.requests[0])
    assert "R9 0:项目名称 | 1:孵化基地运营及创业孵化服务支出" in text
    assert "|----" not in text and "| |" not in text
    assert "产出指标: 数量指标, 质量指标" in text  # labelling conventions travel with the form


def test_429_is_retried_after_the_servers_retry_after(gold, jobs) -> None:
    with FakeOpenAI(gold_responder(gold)) as server:
        server.queue([Reply(status=429, headers={"retry-after": "0.6"})])
        started = time.perf_counter()
        [record] = run(make(server.url), jobs[:1])
    assert time.perf_counter() - started >= 0.6
    assert len(server.requests) == 2
    assert content(record) == content(gold[0])


def test_500_then_success(gold, jobs) -> None:
    with FakeOpenAI(gold_responder(gold)) as server:
        server.queue([Reply(status=500, headers={"retry-after-ms": "10"})])
        [record] = run(make(server.url), jobs[:1])
    assert len(server.requests) == 2 and content(record) == content(gold[0])


def test_a_timed_out_request_is_retried(gold, jobs) -> None:
    with FakeOpenAI(gold_responder(gold)) as server:
        server.queue([Reply(gold_reply(gold[0]), delay=2.0)])
        [record] = run(make(server.url, timeout=0.5), jobs[:1])
    assert len(server.requests) == 2 and content(record) == content(gold[0])


def test_invalid_json_is_reasked(gold, jobs) -> None:
    with FakeOpenAI(gold_responder(gold)) as server:
        server.queue([Reply('{"project_name": "孵化基地运营')])
        [record] = run(make(server.url), jobs[:1])
    assert content(record) == content(gold[0])
    assert record.meta["llm"]["calls"] == 2
    assert len(server.requests[1]["messages"]) > len(server.requests[0]["messages"])


def test_schema_invalid_reply_is_reasked_with_a_precise_message(gold, jobs) -> None:
    wrong = gold_reply(gold[0])
    wrong["indicators"][3]["level1"] = "产出指标"  # 社会效益指标 under the wrong level 1
    with FakeOpenAI(gold_responder(gold)) as server:
        server.queue([Reply(wrong)])
        [record] = run(make(server.url), jobs[:1])
    assert content(record) == content(gold[0]) and record.meta["llm"]["calls"] == 2
    reask = prompt_text(server.requests[1])
    assert "indicators[3]" in reask and "its level1 is '效益指标'" in reask


def test_inconsistent_source_keeps_the_record_after_the_reasks(gold, jobs) -> None:
    odd = gold_reply(gold[0])
    odd["funding"]["annual_other"] = "5800000.00"  # breaks the annual identity, every time
    with FakeOpenAI(lambda body: Reply(odd)) as server:
        [record] = run(make(server.url, max_reasks=2), jobs[:1])
    assert len(server.requests) == 3  # one ask + max_reasks re-asks, then stop
    assert record.funding.annual_other == "5800000.00"  # kept as the model read it
    assert "llm.unresolved" in codes(record) and "llm.failed" not in codes(record)
    assert record.meta["llm"]["calls"] == 3


def test_truncated_reply_is_asked_again_with_more_tokens(gold, jobs) -> None:
    with FakeOpenAI(gold_responder(gold)) as server:
        server.queue([Reply('{"project_name": "孵', finish_reason="length")])
        [record] = run(make(server.url, max_tokens=1000), jobs[:1])
    assert content(record) == content(gold[0])
    assert [r["max_tokens"] for r in server.requests] == [1000, 2000]


def test_truncated_twice_becomes_a_failed_record(jobs) -> None:
    cut = Reply('{"project_name": "孵', finish_reason="length")
    with FakeOpenAI(lambda body: cut) as server:
        [record] = run(make(server.url), jobs[:1])
    assert len(server.requests) == 2
    [failure] = [f for f in record.findings if f.code == "llm.failed"]
    assert failure.severity == "error" and "max_tokens" in failure.message
    assert record.meta["llm"]["calls"] == 2


def test_one_failing_form_does_not_affect_the_others(gold, jobs) -> None:
    good = gold_responder(gold)

    def respond(body: dict[str, Any]) -> Reply:
        return Reply("no json here") if "项目管理费" in prompt_text(body) else good(body)

    with FakeOpenAI(respond) as server:
        records = run(make(server.url, max_reasks=1), jobs[:4])
    assert "llm.failed" in codes(records[1])
    assert records[1].meta["llm"]["calls"] == 2
    for record, expected in zip([records[0], *records[2:]], [gold[0], *gold[2:4]], strict=True):
        assert content(record) == content(expected) and not codes(record)


def test_http_error_after_the_retries_fails_only_that_form(gold, jobs) -> None:
    with FakeOpenAI(gold_responder(gold)) as server:
        server.queue([Reply(status=400)])
        [record] = run(make(server.url, concurrency=1), jobs[:1])
    [failure] = record.findings
    assert failure.code == "llm.failed" and "HTTP 400" in failure.message


def test_rerun_is_served_from_the_cache(tmp_path, gold, jobs) -> None:
    with FakeOpenAI(gold_responder(gold)) as server:
        first = run(make(server.url, no_cache=False, cache_dir=tmp_path), jobs)
        assert len(server.requests) == len(jobs)
        second = run(make(server.url, no_cache=False, cache_dir=tmp_path), jobs)
        assert len(server.requests) == len(jobs)  # the server saw nothing new
        assert [content(r) for r in second] == [content(r) for r in first]
        assert all(r.meta["llm"]["cache_hit"] and r.meta["llm"]["calls"] == 0 for r in second)
        run(make(server.url, no_cache=False, cache_dir=tmp_path, model="other"), jobs[:2])
        assert len(server.requests) == len(jobs) + 2  # another model is another key
        run(make(server.url, no_cache=True, cache_dir=tmp_path), jobs[:1])
        assert len(server.requests) == len(jobs) + 3


def test_requests_run_concurrently_up_to_the_limit(gold, jobs) -> None:
    # Behaviour, not a clock (a slow CI machine would fail a bound on the elapsed time): four
    # requests were in flight at once, and never more. Throughput is benchmarks/llm_throughput.py.
    with FakeOpenAI(gold_responder(gold), delay=0.4) as server:
        run(make(server.url, concurrency=4), jobs[:8])
    assert server.max_in_flight == 4


def test_usage_and_cost_add_up(gold, jobs) -> None:
    with FakeOpenAI(gold_responder(gold)) as server:
        backend = make(server.url, price_in=2.0, price_out=8.0)
        records = run(backend, jobs[:3])
    usage = backend.usage
    assert usage.calls == 3 and usage.forms == 3
    assert usage.prompt_tokens == sum(r.meta["llm"]["prompt_tokens"] for r in records)
    expected = (usage.prompt_tokens * 2.0 + usage.completion_tokens * 8.0) / 1e6
    assert usage.cost() == pytest.approx(expected)
    assert ("LLM calls per form", "1.00") in usage.rows()


def test_llm_records_point_at_their_source_cells(gold, jobs) -> None:
    with FakeOpenAI(gold_responder(gold)) as server:
        [record] = run(make(server.url), jobs[:1])
    cells = record.source.cells
    assert (cells["project_name"].line, cells["project_name"].col) == (9, 1)
    assert (cells["funding.annual_total"].line, cells["funding.annual_total"].col) == (13, 4)
    assert (cells["funding.annual_other"].line, cells["funding.annual_other"].col) == (16, 4)
    assert (cells["funding.prior_carryover"].line, cells["funding.prior_carryover"].col) == (15, 5)
    assert cells["indicators[0].target"].line == 20


def test_pipeline_runs_it_in_order_with_progress(gold) -> None:
    doc = load_document(SEED_CASE / "source.md")
    seen: list[int] = []
    with FakeOpenAI(gold_responder(gold)) as server:
        result = extract_documents([doc], make(server.url), on_form=lambda r: seen.append(1))
    assert len(seen) == len(gold)
    assert [r.form_index for r in result.records] == list(range(1, len(gold) + 1))
    assert all(r.backend == "llm" for r in result.records)


# read before the autouse fixture clears the provider variables
LIVE_ENV = {k: v for k, v in os.environ.items() if k.startswith(("STRUCTURER_", "OPENAI_"))}


@pytest.mark.live
@pytest.mark.skipif(LIVE_ENV.get("STRUCTURER_LIVE") != "1", reason="STRUCTURER_LIVE=1 not set")
def test_live_endpoint_reads_the_first_seed_form(jobs, monkeypatch) -> None:
    """STRUCTURER_LIVE=1 STRUCTURER_BASE_URL=... STRUCTURER_MODEL=... STRUCTURER_API_KEY=...
    [STRUCTURER_LIVE_MODE=json] pytest -m live"""
    from structurer.backends import make_backend

    for name, value in LIVE_ENV.items():
        monkeypatch.setenv(name, value)
    mode = LIVE_ENV.get("STRUCTURER_LIVE_MODE", "tools")
    backend = make_backend("llm", mode=mode, no_cache=True)
    [record] = run(backend, jobs[:1])
    assert not [f for f in record.findings if f.code == "llm.failed"], record.findings
    assert record.project_name == "孵化基地运营及创业孵化服务支出"
    assert record.funding.annual_total == "5900000.00"
    assert len(record.indicators) == 5


def test_a_list_project_prompt_names_the_rows_of_its_own_project() -> None:
    """A packed list printed as a text layer goes whole to each of its forms (its lines interleave
    the projects), so the note must say where each project's rows run: from the line after the
    previous project's packed cell to the line before the next one's, its amounts among them."""
    case = ROOT / "fixtures" / "real-guangdong-2026-pdftext-guangzhou"
    list_jobs = plan_jobs([load_document(case / "source.txt")])
    projects = read_jsonl(case / "gold.jsonl")
    prompt = load_prompt()
    spans = []
    for job, project in zip(list_jobs, projects, strict=True):
        text = prompt.messages(job.chunk, job.grid, resolve(None).for_form(job.chunk.text))[1][
            "content"
        ]
        first, last = re.search(r"only the project in rows R(\d+) to R(\d+) ", text).groups()
        rows = text[text.index(f"\nR{first} ") : text.index("\n", text.index(f"\nR{last} ") + 1)]
        amount = f"{float(project['funding']['annual_total']):,.2f}"
        assert amount in rows, (project["project_name"], first, last)
        spans.append((int(first), int(last)))
    assert spans == sorted(spans) and len(set(spans)) == len(spans)


def test_a_list_project_whose_rows_the_table_tells_apart_is_sent_alone() -> None:
    """A paged list (长沙) holds several projects, each over several pages, its unit cell merged
    down beside them: each form is sent with the header, its unit's row and its own rows only,
    never another project's (they cost tokens with every form and invite the model to read
    them), and the note names its own first row, not the line it shares with the project
    before."""
    case = ROOT / "fixtures" / "real-hunan-2025-pdf-changsha-gongan"
    list_jobs = plan_jobs([load_document(case / "source.pdf")])
    names = [p["project_name"] for p in read_jsonl(case / "gold.jsonl")]
    prompt = load_prompt()
    for job, name in zip(list_jobs, names, strict=True):
        text = prompt.messages(job.chunk, job.grid, resolve(None).for_form(job.chunk.text))[1]
        text = text["content"]
        first = re.search(r"only the project in rows R(\S+) to", text).group(1)
        assert f"R{first} 0:" in text and f"| 1:{name} |" in text.split(f"\nR{first} ")[1][:80]
        assert not [n for n in names if n != name and f":{n} |" in text], name
        assert "单位（项目）名称" in text and "长沙市公安局" in text  # header and unit kept
