"""The LLM path at corpus scale, against the local stand-in: the retry policy (one shared pause,
fail-fast breaker, no doubled retries), the cost cap and resume, escalation, cache semantics and
the dry-run estimate."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SEED_CASE, read_jsonl
from fake_openai_server import FakeOpenAI, Reply, gold_reply, gold_responder, prompt_text
from test_llm import CONTENT, codes, content, make, run
from typer.testing import CliRunner

from structurer.cli import app
from structurer.errors import RunStopped
from structurer.llm.estimate import estimate
from structurer.llm.transport import Bucket
from structurer.models import Job
from structurer.pipeline import plan_jobs
from structurer.read import load_document

runner = CliRunner()
SOURCE = str(SEED_CASE / "source.md")


@pytest.fixture(scope="module")
def gold() -> list[dict[str, Any]]:
    return read_jsonl(SEED_CASE / "gold.jsonl")


@pytest.fixture(scope="module")
def jobs() -> list[Job]:
    return plan_jobs([load_document(SEED_CASE / "source.md")])


def extract_args(url: str, out: Path, *extra: str) -> list[str]:
    return ["extract", SOURCE, "-o", str(out), "-b", "llm", "--base-url", url, "--model", "m",
            "--no-cache", *extra]  # fmt: skip


def always(reply: Reply):  # type: ignore[no-untyped-def]
    return lambda body: reply


# --- fail fast ---


@pytest.mark.parametrize(
    ("status", "names"),
    [(401, "STRUCTURER_API_KEY"), (403, "--model"), (404, "--model (STRUCTURER_MODEL)")],
)
def test_a_refused_key_or_model_stops_the_run_after_the_first_request(
    tmp_path, status, names
) -> None:
    out = tmp_path / "out.jsonl"
    with FakeOpenAI(always(Reply(status=status))) as server:
        result = runner.invoke(app, extract_args(server.url, out, "--concurrency", "4"))
    assert result.exit_code == 2
    assert len(server.requests) == 1  # not one per worker, not one per form
    [line] = [x for x in result.output.splitlines() if x.startswith("structurer: error")]
    assert f"HTTP {status}" in line and names in line
    assert "Traceback" not in result.output and not out.exists()


def test_forms_failing_in_a_row_stop_the_run_naming_the_setting(jobs) -> None:
    with FakeOpenAI(always(Reply(status=503))) as server:
        backend = make(server.url, http_retries=0, max_failures_in_a_row=3, concurrency=1)
        done: list[Job] = []
        with pytest.raises(RunStopped, match=r"3 forms in a row failed .*HTTP 503.*--timeout"):
            backend.run(jobs, lambda job, record: done.append(record))
    assert len(server.requests) == 3  # then it stopped, 10 forms left pending
    assert [codes(r) for r in done] == [["llm.failed"]] * 2  # the first two, as they failed


def test_an_unreachable_endpoint_stops_the_run(jobs) -> None:
    backend = make("http://127.0.0.1:9/v1", http_retries=1, max_failures_in_a_row=2)
    with pytest.raises(
        RunStopped, match=re.escape("cannot reach http://127.0.0.1:9/v1; check --base-url")
    ):
        backend.run(jobs, lambda job, record: None)


def test_a_success_resets_the_count_of_failures_in_a_row(gold, jobs) -> None:
    good = gold_responder(gold)
    seen = iter(range(100))

    def every_other_fails(body: dict[str, Any]) -> Reply:
        return Reply(status=400) if next(seen) % 2 else good(body)

    with FakeOpenAI(every_other_fails) as server:
        records = run(make(server.url, max_failures_in_a_row=2, concurrency=1), jobs[:6])
    assert [("llm.failed" in codes(r)) for r in records] == [False, True] * 3


def test_the_openai_clients_own_retries_are_off(jobs) -> None:
    with FakeOpenAI(always(Reply(status=500))) as server:
        [record] = run(make(server.url, http_retries=0), jobs[:1])
    assert len(server.requests) == 1  # openai's default of 2 retries would make it 3
    assert "llm.failed" in codes(record) and "HTTP 500" in record.findings[0].message


def test_http_retries_are_recorded_in_meta_and_the_summary(gold, jobs) -> None:
    with FakeOpenAI(gold_responder(gold)) as server:
        server.queue([Reply(status=502), Reply(status=500, headers={"retry-after-ms": "5"})])
        backend = make(server.url, concurrency=1)
        records = run(backend, jobs[:2])
    assert [r.meta["llm"]["http_retries"] for r in records] == [2, 0]
    assert ("HTTP retries", "2") in backend.usage.rows()
    assert [content(r) for r in records] == [content(g) for g in gold[:2]]


# --- one shared pause ---


def test_a_429_with_retry_after_pauses_all_workers_once(gold, jobs) -> None:
    good = gold_responder(gold)
    count = iter(range(1000))

    def second_is_limited(body: dict[str, Any]) -> Reply:
        if next(count) == 1:
            return Reply(status=429, headers={"retry-after": "1"})
        return good(body)

    with FakeOpenAI(second_is_limited, delay=0.05) as server:
        backend = make(server.url, concurrency=4)
        records = run(backend, jobs[:8])
    limited = server.arrived[1] + 0.05  # when the 429 was answered
    during = [t for t in server.arrived if limited + 0.1 < t < limited + 0.95]
    assert during == []  # nobody sent while the endpoint said wait
    assert backend.usage.pauses == 1 and sum(r.meta["llm"]["http_retries"] for r in records) == 1
    # once: the waiting workers all went on after the one pause (a pause per worker, one after
    # the other, would push the last requests 2-3 s past the 429)
    assert max(server.arrived) < limited + 1.9
    assert [content(r) for r in records] == [content(g) for g in gold[:8]]


def test_the_budget_bucket_spaces_takers_beyond_its_rate() -> None:
    async def take_twice() -> float:
        bucket = Bucket(600)  # 10 per second, starting full
        await bucket.take(600)
        started = time.perf_counter()
        await bucket.take(1)
        return time.perf_counter() - started

    assert asyncio.run(take_twice()) >= 0.08


def test_rpm_budget_spaces_requests(gold, jobs) -> None:
    with FakeOpenAI(gold_responder(gold)) as server:
        backend = make(server.url, rpm=600, concurrency=4)  # 10/s after a first minute's worth
        backend.run(jobs[:2], lambda job, record: None)
    assert len(server.requests) == 2  # within the bucket: no wait, nothing lost


# --- cost cap ---


def test_max_cost_stops_at_the_cap_and_a_rerun_finishes_the_rest(tmp_path, gold) -> None:
    out = tmp_path / "out.jsonl"
    prices = ["--price-in", "1", "--price-out", "1", "--concurrency", "1"]
    with FakeOpenAI(gold_responder(gold)) as server:
        first = runner.invoke(app, extract_args(server.url, out, *prices, "--max-cost", "0.012"))
    assert first.exit_code == 3, first.output
    sent = len(server.requests)
    assert 2 <= sent < len(gold)  # stopped at the cap, well before the end
    assert "--max-cost 0.012" in first.output and f"{len(gold) - sent} pending" in first.output
    assert not out.exists() and len(read_jsonl(tmp_path / "out.jsonl.partial")) == sent
    with FakeOpenAI(gold_responder(gold)) as second_server:
        second = runner.invoke(app, extract_args(second_server.url, out, *prices))
    assert second.exit_code == 0, second.output
    assert len(second_server.requests) == len(gold) - sent  # only the pending forms
    assert [{k: r[k] for k in CONTENT} for r in read_jsonl(out)] == [content(g) for g in gold]


def test_max_cost_needs_the_prices(tmp_path) -> None:
    result = runner.invoke(app, extract_args("http://127.0.0.1:9/v1", tmp_path / "o.jsonl",
                                             "--max-cost", "1"))  # fmt: skip
    assert result.exit_code == 2 and "--price-in/--price-out" in result.output


# --- escalation ---


def test_only_forms_still_wrong_after_the_reasks_go_to_the_fallback_model(tmp_path, gold) -> None:
    good = gold_responder(gold)
    broken = gold_reply(gold[2])
    broken["funding"]["annual_other"] = "1.00"  # breaks the annual identity, every time

    def respond(body: dict[str, Any]) -> Reply:
        if body["model"] == "cheap" and gold[2]["project_name"] in prompt_text(body):
            return Reply(broken)
        return good(body)

    out = tmp_path / "out.jsonl"
    with FakeOpenAI(respond) as server:
        args = extract_args(server.url, out, "--fallback-model", "strong", "--max-reasks", "1")
        args[args.index("m")] = "cheap"
        prices = ["--price-in", "1", "--price-out", "2"]
        fallback_prices = ["--fallback-price-in", "10", "--fallback-price-out", "20"]
        result = runner.invoke(app, [*args, *prices, *fallback_prices])
    assert result.exit_code == 0, result.output
    models = [r["model"] for r in server.requests]
    assert models.count("strong") == 1 and models.count("cheap") == len(gold) + 1
    records = read_jsonl(out)
    assert [{k: r[k] for k in CONTENT} for r in records] == [content(g) for g in gold]
    escalated = records[2]["meta"]["llm"]
    assert escalated["model"] == "strong" and escalated["by_model"]["cheap"]["calls"] == 2
    assert escalated["by_model"]["strong"]["calls"] == 1 and escalated["calls"] == 3
    assert "calls / cost cheap" in result.output and "calls / cost strong" in result.output
    assert "escalated to the fallback" in result.output


def test_the_fallback_is_not_asked_when_the_endpoint_fails(jobs) -> None:
    with FakeOpenAI(always(Reply(status=400))) as server:
        [record] = run(make(server.url, fallback_model="strong"), jobs[:1])
    assert [r["model"] for r in server.requests] == ["test-model"]
    assert "llm.failed" in codes(record)


# --- cache semantics ---


def test_a_cache_warmed_against_a_lying_endpoint_is_not_served_against_an_honest_one(
    tmp_path, gold, jobs
) -> None:
    lie = gold_reply(gold[0])
    lie["department"] = "上海市某某局"  # plausible, passes every check the model can fix
    cache = {"no_cache": False, "cache_dir": tmp_path}
    with FakeOpenAI(always(Reply(lie))) as liar:
        [bad] = run(make(liar.url, **cache), jobs[:1])
    assert bad.department == "上海市某某局"
    with FakeOpenAI(gold_responder(gold)) as honest:
        [good] = run(make(honest.url, **cache), jobs[:1])
    assert len(honest.requests) == 1 and content(good) == content(gold[0])


def test_the_reask_limit_is_part_of_the_cache_key(tmp_path, gold, jobs) -> None:
    cache = {"no_cache": False, "cache_dir": tmp_path}
    with FakeOpenAI(gold_responder(gold)) as server:
        run(make(server.url, **cache), jobs[:1])
        run(make(server.url, max_reasks=0, **cache), jobs[:1])
        run(make(server.url, **cache), jobs[:1])
    assert len(server.requests) == 2


def test_forms_of_one_list_table_each_get_their_own_cached_reply(tmp_path) -> None:
    """A department list table is one text for several projects: its forms share the chunk text
    and differ by their project, so one form's cached reply must never answer another's."""
    case = ROOT / "fixtures" / "real-beijing-2026-pdftext-tongji"
    list_jobs = plan_jobs([load_document(case / "source.txt")])
    projects = read_jsonl(case / "gold.jsonl")
    assert len({j.chunk.text for j in list_jobs}) == 1 < len(list_jobs) == len(projects)
    asked = iter(projects)  # the n-th request is answered with the n-th project's record
    cache = {"no_cache": False, "cache_dir": tmp_path, "max_reasks": 0, "concurrency": 1}
    with FakeOpenAI(lambda body: Reply(gold_reply(next(asked)))) as server:
        first = run(make(server.url, **cache), list_jobs)
        served = run(make(server.url, **cache), list_jobs)
    assert len(server.requests) == len(list_jobs)  # each form asked once, then served
    assert [r.project_name for r in first] == [p["project_name"] for p in projects]
    assert [r.project_name for r in served] == [r.project_name for r in first]


def test_failed_forms_are_never_cached_and_unresolved_ones_resent_on_request(
    tmp_path, gold, jobs
) -> None:
    odd = gold_reply(gold[0])
    odd["funding"]["annual_other"] = "1.00"
    cache = {"no_cache": False, "cache_dir": tmp_path, "max_reasks": 0}
    with FakeOpenAI(always(Reply("no json"))) as server:
        run(make(server.url, **cache), jobs[:1])
        run(make(server.url, **cache), jobs[:1])
    assert len(server.requests) == 2  # llm.failed: asked again, never served
    with FakeOpenAI(always(Reply(odd))) as server:
        [first] = run(make(server.url, **cache), jobs[:1])
        [served] = run(make(server.url, **cache), jobs[:1])
        assert len(server.requests) == 1 and served.meta["llm"]["cache_hit"]
        assert "llm.unresolved" in codes(served)
        run(make(server.url, retry_failed=True, **cache), jobs[:1])
        assert len(server.requests) == 2  # --retry-failed sends it again
    assert "llm.unresolved" in codes(first)


# --- dry run ---


def test_dry_run_estimates_without_sending(tmp_path, gold, jobs) -> None:
    out = tmp_path / "out.jsonl"
    prices = ["--price-in", "2", "--price-out", "8"]
    with FakeOpenAI(gold_responder(gold)) as server:
        result = runner.invoke(app, extract_args(server.url, out, "--dry-run", *prices))
        assert result.exit_code == 0, result.output
        assert server.requests == [] and not out.exists()
        backend = make(server.url)
        records = run(backend, jobs)  # what the run really costs, for comparison
    guess = estimate(make("http://127.0.0.1:9/v1", price_in=2, price_out=8), jobs)
    usage = backend.usage
    assert guess.forms == guess.to_llm == len(gold) and guess.expected.calls == len(gold)
    assert guess.expected.prompt == pytest.approx(usage.prompt_tokens, rel=0.02)
    assert guess.expected.completion == pytest.approx(usage.completion_tokens, rel=0.1)
    assert guess.at_most.calls == 3 * len(gold) and guess.at_most.prompt > 3 * guess.expected.prompt
    row = dict((name, expected) for name, expected, _ in guess.rows())
    assert row["cost"] == f"{guess.cost(guess.expected):.4f}"
    assert f"{guess.expected.prompt:,}" in result.output and row["cost"] in result.output
    assert len(records) == len(gold)


def test_dry_run_of_hybrid_counts_only_the_forms_the_rules_cannot_read(
    tmp_path, gold, jobs, monkeypatch
) -> None:
    from test_llm_cli import flag_rules_records

    from structurer import checks
    from structurer.backends import make_backend

    monkeypatch.setattr(checks, "check_record", flag_rules_records({gold[4]["project_name"]}))
    backend = make_backend("hybrid", base_url="http://127.0.0.1:9/v1", model="m", no_cache=True)
    guess = estimate(backend, jobs)
    assert (guess.forms, guess.to_llm, guess.expected.calls) == (len(gold), 1, 1)
    args = extract_args("http://127.0.0.1:9/v1", tmp_path / "o.jsonl", "--dry-run")
    args[args.index("llm")] = "hybrid"
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert re.search(r"sent to the LLM\s*│\s*1\s*│", result.output)


# --- the form's text reaches the model as it is ---


def test_template_syntax_in_a_form_reaches_the_model_verbatim(tmp_path, gold) -> None:
    """instructor renders messages as Jinja2 templates when given a validation context; the
    context goes to the validators another way, so `{{ }}` or `{%` in a cell is sent as printed."""
    text = (SEED_CASE / "source.md").read_text(encoding="utf-8")
    name = gold[0]["project_name"]
    source = tmp_path / "braces.md"
    source.write_text(text.replace(name, name + "{{ source }}{% raw %}x{{y}}", 1), "utf-8")
    [job] = plan_jobs([load_document(source)])[:1]
    wrong = gold_reply(gold[0])
    wrong["indicators"][3]["level1"] = "产出指标"  # the validator (needing the context) re-asks
    with FakeOpenAI(always(Reply(wrong))) as server:
        server.queue([Reply(wrong)])
        [record] = run(make(server.url, max_reasks=1), [job])
    assert "{{ source }}{% raw %}x{{y}}" in prompt_text(server.requests[0])
    assert "its level1 is '效益指标'" in prompt_text(server.requests[1])
    assert "llm.failed" not in codes(record)
