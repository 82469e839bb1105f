"""What the LLM backend's source checks cost per form: the rules shadow and the re-ask check.

    .venv/bin/python benchmarks/bench_shadow.py [--rounds 20]

On every fixture form, median per-form times of:
- `rules`: `rules.extract_form` on the prepared grid, the floor (the shadow runs it);
- `shadow`: `llm.shadow.read_shadow` (rules + grounding of the rules' values, the source index
  built cold each round, as the first look at a form builds it);
- `recall`: `llm.shadow.recall_findings` of the gold record against the shadow;
- `validator`: `llm.reask.source_problems` on the gold record (what every reply costs in the
  validator; the source index is then warm, as it is on a re-ask).
The LLM call these sit beside takes seconds; the numbers say whether they matter next to it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


def _median_ms(fn, rounds: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    from structurer.checks.grounding import index_source
    from structurer.llm.reask import FormSource, source_problems
    from structurer.llm.shadow import read_shadow, recall_findings
    from structurer.models import FormRecord
    from structurer.pipeline import plan_jobs
    from structurer.read import load_document
    from structurer.rules import extract_form
    from structurer.vocab import default_vocabulary

    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    vocab = default_vocabulary()
    rows: dict[str, list[float]] = {"rules": [], "shadow": [], "recall": [], "validator": []}
    for case in sorted(ROOT.glob("fixtures/*/")):
        jobs = plan_jobs([load_document(case / "source.md")], vocab)
        lines = (case / "gold.jsonl").read_text(encoding="utf-8").splitlines()
        gold = [FormRecord.model_validate(json.loads(x)) for x in lines if x.strip()]
        for job, record in zip(jobs, gold, strict=False):

            def cold_shadow(job=job):  # type: ignore[no-untyped-def]
                index_source.cache_clear()
                return read_shadow(job, vocab)

            shadow = read_shadow(job, vocab)
            assert shadow is not None
            source = FormSource(job.chunk, job.grid, None, vocab, shadow)
            rows["rules"].append(
                _median_ms(lambda j=job: extract_form(j.chunk, j.grid, vocab), rounds)
            )
            rows["shadow"].append(_median_ms(cold_shadow, rounds))
            rows["recall"].append(
                _median_ms(lambda r=record, s=shadow: recall_findings(r, s), rounds)
            )
            rows["validator"].append(
                _median_ms(lambda r=record, s=source: source_problems(r, s), rounds)
            )
    result = {
        "machine": describe(),
        "forms": len(rows["rules"]),
        "rounds": rounds,
        "median_ms_per_form": {k: round(statistics.median(v), 3) for k, v in rows.items()},
        "max_ms_per_form": {k: round(max(v), 3) for k, v in rows.items()},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "shadow.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
