"""The LLM path at corpus scale against the local stand-in: batch wall time for 1,000 forms,
tokens per form per mode, and what 1,000 seed forms cost at one named price.

    .venv/bin/python benchmarks/llm_scale.py [--forms 1000] [--delay 0.25]

Batch: the seed document repeated to `--forms` forms goes through the library path of
`structurer batch submit` (build the lines from the live request code, upload, start) and
`batch collect` (download, validate, check, write the records through the pipeline); the
stand-in answers the whole batch at once (a real provider takes minutes to 24 hours, which this
excludes: it measures our side). Beside it, the live path's time for the same forms at the
default concurrency is derived from the throughput measured here at `--delay` (the stand-in's
fixed latency), not run in full.

Tokens: the seed's 13 forms sent live in each mode to the stand-in, whose usage counts the prompt
as providers bill it (messages plus the schema as tools or response_format) with the project's
tokenizer-free estimate (1 token per CJK character, 1 per 4 other characters): no tokenizer is
installed, so real counts differ by model. The server runs in its own process (`llm_throughput`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests")]

from llm_throughput import SEED, copies, served, timed_run  # noqa: E402
from machine import describe  # noqa: E402

from structurer.backends import make_backend  # noqa: E402
from structurer.llm.batch import (  # noqa: E402
    BatchJob,
    build_lines,
    collect_replies,
    new_job,
    submit,
    wait_until_done,
)
from structurer.llm.client import request_body  # noqa: E402
from structurer.llm.transport import request_tokens  # noqa: E402
from structurer.pipeline import extract_to_file, plan_jobs  # noqa: E402
from structurer.read import load_document  # noqa: E402

MODES = ("tools", "json", "json_schema", "md_json")
# The named price (an assumption, see README): OpenAI gpt-4o-mini, USD per million tokens.
PRICE = {
    "model": "gpt-4o-mini",
    "live": {"in": 0.15, "out": 0.60},
    "batch": {"in": 0.075, "out": 0.30},
    "as_of": "list price since the model's launch on 2024-07-18, still quoted in April 2026",
}


def timed(what: str, seconds: dict[str, float]):  # type: ignore[no-untyped-def]
    class Timer:
        def __enter__(self) -> None:
            self.started = time.perf_counter()

        def __exit__(self, *exc: object) -> None:
            seconds[what] = round(time.perf_counter() - self.started, 2)

    return Timer()


def batch_round_trip(gold: list[dict], forms: int) -> dict:
    text = (SEED / "source.md").read_text(encoding="utf-8")
    repeats = -(-forms // 13)
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder, served(gold) as server:
        folder_path = Path(folder)
        source = folder_path / "big.md"
        source.write_text("\n".join([text] * repeats), encoding="utf-8")
        backend = make_backend("llm", base_url=server.url, model="bench", no_cache=True)
        settings = backend.settings
        with timed("read and plan", seconds):
            documents = [load_document(source)]
            jobs = plan_jobs(documents)
        with timed("build lines", seconds):
            lines, _ = build_lines(backend, jobs)
        job = new_job(backend, documents, [], folder_path / "b.jsonl")
        job.lines = len(lines)
        with timed("upload and start", seconds):
            submit(settings, job, folder_path / "b.job.json", lines)
        with timed("stand-in answers (excluded)", seconds):
            wait_until_done(settings, BatchJob.load(folder_path / "b.job.json"), poll=0.2)
        with timed("download", seconds):
            replies, _ = collect_replies(settings, job)
        collector = make_backend("llm", base_url=server.url, model="bench", no_cache=True)
        collector.batch_replies = replies.ok
        with timed("validate, check, write", seconds):
            result = extract_to_file(documents, folder_path / "out.jsonl", collector)
        live_requests = server.stat("requests")
    ours = sum(v for k, v in seconds.items() if "excluded" not in k)
    failed = sum(any(f.code == "llm.failed" for f in r.findings) for r in result.records)
    return {
        "forms": len(jobs),
        "lines": len(lines),
        "batch_file_mib": round(sum(len(x.encode()) + 1 for x in lines) / 2**20, 1),
        "seconds": seconds,
        "our_side_seconds": round(ours, 2),
        "forms_per_second_our_side": round(len(jobs) / ours, 1),
        "live_requests_during_collect": live_requests,
        "failed_forms": failed,
    }


def live_rate(gold: list[dict], delay: float, forms: int = 64, concurrency: int = 4) -> dict:
    with served(gold) as server:  # imports and first-client setup, paid once
        timed_run(server.url, copies(2), concurrency=1, no_cache=True)
    with served(gold, delay) as server:
        elapsed, _ = timed_run(server.url, copies(forms), concurrency=concurrency, no_cache=True)
    rate, bound = forms / elapsed, concurrency / delay
    return {"concurrency": concurrency, "delay_seconds": delay, "forms_per_second": round(rate, 2),
            "ratio_to_bound": round(rate / bound, 3)}  # fmt: skip


def tokens_per_mode(gold: list[dict]) -> dict:
    out = {}
    jobs = plan_jobs([load_document(SEED / "source.md")])
    for mode in MODES:
        with served(gold) as server:
            _, backend = timed_run(server.url, jobs, concurrency=4, no_cache=True, mode=mode)
        usage = backend.usage
        body = _first_body(backend, jobs[0])
        messages_only = request_tokens({"messages": body["messages"]})
        out[mode] = {
            "prompt_tokens_per_form": round(usage.prompt_tokens / usage.forms),
            "completion_tokens_per_form": round(usage.completion_tokens / usage.forms),
            "calls_per_form": round(usage.calls / usage.forms, 2),
            "schema_tokens": request_tokens(body) - messages_only,  # tools / response_format
            "system_message_tokens": request_tokens({"messages": body["messages"][:1]}),
        }
        print(mode, json.dumps(out[mode]))
    return out


def _first_body(backend, job) -> dict:  # type: ignore[no-untyped-def]
    import asyncio

    messages = backend.prompt.messages(job.chunk, job.grid, backend.vocab)
    return asyncio.run(request_body(backend.settings, messages, {"vocab": backend.vocab}))


def cost_per_1000(tokens: dict, max_reasks: int = 2) -> dict:
    """USD per 1,000 seed forms at the named price, one call per form (a correct model) and at
    most (every re-ask used: each resends the prompt with the earlier replies)."""
    out = {}
    for mode, t in tokens.items():
        p, c = t["prompt_tokens_per_form"], t["completion_tokens_per_form"]
        n = max_reasks + 1
        worst_p = n * p + max_reasks * n // 2 * (c + 150)
        for kind in ("live", "batch"):
            price = PRICE[kind]
            out.setdefault(mode, {})[kind] = round(
                1000 * (p * price["in"] + c * price["out"]) / 1e6, 3
            )
            out[mode][f"{kind}_at_most"] = round(
                1000 * (worst_p * price["in"] + n * c * price["out"]) / 1e6, 3
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--forms", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.25)
    args = parser.parse_args()
    lines = (SEED / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    gold = [json.loads(x) for x in lines if x.strip()]
    batch = batch_round_trip(gold, args.forms)
    print(json.dumps(batch))
    live = live_rate(gold, args.delay)
    live["derived_seconds_for_the_batch_forms"] = round(batch["forms"] / live["forms_per_second"])
    print(json.dumps(live))
    tokens = tokens_per_mode(gold)
    result = {
        "machine": describe(),
        "batch": batch,
        "live_at_default_concurrency": live,
        "tokens_per_form": tokens,
        "tokenizer": "estimate: 1 per CJK char + 1 per 4 other chars (structurer.llm.prompt)",
        "price": PRICE,
        "usd_per_1000_seed_forms": cost_per_1000(tokens),
        "median_prompt_tokens_all_modes": statistics.median(
            t["prompt_tokens_per_form"] for t in tokens.values()
        ),
    }
    out = HERE / "results" / "llm_scale.json"
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written {out}")


if __name__ == "__main__":
    main()
