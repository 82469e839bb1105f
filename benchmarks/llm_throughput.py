"""LLM backend throughput against a local server that delays every answer by a fixed time.

    .venv/bin/python benchmarks/llm_throughput.py [--delay 0.25] [--forms 64] [--cached 1000]

With the model's latency fixed at `delay`, the best possible rate at concurrency N is N / delay
forms per second; the ratio measured / (N / delay) shows the backend's own overhead (prompt
building, validation, the HTTP client). Then a cache-hit rerun of `--cached` forms: the server
must see no request. The server runs in its own process, so it does not share the client's
GIL (on 2 cores the two still share the CPU). Forms are the seed's 13, copied with a marker line so each has its own
cache key; the server answers each with its gold record (tests/fake_openai_server.py).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests")]

from fake_openai_server import FakeOpenAI, gold_responder  # noqa: E402
from machine import describe  # noqa: E402

from structurer.llm.backend import LLMBackend  # noqa: E402
from structurer.llm.settings import LLMSettings  # noqa: E402
from structurer.models import Job  # noqa: E402
from structurer.pipeline import plan_jobs  # noqa: E402
from structurer.read import load_document  # noqa: E402

SEED = ROOT / "fixtures" / "shanghai-2024"


def copies(n: int) -> list[Job]:
    """n distinct forms: the seed's forms again and again, each chunk with its own marker line."""
    base = plan_jobs([load_document(SEED / "source.md")])
    jobs = []
    for i in range(n):
        job = base[i % len(base)]
        chunk = job.chunk.model_copy(update={"text": f"{job.chunk.text}\n<!-- copy {i} -->"})
        jobs.append(Job(job.document, chunk, job.grid))
    return jobs


class Served:
    """Handle on a FakeOpenAI running in a child process."""

    def __init__(self, conn, url: str) -> None:  # type: ignore[no-untyped-def]
        self._conn, self.url = conn, url

    def stat(self, name: str) -> int:
        self._conn.send(name)
        return self._conn.recv()


def _serve(conn, gold: list[dict], delay: float) -> None:  # type: ignore[no-untyped-def]
    with FakeOpenAI(gold_responder(gold), delay=delay) as server:
        conn.send(server.url)
        while (cmd := conn.recv()) != "stop":
            stats = {"requests": len(server.requests), "batch_bodies": len(server.batch_bodies)}
            conn.send(stats.get(cmd, server.max_in_flight))


@contextmanager
def served(gold: list[dict], delay: float = 0.0) -> Iterator[Served]:
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=_serve, args=(child, gold, delay), daemon=True)
    proc.start()
    try:
        yield Served(parent, parent.recv())
    finally:
        parent.send("stop")
        proc.join(5)


def timed_run(url: str, jobs: list[Job], **options: object) -> tuple[float, LLMBackend]:
    settings = LLMSettings(model="bench", base_url=url, api_key="sk-local", **options)  # type: ignore[arg-type]
    backend = LLMBackend(settings)
    done: list[int] = []
    started = time.perf_counter()
    backend.run(jobs, lambda job, record: done.append(1))
    elapsed = time.perf_counter() - started
    assert len(done) == len(jobs) and backend.usage.failed == 0
    return elapsed, backend


def throughput(gold: list[dict], delay: float, forms: int, levels: list[int]) -> list[dict]:
    rows = []
    with served(gold) as server:  # imports and first-client setup, paid once per process
        timed_run(server.url, copies(2), concurrency=1, no_cache=True)
    for n in levels:
        with served(gold, delay) as server:
            elapsed, _ = timed_run(server.url, copies(forms), concurrency=n, no_cache=True)
            in_flight = server.stat("max_in_flight")
        rate, bound = forms / elapsed, n / delay
        rows.append(
            {
                "concurrency": n,
                "forms": forms,
                "seconds": round(elapsed, 3),
                "forms_per_second": round(rate, 2),
                "bound_n_over_delay": round(bound, 2),
                "ratio": round(rate / bound, 3),
                "max_in_flight_seen": in_flight,
            }
        )
        print(json.dumps(rows[-1]))
    return rows


def cached_rerun(gold: list[dict], forms: int) -> dict:
    jobs = copies(forms)
    with tempfile.TemporaryDirectory() as cache, served(gold) as server:
        fill, _ = timed_run(server.url, jobs, concurrency=16, cache_dir=Path(cache))
        asked = server.stat("requests")
        rerun, backend = timed_run(server.url, jobs, concurrency=16, cache_dir=Path(cache))
        total = server.stat("requests")
        result = {
            "forms": forms,
            "fill_seconds": round(fill, 2),
            "fill_requests": asked,
            "rerun_seconds": round(rerun, 3),
            "rerun_requests": total - asked,
            "rerun_cache_hits": backend.usage.cache_hits,
            "rerun_forms_per_second": round(forms / rerun),
        }
    print(json.dumps(result))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.25)
    parser.add_argument("--forms", type=int, default=128)
    parser.add_argument("--cached", type=int, default=1000)
    parser.add_argument("--levels", default="1,2,4,8,16")
    args = parser.parse_args()
    lines = (SEED / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    gold = [json.loads(x) for x in lines if x.strip()]
    levels = [int(x) for x in args.levels.split(",")]
    result = {
        "machine": describe(),
        "delay_seconds": args.delay,
        "throughput": throughput(gold, args.delay, args.forms, levels),
        "cache_rerun": cached_rerun(gold, args.cached),
    }
    out = HERE / "results" / "llm_throughput.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"written {out}")


if __name__ == "__main__":
    main()
