"""Prompt tokens per form: the compact cell grid the LLM backend sends vs the raw markdown chunk.

    .venv/bin/python benchmarks/bench_tokens.py

Uses the LLM backend's own prompt builder (`structurer.llm.prompt`: `render_form` for the grid,
`estimate_tokens` for the count: no tokenizer is installed, so counts are its estimate of one
token per CJK character and one per four other characters). Measured on every fixture source.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    from structurer.llm.prompt import estimate_tokens, load_prompt, render_form
    from structurer.pipeline import plan_jobs
    from structurer.read import load_document

    prompt = load_prompt()
    system = estimate_tokens(prompt.system)
    cases = {}
    for src in sorted(ROOT.glob("fixtures/*/source.md")):
        jobs = plan_jobs([load_document(src)])
        raw = [estimate_tokens(j.chunk.text) for j in jobs]
        grid = [estimate_tokens(render_form(j.chunk, j.grid)) for j in jobs]
        full = [
            sum(estimate_tokens(m["content"]) for m in prompt.messages(j.chunk, j.grid))
            for j in jobs
        ]
        cases[src.parent.name] = {
            "forms": len(jobs),
            "raw_chunk_tokens_mean": round(statistics.mean(raw)),
            "grid_tokens_mean": round(statistics.mean(grid)),
            "grid_over_raw": round(sum(grid) / sum(raw), 3),
            "full_prompt_tokens_mean": round(statistics.mean(full)),
        }
    result = {
        "machine": describe(),
        "prompt_version": prompt.version,
        "tokenizer": "estimate: 1 per CJK char + 1 per 4 other chars (structurer.llm.prompt)",
        "system_prompt_tokens": system,
        "cases": cases,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tokens.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
